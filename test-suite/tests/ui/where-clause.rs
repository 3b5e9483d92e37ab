use local::thread_local_struct;

#[thread_local_struct]
pub struct Session
where
    u32: Copy,
{
    value: u32,
}

fn main() {}
