use local::thread_local_struct;

#[thread_local_struct]
pub struct Buffer<const N: usize> {
    bytes: [u8; N],
}

fn main() {}
