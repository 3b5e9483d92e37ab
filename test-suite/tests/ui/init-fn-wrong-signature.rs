use local::thread_local_struct;

#[thread_local_struct(init = make)]
pub struct Session {
    value: u32,
}

fn make(n: u32) -> Session {
    Session { value: n }
}

fn main() {}
