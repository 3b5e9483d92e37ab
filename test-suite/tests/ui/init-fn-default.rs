use local::thread_local_struct;

#[thread_local_struct(init = Default::default)]
pub struct Session {
    value: u32,
}

fn main() {
    Session::with(|s| s.value);
}
