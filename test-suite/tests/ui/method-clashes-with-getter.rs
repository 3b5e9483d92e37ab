use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init(1000)]
    value: u32,
}

impl Session {
    fn value(&self) -> u32 {
        self.value
    }
}

fn main() {}
