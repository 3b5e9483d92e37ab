use local::thread_local_struct;

#[thread_local_struct]
pub enum Mode {
    Fast,
    Slow,
}

fn main() {}
