use local::thread_local_struct;

#[thread_local_struct(init = "Session::new")]
pub struct Session {
    value: u32,
}

impl Session {
    fn new() -> Self {
        Session { value: 1000 }
    }
}

fn main() {}
