//! Thread churn: the churn check of the design contract.
//!
//! Spawns many short threads (the first argument, default 100,000), at most 64 alive at
//! once. Each thread touches one shared `ThreadLocal<Payload>` and one
//! `#[thread_local_struct]`, each building it a 1 KiB value, and exits; both values must
//! be dropped when it exits. Each also adds 1 to a sharded counter, a
//! `SharedThreadLocal<AtomicU64>` that folds an exited thread's count into its total: the
//! sum must be exact, and the counter must hold no more values than threads were alive at
//! once. Every batch is joined with `JoinHandle::join`, which returns only after the
//! thread's thread-local destructors have run.
//!
//! It measures:
//!
//! - the values left alive once every thread has been joined, counted while the
//!   `ThreadLocal` itself is still alive (dropping it would drop any leftover value and
//!   hide a leak);
//! - the growth of the process's resident set (`VmRSS` in `/proc/self/status`, Linux only)
//!   between the end of the first batch, which warms up the allocator, the thread stack
//!   cache and the instance's table, and the end of the run.
//!
//! The contract: 100,000 short threads leave 0 values alive and grow RSS by at most 2 MiB.
//! The program exits with a failure status if any value is left alive, or if the counter's
//! sum is off or it holds more than a batch of values. The main thread
//! never touches the instance: its value would only be dropped with the instance.
//!
//! ```text
//! cargo run --release --example churn            # 100,000 threads
//! cargo run --release --example churn -- 5000    # fewer
//! ```

use std::env;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

use local::{SharedThreadLocal, ThreadLocal, thread_local_struct};

/// Threads alive at once.
const BATCH: usize = 64;
/// The contract's bound on RSS growth.
const RSS_BUDGET_KIB: i64 = 2 * 1024;

/// `Payload`s currently alive, in any thread.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A thread's value: 1 KiB on the heap, counted in `LIVE`.
struct Payload {
    bytes: Box<[u8; 1024]>,
}

impl Payload {
    fn new() -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Payload {
            bytes: Box::new([0; 1024]),
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The same 1 KiB per thread, held by an attribute struct (a `static`) instead of an
/// instance.
#[thread_local_struct]
struct Scratch {
    #[init(Payload::new())]
    payload: Payload,
}

/// The sharded counter: every thread adds 1.
static COUNT: SharedThreadLocal<AtomicU64> = SharedThreadLocal::new().fold_on_exit();

/// Spawns `count` threads that each touch `payloads` once, and joins them all.
fn run_batch(payloads: &Arc<ThreadLocal<Payload>>, first: usize, count: usize) {
    let handles: Vec<_> = (first..first + count)
        .map(|n| {
            let payloads = Arc::clone(payloads);
            thread::spawn(move || {
                // Write to the values so that their pages are really used.
                payloads.with_mut(|payload| payload.bytes[n % 1024] = n as u8);
                Scratch::with_mut(|scratch| scratch.payload.bytes[n % 1024] = n as u8);
                COUNT.with(|count| count.fetch_add(1, Ordering::Relaxed));
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a churn thread panicked");
    }
}

/// The resident set size, in KiB, where it can be read.
#[cfg(target_os = "linux")]
fn rss_kib() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn rss_kib() -> Option<i64> {
    None
}

fn main() -> ExitCode {
    let threads = match env::args().nth(1).map(|arg| arg.parse::<usize>()) {
        None => 100_000,
        Some(Ok(threads)) => threads,
        Some(Err(_)) => {
            eprintln!("usage: churn [THREADS]   (default 100000)");
            return ExitCode::from(2);
        }
    };

    let start = Instant::now();
    let payloads: Arc<ThreadLocal<Payload>> = Arc::new(ThreadLocal::with_init(Payload::new));
    let mut spawned = 0;
    let mut rss_after_warmup = None;
    while spawned < threads {
        let count = BATCH.min(threads - spawned);
        run_batch(&payloads, spawned, count);
        spawned += count;
        if rss_after_warmup.is_none() {
            rss_after_warmup = rss_kib();
        }
    }
    let rss_at_end = rss_kib();
    // Every thread has been joined, so the instance is still alive here, held by us alone.
    let left_alive = LIVE.load(Ordering::SeqCst);
    let elapsed = start.elapsed();
    drop(payloads);
    let counts: Vec<u64> = COUNT
        .read()
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    let counted: u64 = counts.iter().sum();

    println!("threads spawned:   {spawned}");
    println!("values left alive: {left_alive}");
    println!(
        "sharded counter:   {counted} counted; values held: {} (the total, and any thread's \
         not folded away yet)",
        counts.len()
    );
    match (rss_after_warmup, rss_at_end) {
        (Some(warm), Some(end)) => {
            let growth = end - warm;
            let verdict = if growth <= RSS_BUDGET_KIB {
                "within"
            } else {
                "OVER"
            };
            println!(
                "RSS growth:        {growth} KiB ({warm} KiB after warm-up, {end} KiB at end; \
                 {verdict} the {RSS_BUDGET_KIB} KiB budget)"
            );
        }
        _ => println!("RSS growth:        n/a"),
    }
    println!("elapsed:           {elapsed:.2?}");

    if left_alive != 0 {
        eprintln!("churn: FAILED: {left_alive} value(s) outlived their threads");
        return ExitCode::FAILURE;
    }
    if counted != spawned as u64 || counts.len() > BATCH + 1 {
        eprintln!(
            "churn: FAILED: the sharded counter counted {counted} of {spawned} in {} values",
            counts.len()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
