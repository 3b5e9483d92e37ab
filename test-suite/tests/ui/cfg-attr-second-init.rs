use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init(1)]
    #[cfg_attr(test, init(2))]
    value: u32,
}

fn main() {}
