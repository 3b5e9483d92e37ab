//! A second review's attempts to break the storage from safe code, focused on the guard of
//! `ThreadLocal::borrow_mut`, `iter_mut` on `inherit` instances, `SharedThreadLocal`'s walk
//! and reclamation, and the per-call initializers. Tests without a mark failed on the code
//! they were written against (their comment says how, and what fixed it); those marked
//! `// holds` probe a scenario the code handled already.

#[allow(unused_macros)]
#[macro_use]
mod support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};
use std::thread;

use local_core::{AccessError, Context, RefMut, SharedThreadLocal, ThreadLocal};
use support::counters::{Counters, Tracked, scaled};

/// A value that says which value it is, and counts its drops by name.
#[derive(Debug)]
struct Named {
    name: &'static str,
    drops: Arc<Mutex<Vec<&'static str>>>,
}

impl Drop for Named {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(self.name);
    }
}

// ---------------------------------------------------------------------------------------
// Defects
// ---------------------------------------------------------------------------------------

/// Finding 2a: `sync_scope` promises that the previous value "is back afterwards" and that
/// the bound value (or what `f` left) is dropped. A `per_thread` guard taken inside `f` and
/// returned out of it kept the entry mutably borrowed when `Restore` swapped back: the swap
/// was refused and the refusal ignored, so the thread's own value was dropped and the bound
/// one stayed. A guard is refused while a binding runs on the entry now.
#[test]
fn a_guard_returned_out_of_sync_scope_keeps_the_binding_and_drops_the_threads_value() {
    let drops = Arc::new(Mutex::new(Vec::new()));
    let local = ThreadLocal::<Option<Named>, _>::with_init(|| None).per_thread();
    local.set(Some(Named {
        name: "previous",
        drops: drops.clone(),
    }));
    let bound = Some(Named {
        name: "bound",
        drops: drops.clone(),
    });
    let guard = local.sync_scope(bound, || local.try_borrow_mut().map(drop));
    assert_eq!(
        guard,
        Err(AccessError::Borrowed),
        "a guard inside a binding"
    );
    let refused = catch_unwind(AssertUnwindSafe(|| {
        local.sync_scope(None, || drop(local.borrow_mut()));
    }));
    assert!(refused.is_err(), "borrow_mut inside a binding panics");
    let after = local.with(|v| v.as_ref().map(|v| v.name));
    let dropped = drops.lock().unwrap().clone();
    assert_eq!(
        (after, dropped),
        (Some("previous"), vec!["bound"]),
        "after sync_scope the thread reads (left) and these values were dropped (right)"
    );
}

/// Finding 2b: the same through `scope`. A future that kept a guard across a `Pending`
/// left its bound value in the thread's entry between polls, and the roles of the two
/// values were inverted for the rest of the future's life. A guard is refused in a poll
/// that binds the entry; one taken outside makes the binding's poll refuse instead (it
/// panics, keeping the value for the next poll).
#[test]
fn a_guard_held_across_a_pending_inverts_a_scoped_binding() {
    static LOCAL: ThreadLocal<&'static str> =
        ThreadLocal::with_init(own as fn() -> &'static str).per_thread();
    fn own() -> &'static str {
        "thread's own"
    }

    struct Twice {
        polls: u32,
        seen: Vec<Result<&'static str, AccessError>>,
    }
    impl Future for Twice {
        type Output = Vec<Result<&'static str, AccessError>>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
            self.polls += 1;
            let guard = LOCAL.try_borrow_mut().map(|guard| *guard);
            self.seen.push(guard);
            if self.polls == 1 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.seen.push(Ok(LOCAL.get()));
            Poll::Ready(std::mem::take(&mut self.seen))
        }
    }

    thread::spawn(|| {
        LOCAL.set("thread's own");
        let mut task = pin!(LOCAL.scope(
            "future's",
            Twice {
                polls: 0,
                seen: Vec::new()
            }
        ));
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert!(task.as_mut().poll(&mut cx).is_pending());
        let between = LOCAL.get();
        // A guard held outside while the future is polled: the poll is refused.
        let held = LOCAL.borrow_mut();
        let refused = catch_unwind(AssertUnwindSafe(|| task.as_mut().poll(&mut cx)));
        assert!(refused.is_err(), "a poll that cannot bind panics");
        drop(held);
        let Poll::Ready(seen) = task.as_mut().poll(&mut cx) else {
            panic!("ready on the next poll")
        };
        let after = LOCAL.get();
        assert_eq!(
            (seen, between, after),
            (
                vec![
                    Err(AccessError::Borrowed),
                    Err(AccessError::Borrowed),
                    Ok("future's")
                ],
                "thread's own",
                "thread's own"
            ),
            "inside the future, between polls, after"
        );
    })
    .join()
    .unwrap();
}

/// A value whose destructor, if asked, touches an instance its thread never touched, as a
/// destructor that logs into a lazily made buffer does.
#[derive(Default)]
struct TouchesOnDrop {
    touch: bool,
}

static FIRST_TOUCHED_IN_DROP: ThreadLocal<u32> = ThreadLocal::new();
static DROP_SAW: Mutex<Option<u32>> = Mutex::new(None);

impl Drop for TouchesOnDrop {
    fn drop(&mut self) {
        if self.touch {
            let n = FIRST_TOUCHED_IN_DROP.with_mut(|n| {
                *n += 1;
                *n
            });
            *DROP_SAW.lock().unwrap() = Some(n);
        }
    }
}

/// Finding 1: a leaked guard leaves its value in the instance's table after the instance is dropped
/// (`Table::drain` skips borrowed entries); the value is dropped with the table, by whoever
/// lets go of its last `Arc`. That can be another thread's sweep of dropped instances in
/// `thread::join` (`thread.rs`), which drops the `Arc`s inside `members.retain(..)` while
/// it holds `state.members.borrow_mut()`. The value's destructor then runs under that
/// borrow: if it touches an instance its thread has not touched yet (`join` again), or calls
/// `Context::inherit` (`members.borrow()`), the `RefCell` panics ("already borrowed") out of
/// an unrelated `with` on that thread. Before the guard, no value could stay borrowed past
/// its instance short of `process::exit`. Failed natively (and under Miri): the thread
/// panicked with `RefCell` already borrowed. The sweep now drops what it removes after the
/// borrow ends, as `ThreadState::drop` does.
#[test]
fn a_leaked_guards_value_is_dropped_inside_another_threads_member_sweep() {
    let local = Arc::new(ThreadLocal::<TouchesOnDrop>::new().per_thread());
    thread::spawn({
        let local = Arc::clone(&local);
        move || {
            let mut guard = local.borrow_mut();
            guard.touch = true;
            std::mem::forget(guard);
        }
    })
    .join()
    .unwrap();
    let sweeper = thread::spawn(move || {
        local.with(|_| ()); // this thread's list holds the table: [local]
        drop(local); // dropped: the leaked value stays in the table, which this list keeps
        let others: Vec<ThreadLocal<u8>> = (0..8).map(|_| ThreadLocal::new()).collect();
        for other in &others {
            // The eighth push sweeps the dropped instance: its table goes, with the value.
            other.with(|_| ());
        }
    });
    let result = sweeper.join();
    let message = result.as_ref().err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    });
    assert!(result.is_ok(), "an unrelated access panicked: {message:?}");
    assert_eq!(*DROP_SAW.lock().unwrap(), Some(1));
}

/// Finding 3: `fold_on_exit` after `clear`. `Totals::take` (called by `SharedTable::drain`)
/// empties the current total but left `Totals::settled` as it was, so fold numbers started
/// again at 1 while `settled` still says "every reader counts folds up to n". The next fold marks its
/// node `folded = 1`, and the next tidy of that list finds `has_settled` true at once and
/// splices the node out, although a reader that took the (empty) total before the fold,
/// and still has to reach that list, counts on the node being there ("a value folded after
/// [the walk starts] is seen in its thread's node"). That reader's sum loses the value.
/// Memory-safe (the node is retired and waits for the reader), but the exact-once sum is
/// broken. Failed natively (and under Miri): the sum lacked the exited thread's 100. Fold
/// numbers never start again now (a counter in `Totals` that `take` leaves alone);
/// resetting `settled` in `take` would not be enough, since an exit that folded before the
/// clear may settle its replaced total after it (and `drain` itself settles what `reset`
/// frees).
#[test]
fn a_fold_after_clear_is_spliced_out_before_a_running_walk_reaches_it() {
    let mut local = SharedThreadLocal::<AtomicU64>::new().fold_on_exit();
    // Folds before the clear, settled once nobody reads: `settled` becomes at least 1.
    for _ in 0..2 {
        thread::scope(|s| {
            s.spawn(|| local.with(|n| n.fetch_add(1, Relaxed)))
                .join()
                .unwrap();
        });
    }
    assert_eq!(local.read().iter().map(|n| n.load(Relaxed)).sum::<u64>(), 2);

    // The exited thread's index must go to one of the helpers, which other tests' threads
    // may take first: a few rounds, each after a clear.
    let helpers = scaled(8, 4);
    let mut sums = Vec::new();
    for _ in 0..scaled(20, 2) {
        local.clear();
        let sum = walk_across_a_fold(&local, helpers);
        sums.push(sum);
        if sum != 100 + helpers as u64 {
            break;
        }
    }
    assert!(
        sums.iter().all(|&sum| sum == 100 + helpers as u64),
        "the exited thread's value, folded during the walk, was lost: sums {sums:?}, \
         each should be {}",
        100 + helpers
    );
}

/// One thread stores 100; a walk starts; the thread exits (and folds); helpers take the
/// smallest free indices, the exited one's among them, and the one that does tidies that
/// list; then the walk runs. Returns its sum.
fn walk_across_a_fold(local: &SharedThreadLocal<AtomicU64>, helpers: usize) -> u64 {
    let exited = Barrier::new(2);
    let go = Barrier::new(2);
    let ready = Barrier::new(helpers + 1);
    let done = Barrier::new(helpers + 1);
    thread::scope(|s| {
        let first = s.spawn(|| {
            local.with(|n| n.store(100, Relaxed));
            exited.wait();
            go.wait();
        });
        exited.wait();
        // The walk starts: no total yet, so every value is to be found in a node.
        let guard = local.read();
        let mut walk = guard.iter();
        go.wait();
        first.join().unwrap(); // its exit folds it: `folded = 1`
        for _ in 0..helpers {
            s.spawn(|| {
                local.with(|n| n.store(1, Relaxed));
                ready.wait();
                done.wait();
            });
        }
        ready.wait();
        let sum: u64 = walk.by_ref().map(|n| n.load(Relaxed)).sum();
        done.wait();
        sum
    })
}

// ---------------------------------------------------------------------------------------
// Scenarios probed that the code handles
// ---------------------------------------------------------------------------------------

// holds
/// A guard leaked on a scoped thread, then the instance cleared, iterated and drained from
/// another thread while the leaked borrow stands: nothing lends or moves the borrowed value,
/// and it is dropped exactly once, with the instance.
#[test]
fn a_leaked_guard_then_clear_iter_mut_and_into_iter() {
    let counters = Counters::default();
    let mut local = counters.tracked_local().per_thread().retain_on_exit();
    thread::scope(|s| {
        s.spawn(|| {
            let mut guard = local.borrow_mut();
            guard.value = 7;
            std::mem::forget(guard);
        })
        .join()
        .unwrap();
        s.spawn(|| local.with_mut(|v| v.value = 1)).join().unwrap();
    });
    counters.wait_for_drops(0);
    // The leaked one is never lent; the other thread's retained value is.
    let seen: Vec<usize> = local.iter_mut().map(|v| v.value).collect();
    assert!(
        !seen.contains(&7),
        "iter_mut lent a borrowed value: {seen:?}"
    );
    local.clear();
    assert_eq!(counters.drops(), 1, "only the unborrowed value is dropped");
    let rest: Vec<Tracked> = local.into_iter().collect();
    assert!(rest.iter().all(|v| v.value != 7));
    drop(rest);
    assert_eq!((counters.created(), counters.drops()), (2, 2));
}

// holds
/// A guard leaked on a thread, whose instance (not `static`) is then dropped on another
/// thread after the first exited: the table outlives neither, and the value is dropped once.
#[test]
fn a_leaked_guard_on_an_instance_dropped_elsewhere() {
    let counters = Counters::default();
    let local = Arc::new(counters.tracked_local().per_thread());
    let worker = thread::spawn({
        let local = Arc::clone(&local);
        move || {
            std::mem::forget(local.borrow_mut());
        }
    });
    worker.join().unwrap();
    let dropper = thread::spawn(move || drop(Arc::into_inner(local).unwrap()));
    dropper.join().unwrap();
    assert_eq!((counters.created(), counters.drops()), (1, 1));
}

static BEFORE: ThreadLocal<Tracked, fn() -> Tracked> =
    ThreadLocal::with_init(tracked as fn() -> Tracked).per_thread();
static BEFORE_COUNTERS: std::sync::LazyLock<Counters> = std::sync::LazyLock::new(Counters::default);

fn tracked() -> Tracked {
    BEFORE_COUNTERS.make(0)
}

struct GuardHolder(Option<RefMut<'static, Tracked>>);

impl Drop for GuardHolder {
    fn drop(&mut self) {
        if let Some(mut guard) = self.0.take() {
            guard.value += 1;
        }
    }
}

thread_local! {
    static LATE_HOLDER: RefCell<GuardHolder> = const { RefCell::new(GuardHolder(None)) };
}

// holds
/// A guard kept in a `thread_local!` registered *after* the library's thread state, so
/// dropped *before* the library's destructor: the value is destroyed normally at exit, and
/// the index is given back (a later thread starts fresh).
#[test]
fn a_guard_dropped_in_teardown_before_the_librarys_destructor() {
    thread::spawn(|| {
        let mut guard = BEFORE.borrow_mut(); // registers the library's state first
        guard.value = 5;
        LATE_HOLDER.with(|holder| holder.borrow_mut().0 = Some(guard));
    })
    .join()
    .unwrap();
    let at_exit = BEFORE_COUNTERS.drops();
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_none() {
        assert_eq!(at_exit, 1, "destroyed at its thread's exit");
    } else {
        // std's OS-key fallback runs the destructors in no set order: if the library's ran
        // first, it found the value borrowed and left it, with the index.
        assert!(at_exit <= 1, "dropped {at_exit} times");
    }
    let fresh = thread::spawn(|| BEFORE.with(|v| v.value)).join().unwrap();
    assert_eq!(fresh, 0);
    assert_eq!(BEFORE_COUNTERS.drops(), at_exit + 1);
}

static IN_TEARDOWN: ThreadLocal<Tracked, fn() -> Tracked> =
    ThreadLocal::with_init(tracked_teardown as fn() -> Tracked).per_thread();
static TEARDOWN_COUNTERS: std::sync::LazyLock<Counters> =
    std::sync::LazyLock::new(Counters::default);
static TRIGGER: ThreadLocal<TakesGuardOnDrop> = ThreadLocal::new();
static TEARDOWN_RESULT: Mutex<Option<Result<(), AccessError>>> = Mutex::new(None);

fn tracked_teardown() -> Tracked {
    TEARDOWN_COUNTERS.make(0)
}

thread_local! {
    static TEARDOWN_HOLDER: RefCell<GuardHolder> = const { RefCell::new(GuardHolder(None)) };
}

#[derive(Default)]
struct TakesGuardOnDrop;

impl Drop for TakesGuardOnDrop {
    fn drop(&mut self) {
        // During the library's teardown: a guard on another instance of this thread, kept in
        // a `thread_local!` first touched now (so destroyed after the library's destructor).
        let taken = IN_TEARDOWN.try_borrow_mut().map(|guard| {
            let _ = TEARDOWN_HOLDER.try_with(|holder| holder.borrow_mut().0 = Some(guard));
        });
        *TEARDOWN_RESULT.lock().unwrap() = Some(taken);
    }
}

// holds
/// A guard taken *during* the library's teardown, by a value's destructor, on an instance
/// destroyed later in the same teardown (listed before it), kept past the teardown: the
/// instance finds it borrowed and leaves it; whatever happens, each value drops at most once.
#[test]
fn a_guard_taken_during_teardown_and_kept_past_it() {
    thread::spawn(|| {
        IN_TEARDOWN.with(|_| ()); // listed first, destroyed last
        TRIGGER.with(|_| ());
    })
    .join()
    .unwrap();
    let result = *TEARDOWN_RESULT.lock().unwrap();
    assert_eq!(result, Some(Ok(())));
    // Left borrowed, then released by the holder's destructor: never dropped (the index is
    // kept), and never seen by a later thread.
    assert_eq!(TEARDOWN_COUNTERS.created(), 1);
    assert!(TEARDOWN_COUNTERS.drops() <= 1);
    let later = thread::spawn(|| IN_TEARDOWN.with(|v| v.value))
        .join()
        .unwrap();
    assert_eq!(later, 0);
}

// holds
/// `try_borrow_mut` from a destructor that std runs after the library's: refused as
/// `Destroyed`, not a fresh value under an index given back.
#[test]
fn try_borrow_mut_after_the_librarys_destructor_is_refused() {
    static LATE: ThreadLocal<u32> = ThreadLocal::new().per_thread();
    static SEEN: Mutex<Option<Result<u32, AccessError>>> = Mutex::new(None);
    struct Probe;
    impl Drop for Probe {
        fn drop(&mut self) {
            *SEEN.lock().unwrap() = Some(LATE.try_borrow_mut().map(|g| *g));
        }
    }
    thread_local! {
        static PROBE: Cell<Option<Probe>> = const { Cell::new(None) };
    }
    thread::spawn(|| {
        PROBE.set(Some(Probe)); // registered before the library's state: runs after it
        LATE.with_mut(|n| *n = 3);
    })
    .join()
    .unwrap();
    let seen = *SEEN.lock().unwrap();
    if cfg!(miri) || std::env::var_os("LOCAL_NO_NATIVE_TLS").is_none() {
        assert_eq!(seen, Some(Err(AccessError::Destroyed)));
    }
}

// holds
/// A guard alive across `Context::inherit`: a `per_thread` instance is never inherited,
/// so nothing clones under the guard; an `inherit` instance's value is cloned as usual.
#[test]
fn context_inherit_under_a_guard() {
    let guarded = ThreadLocal::<Vec<u8>>::new().per_thread();
    let inherited = ThreadLocal::<Vec<u8>>::new().inherit();
    inherited.set(vec![1]);
    let mut guard = guarded.borrow_mut();
    guard.push(9);
    let mut child = Context::inherit();
    let (in_child, guarded_in_child) = child.run(|| {
        (
            inherited.get(),
            guarded.try_with(Vec::len), // the thread's own value: borrowed
        )
    });
    assert_eq!(in_child, vec![1]);
    assert_eq!(guarded_in_child, Err(AccessError::Borrowed));
    guard.push(10);
    drop(guard);
    assert_eq!(guarded.get(), vec![9, 10]);
}

// holds
/// `iter_mut` on an `inherit` instance panics from every route (`&mut` into_iter included),
/// and `into_iter`/`clear` work.
#[test]
fn every_route_to_iter_mut_on_an_inherit_instance_panics() {
    let mut local = ThreadLocal::<u32>::new().inherit();
    local.set(1);
    assert!(catch_unwind(AssertUnwindSafe(|| (&mut local).into_iter().count())).is_err());
    assert!(
        catch_unwind(AssertUnwindSafe(|| {
            for v in &mut local {
                *v += 1;
            }
        }))
        .is_err()
    );
    assert_eq!(local.get(), 1);
    local.clear();
    local.set(2);
    assert_eq!(local.into_iter().collect::<Vec<_>>(), [2]);
}

// holds
/// `with_or_init`'s initializer touching its own instance, and `without_init` instances in
/// frames: refused as `Initializing`, nothing stored by a failed or unwound initializer.
#[test]
fn per_call_initializers_that_touch_their_instance() {
    let local = ThreadLocal::<u32, _>::without_init();
    let inner = local.with_or_init(
        || {
            assert_eq!(
                local.try_with_or_init(|| 5, |v| *v),
                Err(AccessError::Initializing)
            );
            assert_eq!(
                local.try_with_mut_or_init(|| 5, |v| *v),
                Err(AccessError::Initializing)
            );
            assert!(catch_unwind(AssertUnwindSafe(|| local.set(9))).is_err());
            assert!(catch_unwind(AssertUnwindSafe(|| local.take())).is_err());
            1
        },
        |v| *v,
    );
    assert_eq!(inner, 1);
    assert!(
        catch_unwind(AssertUnwindSafe(|| {
            local_core::fresh(|| local.with_or_init(|| panic!("no value"), |_| ()))
        }))
        .is_err()
    );
    let in_fresh = local_core::fresh(|| {
        assert!(!local.is_initialized());
        local.with_mut_or_init(
            || 10,
            |v| {
                *v += 1;
                *v
            },
        )
    });
    assert_eq!((in_fresh, local.with_or_init(|| 0, |v| *v)), (11, 1));
    let mut context = Context::new();
    context.run(|| local.with_mut_or_init(|| 20, |v| *v += 1));
    assert_eq!(context.run(|| local.with_or_init(|| 0, |v| *v)), 21);
}

// holds
/// `fold_on_exit` sums read while threads exit and fold: each read of a counter that only
/// grows never exceeds what was added, and the final sum is exact; Miri checks the walk's
/// pointers against the folds and the reclamation of replaced totals.
#[test]
fn fold_on_exit_sums_under_churn() {
    let local = SharedThreadLocal::<AtomicU64>::new().fold_on_exit();
    let threads = scaled(16, 4);
    let started = AtomicUsize::new(0);
    thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut sums = Vec::new();
            for _ in 0..scaled(200, 10) {
                let guard = local.read();
                let sum: u64 = guard.iter().map(|n| n.load(Relaxed)).sum();
                let bound = started.load(SeqCst) as u64;
                assert!(sum <= bound, "sum {sum} > {bound} threads started");
                sums.push(sum);
                drop(guard);
                thread::yield_now();
            }
            sums
        });
        for _ in 0..threads {
            s.spawn(|| {
                started.fetch_add(1, SeqCst);
                local.with(|n| n.fetch_add(1, Relaxed));
            })
            .join()
            .unwrap();
        }
        reader.join().unwrap();
    });
    // Every worker was joined, so every exit folded.
    let sum: u64 = local.read().iter().map(|n| n.load(Relaxed)).sum();
    assert_eq!(sum, threads as u64, "each value counted exactly once");
}

// holds
/// `drop_on_exit`: a reader that keeps its guard while the values it walked are dropped by
/// their threads' exits still reads them (Miri: no use after free), and they are dropped
/// once the guard goes.
#[test]
fn drop_on_exit_values_outlive_the_readers_that_saw_them() {
    let counters = Counters::default();
    let local = SharedThreadLocal::with_init({
        let counters = counters.clone();
        move || counters.make(1)
    })
    .drop_on_exit();
    let threads = scaled(6, 3);
    let barrier = Barrier::new(threads + 1);
    let exited = Barrier::new(threads + 1);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                local.with(|_| ());
                barrier.wait();
                exited.wait();
            });
        }
        barrier.wait();
        let guard = local.read();
        let values: Vec<&Tracked> = guard.iter().collect();
        assert_eq!(values.len(), threads);
        exited.wait();
        // The threads now exit; their values wait for this guard.
        thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
            0
        } else {
            50
        }));
        let sum: usize = values.iter().map(|v| v.value).sum();
        assert_eq!(sum, threads);
        drop(values);
        drop(guard);
    });
    counters.wait_for_drops(threads);
    assert_eq!(counters.drops(), threads);
}

// holds
/// `SharedThreadLocal::iter_mut` (with `fold_on_exit`) racing the exits of threads that used
/// the instance: writes through every reference while the exits fold or keep their nodes;
/// afterwards every value, written or not, is counted exactly once (Miri, TSan: no race
/// between the references and the exits' folds).
#[test]
fn shared_iter_mut_racing_folding_exits_counts_each_write_once() {
    let threads = scaled(8, 3);
    let local = Arc::new(Mutex::new(
        SharedThreadLocal::<AtomicU64>::new().fold_on_exit(),
    ));
    let touched = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (local, touched) = (Arc::clone(&local), Arc::clone(&touched));
            thread::spawn(move || {
                local.lock().unwrap().with(|n| n.fetch_add(1, Relaxed));
                touched.wait();
                // Exits now, racing the `iter_mut` below; its exit needs no lock of ours.
            })
        })
        .collect();
    touched.wait();
    let yielded = {
        let mut guard = local.lock().unwrap();
        let mut yielded = 0u64;
        for n in guard.iter_mut() {
            *n.get_mut() += 10;
            yielded += 1;
            thread::yield_now();
        }
        yielded
    };
    for handle in handles {
        handle.join().unwrap();
    }
    let guard = local.lock().unwrap();
    let sum: u64 = guard.read().iter().map(|n| n.load(Relaxed)).sum();
    assert!(yielded >= 1);
    assert_eq!(sum, threads as u64 + 10 * yielded);
}

// holds
/// A `Read` guard kept in a `thread_local!` and dropped in teardown after the library's
/// destructor, on a thread whose own value `drop_on_exit` retires under that very guard:
/// the value waits for the guard and is dropped once, when it goes (by the guard's `leave`,
/// during the teardown).
#[test]
fn a_read_guard_dropped_after_the_librarys_destructor_releases_its_threads_value() {
    // The staging needs destructors in the reverse order of registration (its checks run
    // in one, where a failure aborts); std's OS-key fallback has no set order.
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_some() {
        return;
    }
    static COUNTERS: std::sync::LazyLock<Counters> = std::sync::LazyLock::new(Counters::default);
    static SHARED: std::sync::LazyLock<
        SharedThreadLocal<Tracked, Box<dyn Fn() -> Tracked + Send + Sync>>,
    > = std::sync::LazyLock::new(|| {
        SharedThreadLocal::with_init(Box::new(|| COUNTERS.make(1)) as Box<_>).drop_on_exit()
    });
    struct HoldsRead(Option<local_core::Read<'static, Tracked>>);
    impl Drop for HoldsRead {
        fn drop(&mut self) {
            if let Some(read) = self.0.take() {
                // The library's destructor spliced this thread's value out (a walk started
                // now does not see it) and retired it: it waits for this guard.
                assert_eq!(read.iter().count(), 0);
                assert_eq!(COUNTERS.drops(), 0, "dropped under a live guard");
                drop(read);
            }
        }
    }
    thread_local! {
        static HOLDS: RefCell<HoldsRead> = const { RefCell::new(HoldsRead(None)) };
    }
    thread::spawn(|| {
        HOLDS.with(|_| ()); // registered before the library's state: destroyed after it
        SHARED.with(|_| ());
        HOLDS.with(|holds| holds.borrow_mut().0 = Some(SHARED.read()));
    })
    .join()
    .unwrap();
    assert_eq!((COUNTERS.created(), COUNTERS.drops()), (1, 1));
}
