use local::thread_local_struct;

#[thread_local_struct]
#[derive(Debug, Clone, Default)]
pub struct Session {
    value: u32,
    name: String,
}

fn main() {
    Session::with_mut(|s| s.value += 1);
    Session::set_name("worker".to_owned());
    let value = Session::with(|s| s.value);
    assert_eq!(Session::value(), value);
    let _ = Session::get();
    let _ = Session::default();
}
