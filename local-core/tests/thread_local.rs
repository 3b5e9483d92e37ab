//! Behaviour of `ThreadLocal<T>` that users rely on: one value per thread, built once on
//! that thread, dropped exactly once, never handed to a later thread. Thread counts shrink
//! under Miri, which runs these tests too.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use local_core::{AccessError, Context, ThreadLocal};

#[allow(unused_macros)]
#[macro_use]
mod support;

use support::counters::{Counters, scaled, spawn_and_join};

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
fn threads_past_the_entries_the_table_carries_keep_their_own_values() {
    // A table carries the entries of the first 15 thread indices; the next threads' entries
    // are in buckets allocated on their first touch. 20 threads alive at once cross that
    // line, also under Miri: their values dropped by their exits, or kept and dropped by
    // the instance.
    let counters = Counters::default();
    let threads = 20;
    let mut local = counters.tracked_local();
    let all_set = Barrier::new(threads + 1);
    let checked = Barrier::new(threads + 1);
    thread::scope(|s| {
        for i in 0..threads {
            let (local, all_set, checked) = (&local, &all_set, &checked);
            s.spawn(move || {
                local.with_mut(|t| t.value = i);
                all_set.wait();
                assert_eq!(local.with(|t| t.value), i);
                checked.wait();
            });
        }
        all_set.wait();
        checked.wait();
    });
    counters.wait_for_drops(threads);
    assert_eq!(counters.created(), threads);
    assert_eq!(local.iter_mut().count(), 0);

    // And values the instance keeps and drops itself, past the line too.
    let mut kept = counters.tracked_local().retain_on_exit();
    thread::scope(|s| {
        for i in 0..threads {
            let (kept, all_set) = (&kept, &all_set);
            s.spawn(move || {
                kept.with_mut(|t| t.value = i);
                all_set.wait();
            });
        }
        all_set.wait();
    });
    let mut values: Vec<usize> = kept.iter_mut().map(|t| t.value).collect();
    values.sort_unstable();
    assert_eq!(values, (0..threads).collect::<Vec<_>>());
    assert_eq!(counters.live(), threads);
    drop(kept);
    assert_eq!(counters.drops(), 2 * threads, "no value dropped twice");
    assert_eq!(counters.live(), 0);
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

/// A thread that takes an exited thread's index binds its own value with `sync_scope`, as its
/// first touch of the instance (it touched another, so it has its index): what the
/// previous owner left there (kept by `retain_on_exit`) is neither in the way nor seen.
#[test]
fn sync_scope_as_a_first_touch_after_a_kept_value() {
    let other = ThreadLocal::<u8>::new();
    let mut totals = ThreadLocal::<usize>::new().retain_on_exit();
    let rounds = scaled(20, 3);
    for round in 0..rounds {
        thread::scope(|s| {
            s.spawn(|| totals.set(round + 1));
        });
        thread::scope(|s| {
            s.spawn(|| {
                other.with(|_| {});
                assert_eq!(totals.sync_scope(100, || totals.get()), 100);
                assert!(!totals.is_initialized());
            });
        });
    }
    let mut kept: Vec<usize> = totals.iter_mut().map(|v| *v).collect();
    kept.sort_unstable();
    assert_eq!(kept, (1..=rounds).collect::<Vec<_>>());
}

/// The same for an inherited instance whose previous owner's value was dropped: the value
/// bound by `sync_scope` is the thread's, so a context inherited inside the scope carries it.
#[test]
fn sync_scope_as_a_first_touch_is_inherited() {
    let other = ThreadLocal::<u8>::new();
    let user = ThreadLocal::with_init(|| "anonymous").inherit();
    for _ in 0..scaled(20, 3) {
        thread::scope(|s| {
            s.spawn(|| user.with(|_| {}));
        });
        thread::scope(|s| {
            s.spawn(|| {
                other.with(|_| {});
                let inherited = user.sync_scope("ada", || Context::inherit().run(|| user.get()));
                assert_eq!(inherited, "ada");
            });
        });
    }
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
fn a_destructor_running_after_the_librarys_gets_destroyed_or_a_fresh_value() {
    static LOCAL: ThreadLocal<u32> = ThreadLocal::with_init(|| 1);
    static SEEN: Mutex<Option<Result<u32, AccessError>>> = Mutex::new(None);
    struct LateDestructor;
    impl Drop for LateDestructor {
        fn drop(&mut self) {
            *SEEN.lock().unwrap() = Some(LOCAL.try_with(|v| *v));
        }
    }
    thread_local!(static LATE: LateDestructor = const { LateDestructor });
    thread::spawn(|| {
        // With native thread-locals, registered before this library's destructor, so it
        // runs after it.
        LATE.with(|_| {});
        LOCAL.set(5);
    })
    .join()
    .unwrap();
    let seen = SEEN.lock().unwrap().expect("the late destructor ran");
    // `Destroyed` with native thread-locals. On std's OS-key fallback, destructors run in
    // the order their keys were made: the late one may run first, and see the value still
    // alive (5), or after this library's, and find the instance fresh (1), as std's own
    // thread-locals there start afresh.
    assert!(
        [Err(AccessError::Destroyed), Ok(5), Ok(1)].contains(&seen),
        "{seen:?}"
    );
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
fn instances_made_after_others_are_dropped_start_empty() {
    // A dropped instance's table may be kept, emptied, for the next instance of its value
    // type; an instance of another type that finds it drops it. Nothing of the old
    // instance shows through.
    let counters = Counters::default();
    let threads = scaled(4, 2);
    for round in 0..4 {
        let mut small = counters.tracked_local().retain_on_exit();
        let mut large = ThreadLocal::with_init(|| [round; 40]).retain_on_exit();
        assert!(!small.is_initialized() && !large.is_initialized());
        spawn_and_join(threads, |i| {
            assert_eq!(small.with(|t| t.value), 0, "a fresh value, round {round}");
            assert_eq!(large.with(|a| a[39]), round);
            small.with_mut(|t| t.value = round * 100 + i);
            large.with_mut(|a| a[0] = i);
        });
        let mut values: Vec<usize> = small.iter_mut().map(|t| t.value).collect();
        values.sort_unstable();
        assert_eq!(
            values,
            (0..threads).map(|i| round * 100 + i).collect::<Vec<_>>()
        );
        assert_eq!(large.iter_mut().count(), threads);
        // The table kept is the one dropped first: the next round's first instance finds one
        // of its own type, or of the other.
        if round % 2 == 0 {
            drop(small);
            drop(large);
        } else {
            drop(large);
            drop(small);
        }
        assert_eq!(counters.live(), 0);
    }
    assert_eq!(counters.drops(), 4 * threads);
}

#[test]
fn an_instance_on_a_dropped_instances_table_starts_as_new() {
    // A dropped instance's table is emptied and kept for the next instance of the same
    // value type, once no thread lists it: here every touch is on a thread that exits
    // before the instance is dropped. Nothing of the old instance shows through: not its
    // threads' values, past the entries the table carries too; not its values in a context
    // that outlives it; not its `retain_on_exit`.
    let counters = Counters::default();
    let threads = scaled(20, 17);
    let mut context = Context::new();
    let rounds = scaled(4, 2);
    for round in 0..rounds {
        let keep = round % 2 == 0;
        let mut local = if keep {
            counters.tracked_local().retain_on_exit()
        } else {
            counters.tracked_local()
        };
        assert!(!local.is_initialized());
        thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(context.run(|| local.with(|t| t.value)), 0, "round {round}");
                context.run(|| local.with_mut(|t| t.value = 1000 + round));
            });
        });
        let all_set = Barrier::new(threads);
        spawn_and_join(threads, |i| {
            assert_eq!(local.with(|t| t.value), 0, "round {round}, thread {i}");
            local.with_mut(|t| t.value = round * 100 + i);
            // All alive at once: the threads take indices past the carried entries.
            all_set.wait();
            assert_eq!(local.with(|t| t.value), round * 100 + i);
        });
        let mut kept: Vec<usize> = local.iter_mut().map(|t| t.value).collect();
        kept.sort_unstable();
        let expected: Vec<usize> = if keep {
            (0..threads).map(|i| round * 100 + i).collect()
        } else {
            Vec::new()
        };
        assert_eq!(kept, expected, "round {round}");
        drop(local);
        // The context's value of each round, and nothing else.
        assert_eq!(counters.live(), round + 1);
    }
    drop(context);
    assert_eq!(counters.live(), 0);
    assert_eq!(counters.drops(), counters.created());
    assert_eq!(counters.created(), rounds * (threads + 1));
}

#[test]
fn auto_traits_follow_the_value() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ThreadLocal<Cell<u32>>>();
    send_sync::<ThreadLocal<RefCell<String>>>();
    send_sync::<AccessError>();
}

/// A per-instance connection cache inside pooled jobs: `per_thread()` makes one per
/// thread, whatever frame runs; without it, each `fresh` job makes its own.
#[test]
fn per_thread_instances_ignore_frames() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    let connects = AtomicUsize::new(0);
    let connect = || {
        connects.fetch_add(1, Relaxed);
        format!("connection {}", connects.load(Relaxed))
    };
    let cache = ThreadLocal::with_init(connect).per_thread();
    for _job in 0..3 {
        local_core::fresh(|| assert_eq!(cache.get(), "connection 1"));
    }
    let mut context = Context::new();
    context.run(|| cache.with_mut(|c| c.push_str(", used")));
    assert_eq!(cache.get(), "connection 1, used");
    assert_eq!(connects.load(Relaxed), 1);

    // The mistake it fixes: an instance that follows frames connects once per job.
    let per_frame = ThreadLocal::with_init(connect);
    for _job in 0..3 {
        local_core::fresh(|| per_frame.with(|_| ()));
    }
    assert_eq!(connects.load(Relaxed), 4);
}

#[test]
fn per_thread_and_inherit_exclude_each_other() {
    let message = panic_message(
        std::panic::catch_unwind(|| drop(ThreadLocal::<u8>::new().per_thread().inherit()))
            .unwrap_err(),
    );
    assert!(message.contains("per_thread"), "{message}");
    let message = panic_message(
        std::panic::catch_unwind(|| drop(ThreadLocal::<u8>::new().inherit().per_thread()))
            .unwrap_err(),
    );
    assert!(message.contains("inherit"), "{message}");
}

/// The `thread_local` crate's `get() -> Option<&T>`: a read that never initializes.
#[test]
fn with_existing_reads_without_initializing() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    let inits = AtomicUsize::new(0);
    let local = ThreadLocal::with_init(|| {
        inits.fetch_add(1, Relaxed);
        7u32
    });
    assert_eq!(local.with_existing(|v| v.copied()), None);
    assert_eq!(inits.load(Relaxed), 0, "never runs the initializer");
    local.set(3);
    assert_eq!(local.with_existing(|v| v.copied()), Some(3));
    assert_eq!(local.take(), Some(3));
    assert_eq!(local.with_existing(|v| v.copied()), None);
    // Inside a frame: the frame's value, or none.
    let mut context = Context::new();
    assert_eq!(context.run(|| local.with_existing(|v| v.copied())), None);
    context.run(|| local.set(9));
    assert_eq!(context.run(|| local.with_existing(|v| v.copied())), Some(9));
    // Through a frame's cache too (the second read in the same run).
    context.run(|| {
        local.with(|_| ());
        assert_eq!(local.with_existing(|v| v.copied()), Some(9));
    });
    assert_eq!(inits.load(Relaxed), 0);
    // A mutable borrow is the one refusal.
    local.set(1);
    local.with_mut(|_| {
        assert_eq!(
            local.try_with_existing(|v| v.copied()),
            Err(AccessError::Borrowed)
        );
    });
    assert_eq!(local.try_with_existing(|v| v.copied()), Ok(Some(1)));
}
