use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[init(1000)]
    value: u32,
}

fn main() {
    let copy = Session::get();
    assert_eq!(copy.value, 1000);
}
