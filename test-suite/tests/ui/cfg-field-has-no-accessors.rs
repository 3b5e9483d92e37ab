use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[cfg(any())]
    debug: String,
    value: u32,
}

fn main() {
    Session::set_value(1);
    let _ = Session::debug();
}
