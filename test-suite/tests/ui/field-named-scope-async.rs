use local::thread_local_struct;

#[thread_local_struct]
pub struct Task {
    scope_async: bool,
}

fn main() {}
