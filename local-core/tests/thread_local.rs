//! Behaviour of `ThreadLocal<T>` that users rely on: one value per thread, built once on
//! that thread, dropped exactly once, never handed to a later thread. Thread counts shrink
//! under Miri, which runs these tests too.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use local_core::{AccessError, ThreadLocal};

/// Many threads natively, a handful under Miri.
fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

/// A value that counts its live instances in its own counter, so tests can run in parallel.
struct Tracked {
    live: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    value: usize,
}

#[derive(Clone, Default)]
struct Counters {
    created: Arc<AtomicUsize>,
    live: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Counters {
    fn make(&self, value: usize) -> Tracked {
        self.created.fetch_add(1, SeqCst);
        self.live.fetch_add(1, SeqCst);
        Tracked {
            live: self.live.clone(),
            drops: self.drops.clone(),
            value,
        }
    }

    fn tracked_local(&self) -> ThreadLocal<Tracked, impl Fn() -> Tracked + Send + Sync + use<>> {
        let counters = self.clone();
        ThreadLocal::with_init(move || counters.make(0))
    }

    fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    fn live(&self) -> usize {
        self.live.load(SeqCst)
    }

    fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }

    /// Waits for threads that `std::thread::scope` no longer waits for: their thread-local
    /// destructors may still be running when the scope returns.
    fn wait_for_drops(&self, expected: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.drops() < expected {
            assert!(
                Instant::now() < deadline,
                "only {} of {expected} values dropped",
                self.drops()
            );
            thread::yield_now();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, SeqCst);
        self.drops.fetch_add(1, SeqCst);
    }
}

fn spawn_and_join(count: usize, work: impl Fn(usize) + Sync) {
    thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                s.spawn({
                    let work = &work;
                    move || work(i)
                })
            })
            .collect();
        // `join` waits for the thread's thread-local destructors, unlike the scope's own end.
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

#[test]
fn each_thread_sees_only_its_own_value() {
    let local: ThreadLocal<usize> = ThreadLocal::new();
    let threads = scaled(16, 3);
    let barrier = Barrier::new(threads);
    spawn_and_join(threads, |i| {
        local.set(i);
        // Every thread has written before any thread reads.
        barrier.wait();
        local.with_mut(|v| *v += 1000);
        assert_eq!(local.get(), i + 1000);
    });
    // The main thread is a thread like any other: it never touched `local`.
    assert!(!local.is_initialized());
    assert_eq!(local.get(), 0);
}

#[test]
fn initializer_runs_once_per_touching_thread_on_that_thread() {
    let runs = Arc::new(Mutex::new(Vec::new()));
    let local = ThreadLocal::with_init({
        let runs = runs.clone();
        move || {
            runs.lock().unwrap().push(thread::current().id());
            thread::current().id()
        }
    });
    let touching = scaled(8, 2);
    spawn_and_join(touching, |_| {
        for _ in 0..10 {
            // Built on the thread that touches it.
            assert_eq!(local.get(), thread::current().id());
        }
    });
    // Threads that never touch it never run the initializer.
    spawn_and_join(scaled(4, 1), |_| {});
    assert_eq!(runs.lock().unwrap().len(), touching);
    let mut ids = runs.lock().unwrap().clone();
    ids.dedup();
    assert_eq!(ids.len(), touching, "one run per thread");
}

#[test]
fn value_is_dropped_when_its_thread_exits_exactly_once() {
    let counters = Counters::default();
    let mut local = counters.tracked_local();
    let threads = scaled(64, 4);
    spawn_and_join(threads, |i| local.with_mut(|t| t.value = i));
    // Every worker has exited: its value is gone while the instance is still alive.
    assert_eq!(counters.created(), threads);
    assert_eq!(counters.drops(), threads);
    assert_eq!(local.iter_mut().count(), 0);
    drop(local);
    assert_eq!(counters.drops(), threads, "no value dropped twice");
}

#[test]
fn churn_of_short_threads_leaves_nothing_behind() {
    let counters = Counters::default();
    let mut local = counters.tracked_local();
    let plain: ThreadLocal<Vec<u8>> = ThreadLocal::with_init(|| vec![0; 1024]);
    let batches = scaled(100, 2);
    let batch = scaled(32, 3);
    for _ in 0..batches {
        spawn_and_join(batch, |_| {
            local.with(|_| {});
            plain.with(|_| {});
        });
    }
    assert_eq!(counters.created(), batches * batch);
    assert_eq!(counters.live(), 0, "a value outlived its thread");
    assert_eq!(local.iter_mut().count(), 0);
    drop(local);
    assert_eq!(counters.drops(), batches * batch);
}

#[test]
fn a_new_thread_never_sees_an_exited_threads_value() {
    let local: ThreadLocal<Option<usize>> = ThreadLocal::new();
    // One thread at a time, so each reuses the slot of the one before it.
    for i in 0..scaled(200, 4) {
        thread::scope(|s| {
            s.spawn(|| {
                assert!(
                    !local.is_initialized(),
                    "thread {i} saw an exited thread's value"
                );
                assert_eq!(local.get(), None);
                local.set(Some(i));
            })
            .join()
            .unwrap();
        });
    }
}

#[test]
fn retained_values_are_summed_but_never_handed_on() {
    let counters = Counters::default();
    let mut totals = counters.tracked_local().retain_on_exit();
    let threads = scaled(16, 3);
    let adds = scaled(1000, 10);
    spawn_and_join(threads, |_| {
        for _ in 0..adds {
            totals.with_mut(|t| t.value += 1);
        }
    });
    assert_eq!(
        counters.drops(),
        0,
        "retain_on_exit keeps exited threads' values"
    );
    let sum: usize = totals.iter_mut().map(|t| t.value).sum();
    assert_eq!(sum, threads * adds);

    // Later threads, reusing the exited threads' slots, start from fresh values.
    spawn_and_join(threads, |_| assert_eq!(totals.with(|t| t.value), 0));
    assert_eq!(totals.iter_mut().count(), 2 * threads);
    let values: Vec<usize> = totals.into_iter().map(|t| t.value).collect();
    assert_eq!(values.iter().sum::<usize>(), threads * adds);
    assert_eq!(values.len(), 2 * threads);
    assert_eq!(counters.drops(), 2 * threads);
}

/// `std::thread::scope` returns once its closures are done, possibly before their threads'
/// thread-local destructors have run: `Drop`, `clear`, `iter_mut` and `into_iter` can meet
/// an exit path in progress. Slow destructors widen the window.
#[test]
fn scope_may_return_while_threads_still_run_their_destructors() {
    struct Slow(Tracked);
    impl Drop for Slow {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(2));
        }
    }
    let threads = scaled(8, 2);
    let rounds = scaled(20, 2);
    for round in 0..rounds {
        let counters = Counters::default();
        let maker = counters.clone();
        let keep = round % 2 == 1;
        let mut local = ThreadLocal::with_init(move || Slow(maker.make(1)));
        if keep {
            local = local.retain_on_exit();
        }
        thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| local.with(|_| {}));
            }
        });
        match round % 4 {
            0 => drop(local),
            1 => {
                // Retained: every value is still there, whether or not its thread has
                // finished exiting.
                assert_eq!(
                    local.iter_mut().map(|slow| slow.0.value).sum::<usize>(),
                    threads
                );
                drop(local);
            }
            2 => {
                local.clear();
                drop(local);
            }
            _ => assert_eq!(local.into_iter().count(), threads),
        }
        counters.wait_for_drops(threads);
        assert_eq!(counters.created(), threads);
        // Give any exit path still running a chance to (wrongly) drop again.
        thread::sleep(Duration::from_millis(10));
        assert_eq!(
            counters.drops(),
            threads,
            "round {round}: a value dropped twice"
        );
    }
}

/// A thread exiting while an `iter_mut` borrow is alive must not drop the value under it;
/// the value is dropped later, still exactly once.
#[test]
fn thread_exiting_during_iter_mut_keeps_the_borrowed_value_alive() {
    let counters = Counters::default();
    let mut local = counters.tracked_local();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let shared = Arc::new(local);
    let worker = thread::spawn({
        let shared = shared.clone();
        move || {
            shared.with_mut(|t| t.value = 7);
            drop(shared);
            ready_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        }
    });
    ready_rx.recv().unwrap();
    local = Arc::into_inner(shared).expect("the worker dropped its handle");
    let mut borrowed: Vec<&mut Tracked> = local.iter_mut().collect();
    assert_eq!(borrowed.len(), 1);
    go_tx.send(()).unwrap();
    worker.join().unwrap(); // the worker's exit path has run
    assert_eq!(counters.drops(), 0, "dropped under an iter_mut borrow");
    borrowed[0].value += 1;
    assert_eq!(borrowed[0].value, 8);
    // The next `&mut` access sees an exited, unretained value and drops it.
    assert_eq!(local.iter_mut().count(), 0);
    assert_eq!(counters.drops(), 1);
    drop(local);
    assert_eq!(counters.drops(), 1);
}

#[test]
fn dropping_the_instance_drops_live_threads_values_once() {
    let counters = Counters::default();
    let local = counters.tracked_local();
    let threads = scaled(8, 2);
    let touched = Barrier::new(threads + 1);
    let dropped = Barrier::new(threads + 1);
    let local = Mutex::new(Some(local));
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                local.lock().unwrap().as_ref().unwrap().with(|_| {});
                touched.wait();
                dropped.wait(); // still alive while the instance is dropped
            });
        }
        touched.wait();
        drop(local.lock().unwrap().take());
        assert_eq!(counters.drops(), threads);
        dropped.wait();
    });
    assert_eq!(counters.drops(), threads);
}

#[test]
fn take_releases_and_the_next_touch_initializes_again() {
    let runs = Arc::new(AtomicUsize::new(0));
    let local = ThreadLocal::with_init({
        let runs = runs.clone();
        move || runs.fetch_add(1, SeqCst) + 1
    });
    assert_eq!(local.take(), None);
    assert_eq!(runs.load(SeqCst), 0, "take does not initialize");
    assert_eq!(local.get(), 1);
    assert_eq!(local.take(), Some(1));
    assert!(!local.is_initialized());
    assert_eq!(local.get(), 2);
    assert_eq!(runs.load(SeqCst), 2);
}

#[test]
fn set_runs_no_initializer_and_replace_initializes_if_needed() {
    let runs = Arc::new(AtomicUsize::new(0));
    let local = ThreadLocal::with_init({
        let runs = runs.clone();
        move || {
            runs.fetch_add(1, SeqCst);
            10
        }
    });
    local.set(5);
    assert!(local.is_initialized());
    assert_eq!(local.get(), 5);
    assert_eq!(runs.load(SeqCst), 0);
    assert_eq!(local.take(), Some(5));
    assert_eq!(local.replace(20), 10);
    assert_eq!(runs.load(SeqCst), 1);
    assert_eq!(local.get(), 20);
}

#[test]
fn clear_makes_every_thread_start_again() {
    let counters = Counters::default();
    let mut local = counters.tracked_local();
    local.with_mut(|t| t.value = 3);
    local.clear();
    assert_eq!(counters.drops(), 1);
    assert_eq!(local.with(|t| t.value), 0);
    assert_eq!(counters.created(), 2);
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[derive(Default, Debug)]
struct Session {
    hits: u32,
}

#[test]
fn reentrant_borrows_follow_refcell_and_name_the_type() {
    let local: ThreadLocal<Session> = ThreadLocal::new();
    // Shared inside shared is fine.
    local.with(|outer| local.with(|inner| assert_eq!(outer.hits, inner.hits)));
    local.with(|_| {
        assert_eq!(local.try_with_mut(|_| ()), Err(AccessError::Borrowed));
    });
    local.with_mut(|_| {
        assert_eq!(local.try_with(|_| ()), Err(AccessError::Borrowed));
        assert_eq!(local.try_with_mut(|_| ()), Err(AccessError::Borrowed));
    });
    type Attempt<'a> = Box<dyn Fn() + 'a>;
    let attempts: [(&str, Attempt); 4] = [
        ("with_mut", Box::new(|| local.with_mut(|_| ()))),
        ("set", Box::new(|| local.set(Session::default()))),
        (
            "replace",
            Box::new(|| _ = local.replace(Session::default())),
        ),
        ("take", Box::new(|| _ = local.take())),
    ];
    for (name, attempt) in attempts {
        let payload = catch_unwind(AssertUnwindSafe(|| local.with(|_| attempt()))).unwrap_err();
        let message = panic_message(payload);
        assert!(message.contains("Session"), "{name}: {message}");
        assert!(message.contains("already borrowed"), "{name}: {message}");
    }
    // After the panics the value is usable again: every borrow was released on unwind.
    local.with_mut(|s| s.hits += 1);
    assert_eq!(local.with(|s| s.hits), 1);
}

#[test]
fn initializer_touching_its_own_instance_gets_an_error() {
    static LOCAL: std::sync::LazyLock<ThreadLocal<u32>> = std::sync::LazyLock::new(|| {
        ThreadLocal::with_init(|| {
            assert_eq!(LOCAL.try_with(|v| *v), Err(AccessError::Initializing));
            assert_eq!(LOCAL.try_with_mut(|v| *v), Err(AccessError::Initializing));
            assert!(!LOCAL.is_initialized());
            7
        })
    });
    assert_eq!(LOCAL.get(), 7);

    static PANICKY: std::sync::LazyLock<ThreadLocal<u32>> =
        std::sync::LazyLock::new(|| ThreadLocal::with_init(|| PANICKY.get() + 1));
    thread::spawn(|| {
        let message = panic_message(catch_unwind(|| PANICKY.get()).unwrap_err());
        assert!(message.contains("u32"), "{message}");
        assert!(message.contains("its own initializer"), "{message}");
    })
    .join()
    .unwrap();
}

#[test]
fn panicking_initializer_stores_nothing_and_runs_again() {
    let runs = Arc::new(AtomicUsize::new(0));
    let local = ThreadLocal::with_init({
        let runs = runs.clone();
        move || {
            if runs.fetch_add(1, SeqCst) == 0 {
                panic!("first initialization fails");
            }
            String::from("ready")
        }
    });
    let message = panic_message(catch_unwind(AssertUnwindSafe(|| local.get())).unwrap_err());
    assert_eq!(message, "first initialization fails");
    assert!(!local.is_initialized());
    assert_eq!(local.get(), "ready");
    assert_eq!(runs.load(SeqCst), 2);
}

#[test]
fn values_that_are_not_sync_work_per_thread() {
    let cell: ThreadLocal<Cell<u32>> = ThreadLocal::new();
    let list: ThreadLocal<RefCell<Vec<usize>>> = ThreadLocal::new();
    spawn_and_join(scaled(8, 2), |i| {
        for _ in 0..100 {
            cell.with(|c| c.set(c.get() + 1));
        }
        list.with(|l| l.borrow_mut().push(i));
        assert_eq!(cell.with(Cell::get), 100);
        assert_eq!(list.with(|l| l.borrow().clone()), [i]);
    });
}

#[test]
fn access_during_thread_teardown_is_an_error_not_a_crash() {
    static LOCAL: std::sync::LazyLock<ThreadLocal<u32>> =
        std::sync::LazyLock::new(|| ThreadLocal::with_init(|| 1));
    static SEEN: Mutex<Option<Result<u32, AccessError>>> = Mutex::new(None);
    struct LateDestructor;
    impl Drop for LateDestructor {
        fn drop(&mut self) {
            *SEEN.lock().unwrap() = Some(LOCAL.try_with(|v| *v));
        }
    }
    thread_local!(static LATE: LateDestructor = const { LateDestructor });
    thread::spawn(|| {
        // Registered before this library's destructor, so it runs after it.
        LATE.with(|_| {});
        LOCAL.with(|_| {});
    })
    .join()
    .unwrap();
    assert_eq!(*SEEN.lock().unwrap(), Some(Err(AccessError::Destroyed)));
}

#[test]
fn debug_shows_this_threads_value_without_initializing() {
    let local = ThreadLocal::with_init(|| 42u8);
    assert_eq!(
        format!("{local:?}"),
        "ThreadLocal { value: <uninitialized>, .. }"
    );
    assert!(!local.is_initialized());
    local.with(|_| {});
    assert_eq!(format!("{local:?}"), "ThreadLocal { value: 42, .. }");
    local.with_mut(|_| {
        assert_eq!(
            format!("{local:?}"),
            "ThreadLocal { value: <borrowed>, .. }"
        );
    });
    assert_eq!(format!("{:?}", AccessError::Borrowed), "Borrowed",);
    assert_eq!(
        AccessError::Destroyed.to_string(),
        "this thread's value was already destroyed: the thread is exiting"
    );
}

#[test]
fn instances_are_independent() {
    let a = ThreadLocal::with_init(|| 1);
    let b = ThreadLocal::with_init(|| 2);
    a.set(10);
    assert_eq!((a.get(), b.get()), (10, 2));
    drop(a);
    let c = ThreadLocal::with_init(|| 3);
    assert_eq!((b.get(), c.get()), (2, 3));
}

#[test]
fn auto_traits_follow_the_value() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ThreadLocal<Cell<u32>>>();
    send_sync::<ThreadLocal<RefCell<String>>>();
    send_sync::<AccessError>();
}
