use local::thread_local_struct;

#[thread_local_struct]
pub struct Settings {
    default: bool,
}

fn main() {}
