//! The performance contract of DESIGN §4, measured side by side with std, the
//! `thread_local` crate and a locked map.
//!
//! Each group pairs our figure with its peer, so both come from the same run: the machines
//! are noisy and only ratios carry over. `scripts/bench-table` reads the results from
//! `target/criterion/<group>/<bench>/new/estimates.json` and prints the table; the bench
//! names below are what it looks for, so keep them stable.
//!
//! | group | benches | bar |
//! |---|---|---|
//! | `attribute_with_mut` | `ours`, `std` | attribute `with_mut` vs `thread_local!{ RefCell }` ≤ 1.2× |
//! | `thread_local_with_mut` | `ours`, `thread_local_crate` | `ThreadLocal::with_mut` vs the crate's `get_or` + `borrow_mut` ≤ 1.0× (1.05× for noise) |
//! | `locked_map` | `{ours_attribute, ours_thread_local, mutex_hashmap}/{1_thread, 2_threads}` | ≥ 10× faster than the map; ours with 2 threads ≤ 1.2× of 1 thread |
//! | `context` | `inside`, `outside` | attribute `with_mut` inside a context vs outside ≤ 1.5× |
//! | `context_enter_leave` | `{context_run, scope}/{1_local, 1000_locals}` | enter + leave with 1,000 locals touched vs 1 ≤ 1.5× |
//! | `first_touch` | `ours`, `thread_local_crate` | first touch on a new thread (threads alive together) ≤ 1.5× |
//! | `first_touch_spawn` | `ours`, `thread_local_crate` | the same, timed from before spawning the threads (the spawns dominate) |
//! | `attribute_separate_call` | `ours`, `std` | each access in its own non-inlined function ≤ 1.2× |
//! | `thread_local_separate_call` | `ours`, `thread_local_crate` | the same for `ThreadLocal` ≤ 1.0× (1.05× for noise) |
//! | `context_thread_local` | `inside`, `outside` | `ThreadLocal::with_mut` inside a context vs outside ≤ 1.5× |
//! | `context_lifecycle` | `{attribute, thread_local, scope_attribute}`, `tokio_sync_scope` | create + run + touch one local + drop ≤ 4× of tokio's `sync_scope` + `get` |
//! | `context_lifecycle_threads` | `{attribute, thread_local}/{1_thread, 2_threads}` | the same, 2 threads concurrently, per op ≤ 1.2× of 1 thread |
//! | `bind` | `attribute`, `thread_local`, `tokio_sync_scope` | `Session::sync_scope(v, f)` ≤ 1.5× of tokio's `sync_scope(v, f)` |
//! | `live_read` | `ours`, `thread_local_crate` | summing 8 live threads' counters ≤ 1.5× of the crate's `iter` |
//! | `live_increment` | `ours`, `thread_local_crate` | a worker's increment ≤ 1.2× of the crate's `get_or_default().fetch_add` |
//! | `stack_first_touch` | `{new, with_capacity}/{push_1, push_8}` | would a `with_capacity` for `LocalStack` help its first touch? (no bar: a measurement) |
//!
//! The pairs of a few nanoseconds (`attribute_with_mut`, `attribute_separate_call`,
//! `thread_local_with_mut`, `thread_local_separate_call`, `context`,
//! `context_thread_local`, `live_increment`, `context_lifecycle` against tokio, `bind`,
//! and the two-thread figures of `locked_map` and `context_lifecycle_threads`) are
//! measured interleaved as well, by
//! `benches/paired.rs`, whose figure is the bar's: here, measured seconds apart, they move
//! with the machine more than with the code.
//!
//! Every figure is the time of one access (one enter + leave, one first touch). Multi-thread
//! figures are per operation per thread: the wall time of `iters` operations done by each
//! thread concurrently, divided by `iters`.
//!
//! ```text
//! cargo bench --bench access                 # everything, a few minutes on 2 cores
//! cargo bench --bench access -- locked_map   # one group
//! scripts/bench-table                        # the table, from the last run
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::{Barrier, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use local::{Context, SharedThreadLocal, ThreadLocal};

mod ops;
use ops::*;

/// Threads spawned per batch by the first-touch benches: all alive together.
const FIRST_TOUCH_THREADS: usize = 8;

/// werkzeug 0.1's design: one map from thread id to value, behind a lock. Every access
/// asks which thread it runs on, as `get_ident()` does.
#[inline(always)]
fn mutex_hashmap(map: &Mutex<HashMap<ThreadId, u64>>) -> u64 {
    let id = thread::current().id();
    let mut map = map.lock().unwrap();
    let n = map.entry(id).or_insert(0);
    *n += 1;
    *n
}

fn attribute_with_mut(c: &mut Criterion) {
    let mut group = c.benchmark_group("attribute_with_mut");
    // Both values exist before timing: this is the steady-state access.
    ours_attribute();
    std_thread_local();
    group.bench_function("ours", |b| b.iter(ours_attribute));
    group.bench_function("std", |b| b.iter(std_thread_local));
    group.finish();
}

fn thread_local_with_mut(c: &mut Criterion) {
    let mut group = c.benchmark_group("thread_local_with_mut");
    let ours = ThreadLocal::<u64>::new();
    let peer = thread_local::ThreadLocal::<RefCell<u64>>::new();
    ours_thread_local(&ours);
    thread_local_crate(&peer);
    // `black_box(&instance)`: the instance is opaque to the optimizer, as a shared one is.
    group.bench_function("ours", |b| b.iter(|| ours_thread_local(black_box(&ours))));
    group.bench_function("thread_local_crate", |b| {
        b.iter(|| thread_local_crate(black_box(&peer)))
    });
    group.finish();
}

/// Wall time for `threads` threads, started together, each doing `iters` operations:
/// from the first thread's start to the last one's end. Each thread does one untimed
/// operation first, so values are initialized (and the map's entry exists) before timing.
fn time_threads(threads: usize, iters: u64, op: impl Fn() -> u64 + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    black_box(op());
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(op());
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let start = spans.iter().map(|span| span.0).min().unwrap();
    let end = spans.iter().map(|span| span.1).max().unwrap();
    end - start
}

fn locked_map(c: &mut Criterion) {
    let mut group = c.benchmark_group("locked_map");
    // The bench thread holds identity 0, as a program's main thread does, so the workers
    // take the next ones: deterministic whichever benches ran before.
    ours_attribute();
    let local = ThreadLocal::<u64>::new();
    ours_thread_local(&local);
    for (threads, name) in [(1, "1_thread"), (2, "2_threads")] {
        group.bench_function(BenchmarkId::new("ours_attribute", name), |b| {
            b.iter_custom(|iters| time_threads(threads, iters, ours_attribute))
        });
        group.bench_function(BenchmarkId::new("ours_thread_local", name), |b| {
            b.iter_custom(|iters| {
                time_threads(threads, iters, || ours_thread_local(black_box(&local)))
            })
        });
        group.bench_function(BenchmarkId::new("mutex_hashmap", name), |b| {
            b.iter_custom(|iters| {
                let map = Mutex::new(HashMap::new());
                time_threads(threads, iters, || mutex_hashmap(black_box(&map)))
            })
        });
    }
    group.finish();
}

fn context(c: &mut Criterion) {
    let mut group = c.benchmark_group("context");
    let mut ctx = Context::new();
    ours_attribute();
    ctx.run(ours_attribute);
    // The context is entered once per batch of iterations, outside the timing loop.
    group.bench_function("inside", |b| ctx.run(|| b.iter(ours_attribute)));
    group.bench_function("outside", |b| b.iter(ours_attribute));
    group.finish();
}

// 1,000 attribute structs, as modules `a::a::a` .. `j::j::j`, each with a struct `L` and
// a `touch()` that touches every struct below it.
macro_rules! locals_leaf {
    ($($m:ident)*) => {
        $(
            mod $m {
                #[local::thread_local_struct]
                pub(super) struct L {
                    n: u64,
                }

                pub(super) fn touch() {
                    L::with_mut(|l| l.n += 1);
                }
            }
        )*

        pub(super) fn touch() {
            $($m::touch();)*
        }
    };
}

macro_rules! locals_tens {
    ($($m:ident)*) => {
        $(mod $m { locals_leaf!(a b c d e f g h i j); })*

        pub(super) fn touch() {
            $($m::touch();)*
        }
    };
}

macro_rules! locals_hundreds {
    ($($m:ident)*) => {
        $(mod $m { locals_tens!(a b c d e f g h i j); })*

        pub(super) fn touch() {
            $($m::touch();)*
        }
    };
}

mod thousand {
    locals_hundreds!(a b c d e f g h i j);
}

/// Touches the 1,000 structs of `thousand`.
fn touch_thousand() {
    thousand::touch();
}

/// A dedicated thread running one timed routine, so that what the thread has touched is
/// exactly what the bench set up, whatever ran before on criterion's thread.
struct Timer {
    iters: Option<mpsc::Sender<u64>>,
    times: mpsc::Receiver<Duration>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Timer {
    /// `setup` runs on the new thread and returns the routine: `iters` operations timed.
    fn spawn<S, R>(setup: S) -> Timer
    where
        S: FnOnce() -> R + Send + 'static,
        R: FnMut(u64) -> Duration,
    {
        let (iters_tx, iters_rx) = mpsc::channel();
        let (times_tx, times) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut routine = setup();
            for iters in iters_rx {
                times_tx.send(routine(iters)).unwrap();
            }
        });
        Timer {
            iters: Some(iters_tx),
            times,
            thread: Some(thread),
        }
    }

    fn time(&self, iters: u64) -> Duration {
        self.iters.as_ref().unwrap().send(iters).unwrap();
        self.times.recv().unwrap()
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        drop(self.iters.take());
        self.thread.take().unwrap().join().unwrap();
    }
}

/// `iters` enters and leaves of a context, on a thread that has touched `touch`'s locals,
/// in the context as well.
fn context_run_timer(touch: fn()) -> Timer {
    Timer::spawn(move || {
        touch();
        let mut ctx = Context::new();
        ctx.run(touch);
        move |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                // A value that is not zero-sized, so the barrier is really there.
                black_box(ctx.run(|| black_box(0u8)));
            }
            start.elapsed()
        }
    })
}

/// `iters` scopes, on a thread that has touched `touch`'s locals.
fn scope_timer(touch: fn()) -> Timer {
    Timer::spawn(move || {
        touch();
        |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(local::fresh(|| black_box(0u8)));
            }
            start.elapsed()
        }
    })
}

fn context_enter_leave(c: &mut Criterion) {
    let mut group = c.benchmark_group("context_enter_leave");
    let touch_one: fn() = || {
        ours_attribute();
    };
    let cases: [(&str, fn()); 2] = [("1_local", touch_one), ("1000_locals", touch_thousand)];
    for (name, touch) in cases {
        let timer = context_run_timer(touch);
        group.bench_function(BenchmarkId::new("context_run", name), |b| {
            b.iter_custom(|iters| timer.time(iters))
        });
    }
    for (name, touch) in cases {
        let timer = scope_timer(touch);
        group.bench_function(BenchmarkId::new("scope", name), |b| {
            b.iter_custom(|iters| timer.time(iters))
        });
    }
    group.finish();
}

/// For each of `iters` batches: a fresh instance from `fresh`, and
/// [`FIRST_TOUCH_THREADS`] new threads, all alive, that each touch it once (`touch`).
/// With `include_spawn`, a batch is timed from before spawning until every thread has
/// touched; otherwise each thread times its own touch and the batch counts their mean.
fn first_touch<L: Sync>(
    iters: u64,
    include_spawn: bool,
    fresh: impl Fn() -> L,
    touch: impl Fn(&L) -> u64 + Sync,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let local = fresh();
        // Every thread is alive before any touches (so the `thread_local` crate cannot hand
        // an exited thread's slot on) and stays alive until all have touched.
        let alive = Barrier::new(FIRST_TOUCH_THREADS + 1);
        let touched = Barrier::new(FIRST_TOUCH_THREADS + 1);
        let start = Instant::now();
        let (own, batch) = thread::scope(|s| {
            let handles: Vec<_> = (0..FIRST_TOUCH_THREADS)
                .map(|_| {
                    s.spawn(|| {
                        alive.wait();
                        let start = Instant::now();
                        black_box(touch(black_box(&local)));
                        let own = start.elapsed();
                        touched.wait();
                        own
                    })
                })
                .collect();
            alive.wait();
            touched.wait();
            let batch = start.elapsed();
            let own: Duration = handles.into_iter().map(|h| h.join().unwrap()).sum();
            (own, batch)
        });
        total += if include_spawn {
            batch
        } else {
            own / FIRST_TOUCH_THREADS as u32
        };
        drop(local);
    }
    total
}

fn first_touch_groups(c: &mut Criterion) {
    for (group_name, include_spawn) in [("first_touch", false), ("first_touch_spawn", true)] {
        let mut group = c.benchmark_group(group_name);
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                first_touch(
                    iters,
                    include_spawn,
                    ThreadLocal::<u64>::new,
                    ours_thread_local,
                )
            })
        });
        group.bench_function("thread_local_crate", |b| {
            b.iter_custom(|iters| {
                first_touch(
                    iters,
                    include_spawn,
                    thread_local::ThreadLocal::<RefCell<u64>>::new,
                    thread_local_crate,
                )
            })
        });
        group.finish();
    }
}
fn separate_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("attribute_separate_call");
    ours_attribute_call();
    std_thread_local_call();
    group.bench_function("ours", |b| b.iter(ours_attribute_call));
    group.bench_function("std", |b| b.iter(std_thread_local_call));
    group.finish();

    let mut group = c.benchmark_group("thread_local_separate_call");
    let ours = ThreadLocal::<u64>::new();
    let peer = thread_local::ThreadLocal::<RefCell<u64>>::new();
    ours_thread_local_call(&ours);
    thread_local_crate_call(&peer);
    group.bench_function("ours", |b| {
        b.iter(|| ours_thread_local_call(black_box(&ours)))
    });
    group.bench_function("thread_local_crate", |b| {
        b.iter(|| thread_local_crate_call(black_box(&peer)))
    });
    group.finish();
}

/// The same accesses inside a frame, each in a function of its own that is never inlined:
/// the access as code outside a hot loop makes it, against the same call outside.
fn frame_separate_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_separate_call");
    let local = ThreadLocal::<u64>::new();
    let mut ctx = Context::new();
    ctx.run(|| (ours_attribute_call(), ours_thread_local_call(&local)));
    group.bench_function("attribute_in_context", |b| {
        ctx.run(|| b.iter(ours_attribute_call))
    });
    group.bench_function("attribute_in_scope", |b| {
        local::fresh(|| b.iter(ours_attribute_call))
    });
    group.bench_function("attribute_outside", |b| b.iter(ours_attribute_call));
    group.bench_function("thread_local_in_context", |b| {
        ctx.run(|| b.iter(|| ours_thread_local_call(black_box(&local))))
    });
    group.bench_function("thread_local_outside", |b| {
        b.iter(|| ours_thread_local_call(black_box(&local)))
    });
    group.finish();
}

/// A guard taken and dropped for one change; then bevy's `Parallel<Vec<T>>` as bevy_ecs fills it: rayon's `for_each_init` takes one guard
/// per job (a closure cannot hold a borrow across items), items are pushed through it, and
/// the per-thread vectors are emptied once the jobs are done. Ours against bevy's own
/// `ThreadLocal<RefCell<Vec<T>>>::get_or_default().borrow_mut()`.
fn guard_for_each_init(c: &mut Criterion) {
    use rayon::prelude::*;

    const ITEMS: u64 = 10_000;
    let mut group = c.benchmark_group("guard_borrow_mut");
    let ours = ThreadLocal::<u64>::new().per_thread();
    let peer = thread_local::ThreadLocal::<RefCell<u64>>::new();
    group.bench_function("ours", |b| b.iter(|| ours_guard_call(black_box(&ours))));
    group.bench_function("bevy", |b| b.iter(|| bevy_guard_call(black_box(&peer))));
    group.finish();

    let mut group = c.benchmark_group("guard_for_each_init");
    let mut ours = ThreadLocal::<Vec<u64>>::new().per_thread();
    group.bench_function("ours", |b| {
        b.iter(|| {
            (0..ITEMS)
                .into_par_iter()
                .for_each_init(|| ours.borrow_mut(), |batch, n| batch.push(black_box(n)));
            ours.iter_mut().map(|v| v.drain(..).count()).sum::<usize>()
        })
    });
    let mut peer = thread_local::ThreadLocal::<RefCell<Vec<u64>>>::new();
    group.bench_function("bevy", |b| {
        b.iter(|| {
            (0..ITEMS).into_par_iter().for_each_init(
                || peer.get_or_default().borrow_mut(),
                |batch, n| batch.push(black_box(n)),
            );
            peer.iter_mut()
                .map(|v| v.get_mut().drain(..).count())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn context_thread_local(c: &mut Criterion) {
    let mut group = c.benchmark_group("context_thread_local");
    let local = ThreadLocal::<u64>::new();
    let mut ctx = Context::new();
    ours_thread_local(&local);
    ctx.run(|| ours_thread_local(&local));
    group.bench_function("inside", |b| {
        ctx.run(|| b.iter(|| ours_thread_local(black_box(&local))))
    });
    group.bench_function("outside", |b| {
        b.iter(|| ours_thread_local(black_box(&local)))
    });
    group.finish();
}

fn context_lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("context_lifecycle");
    let local = ThreadLocal::<u64>::new();
    ours_attribute();
    ours_thread_local(&local);
    group.bench_function("attribute", |b| b.iter(context_with_attribute));
    group.bench_function("thread_local", |b| {
        b.iter(|| context_with_thread_local(black_box(&local)))
    });
    group.bench_function("scope_attribute", |b| b.iter(scope_with_attribute));
    group.bench_function("tokio_sync_scope", |b| b.iter(tokio_sync_scope));
    group.finish();

    let mut group = c.benchmark_group("context_lifecycle_threads");
    for (threads, name) in [(1, "1_thread"), (2, "2_threads")] {
        group.bench_function(BenchmarkId::new("attribute", name), |b| {
            b.iter_custom(|iters| time_threads(threads, iters, context_with_attribute))
        });
        group.bench_function(BenchmarkId::new("thread_local", name), |b| {
            b.iter_custom(|iters| {
                time_threads(threads, iters, || {
                    context_with_thread_local(black_box(&local))
                })
            })
        });
    }
    group.finish();
}

fn bind(c: &mut Criterion) {
    let mut group = c.benchmark_group("bind");
    let local = ThreadLocal::<u64>::new();
    ours_attribute();
    ours_thread_local(&local);
    group.bench_function("attribute", |b| b.iter(bind_attribute));
    group.bench_function("thread_local", |b| {
        b.iter(|| bind_thread_local(black_box(&local)))
    });
    group.bench_function("tokio_sync_scope", |b| b.iter(tokio_sync_scope));
    group.finish();
}

/// Live threads parked while they hold their counters, for the live-read benches.
const LIVE_THREADS: usize = 8;

fn live_reads(c: &mut Criterion) {
    // The sharded counter as the docs write it: exited workers' counts folded into a total,
    // which a read yields besides the live threads' (the crate hands them to the next
    // threads instead).
    let ours = SharedThreadLocal::<AtomicU64>::new().fold_on_exit();
    let peer = thread_local::ThreadLocal::<AtomicU64>::new();
    for _ in 0..LIVE_THREADS {
        thread::scope(|s| {
            // Joined: its exit has run.
            s.spawn(|| {
                ours.with(|n| n.fetch_add(1, Relaxed));
                peer.get_or_default().fetch_add(1, Relaxed);
            })
            .join()
            .unwrap();
        });
    }
    let touched = Barrier::new(LIVE_THREADS + 1);
    let done = Barrier::new(LIVE_THREADS + 1);
    thread::scope(|s| {
        for _ in 0..LIVE_THREADS {
            s.spawn(|| {
                ours.with(|n| n.fetch_add(1, Relaxed));
                peer.get_or_default().fetch_add(1, Relaxed);
                touched.wait();
                done.wait(); // alive while the reader sums
            });
        }
        touched.wait();
        let mut group = c.benchmark_group("live_read");
        group.bench_function("ours", |b| {
            b.iter(|| {
                black_box(&ours)
                    .read()
                    .iter()
                    .map(|n| n.load(Relaxed))
                    .sum::<u64>()
            })
        });
        group.bench_function("thread_local_crate", |b| {
            b.iter(|| {
                black_box(&peer)
                    .iter()
                    .map(|n| n.load(Relaxed))
                    .sum::<u64>()
            })
        });
        group.finish();
        done.wait();
    });

    let mut group = c.benchmark_group("live_increment");
    let ours = SharedThreadLocal::<AtomicU64>::new();
    let peer = thread_local::ThreadLocal::<AtomicU64>::new();
    ours.with(|n| n.fetch_add(1, Relaxed));
    peer.get_or_default().fetch_add(1, Relaxed);
    group.bench_function("ours", |b| {
        b.iter(|| black_box(&ours).with(|n| n.fetch_add(1, Relaxed)))
    });
    group.bench_function("thread_local_crate", |b| {
        b.iter(|| black_box(&peer).get_or_default().fetch_add(1, Relaxed))
    });
    group.finish();
}

/// A fresh stack's first pushes on this thread: a vector that grows as `LocalStack::new`
/// makes it, against one sized up front, as a `with_capacity` would make it (both as the
/// `ThreadLocal<Vec<_>>` a `LocalStack` is).
fn stack_first_touch(c: &mut Criterion) {
    let mut group = c.benchmark_group("stack_first_touch");
    for pushes in [1u64, 8] {
        let name = format!("push_{pushes}");
        group.bench_function(BenchmarkId::new("new", &name), |b| {
            b.iter(|| {
                let stack = ThreadLocal::with_init(Vec::new);
                for n in 0..pushes {
                    stack.with_mut(|v: &mut Vec<(u64, u64)>| v.push((0, black_box(n))));
                }
                stack.with(Vec::len)
            })
        });
        group.bench_function(BenchmarkId::new("with_capacity", &name), |b| {
            b.iter(|| {
                let stack = ThreadLocal::with_init(|| Vec::with_capacity(8));
                for n in 0..pushes {
                    stack.with_mut(|v: &mut Vec<(u64, u64)>| v.push((0, black_box(n))));
                }
                stack.with(Vec::len)
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .without_plots()
}

criterion_group! {
    name = access;
    config = config();
    targets = attribute_with_mut, thread_local_with_mut, separate_calls, locked_map, context,
        context_thread_local, frame_separate_calls, context_enter_leave, context_lifecycle, bind, live_reads,
        stack_first_touch, first_touch_groups, guard_for_each_init
}
criterion_main!(access);
