//! Runtime behaviour of `#[thread_local_struct]`. Each test declares its own struct: a
//! struct's storage is one `static`, shared by every test that would use it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Barrier, Mutex};
use std::thread::{self, ThreadId};

use local::{AccessError, ThreadLocal, thread_local_struct};

#[path = "support/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn initializer_runs_once_per_touching_thread_lazily_on_that_thread() {
    static RUNS: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

    #[thread_local_struct]
    #[derive(Clone)]
    struct Session {
        #[init({
            RUNS.lock().unwrap().push(thread::current().id());
            1000
        })]
        value: u32,
        #[init(thread::current().id())]
        owner: ThreadId,
        hits: u64,
    }

    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                assert!(
                    !Session::is_initialized(),
                    "lazy: nothing before the first touch"
                );
                for _ in 0..10 {
                    Session::with_mut(|session| session.hits += 1);
                }
                // Built on the thread that touched it.
                assert_eq!(Session::owner(), thread::current().id());
                assert_eq!((Session::value(), Session::hits()), (1000, 10));
            });
        }
        // Never touches the struct: never runs the initializer.
        s.spawn(|| {});
    });
    let runs = RUNS.lock().unwrap().clone();
    assert_eq!(runs.len(), 4);
    let mut distinct = runs.clone();
    distinct.sort_by_key(|id| format!("{id:?}"));
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "once per thread: {runs:?}");
    assert!(!runs.contains(&thread::current().id()));
}

#[test]
fn another_threads_writes_are_never_visible() {
    #[thread_local_struct]
    struct Counter {
        #[init(0)]
        count: usize,
    }

    let threads = 8;
    let written = Barrier::new(threads);
    thread::scope(|s| {
        for n in 0..threads {
            let written = &written;
            s.spawn(move || {
                Counter::set_count(n);
                written.wait();
                // Every thread has written its own number by now.
                assert_eq!(Counter::count(), n);
            });
        }
    });
    // The main thread is a thread like any other.
    assert_eq!(Counter::count(), 0);
}

#[test]
fn value_is_dropped_at_thread_exit_exactly_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static BUILT: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Tracked {
        #[init(BUILT.fetch_add(1, SeqCst))]
        id: usize,
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            DROPS.fetch_add(1, SeqCst);
        }
    }

    let threads = 50;
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| Tracked::with(|t| t.id)))
            .collect();
        // `join` waits for the thread-local destructors.
        for handle in handles {
            handle.join().unwrap();
        }
    });
    assert_eq!(BUILT.load(SeqCst), threads);
    assert_eq!(DROPS.load(SeqCst), threads);
}

#[test]
fn take_releases_and_set_runs_no_initializer() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct(init = Request::new)]
    #[derive(Debug, Clone, PartialEq)]
    struct Request {
        path: String,
    }
    impl Request {
        fn new() -> Self {
            RUNS.fetch_add(1, SeqCst);
            Request { path: "/".into() }
        }
    }

    Request::set(Request {
        path: "/set".into(),
    });
    assert_eq!(RUNS.load(SeqCst), 0, "set runs no initializer");
    assert_eq!(Request::path(), "/set");
    assert_eq!(Request::take().map(|r| r.path), Some("/set".into()));
    assert!(!Request::is_initialized());
    assert_eq!(Request::take(), None);
    // The next touch runs the initializer again.
    assert_eq!(Request::path(), "/");
    assert_eq!(RUNS.load(SeqCst), 1);
    Request::set_path("/about".into());
    let old = Request::replace(Request::new());
    assert_eq!(old.path, "/about");
    assert_eq!(Request::get(), Request { path: "/".into() });
}

#[test]
fn reentrant_borrows_panic_naming_the_struct_and_try_returns_err() {
    #[thread_local_struct]
    struct Session {
        hits: u32,
    }

    // Shared inside shared is fine, as with `RefCell`.
    Session::with(|outer| Session::with(|inner| assert_eq!(outer.hits, inner.hits)));
    Session::with(|_| {
        assert_eq!(Session::try_with_mut(|_| ()), Err(AccessError::Borrowed));
        let message = panic_message(
            catch_unwind(AssertUnwindSafe(|| Session::with_mut(|_| ()))).unwrap_err(),
        );
        assert!(message.contains("Session"), "{message}");
        assert!(message.contains("already borrowed"), "{message}");
        let message = panic_message(catch_unwind(|| Session::set_hits(1)).unwrap_err());
        assert!(message.contains("Session"), "{message}");
    });
    Session::with_mut(|_| {
        assert_eq!(Session::try_with(|_| ()), Err(AccessError::Borrowed));
        let message = panic_message(
            catch_unwind(|| {
                let _ = Session::take();
            })
            .unwrap_err(),
        );
        assert!(message.contains("Session"), "{message}");
    });
    Session::with_mut(|s| s.hits += 1);
    assert_eq!(Session::hits(), 1);
}

#[test]
fn initializer_touching_its_own_struct_gets_an_error() {
    #[thread_local_struct(init = Recursive::new)]
    struct Recursive {
        seen: Result<u32, AccessError>,
    }
    impl Recursive {
        fn new() -> Self {
            Recursive {
                seen: Recursive::try_with(|r| r.seen.unwrap_or_default()),
            }
        }
    }
    assert_eq!(Recursive::with(|r| r.seen), Err(AccessError::Initializing));

    #[thread_local_struct(init = Panicky::new)]
    struct Panicky {
        value: u32,
    }
    impl Panicky {
        fn new() -> Self {
            Panicky {
                value: Panicky::value() + 1,
            }
        }
    }
    let message = panic_message(catch_unwind(Panicky::value).unwrap_err());
    assert!(message.contains("Panicky"), "{message}");
    assert!(message.contains("its own initializer"), "{message}");
}

#[test]
fn panicking_initializer_stores_nothing_and_runs_again() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Flaky {
        #[init(if RUNS.fetch_add(1, SeqCst) == 0 { panic!("not yet") } else { 7 })]
        value: u32,
    }

    let message = panic_message(catch_unwind(Flaky::value).unwrap_err());
    assert_eq!(message, "not yet");
    assert!(!Flaky::is_initialized());
    assert_eq!(Flaky::value(), 7);
    assert_eq!(RUNS.load(SeqCst), 2);
}

#[test]
fn a_struct_holding_an_rc_works_per_thread() {
    use std::rc::Rc;

    #[thread_local_struct]
    struct Shared {
        #[init(Rc::new(thread::current().id()))]
        owner: Rc<ThreadId>,
    }

    let mine = Shared::owner();
    assert_eq!(*mine, thread::current().id());
    assert_eq!(
        Rc::strong_count(&mine),
        2,
        "the clone and this thread's value"
    );
    thread::spawn(|| assert_eq!(*Shared::owner(), thread::current().id()))
        .join()
        .unwrap();
}

#[test]
fn default_builds_independent_instances_for_thread_local() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    #[derive(Clone)]
    struct Config {
        #[init({
            RUNS.fetch_add(1, SeqCst);
            8
        })]
        workers: usize,
    }

    let a: ThreadLocal<Config> = ThreadLocal::new();
    let b: ThreadLocal<Config> = ThreadLocal::new();
    a.with_mut(|c| c.workers = 1);
    assert_eq!(b.with(|c| c.workers), 8);
    assert_eq!(a.with(|c| c.workers), 1);
    assert_eq!(
        Config::workers(),
        8,
        "the static is a third, independent value"
    );
    assert_eq!(RUNS.load(SeqCst), 3);
}

#[test]
fn tuple_structs_and_structs_in_function_bodies() {
    #[thread_local_struct]
    #[derive(Clone, Debug, PartialEq)]
    struct Pair(#[init(1)] u8, String);

    Pair::with_mut(|p| p.1.push('x'));
    assert_eq!(Pair::get(), Pair(1, "x".into()));

    fn first() -> u32 {
        #[thread_local_struct]
        struct Same {
            #[init(1)]
            n: u32,
        }
        Same::n()
    }
    fn second() -> u32 {
        #[thread_local_struct]
        struct Same {
            #[init(2)]
            n: u32,
        }
        Same::n()
    }
    // Two structs of the same name in two functions are two locals.
    assert_eq!((first(), second()), (1, 2));
}

#[test]
fn field_accessors_follow_names_and_raw_identifiers() {
    #[thread_local_struct]
    struct Odd {
        #[init(String::from("kind"))]
        r#type: String,
        _tracker: u8,
        core: u8,
    }

    Odd::set_type("other".into());
    Odd::set__tracker(3);
    Odd::set_core(4);
    assert_eq!(Odd::r#type(), "other");
    assert_eq!((Odd::_tracker(), Odd::core()), (3, 4));
}

#[test]
fn an_init_function_calling_self_default_panics_naming_the_struct() {
    #[thread_local_struct(init = Recursive::new)]
    struct Recursive {
        value: u32,
        other: u32,
    }

    impl Recursive {
        fn new() -> Self {
            // Invisible to the macro: `Default` is built from this function.
            Recursive {
                value: 1,
                ..Self::default()
            }
        }
    }

    let message =
        panic_message(catch_unwind(|| Recursive::with(|r| r.value + r.other)).unwrap_err());
    assert!(
        message.contains("`Recursive::default()` was called while building a `Recursive`"),
        "{message}"
    );
    // Nothing was stored, and the guard was released: the next touch tries again.
    assert!(!Recursive::is_initialized());
    let again = panic_message(catch_unwind(|| Recursive::with(|r| r.value)).unwrap_err());
    assert!(again.contains("`Recursive::default()`"), "{again}");
}

#[test]
fn a_field_initializer_calling_self_default_panics_naming_the_struct() {
    #[thread_local_struct]
    struct FieldRecursive {
        #[init(Self::default().value + 1)]
        value: u32,
    }

    let message = panic_message(catch_unwind(FieldRecursive::value).unwrap_err());
    assert!(
        message
            .contains("`FieldRecursive::default()` was called while building a `FieldRecursive`"),
        "{message}"
    );
}

#[test]
fn default_of_another_struct_inside_an_initializer_is_no_recursion() {
    #[thread_local_struct]
    #[derive(Clone)]
    struct Inner {
        #[init(2)]
        value: u32,
    }

    #[thread_local_struct]
    struct Outer {
        #[init(Inner::default().value + Inner::value())]
        value: u32,
    }

    assert_eq!(Outer::value(), 4);
    assert_eq!(Outer::default().value, 4);
}

#[test]
fn sync_scope_binds_a_value_and_restores_the_previous_one_also_on_unwind() {
    #[thread_local_struct]
    #[derive(Clone)]
    struct Request {
        #[init(1)]
        id: u32,
    }

    // Unset before: unset after.
    assert_eq!(Request::sync_scope(Request { id: 5 }, Request::id), 5);
    assert!(!Request::is_initialized());
    Request::set_id(2);
    let inner = Request::sync_scope(Request { id: 7 }, || {
        Request::set_id(Request::id() + 1);
        Request::sync_scope(Request { id: 9 }, Request::id) + Request::id()
    });
    assert_eq!((inner, Request::id()), (17, 2));
    let unwound = catch_unwind(|| Request::sync_scope(Request { id: 3 }, || panic!("in scope")));
    assert_eq!(panic_message(unwound.unwrap_err()), "in scope");
    assert_eq!(Request::id(), 2);
}

#[test]
fn scope_binds_the_value_during_every_poll() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    #[thread_local_struct]
    struct Task {
        #[init(0)]
        id: u32,
    }

    let mut future = pin!(Task::scope(Task { id: 4 }, async {
        let before = Task::id();
        Task::set_id(before + 1);
        YieldOnce(false).await;
        (before, Task::id())
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    // Between polls this thread's own value is back.
    assert_eq!(Task::id(), 0);
    Task::set_id(10);
    assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready((4, 5)));
    assert_eq!(Task::id(), 10);
}
