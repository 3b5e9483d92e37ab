use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {}

fn main() {}
