//! Races between threads, run natively, under Miri with several seeds, and under
//! ThreadSanitizer: a thread's exit against the instance's `&mut` methods and `Drop`
//! (`std::thread::scope` returns before its threads' destructors run), first touches
//! installing the table and buckets, `Context::inherit` cloning while another thread
//! clears, and contexts moving between threads. Every value is counted: dropped exactly
//! once, never under a borrow.

#[macro_use]
mod support;

use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use local_core::{Context, ThreadLocal};
use support::counters::{Counters, Tracked, scaled, spawn_and_join};

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

/// Threads touching a fresh instance all at once race to install its table and buckets:
/// each gets its own value, and every value is dropped once.
#[test]
fn first_touches_race_to_install_the_table_and_buckets() {
    let threads = scaled(16, 4);
    for _ in 0..scaled(20, 2) {
        let counters = Counters::default();
        let local = counters.tracked_local();
        let start = Barrier::new(threads);
        spawn_and_join(threads, |i| {
            start.wait();
            local.with_mut(|t| t.value = i);
            assert_eq!(local.with(|t| t.value), i);
        });
        assert_eq!(counters.created(), threads);
        assert_eq!(counters.drops(), threads);
        drop(local);
        assert_eq!(counters.drops(), threads);
    }
}

/// A thread's `Context::inherit` clones its value without the instance's lock held, while
/// another thread, owning the instance, clears it: the value is never dropped under the
/// clone, and every value and clone is dropped exactly once.
#[test]
fn inherit_clones_while_another_thread_clears() {
    struct Slow {
        counters: Counters,
        _tracked: Tracked,
    }
    impl Clone for Slow {
        fn clone(&self) -> Self {
            thread::sleep(Duration::from_micros(200));
            Slow {
                counters: self.counters.clone(),
                _tracked: self.counters.make(0),
            }
        }
    }
    for _ in 0..scaled(20, 2) {
        let counters = Counters::default();
        let maker = counters.clone();
        let local = ThreadLocal::with_init(move || Slow {
            counters: maker.clone(),
            _tracked: maker.make(0),
        });
        let mut local = Arc::new(local.inherit());
        let (owned, ready) = mpsc::channel();
        let (done, finished) = mpsc::channel::<()>();
        let cloner = thread::spawn({
            let local = Arc::clone(&local);
            move || {
                local.with(|_| {});
                drop(local);
                owned.send(()).unwrap();
                // Keeps cloning its own value, which only its list of members reaches now.
                while finished.try_recv().is_err() {
                    drop(Context::inherit());
                }
            }
        });
        ready.recv().unwrap();
        let mut local = loop {
            match Arc::try_unwrap(local) {
                Ok(local) => break local,
                Err(shared) => {
                    local = shared;
                    thread::yield_now();
                }
            }
        };
        local.clear();
        done.send(()).unwrap();
        cloner.join().unwrap();
        drop(local);
        assert_eq!(counters.live(), 0, "a value or a clone outlived everything");
        assert_eq!(counters.drops(), counters.created());
    }
}

/// Contexts handed from thread to thread, each run where it lands, keep their values, and
/// drop them once, wherever they are dropped.
#[test]
fn contexts_move_between_threads_concurrently() {
    static_local!(STRUCT: u64 = || 0, per_thread: false, inherit: None);
    let counters = Counters::default();
    let local = counters.tracked_local();
    let workers = scaled(4, 2);
    let contexts = scaled(64, 4);
    let rounds = scaled(10, 2);
    let queue = Mutex::new(
        (0..contexts)
            .map(|i| (i, 0, Context::new()))
            .collect::<Vec<_>>(),
    );
    spawn_and_join(workers, |_| {
        loop {
            let Some((i, round, mut context)) = queue.lock().unwrap().pop() else {
                break;
            };
            context.run(|| {
                assert_eq!(local.with(|t| t.value), i * round, "context {i}");
                assert_eq!(STRUCT.with(|n| *n), round as u64, "context {i}");
                local.with_mut(|t| t.value = i * (round + 1));
                STRUCT.with_mut(|n| *n += 1);
            });
            if round + 1 < rounds {
                queue.lock().unwrap().insert(0, (i, round + 1, context));
            }
        }
    });
    assert_eq!(counters.created(), contexts);
    assert_eq!(
        counters.drops(),
        contexts,
        "each context dropped its value once"
    );
}
