use local::thread_local_struct;

mod config {
    pub fn session() -> super::Session {
        super::Session { value: 42 }
    }
}

#[thread_local_struct(init = config::session)]
pub struct Session {
    value: u32,
}

fn main() {
    assert_eq!(Session::value(), 42);
}
