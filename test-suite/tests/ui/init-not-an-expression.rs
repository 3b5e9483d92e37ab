use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init(let x = 1000)]
    value: u32,
}

fn main() {}
