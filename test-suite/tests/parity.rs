//! What a user of the `thread_local` crate does, done with `ThreadLocal` (DESIGN §2): a
//! `static` instance, initializers that borrow inside `std::thread::scope` and rayon, a
//! fallible initializer (the crate's `get_or_try`), and `LocalStack::clear` (werkzeug's
//! `release_local` on a stack).

use std::collections::HashSet;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Barrier, Mutex};
use std::thread::{self, ThreadId};

use local::{Context, LocalStack, ThreadLocal};
use rayon::prelude::*;

/// Joins `handle`, re-raising the thread's own panic.
fn join<T>(handle: thread::JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| resume_unwind(payload))
}

// ---------------------------------------------------------------------------------------
// A `static` instance
// ---------------------------------------------------------------------------------------

#[test]
fn static_thread_local_gives_each_thread_its_own_value_and_drops_it_at_exit() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    #[derive(Default)]
    struct Count(u64);

    impl Drop for Count {
        fn drop(&mut self) {
            DROPS.fetch_add(1, SeqCst);
        }
    }

    // `const fn new`, as the crate's: no `LazyLock` needed.
    static COUNTS: ThreadLocal<Count> = ThreadLocal::new();

    let workers: Vec<_> = (1..=4u64)
        .map(|n| {
            thread::spawn(move || {
                for _ in 0..n * 1000 {
                    COUNTS.with_mut(|c| c.0 += 1);
                }
                COUNTS.with(|c| c.0)
            })
        })
        .collect();
    let totals: Vec<u64> = workers.into_iter().map(join).collect();
    assert_eq!(
        totals,
        [1000, 2000, 3000, 4000],
        "each thread counted alone"
    );
    // `join` waits for a thread's thread-local destructors: each value is gone with it.
    assert_eq!(DROPS.load(SeqCst), 4);
    assert!(!COUNTS.is_initialized(), "this thread never touched it");
    assert_eq!(COUNTS.with(|c| c.0), 0);
}

// ---------------------------------------------------------------------------------------
// Initializers that borrow
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Config {
    name: String,
    retries: u32,
}

/// A config built at run time: what an initializer borrows.
fn config() -> Config {
    Config {
        name: format!("service-{}", std::process::id()),
        retries: 3,
    }
}

/// Records the threads an initializer ran on: once each, or the set shows a duplicate.
#[derive(Default)]
struct InitRuns(Mutex<Vec<ThreadId>>);

impl InitRuns {
    fn record(&self) {
        self.0.lock().unwrap().push(thread::current().id());
    }

    /// The threads the initializer ran on, asserting it ran at most once on each.
    fn threads(&self) -> HashSet<ThreadId> {
        let runs = self.0.lock().unwrap();
        let threads: HashSet<ThreadId> = runs.iter().copied().collect();
        assert_eq!(threads.len(), runs.len(), "one run per thread: {runs:?}");
        threads
    }
}

#[test]
fn borrowing_initializer_in_scoped_threads() {
    let config = config();
    let runs = InitRuns::default();
    let options = ThreadLocal::with_init(|| {
        runs.record();
        config.clone()
    });
    let seen: Vec<(ThreadId, Config)> = thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|n| {
                let options = &options;
                s.spawn(move || {
                    options.with_mut(|o| o.retries += n);
                    // Touched again: the same value, not a new one.
                    options.with_mut(|o| o.name.push_str("/worker"));
                    (thread::current().id(), options.get())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for (n, (_, value)) in (0..).zip(&seen) {
        assert_eq!(
            *value,
            Config {
                name: format!("{}/worker", config.name),
                retries: 3 + n,
            }
        );
    }
    let workers: HashSet<ThreadId> = seen.iter().map(|(thread, _)| *thread).collect();
    assert_eq!(runs.threads(), workers, "once per thread that touched it");
    assert_eq!(
        options.get(),
        config,
        "this thread starts from the config too"
    );
    assert_eq!(runs.threads().len(), 5);
}

/// A pool of its own, so that the set of threads that touch an instance is this test's.
fn pool_of_4() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
}

#[test]
fn borrowing_initializer_in_a_rayon_scope() {
    let pool = pool_of_4();
    let config = config();
    let runs = InitRuns::default();
    let mut jobs = ThreadLocal::with_init(|| {
        runs.record();
        (config.clone(), 0u32)
    });
    let touched = Mutex::new(HashSet::new());
    pool.scope(|s| {
        for _ in 0..64 {
            s.spawn(|_| {
                jobs.with_mut(|(seen, done)| {
                    assert_eq!(*seen, config);
                    *done += 1;
                });
                touched.lock().unwrap().insert(thread::current().id());
            });
        }
    });
    assert_eq!(runs.threads(), touched.into_inner().unwrap());
    // The pool's threads are alive: their values are there to sum.
    let done: u32 = jobs.iter_mut().map(|(_, done)| *done).sum();
    assert_eq!(done, 64, "every job counted on its thread's value");
}

#[test]
fn borrowing_initializer_in_par_iter() {
    let pool = pool_of_4();
    let config = config();
    let runs = InitRuns::default();
    let mut buffers = ThreadLocal::with_init(|| {
        runs.record();
        (config.clone(), Vec::new())
    });
    let touched = Mutex::new(HashSet::new());
    pool.install(|| {
        (0..1000u32).into_par_iter().for_each(|n| {
            buffers.with_mut(|(seen, items)| {
                assert_eq!(*seen, config);
                items.push(n);
            });
            touched.lock().unwrap().insert(thread::current().id());
        });
    });
    assert_eq!(runs.threads(), touched.into_inner().unwrap());
    let mut all: Vec<u32> = buffers
        .iter_mut()
        .flat_map(|(_, items)| items.drain(..))
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>(), "each item once");
}

// ---------------------------------------------------------------------------------------
// A fallible initializer
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct Connection {
    attempt: u32,
    queries: u32,
}

#[derive(Debug, PartialEq)]
struct Refused(u32);

#[test]
fn try_init_stores_nothing_until_a_connect_succeeds() {
    let attempts = AtomicUsize::new(0);
    // Fails twice, then connects.
    let connect = || {
        let attempt = attempts.fetch_add(1, SeqCst) as u32 + 1;
        if attempt <= 2 {
            Err(Refused(attempt))
        } else {
            Ok(Connection {
                attempt,
                queries: 0,
            })
        }
    };
    let inits = AtomicUsize::new(0);
    let connections = ThreadLocal::with_init(|| {
        inits.fetch_add(1, SeqCst);
        Connection {
            attempt: 0,
            queries: 0,
        }
    });

    assert_eq!(connections.try_init(connect), Err(Refused(1)));
    assert!(
        !connections.is_initialized(),
        "nothing stored after a failure"
    );
    assert_eq!(connections.try_init(connect), Err(Refused(2)));
    assert!(!connections.is_initialized());
    assert_eq!(connections.try_init(connect), Ok(()));
    assert!(connections.is_initialized());
    connections.with_mut(|c| c.queries += 1);

    // Connected: the closure does not run again.
    assert_eq!(
        connections.try_init(|| -> Result<Connection, Refused> {
            panic!("try_init ran its closure on a connected thread")
        }),
        Ok(())
    );
    assert_eq!(attempts.load(SeqCst), 3);
    assert_eq!(connections.with(|c| (c.attempt, c.queries)), (3, 1));
    assert_eq!(
        inits.load(SeqCst),
        0,
        "the instance's initializer never ran"
    );

    // Another thread has no connection yet: its own attempt.
    thread::scope(|s| {
        s.spawn(|| {
            assert!(!connections.is_initialized());
            assert_eq!(connections.try_init(connect), Ok(()));
            assert_eq!(connections.with(|c| (c.attempt, c.queries)), (4, 0));
        });
    });
    assert_eq!(connections.with(|c| c.attempt), 3);
}

// ---------------------------------------------------------------------------------------
// `LocalStack::clear`
// ---------------------------------------------------------------------------------------

#[test]
fn clear_empties_only_this_threads_stack() {
    let stack: LocalStack<&str> = LocalStack::new();
    stack.push("a");
    stack.push("b");
    let pushed = Barrier::new(2);
    let cleared = Barrier::new(2);
    thread::scope(|s| {
        let other = s.spawn(|| {
            stack.push("x");
            pushed.wait();
            cleared.wait();
            (stack.len(), stack.pop())
        });
        pushed.wait();
        stack.clear();
        cleared.wait();
        assert_eq!(
            other.join().unwrap(),
            (1, Some("x")),
            "the other thread's stack is untouched"
        );
    });
    assert!(stack.is_empty());
    assert_eq!(stack.pop(), None);
    stack.push("c");
    assert_eq!(stack.len(), 1, "usable again after clear");
}

#[test]
fn clear_in_a_context_empties_that_contexts_stack_only() {
    let stack: LocalStack<&str> = LocalStack::new();
    stack.push("thread");
    let mut context = Context::new();
    context.run(|| {
        stack.push("a");
        stack.push("b");
    });

    context.run(|| stack.clear());
    assert!(context.run(|| stack.is_empty()));
    assert_eq!(stack.len(), 1, "the thread's stack is untouched");

    context.run(|| stack.push("c"));
    stack.clear();
    assert!(stack.is_empty());
    assert_eq!(
        context.run(|| stack.with_top(|top| top.copied())),
        Some("c"),
        "the context's stack is untouched"
    );
}

#[test]
fn clear_drops_the_values_after_the_stack_is_empty() {
    static STACK: LocalStack<Frame> = LocalStack::new();
    static SEEN_BY_DROP: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    /// Records the stack's length from its destructor, which may use the stack.
    struct Frame;

    impl Drop for Frame {
        fn drop(&mut self) {
            SEEN_BY_DROP.lock().unwrap().push(STACK.len());
        }
    }

    STACK.push(Frame);
    STACK.push(Frame);
    STACK.clear();
    assert_eq!(
        *SEEN_BY_DROP.lock().unwrap(),
        [0, 0],
        "dropped, once the stack was empty"
    );
    assert!(STACK.is_empty());
}
