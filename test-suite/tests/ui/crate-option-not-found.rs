use local::thread_local_struct;

#[thread_local_struct(crate = ::my_local)]
pub struct Session {
    value: u32,
}

fn main() {
    Session::with(|s| s.value);
}
