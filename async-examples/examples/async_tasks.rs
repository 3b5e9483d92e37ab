//! Task-local request ids on a multi-threaded tokio runtime.
//!
//! A thread-local is the wrong home for a request id when requests are async tasks: a
//! worker thread interleaves many tasks, and one task may be polled on several threads in
//! turn. Wrapping each task in `local::fresh_async` gives it a context of its own that every
//! poll enters, so `RequestId` below is per task: each of 20 tasks sets its id once and
//! reads it back after every `.await`, on whichever worker polled it, while the others set
//! theirs on the same two threads.
//!
//! Run with `cargo run -p local-async-examples --example async_tasks`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use local::thread_local_struct;

/// The id of the request being served: per task inside `fresh_async`, per thread outside.
#[thread_local_struct]
struct RequestId {
    id: u32,
}

const TASKS: u32 = 20;
const AWAITS: u32 = 40;

/// What a task reports: its id, the workers that polled it, and whether `RequestId` kept
/// its id after every `.await`.
struct Report {
    id: u32,
    threads: BTreeSet<String>,
    kept: bool,
}

fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

async fn handle(id: u32) -> Report {
    RequestId::set_id(id);
    let mut threads = BTreeSet::from([thread_name()]);
    let mut kept = true;
    for step in 0..AWAITS {
        if step % 4 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
        threads.insert(thread_name());
        kept &= RequestId::id() == id;
    }
    Report { id, threads, kept }
}

fn main() {
    static WORKERS: AtomicUsize = AtomicUsize::new(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name_fn(|| format!("worker-{}", WORKERS.fetch_add(1, Ordering::Relaxed) + 1))
        .enable_time()
        .build()
        .expect("cannot build the runtime");

    runtime.block_on(async {
        let tasks: Vec<_> = (1..=TASKS)
            .map(|id| tokio::spawn(local::fresh_async(handle(id))))
            .collect();
        let mut lost = 0;
        let mut hopped = 0;
        for task in tasks {
            let report = task.await.expect("a task panicked");
            let threads = Vec::from_iter(report.threads.iter().map(String::as_str));
            println!(
                "task {:2}: request id {} {} across {AWAITS} awaits; ran on {}",
                report.id,
                report.id,
                if report.kept { "kept" } else { "lost" },
                threads.join(", ")
            );
            lost += u32::from(!report.kept);
            hopped += u32::from(threads.len() > 1);
        }
        if lost == 0 {
            println!(
                "{TASKS} tasks, each kept its own request id; {hopped} tasks ran on more than one thread"
            );
        } else {
            println!("{TASKS} tasks, {lost} lost their request id");
        }

        // Outside `fresh_async`, a task reads its worker thread's own value, which no task set.
        let unwrapped = tokio::spawn(async { (thread_name(), RequestId::id()) });
        let (worker, id) = unwrapped.await.expect("a task panicked");
        println!("an unwrapped task on {worker} reads the thread's own request id: {id}");
    });
    println!("main thread's own request id: {}", RequestId::id());
}
