use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    scope: String,
    #[init(1)]
    value: u32,
}

fn main() {
    Session::set_value(2);
}
