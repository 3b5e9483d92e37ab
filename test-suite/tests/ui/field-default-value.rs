use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    value: u32 = 1000,
}

fn main() {}
