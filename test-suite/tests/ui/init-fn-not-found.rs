use local::thread_local_struct;

#[thread_local_struct(init = Session::new)]
pub struct Session {
    value: u32,
}

fn main() {}
