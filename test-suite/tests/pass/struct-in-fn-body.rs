use local::thread_local_struct;

fn first() -> u32 {
    #[thread_local_struct]
    struct Session {
        #[init(1)]
        value: u32,
    }
    Session::with_mut(|s| s.value += 10);
    Session::value()
}

fn second() -> u32 {
    // Same name, another function: a different struct and a different local.
    #[thread_local_struct]
    struct Session {
        #[init(2)]
        value: u32,
    }
    Session::with_mut(|s| s.value += 100);
    Session::value()
}

fn main() {
    assert_eq!(first(), 11);
    assert_eq!(second(), 102);
    assert_eq!(first(), 21);
    assert_eq!(second(), 202);
}
