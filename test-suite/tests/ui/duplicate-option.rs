use local::thread_local_struct;

#[thread_local_struct(per_thread, per_thread)]
pub struct Session {
    value: u32,
}

fn main() {}
