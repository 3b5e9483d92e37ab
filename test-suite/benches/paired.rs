//! The pairs of DESIGN §4 whose figures are a few nanoseconds, measured interleaved: the
//! accesses against std and the `thread_local` crate, the live increment, a context's
//! life and a binding against tokio's `sync_scope`, an access inside a frame against
//! outside, and two threads against one.
//!
//! Criterion measures one bench after the other, each for seconds. On a shared machine the
//! speed changes from one second to the next (another tenant, frequency, migrations), so
//! two figures of 1–3 ns taken seconds apart can differ by 2× with no change in the code.
//! Here each pair is measured in rounds: a batch of ours, then a batch of the peer (the
//! order alternating), each batch 20 µs or more. Both sides of a round see the same
//! machine, and the figure is the median of the rounds' ratios.
//!
//! The two-thread bars (per operation, two threads at once against one alone) are paired
//! the same way: each round runs a batch on two threads together, then on one of them
//! alone. `threads_std` does so for std's `thread_local!`, which shares nothing between
//! threads: its distance from 1 is what two busy threads cost on the machine itself.
//!
//! What pairing cannot remove is where the two loops sit in the binary: the
//! `control_crate_vs_crate` pair measures the crate's access against a second copy of
//! itself, and its distance from 1 is the resolution of the build at hand (a few percent;
//! up to 15–20% in some builds on a shared 2-core machine).
//!
//! ```text
//! cargo bench -p local-test-suite --bench paired    # about 10 seconds
//! ```
//!
//! It prints one line per pair and writes `<target>/paired/<group>.json`
//! (`{"ratio": median, "q1": .., "q3": .., "ours_ns": .., "peer_ns": .., ..}`), which
//! `scripts/bench-table` reads for these pairs. `cargo test --benches` runs it for a few
//! rounds and writes nothing.

use std::cell::RefCell;
use std::fs;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::thread;
use std::time::Instant;

use local::{Context, SharedThreadLocal, ThreadLocal};

mod ops;
use ops::*;

/// Rounds per pair: each round times one batch of each side.
const ROUNDS: usize = 4_000;
/// Rounds of the smoke run (`cargo test --benches`), which writes no figures.
const SMOKE_ROUNDS: usize = 4;
/// Aimed time of one batch.
const BATCH_NANOS: f64 = 20_000.0;
/// Aimed time of one batch of the two-thread pairs, long against a thread's wake-up.
const THREADS_BATCH_NANOS: f64 = 200_000.0;
/// Rounds of the two-thread pairs.
const THREADS_ROUNDS: usize = 1_000;
/// A full run (`cargo bench`), whose figures are written.
static FULL: AtomicBool = AtomicBool::new(false);

/// Nanoseconds `n` operations of `op` take, each result kept.
fn time(op: &impl Fn() -> u64, n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        black_box(op());
    }
    start.elapsed().as_nanos() as f64
}

/// Operations per batch, for batches of about `nanos`: from the fastest of 50 warm-up
/// measurements of `per_op` (the fastest, so that one interrupted warm-up does not shrink
/// the batch).
fn batch_len(nanos: f64, mut per_op: impl FnMut() -> f64) -> u64 {
    let fastest = (0..50).map(|_| per_op()).fold(f64::INFINITY, f64::min);
    ((nanos / fastest.max(0.1)) as u64).max(100)
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

/// As [`pair`], with both sides the same operation, `op`: ours timed inside a frame that
/// `frame` enters once per batch (a context or a scope), the peer outside any.
fn pair_in_frame(
    rounds: usize,
    group: &str,
    mut frame: impl FnMut(&mut dyn FnMut()),
    op: impl Fn() -> u64,
) {
    let inside = |n: u64| {
        let mut nanos = 0.0;
        frame(&mut || nanos = time(&op, n));
        nanos
    };
    pair_timed(rounds, group, inside, |n| time(&op, n));
}

/// Measures `ours` against `peer` in interleaved rounds, prints the figures and writes them
/// to `target/paired/<group>.json`.
fn pair(rounds: usize, group: &str, ours: impl Fn() -> u64, peer: impl Fn() -> u64) {
    pair_timed(rounds, group, |n| time(&ours, n), |n| time(&peer, n));
}

/// The rounds of a pair, each side given as the time of a batch of `n`.
fn pair_timed(
    rounds: usize,
    group: &str,
    mut ours: impl FnMut(u64) -> f64,
    mut peer: impl FnMut(u64) -> f64,
) {
    // Warm up both, and size the batch from the slower of the two.
    let n = batch_len(BATCH_NANOS, || ours(10_000).max(peer(10_000)) / 10_000.0);

    let mut ratios = Vec::with_capacity(rounds);
    let mut ours_ns = Vec::with_capacity(rounds);
    let mut peer_ns = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = ours(n);
            (a, peer(n))
        } else {
            let b = peer(n);
            (ours(n), b)
        };
        ratios.push(a / b);
        ours_ns.push(a / n as f64);
        peer_ns.push(b / n as f64);
    }
    report(group, n, &mut ratios, &mut ours_ns, &mut peer_ns);
}

/// Measures `op` on two threads at once against one thread alone, in rounds: each round
/// runs a batch on both threads together (started from a spin, so that they overlap),
/// then a batch on one of them alone while the other is parked. A round's ratio is the two
/// threads' mean time per operation over the lone thread's.
fn pair_threads(rounds: usize, group: &str, op: impl Fn() -> u64 + Sync) {
    black_box(op());
    let n = batch_len(THREADS_BATCH_NANOS, || time(&op, 10_000) / 10_000.0);

    let barrier = Barrier::new(2);
    let ready = AtomicUsize::new(0);
    let together = |round: usize| {
        barrier.wait();
        ready.fetch_add(1, SeqCst);
        while ready.load(SeqCst) < 2 * (round + 1) {
            std::hint::spin_loop();
        }
        time(&op, n)
    };
    let (mut ratios, mut two_ns, mut one_ns) = (Vec::new(), Vec::new(), Vec::new());
    thread::scope(|s| {
        let other = s.spawn(|| {
            black_box(op());
            let twos: Vec<f64> = (0..rounds)
                .map(|round| {
                    let two = together(round);
                    barrier.wait(); // both batches done
                    barrier.wait(); // parked through the lone batch
                    two
                })
                .collect();
            twos
        });
        let mut mine = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let two = together(round);
            barrier.wait();
            mine.push((two, time(&op, n)));
            barrier.wait();
        }
        let others = other.join().expect("the other thread's batches");
        for ((two, one), other_two) in mine.into_iter().zip(others) {
            let two = (two + other_two) / 2.0;
            ratios.push(two / one);
            two_ns.push(two / n as f64);
            one_ns.push(one / n as f64);
        }
    });
    report(group, n, &mut ratios, &mut two_ns, &mut one_ns);
}

/// Prints a pair's figures and, after a full run, writes them to
/// `target/paired/<group>.json`.
fn report(group: &str, n: u64, ratios: &mut [f64], ours_ns: &mut [f64], peer_ns: &mut [f64]) {
    let rounds = ratios.len();
    let of_totals = ours_ns.iter().sum::<f64>() / peer_ns.iter().sum::<f64>();
    for v in [&mut *ratios, &mut *ours_ns, &mut *peer_ns] {
        v.sort_by(f64::total_cmp);
    }
    let (q1, ratio, q3) = (ratios[rounds / 4], median(ratios), ratios[rounds * 3 / 4]);
    let (ours_ns, peer_ns) = (median(ours_ns), median(peer_ns));
    println!(
        "{group:<28} ours {ours_ns:6.2} ns  peer {peer_ns:6.2} ns  ratio {ratio:.3} (quartiles {q1:.3}–{q3:.3}; of totals {of_totals:.3}; {rounds} rounds of {n})"
    );
    if !FULL.load(Relaxed) {
        return;
    }
    let json = format!(
        "{{\"ratio\": {ratio}, \"q1\": {q1}, \"q3\": {q3}, \"ours_ns\": {ours_ns}, \"peer_ns\": {peer_ns}, \"rounds\": {rounds}, \"batch\": {n}}}\n"
    );
    let dir = target_dir().join("paired");
    fs::create_dir_all(&dir).expect("create target/paired");
    fs::write(dir.join(format!("{group}.json")), json).expect("write the figures");
}

/// Cargo's target directory: three levels above this bench's executable
/// (`<target>/release/deps/paired-<hash>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's path");
    exe.ancestors()
        .nth(3)
        .expect("the bench runs from <target>/release/deps")
        .to_path_buf()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and gets a smoke run.
    FULL.store(std::env::args().any(|a| a == "--bench"), Relaxed);
    let (rounds, threads_rounds) = if FULL.load(Relaxed) {
        (ROUNDS, THREADS_ROUNDS)
    } else {
        (SMOKE_ROUNDS, SMOKE_ROUNDS)
    };

    pair(
        rounds,
        "attribute_with_mut",
        ours_attribute,
        std_thread_local,
    );
    pair(
        rounds,
        "attribute_separate_call",
        ours_attribute_call,
        std_thread_local_call,
    );

    let ours = ThreadLocal::<u64>::new();
    let peer = thread_local::ThreadLocal::<RefCell<u64>>::new();
    pair(
        rounds,
        "thread_local_with_mut",
        || ours_thread_local(black_box(&ours)),
        || thread_local_crate(black_box(&peer)),
    );
    pair(
        rounds,
        "control_crate_vs_crate",
        || thread_local_crate_call(black_box(&peer)),
        || thread_local_crate_call(black_box(&peer)),
    );
    pair(
        rounds,
        "thread_local_separate_call",
        || ours_thread_local_call(black_box(&ours)),
        || thread_local_crate_call(black_box(&peer)),
    );

    // A guard held across calls, against bevy's `Parallel::borrow_local_mut`.
    let ours = ThreadLocal::<u64>::new().per_thread();
    pair(
        rounds,
        "guard_borrow_mut",
        || ours_guard_call(black_box(&ours)),
        || bevy_guard_call(black_box(&peer)),
    );

    let ours = SharedThreadLocal::<AtomicU64>::new();
    let peer = thread_local::ThreadLocal::<AtomicU64>::new();
    pair(
        rounds,
        "live_increment",
        || black_box(&ours).with(|n| n.fetch_add(1, Relaxed)),
        || black_box(&peer).get_or_default().fetch_add(1, Relaxed),
    );

    // A context's life and a binding, against tokio's `sync_scope` + `get`.
    let local = ThreadLocal::<u64>::new();
    let tokio = tokio_sync_scope;
    pair(
        rounds,
        "context_lifecycle_attribute",
        context_with_attribute,
        tokio,
    );
    pair(
        rounds,
        "context_lifecycle_thread_local",
        || context_with_thread_local(black_box(&local)),
        tokio,
    );
    pair(
        rounds,
        "context_lifecycle_scope_attribute",
        scope_with_attribute,
        tokio,
    );
    pair(rounds, "bind_attribute", bind_attribute, tokio);
    pair(
        rounds,
        "bind_thread_local",
        || bind_thread_local(black_box(&local)),
        tokio,
    );

    // An access inside a context against the same access outside, inlined into the loop.
    let mut context = Context::new();
    pair_in_frame(
        rounds,
        "context_attribute",
        |batch| context.run(batch),
        ours_attribute,
    );
    let mut context = Context::new();
    pair_in_frame(
        rounds,
        "context_thread_local",
        |batch| context.run(batch),
        || ours_thread_local(black_box(&local)),
    );

    // An access inside a frame against the same access outside, each a call of its own.
    let mut context = Context::new();
    pair_in_frame(
        rounds,
        "frame_attribute_in_context",
        |batch| context.run(batch),
        ours_attribute_call,
    );
    pair_in_frame(
        rounds,
        "frame_attribute_in_scope",
        |batch| local::fresh(batch),
        ours_attribute_call,
    );
    let mut context = Context::new();
    pair_in_frame(
        rounds,
        "frame_thread_local_in_context",
        |batch| context.run(batch),
        || ours_thread_local_call(black_box(&local)),
    );

    pair_threads(threads_rounds, "threads_std", std_thread_local);
    pair_threads(threads_rounds, "threads_attribute", ours_attribute);
    pair_threads(threads_rounds, "threads_thread_local", || {
        ours_thread_local(black_box(&local))
    });
    pair_threads(
        threads_rounds,
        "threads_context_lifecycle_attribute",
        context_with_attribute,
    );
    pair_threads(
        threads_rounds,
        "threads_context_lifecycle_thread_local",
        || context_with_thread_local(black_box(&local)),
    );
}
