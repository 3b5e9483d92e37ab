use local::thread_local_struct;
use std::sync::atomic::{AtomicUsize, Ordering};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[thread_local_struct(init = Self::new)]
#[derive(Debug, Clone)]
pub struct Session {
    value: u32,
    thread: Option<String>,
}

impl Session {
    fn new() -> Self {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Session {
            value: 1000,
            thread: std::thread::current().name().map(str::to_owned),
        }
    }
}

fn main() {
    assert_eq!(CALLS.load(Ordering::SeqCst), 0, "lazy: nothing ran yet");
    assert_eq!(Session::value(), 1000);
    Session::with_mut(|s| s.value += 1);
    assert_eq!(Session::value(), 1001);
    assert_eq!(CALLS.load(Ordering::SeqCst), 1, "once per thread");

    let thread = std::thread::Builder::new()
        .name("worker".to_owned())
        .spawn(|| (Session::value(), Session::thread()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(thread, (1000, Some("worker".to_owned())));
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);

    // `Default` is built by the same initializer.
    assert_eq!(Session::default().value, 1000);
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
}
