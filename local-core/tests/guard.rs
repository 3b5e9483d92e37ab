//! `ThreadLocal::borrow_mut`: a guard that holds a `per_thread` instance's value across
//! calls, sound however it ends (dropped, leaked, dropped during the thread's teardown
//! after the library's own destructor, alive at `process::exit`). Miri runs these.

#[allow(unused_macros)]
mod support;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use local_core::{AccessError, Context, RefMut, ThreadLocal};
use support::counters::{Counters, Tracked};

#[test]
fn a_guard_holds_the_value_across_calls_and_refuses_other_accesses() {
    let items = ThreadLocal::<Vec<u32>>::new().per_thread();
    let mut guard = items.borrow_mut();
    for item in 0..10 {
        guard.push(item);
    }
    assert_eq!(items.try_with(Vec::len), Err(AccessError::Borrowed));
    assert_eq!(items.try_borrow_mut().err(), Some(AccessError::Borrowed));
    assert!(catch_unwind(AssertUnwindSafe(|| items.set(Vec::new()))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| items.sync_scope(Vec::new(), || ()))).is_err());
    drop(guard);
    assert_eq!(items.with(Vec::len), 10);
    // Another thread has its own value, and its own guard.
    thread::scope(|s| {
        s.spawn(|| {
            let mut theirs = items.borrow_mut();
            assert!(theirs.is_empty());
            theirs.push(7);
        });
    });
    assert_eq!(items.with(Vec::len), 10);
}

#[test]
fn the_guard_of_an_instance_that_is_not_per_thread_is_refused_naming_the_type() {
    let plain = ThreadLocal::<Vec<u32>>::new();
    let panic = catch_unwind(AssertUnwindSafe(|| drop(plain.try_borrow_mut())))
        .expect_err("a guard of a context's value is refused");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("ThreadLocal<alloc::vec::Vec<u32>>::borrow_mut")
            && message.contains("per_thread()"),
        "{message}"
    );
    assert!(!plain.is_initialized());
}

#[test]
fn a_guard_reads_the_threads_value_inside_frames_and_outlives_them() {
    let counters = Counters::default();
    let local = counters.tracked_local().per_thread();
    local.with_mut(|v| v.value = 1);
    let mut context = Context::new();
    let mut guard: RefMut<'_, Tracked> = context.run(|| local.borrow_mut());
    drop(context); // the guard borrows the thread's value, not the context's
    guard.value += 1;
    let mut guard = local_core::fresh(|| {
        assert_eq!(local.try_with(|_| ()), Err(AccessError::Borrowed));
        guard
    });
    guard.value += 1;
    drop(guard);
    assert_eq!(local.with(|v| v.value), 3);
    drop(local);
    assert_eq!((counters.created(), counters.drops()), (1, 1));
}

#[test]
fn a_leaked_guard_keeps_its_value_from_every_later_thread() {
    let counters = Counters::default();
    let local = counters.tracked_local().per_thread();
    thread::scope(|s| {
        s.spawn(|| {
            let mut guard = local.borrow_mut();
            guard.value = 0xDEAD;
            std::mem::forget(guard);
        });
    });
    // Whatever index the exited thread had, no later thread reads its value.
    for _ in 0..4 {
        thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(local.try_with_mut(|v| v.value), Ok(0));
            });
        });
    }
    counters.wait_for_drops(4);
    assert_eq!(
        counters.live(),
        1,
        "the leaked value waits for the instance"
    );
    // Dropped with the table, which an exiting thread may still hold for a moment.
    drop(local);
    counters.wait_for_drops(5);
    assert_eq!((counters.created(), counters.drops()), (5, 5));
}

static HELD: ThreadLocal<Held> = ThreadLocal::new().per_thread();
static HELD_DROPS: AtomicUsize = AtomicUsize::new(0);
static WRITES_AFTER_EXIT: AtomicUsize = AtomicUsize::new(0);

#[derive(Default)]
struct Held {
    writes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD_DROPS.fetch_add(1, SeqCst);
    }
}

/// Holds a guard, and writes through it when the thread's teardown drops it.
struct Holder(Option<RefMut<'static, Held>>);

impl Drop for Holder {
    fn drop(&mut self) {
        if let Some(mut guard) = self.0.take() {
            guard.writes += 1;
            WRITES_AFTER_EXIT.store(guard.writes, SeqCst);
        }
    }
}

thread_local! {
    static HOLDER: RefCell<Holder> = const { RefCell::new(Holder(None)) };
}

#[test]
fn a_guard_dropped_in_teardown_after_the_librarys_destructor_finds_its_value() {
    thread::spawn(|| {
        // Registered before the library's thread state, so destroyed after it.
        HOLDER.with(|_| ());
        let mut guard = HELD.borrow_mut();
        guard.writes = 1;
        HOLDER.with(|holder| holder.borrow_mut().0 = Some(guard));
    })
    .join()
    .unwrap();
    assert_eq!(WRITES_AFTER_EXIT.load(SeqCst), 2);
    // The value stays with the exited thread's index, which is never reused: a later
    // thread starts fresh, and the value itself lives as long as the static.
    let writes = thread::spawn(|| HELD.with(|held| held.writes))
        .join()
        .unwrap();
    assert_eq!(writes, 0);
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_none() {
        assert_eq!(
            HELD_DROPS.load(SeqCst),
            1,
            "only the later thread's value is dropped"
        );
    } else {
        // std's OS-key fallback runs destructors in no set order: if the holder's ran
        // first, the value was not borrowed any more at the library's, which dropped it.
        assert!((1..=2).contains(&HELD_DROPS.load(SeqCst)));
    }
}

/// `process::exit` with a guard alive, in a child process ([`child_process_exit_with_a_guard`]),
/// which prints what a thread started after the library's destructor reads.
#[test]
#[cfg_attr(miri, ignore = "Miri runs no child process")]
fn a_thread_started_during_process_exit_never_reads_a_guarded_value() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_exit_with_a_guard",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LOCAL_GUARD_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {output:?}");
    // Without native thread-locals (std's OS keys), `exit` runs no thread-local destructor.
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_some() && !stdout.contains("new thread") {
        return;
    }
    assert!(
        stdout.contains("new thread: Ok(0)"),
        "the new thread did not start fresh: {stdout}"
    );
}

static EXITING: ThreadLocal<u32> = ThreadLocal::new().per_thread();

/// Starts a thread when dropped: registered before the library's destructor, it runs after
/// it, once the exiting thread's index could have been given back.
struct SpawnOnDrop;

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let seen = thread::spawn(|| EXITING.try_with_mut(|n| *n))
            .join()
            .unwrap();
        println!("new thread: {seen:?}");
    }
}

thread_local! {
    static SPAWN_ON_DROP: Cell<Option<SpawnOnDrop>> = const { Cell::new(None) };
}

/// The child of the test above.
#[test]
fn child_process_exit_with_a_guard() {
    if std::env::var_os("LOCAL_GUARD_CHILD").is_none() {
        return;
    }
    SPAWN_ON_DROP.set(Some(SpawnOnDrop));
    let mut guard = EXITING.borrow_mut();
    *guard = 0xDEAD;
    std::process::exit(0);
}
