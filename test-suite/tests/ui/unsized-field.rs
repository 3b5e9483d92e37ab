use local::thread_local_struct;

#[thread_local_struct]
pub struct Buffer {
    len: usize,
    bytes: [u8],
}

fn main() {
    Buffer::with(|b| b.len);
}
