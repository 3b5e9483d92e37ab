use local::thread_local_struct;

pub struct Session {
    value: u32,
}

#[thread_local_struct]
impl Session {
    fn new() -> Self {
        Session { value: 1000 }
    }
}

fn main() {
    let _ = Session::new().value;
}
