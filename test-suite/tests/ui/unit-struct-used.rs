use local::thread_local_struct;

#[thread_local_struct]
pub struct Marker;

fn main() {
    assert!(!Marker::is_initialized());
    Marker::set(Marker);
}
