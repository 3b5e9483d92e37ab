use local::thread_local_struct;

#[thread_local_struct]
pub struct Cache<T> {
    entries: Vec<T>,
}

fn main() {}
