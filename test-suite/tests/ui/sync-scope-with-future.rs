use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    id: u32,
}

// `sync_scope` binds for a call; a future is `scope`'s, which binds during every poll.
fn main() {
    Session::sync_scope(Session { id: 1 }, async { Session::id() });
}
