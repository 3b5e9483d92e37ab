use local::thread_local_struct;

#[thread_local_struct]
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    #[init(1000)]
    value: u32,
    #[init(format!("{:?}", std::thread::current().id()))]
    owner: String,
    hits: u64,
}

fn main() {
    assert!(!Session::is_initialized());
    assert_eq!(Session::value(), 1000);
    assert!(Session::is_initialized());
    assert_eq!(Session::hits(), 0);
    assert_eq!(
        Session::owner(),
        format!("{:?}", std::thread::current().id())
    );

    Session::with_mut(|s| s.hits += 1);
    Session::set_value(7);
    assert_eq!(Session::with(|s| (s.value, s.hits)), (7, 1));
    assert_eq!(Session::try_with(|s| s.value), Ok(7));
    assert_eq!(
        Session::try_with_mut(|s| std::mem::take(&mut s.hits)),
        Ok(1)
    );

    let copy = Session::get();
    assert_eq!(copy.value, 7);

    let old = Session::replace(Session {
        value: 1,
        owner: "main".to_owned(),
        hits: 2,
    });
    assert_eq!(old, copy);
    assert_eq!(Session::owner(), "main");

    // Another thread starts from the initializer, and its writes stay there.
    std::thread::spawn(|| {
        assert_eq!(Session::value(), 1000);
        Session::set_value(5);
    })
    .join()
    .unwrap();
    assert_eq!(Session::value(), 1);

    assert_eq!(Session::take().map(|s| s.hits), Some(2));
    assert!(!Session::is_initialized());
    Session::set(Session::default());
    assert_eq!(Session::value(), 1000);
}
