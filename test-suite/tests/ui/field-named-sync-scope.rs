use local::thread_local_struct;

#[thread_local_struct]
pub struct Task {
    sync_scope: bool,
}

fn main() {}
