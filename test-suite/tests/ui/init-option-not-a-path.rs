use local::thread_local_struct;

#[thread_local_struct(init = 5)]
pub struct Session {
    value: u32,
}

fn main() {}
