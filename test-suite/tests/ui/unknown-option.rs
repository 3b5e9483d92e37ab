use local::thread_local_struct;

#[thread_local_struct(lazy)]
pub struct Session {
    value: u32,
}

fn main() {}
