//! A refused access panics at the caller's line, not inside the library. Its own test
//! binary: it installs a panic hook, which is global to the process.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use local::{ThreadLocal, thread_local_struct};

#[thread_local_struct]
struct Session {
    hits: u32,
}

/// Runs `f`, which must panic, and returns the file and line the panic reports.
fn panic_location(f: impl FnOnce()) -> (String, u32) {
    static LOCATION: Mutex<Option<(String, u32)>> = Mutex::new(None);
    panic::set_hook(Box::new(|info| {
        let location = info.location().unwrap();
        *LOCATION.lock().unwrap() = Some((location.file().to_owned(), location.line()));
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let _ = panic::take_hook();
    assert!(result.is_err(), "expected a panic");
    LOCATION.lock().unwrap().take().unwrap()
}

#[test]
fn refused_accesses_panic_at_the_callers_line() {
    let here = file!();
    let (file, line) = panic_location(|| Session::with(|_| Session::with_mut(|s| s.hits += 1)));
    assert_eq!((file.as_str(), line), (here, line!() - 1));
    let (file, line) = panic_location(|| Session::with(|_| Session::set_hits(2)));
    assert_eq!((file.as_str(), line), (here, line!() - 1));
    let (file, line) = panic_location(|| Session::with(|_| _ = Session::take()));
    assert_eq!((file.as_str(), line), (here, line!() - 1));

    let local: ThreadLocal<u32> = ThreadLocal::new();
    let (file, line) = panic_location(|| local.with(|_| local.with_mut(|n| *n += 1)));
    assert_eq!((file.as_str(), line), (here, line!() - 1));
    let (file, line) = panic_location(|| local.with(|_| local.set(1)));
    assert_eq!((file.as_str(), line), (here, line!() - 1));
}
