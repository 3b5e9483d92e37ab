use local::thread_local_struct;

#[thread_local_struct(inherit = true)]
#[derive(Clone)]
pub struct Session {
    value: u32,
}

fn main() {}
