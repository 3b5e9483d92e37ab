//! `SharedThreadLocal`: the `thread_local` crate's own tests of iteration, ported (its
//! `iter`, `miri_iter_soundness_check`, `test_drop`, `test_earlyreturn_buckets`, ...),
//! and the guarantees it lacks: a thread's value dropped when it exits, but never while a
//! reader looks at it, and never handed to another thread. Run under Miri and TSan.

#[allow(unused_macros)]
#[macro_use]
mod support;

use std::cell::RefCell;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;

use local_core::{AccessError, SharedThreadLocal, ThreadLocal};

fn make_create() -> Arc<dyn Fn() -> usize + Send + Sync> {
    let count = AtomicUsize::new(0);
    Arc::new(move || count.fetch_add(1, Relaxed))
}

/// The crate's `same_thread`.
#[test]
fn same_thread() {
    let create = make_create();
    let mut tls = SharedThreadLocal::with_init(move || create());
    assert!(!tls.is_initialized());
    assert_eq!(
        format!("{tls:?}"),
        "SharedThreadLocal { value: <uninitialized>, .. }"
    );
    assert_eq!(tls.with(|v| *v), 0);
    assert_eq!(tls.with(|v| *v), 0);
    assert_eq!(format!("{tls:?}"), "SharedThreadLocal { value: 0, .. }");
    tls.clear();
    assert!(!tls.is_initialized());
    assert_eq!(tls.with(|v| *v), 1, "cleared: initialized again");
}

/// The crate's `reentrant_get_or`, where the inner call fills the slot first: here an
/// initializer that touches its own instance is refused instead.
#[test]
fn reentrant_initializer_is_refused() {
    static TLS: SharedThreadLocal<Box<u32>> = SharedThreadLocal::with_init(init);
    fn init() -> Box<u32> {
        assert_eq!(TLS.try_with(|_| ()), Err(AccessError::Initializing));
        Box::new(2)
    }
    assert_eq!(TLS.with(|b| **b), 2);
}

/// The crate's `different_thread`.
#[test]
fn different_thread() {
    let create = make_create();
    let tls = Arc::new(SharedThreadLocal::with_init({
        let create = Arc::clone(&create);
        move || create()
    }));
    assert_eq!(tls.with(|v| *v), 0);
    let tls2 = Arc::clone(&tls);
    thread::spawn(move || {
        assert!(!tls2.is_initialized());
        assert_eq!(tls2.with(|v| *v), 1);
    })
    .join()
    .unwrap();
    assert_eq!(tls.with(|v| *v), 0);
}

/// The crate's `iter`: values of threads that have exited, which the crate keeps, and so
/// does a `SharedThreadLocal` by default (never handing them to another thread).
#[test]
fn iter() {
    let tls = Arc::new(SharedThreadLocal::with_init(|| Box::new(0)));
    tls.try_init(|| Ok::<_, ()>(Box::new(1))).unwrap();
    let tls2 = Arc::clone(&tls);
    thread::spawn(move || {
        tls2.try_init(|| Ok::<_, ()>(Box::new(2))).unwrap();
        let tls3 = Arc::clone(&tls2);
        thread::spawn(move || tls3.try_init(|| Ok::<_, ()>(Box::new(3))).unwrap())
            .join()
            .unwrap();
        drop(tls2);
    })
    .join()
    .unwrap();
    let mut tls = Arc::try_unwrap(tls).ok().unwrap();

    let mut v: Vec<i32> = tls.read().iter().map(|x| **x).collect();
    v.sort_unstable();
    assert_eq!(v, [1, 2, 3]);
    let mut v: Vec<i32> = tls.iter_mut().map(|x| **x).collect();
    v.sort_unstable();
    assert_eq!(v, [1, 2, 3]);
    let mut v: Vec<i32> = tls.into_iter().map(|x| *x).collect();
    v.sort_unstable();
    assert_eq!(v, [1, 2, 3]);
}

/// The crate's `miri_iter_soundness_check`: a thread initializes and reads while another
/// reads.
#[test]
fn miri_iter_soundness_check() {
    let tls = Arc::new(SharedThreadLocal::with_init(|| Box::new(1)));
    tls.with(|_| ());
    let tls2 = Arc::clone(&tls);
    let join_1 = thread::spawn(move || {
        tls2.try_init(|| Ok::<_, ()>(Box::new(2))).unwrap();
        let all = tls2.read();
        for item in &all {
            assert!(**item == 1 || **item == 2);
        }
    });
    let all = tls.read();
    for item in &all {
        assert!(**item == 1 || **item == 2);
    }
    drop(all);
    join_1.join().unwrap();
}

struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// The crate's `test_drop`.
#[test]
fn test_drop() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let local = SharedThreadLocal::with_init({
        let dropped = Arc::clone(&dropped);
        move || Dropped(Arc::clone(&dropped))
    });
    local.with(|_| ());
    assert_eq!(dropped.load(SeqCst), 0);
    drop(local);
    assert_eq!(dropped.load(SeqCst), 1);
}

/// The crate's `test_earlyreturn_buckets`: a value in a bucket above empty ones is still
/// read, iterated and dropped. Other threads hold the low indices meanwhile.
#[test]
fn test_earlyreturn_buckets() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut local = SharedThreadLocal::with_init({
        let dropped = Arc::clone(&dropped);
        move || Dropped(Arc::clone(&dropped))
    });
    let holders = if cfg!(miri) { 4 } else { 16 };
    let other: ThreadLocal<u8> = ThreadLocal::new();
    let hold = Barrier::new(holders + 1);
    let release = Barrier::new(holders + 1);
    thread::scope(|s| {
        for _ in 0..holders {
            s.spawn(|| {
                other.with(|_| ()); // takes an index
                hold.wait();
                release.wait();
            });
        }
        hold.wait();
        // This thread's index is above the holders' (at least 2 buckets up).
        s.spawn(|| local.with(|_| ())).join().unwrap();
        release.wait();
    });
    assert_eq!(local.read().iter().count(), 1);
    assert_eq!(local.iter_mut().count(), 1);
    drop(local);
    assert_eq!(dropped.load(SeqCst), 1);
}

/// The crate's `is_sync`, and `Send`: values are shared, so they must be `Sync`.
#[test]
fn is_sync() {
    fn foo<T: Sync + Send>() {}
    foo::<SharedThreadLocal<String>>();
    foo::<SharedThreadLocal<std::sync::Mutex<RefCell<String>>>>();
}

// ---------------------------------------------------------------------------------------
// What the crate does not give
// ---------------------------------------------------------------------------------------

/// With `drop_on_exit`, a thread that exits while a reader holds a guard: its value is
/// taken out of sight at once, and dropped only when the reader is done.
#[test]
fn a_value_is_never_dropped_under_a_reader() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let local = Arc::new(
        SharedThreadLocal::with_init({
            let dropped = Arc::clone(&dropped);
            move || Dropped(Arc::clone(&dropped))
        })
        .drop_on_exit(),
    );
    let (touched, ready) = mpsc::channel();
    let (go, wait) = mpsc::channel::<()>();
    let worker = thread::spawn({
        let local = Arc::clone(&local);
        move || {
            local.with(|_| ());
            touched.send(()).unwrap();
            wait.recv().unwrap();
        }
    });
    ready.recv().unwrap();
    let all = local.read();
    let seen: Vec<&Dropped> = all.iter().collect();
    assert_eq!(seen.len(), 1);
    go.send(()).unwrap();
    worker.join().unwrap(); // its exit ran
    assert_eq!(dropped.load(SeqCst), 0, "dropped under a reader");
    assert_eq!(seen[0].0.load(SeqCst), 0); // still readable
    drop(seen);
    drop(all);
    assert_eq!(dropped.load(SeqCst), 1, "dropped once the reader left");
    assert_eq!(local.read().iter().count(), 0, "and out of sight");
}

/// With `drop_on_exit`, exited threads' values are dropped at exit; a new thread never
/// sees one.
#[test]
fn exited_threads_values_are_dropped_and_never_handed_on() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let local = SharedThreadLocal::with_init({
        let dropped = Arc::clone(&dropped);
        move || (Dropped(Arc::clone(&dropped)), AtomicUsize::new(0))
    })
    .drop_on_exit();
    let rounds = if cfg!(miri) { 3 } else { 50 };
    for round in 0..rounds {
        thread::scope(|s| {
            s.spawn(|| {
                assert!(!local.is_initialized(), "round {round}: handed on");
                local.with(|(_, n)| n.fetch_add(1, SeqCst));
            })
            .join()
            .unwrap();
        });
        assert_eq!(dropped.load(SeqCst), round + 1);
        assert_eq!(local.read().iter().count(), 0);
    }
}

/// The sharded counter, as a user writes it first: workers add to their own counters and
/// exit while a reporter sums them; no sum goes backwards as workers finish, and the last
/// is exact. With kept values (the default) and with `fold_on_exit`.
#[test]
fn sharded_counter_never_goes_backwards_as_workers_exit() {
    for counters in [
        SharedThreadLocal::<AtomicUsize>::new(),
        SharedThreadLocal::<AtomicUsize>::new().fold_on_exit(),
    ] {
        let workers = if cfg!(miri) { 3 } else { 8 };
        let adds = if cfg!(miri) { 20 } else { 5_000 };
        let done = AtomicUsize::new(0);
        thread::scope(|s| {
            let counters = &counters;
            s.spawn(|| {
                let mut last = 0;
                loop {
                    let finished = done.load(SeqCst);
                    let sum: usize = counters.read().iter().map(|n| n.load(Relaxed)).sum();
                    assert!(sum >= last, "a sum went backwards: {last} then {sum}");
                    assert!(
                        sum >= finished * adds,
                        "a finished worker's part is missing"
                    );
                    last = sum;
                    if finished == workers {
                        break;
                    }
                    thread::yield_now();
                }
            });
            for _ in 0..workers {
                // Each worker a thread of its own, joined (its exit run) before it counts as
                // finished.
                s.spawn(|| {
                    thread::scope(|inner| {
                        inner
                            .spawn(|| {
                                for _ in 0..adds {
                                    counters.with(|n| n.fetch_add(1, Relaxed));
                                }
                            })
                            .join()
                            .unwrap();
                    });
                    done.fetch_add(1, SeqCst);
                });
            }
        });
        let total: usize = counters.read().iter().map(|n| n.load(Relaxed)).sum();
        assert_eq!(total, workers * adds);
    }
}

/// `fold_on_exit` under thread churn: many short workers, one after another, leave one
/// total behind, not a value each, and the total is exact.
#[test]
fn folded_counters_stay_one_total_under_churn() {
    let counters = SharedThreadLocal::<AtomicU64>::new().fold_on_exit();
    let workers = if cfg!(miri) { 10 } else { 2_000 };
    for _ in 0..workers {
        thread::scope(|s| s.spawn(|| counters_add(&counters)).join().unwrap());
    }
    let values: Vec<u64> = counters.read().iter().map(|n| n.load(Relaxed)).collect();
    assert!(values.len() <= 2, "{} values kept", values.len());
    assert_eq!(values.iter().sum::<u64>(), 3 * workers as u64);
    // A worker alive, plus the total.
    thread::scope(|s| {
        s.spawn(|| {
            counters_add(&counters);
            let sum: u64 = counters.read().iter().map(|n| n.load(Relaxed)).sum();
            assert_eq!(sum, 3 * (workers as u64 + 1));
        });
    });
    let mut counters = counters;
    let sum: u64 = counters.iter_mut().map(|n| *n.get_mut()).sum();
    assert_eq!(sum, 3 * (workers as u64 + 1));
    assert_eq!(
        counters.into_iter().map(AtomicU64::into_inner).sum::<u64>(),
        3 * (workers as u64 + 1),
        "each value given once: folded ones in the total"
    );
}

fn counters_add(counters: &SharedThreadLocal<AtomicU64>) {
    for _ in 0..3 {
        counters.with(|n| n.fetch_add(1, Relaxed));
    }
}

/// Builders on an instance already touched panic, as `ThreadLocal`'s do.
#[test]
fn exit_builders_on_a_touched_instance_panic() {
    let touched = || {
        let local = SharedThreadLocal::<AtomicU64>::new();
        local.with(|_| ());
        local
    };
    for (builder, result) in [
        (
            "fold_on_exit",
            catch_unwind(|| drop(touched().fold_on_exit())),
        ),
        (
            "drop_on_exit",
            catch_unwind(|| drop(touched().drop_on_exit())),
        ),
    ] {
        let payload = result.unwrap_err();
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains(builder), "{message}");
    }
}
