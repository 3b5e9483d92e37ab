use local::thread_local_struct;

#[thread_local_struct]
pub struct Cache<T> {
    entries: Vec<T>,
}

fn main() {
    Cache::<u32>::with_mut(|c| c.entries.push(1));
    let _ = Cache::<u32>::entries();
}
