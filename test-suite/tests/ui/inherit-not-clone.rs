use local::thread_local_struct;

#[thread_local_struct(inherit)]
pub struct RequestId {
    value: u64,
}

fn main() {}
