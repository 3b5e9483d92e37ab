use local::thread_local_struct;

#[thread_local_struct(per_thread; inherit)]
pub struct Buffer {
    bytes: Vec<u8>,
}

fn main() {}
