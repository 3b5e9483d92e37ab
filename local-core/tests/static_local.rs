//! The storage behind `#[thread_local_struct]`, tested here so that Miri runs it: values
//! that are neither `Send` nor `Sync` kept per thread in a `static`, and dropped by their
//! own thread when it exits.

#[macro_use]
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use local_core::AccessError;

static DROPS: AtomicUsize = AtomicUsize::new(0);

static WRONG_THREAD: AtomicUsize = AtomicUsize::new(0);

/// Not `Send`, not `Sync`: it must never be touched by another thread than its own.
struct PerThread {
    owner: String,
    shared: Rc<RefCell<Vec<u32>>>,
}

impl Drop for PerThread {
    fn drop(&mut self) {
        // Counted, not asserted: a panic in a destructor at thread exit aborts.
        if self.owner != support::os_thread() {
            WRONG_THREAD.fetch_add(1, SeqCst);
        }
        DROPS.fetch_add(1, SeqCst);
    }
}

fn build() -> PerThread {
    PerThread {
        owner: support::os_thread(),
        shared: Rc::new(RefCell::new(Vec::new())),
    }
}

static_local!(LOCAL: PerThread = build, per_thread: false, inherit: None);

#[test]
fn values_that_are_neither_send_nor_sync_stay_on_their_thread() {
    let threads = if cfg!(miri) { 3 } else { 16 };
    let handles: Vec<_> = (0..threads)
        .map(|n| {
            thread::spawn(move || {
                LOCAL.with(|value| value.shared.borrow_mut().push(n));
                let copy = LOCAL.with(|value| Rc::clone(&value.shared));
                assert_eq!(*copy.borrow(), [n]);
                assert_eq!(
                    LOCAL.with(|value| value.owner.clone()),
                    support::os_thread()
                );
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    // Each exited thread dropped its own value, on itself (checked in `Drop`).
    assert_eq!(DROPS.load(SeqCst), threads as usize);
    assert_eq!(
        WRONG_THREAD.load(SeqCst),
        0,
        "a value dropped on another thread"
    );
}

static_local!(COUNTER: u32 = || 7, per_thread: false, inherit: None);

#[test]
fn set_take_replace_and_borrows() {
    thread::spawn(|| {
        assert!(!COUNTER.is_initialized());
        COUNTER.set(1);
        assert_eq!(COUNTER.replace(2), 1);
        COUNTER.with(|_| assert_eq!(COUNTER.try_with_mut(|_| ()), Err(AccessError::Borrowed)));
        assert_eq!(COUNTER.take(), Some(2));
        assert_eq!(COUNTER.with(|n| *n), 7);
        COUNTER.with_mut(|n| *n += 1);
        assert_eq!(COUNTER.try_with(|n| *n), Ok(8));
    })
    .join()
    .unwrap();
}

static_local!(TEARDOWN: u32 = || 1, per_thread: false, inherit: None);

#[test]
fn a_destructor_at_thread_exit_reaches_a_struct_whose_value_is_alive() {
    // std's rules: a value dropped at thread exit (`FIRST`'s), and a destructor that runs
    // after this library's (`LATE`), both reach a struct whose value is still alive. Its
    // type has no destructor, so, as with `thread_local!`, it is never destroyed.
    static SEEN: std::sync::Mutex<Vec<Result<u32, AccessError>>> =
        std::sync::Mutex::new(Vec::new());
    struct Touches;
    impl Drop for Touches {
        fn drop(&mut self) {
            SEEN.lock().unwrap().push(TEARDOWN.try_with(|n| *n));
        }
    }
    static_local!(FIRST: Touches = || Touches, per_thread: false, inherit: None);
    thread_local!(static LATE: Touches = const { Touches });
    thread::spawn(|| {
        LATE.with(|_| {});
        FIRST.with(|_| {});
        TEARDOWN.with(|_| {});
    })
    .join()
    .unwrap();
    assert_eq!(*SEEN.lock().unwrap(), [Ok(1), Ok(1)]);
}
