use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init(1000 2000)]
    value: u32,
}

fn main() {}
