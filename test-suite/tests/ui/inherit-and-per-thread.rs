use local::thread_local_struct;

#[thread_local_struct(inherit, per_thread)]
#[derive(Clone)]
pub struct RequestId {
    value: u64,
}

fn main() {}
