use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    with: u32,
    value: u32,
}

fn main() {
    Session::set_value(1);
}
