//! A tour of `local`: per-thread values built lazily by an initializer, dropped when their
//! thread exits, never shared with another thread. First `#[thread_local_struct]`, which
//! makes a struct itself the thread-local (Python's `threading.local` subclass), then
//! `ThreadLocal<T>`, a per-thread value owned by an ordinary variable; then contexts,
//! which give every local fresh or resumable values without a new thread.
//!
//! Run with `cargo run --example tour`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use local::{AccessError, Context, ThreadLocal, thread_local_struct};

fn main() {
    struct_is_the_thread_local();
    own_value_per_thread();
    dropped_on_exit();
    no_inheritance();
    accumulators();
    contexts();
    children();
    misuse();
}

/// Prints the next section's number and title: sections number themselves, so one can be
/// added or moved by editing `main` alone.
fn section(title: &str) {
    static SECTION: AtomicUsize = AtomicUsize::new(0);
    let n = SECTION.fetch_add(1, Ordering::Relaxed) + 1;
    let gap = if n > 1 { "\n" } else { "" };
    println!("{gap}{n}. {title}");
}

/// One session per thread. The attribute adds the functions that reach this thread's value
/// (`Session::with_mut`, `Session::value()`, `Session::set_value`, ...); each `#[init]`
/// runs on the thread that first touches `Session`, and `hits`, without one, starts at
/// `u64::default()`.
#[thread_local_struct]
#[derive(Debug, Clone)]
struct Session {
    #[init(1000)]
    value: u32,
    #[init(format!("{:?}", thread::current().id()))]
    owner: String,
    hits: u64,
}

/// Every `Session` dropped so far: threads' values, but also clones and taken values.
static SESSION_DROPS: AtomicUsize = AtomicUsize::new(0);

// The attribute leaves the struct an ordinary type: a `Drop` impl is fine.
impl Drop for Session {
    fn drop(&mut self) {
        SESSION_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

fn struct_is_the_thread_local() {
    section("#[thread_local_struct]: the struct itself is the thread-local");
    // The first touch builds main's value, here, so `owner` names the main thread.
    println!(
        "   main: owner = {}, value = {}",
        Session::owner(),
        Session::value()
    );

    // One borrow for a change that spans fields; `set_value` for a single field.
    Session::with_mut(|session| {
        session.value += 1;
        session.hits += 1;
    });
    println!(
        "   after with_mut: value = {}, hits = {}",
        Session::value(),
        Session::hits()
    );
    Session::set_value(7);
    println!("   after set_value(7): {:?}", Session::get());

    // Each worker builds its own Session on its own thread: another owner, value 1000,
    // whatever main did. Plain `spawn` + `join`, because `join` also waits for the
    // thread's exit-time destructors, where its Session is dropped.
    let drops_before = SESSION_DROPS.load(Ordering::SeqCst);
    let workers: Vec<_> = (0..2)
        .map(|_| thread::spawn(|| (Session::owner(), Session::value())))
        .collect();
    for worker in workers {
        let (owner, value) = worker.join().unwrap();
        println!("   worker: owner = {owner}, value = {value}");
    }
    println!(
        "   the workers exited: {} Sessions dropped with them",
        SESSION_DROPS.load(Ordering::SeqCst) - drops_before
    );
    println!("   main still has value = {}", Session::value());

    // `take` hands back this thread's value; the next touch runs the initializers again.
    let taken = Session::take();
    println!("   take() -> {taken:?}");
    println!("   is_initialized() = {}", Session::is_initialized());
    println!("   next read rebuilds it: value = {}", Session::value());

    // The generated `Default` runs the same initializers, so each `ThreadLocal<Session>`
    // is one more independent set of per-thread sessions, apart from the struct's own.
    let first = ThreadLocal::<Session>::new();
    let second = ThreadLocal::<Session>::new();
    first.with_mut(|session| session.value = 1);
    println!(
        "   ThreadLocal<Session>: first = {}, second = {}, Session::value() = {}",
        first.with(|session| session.value),
        second.with(|session| session.value),
        Session::value()
    );
}

static INIT_RUNS: AtomicUsize = AtomicUsize::new(0);

fn own_value_per_thread() {
    section("Each thread gets its own value, built on first use");
    // The value is the initializer's run number, so each thread can tell whose it got.
    let value = ThreadLocal::with_init(|| INIT_RUNS.fetch_add(1, Ordering::SeqCst) + 1);

    let reads: Vec<(usize, usize)> = thread::scope(|s| {
        let workers: Vec<_> = (0..3)
            .map(|_| s.spawn(|| (value.get(), value.get())))
            .collect();
        // Spawned but never touches `value`: nothing is built for it.
        s.spawn(|| {});
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for (worker, (first, second)) in reads.iter().enumerate() {
        println!("   worker {worker} read its value twice: #{first}, then #{second}");
    }
    println!(
        "   initializer runs: {} (3 workers touched the value, a 4th thread did not)",
        INIT_RUNS.load(Ordering::SeqCst)
    );
    let mine = value.get();
    println!(
        "   main thread reads #{mine}; initializer runs: {}",
        INIT_RUNS.load(Ordering::SeqCst)
    );
}

static DROPS: AtomicUsize = AtomicUsize::new(0);

/// Reports its own drop, to show when (and on which thread) it happens.
struct Tracked(&'static str);

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
        println!("   dropping the value built on {}", self.0);
    }
}

fn dropped_on_exit() {
    section("A thread's value is dropped when the thread exits");
    let tracked = ThreadLocal::with_init(|| Tracked("the worker thread"));
    thread::scope(|s| {
        let worker =
            s.spawn(|| tracked.with(|t| println!("   worker uses the value built on {}", t.0)));
        // `join`, unlike the end of `thread::scope`, also waits for the thread's exit-time
        // destructors, which is where the value is dropped.
        worker.join().unwrap();
    });
    println!(
        "   after join: {} value dropped; the instance itself is still alive",
        DROPS.load(Ordering::SeqCst)
    );
}

fn no_inheritance() {
    section("A new thread never sees an exited thread's value");
    let session: ThreadLocal<String> = ThreadLocal::new();
    thread::scope(|s| {
        s.spawn(|| {
            session.set("thread A's secret".into());
            println!("   thread A set {:?} and exits", session.get());
        })
        .join()
        .unwrap();
        // B may well reuse A's slot in the table: the value was dropped before it could.
        s.spawn(|| {
            println!(
                "   thread B: is_initialized() = {}",
                session.is_initialized()
            );
            println!("   thread B reads {:?} (a fresh default)", session.get());
        })
        .join()
        .unwrap();
    });
}

fn accumulators() {
    section("Per-thread accumulators, summed after the workers finish");
    // Without `retain_on_exit`, each worker's total would be dropped as it exits.
    let mut totals = ThreadLocal::<u64>::new().retain_on_exit();
    thread::scope(|s| {
        for worker in 0..4 {
            let totals = &totals;
            // No lock and no atomic per update: each worker adds to its own total.
            s.spawn(move || {
                for n in (1..=1000).filter(|n| n % 4 == worker) {
                    totals.with_mut(|total| *total += n);
                }
            });
        }
    });
    let mut partials: Vec<u64> = totals.iter_mut().map(|total| *total).collect();
    partials.sort_unstable();
    println!("   per-thread totals of the exited workers: {partials:?}");
    let sum: u64 = partials.iter().sum();
    println!("   sum of 1..=1000 = {sum}");
}

fn contexts() {
    section("Contexts: fresh values for a job, resumable ones for a greenlet");
    // `local::fresh` gives every local, attribute struct or `ThreadLocal`, a fresh value,
    // drops it at the end, and puts the outer one back: a pooled worker's job starts clean.
    Session::set_value(42);
    let drops_before = SESSION_DROPS.load(Ordering::SeqCst);
    local::fresh(|| {
        println!(
            "   in local::fresh: Session::value() = {} (fresh)",
            Session::value()
        );
        Session::set_value(1);
    });
    println!(
        "   after it: Session::value() = {}; its Sessions dropped: {}",
        Session::value(),
        SESSION_DROPS.load(Ordering::SeqCst) - drops_before
    );

    // A `Context` keeps its values between runs: two alternate on this thread, like
    // greenlets, and each sees its own value again when resumed.
    let test = ThreadLocal::with_init(|| 0);
    let (mut gr1, mut gr2) = (Context::new(), Context::new());
    gr1.run(|| test.set(1));
    gr2.run(|| test.set(2));
    for _ in 0..2 {
        println!(
            "   gr1 sees {}, gr2 sees {}, the thread itself {}",
            gr1.run(|| test.get()),
            gr2.run(|| test.get()),
            test.get()
        );
    }
}

/// The user a request runs as: declared `inherit`, so a child starts from a clone of it.
#[thread_local_struct(inherit)]
#[derive(Clone)]
struct User {
    #[init(String::from("anonymous"))]
    name: String,
}

/// The request's scratch buffer: not declared `inherit`, so a child starts from a fresh one.
#[thread_local_struct]
struct Scratch {
    bytes: Vec<u8>,
}

fn children() {
    section("A child starts from clones of what is declared `inherit`, and fresh for the rest");
    // Inheriting clones, and Rust clones only when asked: a struct (or a `ThreadLocal`, a
    // `LocalStack`) opts in with `inherit`; the others start fresh in the child.
    User::set_name("ada".into());
    Scratch::set_bytes(vec![1, 2, 3]);
    let child = thread::spawn(local::inherit_locals(|| (User::name(), Scratch::bytes())));
    let (name, bytes) = child.join().unwrap();
    println!("   a child spawned with local::inherit_locals: User::name() = {name:?} (inherited),");
    println!("   Scratch::bytes() = {bytes:?} (fresh: Scratch is not declared inherit)");
    let plain = thread::spawn(User::name).join().unwrap();
    println!("   a child spawned without it: User::name() = {plain:?} (every local fresh)");
}

fn misuse() {
    section("Misuse is an error, not undefined behavior");
    let counter: ThreadLocal<u32> = ThreadLocal::new();
    counter.with(|_| {
        // A mutable borrow inside a shared one would alias, as with `RefCell`.
        match counter.try_with_mut(|n| *n += 1) {
            Err(error @ AccessError::Borrowed) => {
                println!("   try_with_mut inside with: Err({error:?}): {error}");
            }
            other => println!("   unexpected: {other:?}"),
        }
    });
    println!("   (with_mut there would panic with the same message, naming the type)");
    println!(
        "   outside the borrow: {:?}",
        counter.try_with_mut(|n| *n += 1)
    );
}
