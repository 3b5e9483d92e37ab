use local::thread_local_struct;

#[thread_local_struct]
pub trait Session {
    fn value(&self) -> u32;
}

fn main() {}
