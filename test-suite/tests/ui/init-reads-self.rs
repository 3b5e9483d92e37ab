use local::thread_local_struct;

#[thread_local_struct]
pub struct Limits {
    #[init(10)]
    limit: u32,
    #[init(self.limit * 2)]
    burst: u32,
}

fn main() {}
