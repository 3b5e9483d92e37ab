use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    id: u32,
}

// `scope` binds for a future, as tokio's `LocalKey::scope` does; a closure is
// `sync_scope`'s. Taken as a future, the closure would run later, without its binding.
fn main() {
    let _ = Session::scope(Session { id: 1 }, || Session::id());
}
