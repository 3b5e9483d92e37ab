use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init("a thousand")]
    value: u32,
}

fn main() {}
