use local::thread_local_struct;

#[thread_local_struct]
#[derive(Debug, Clone, Default)]
pub struct Session {
    value: u32,
}

fn main() {}
