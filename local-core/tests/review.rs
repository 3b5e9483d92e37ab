//! The findings of a soundness review of the storage, each kept as a test that failed on the
//! code the review read. Numbered as the review numbered them:
//!
//! 1. `SharedThreadLocal::iter_mut` right after a `std::thread::scope`: a scoped thread's
//!    exit freed the value `iter_mut` had lent (a use-after-free; Miri and ASan see it).
//! 2. `process::exit` inside `with`: the exiting thread gave its index back with its entry
//!    still borrowed, and a thread started afterwards read the dead thread's value.
//! 3. Readers that overlap kept every exited thread's value alive.
//! 4. A binding after an `iter_mut` that had ended panicked "already borrowed".
//! 5. `Context::inherit` after an `iter_mut` that had ended did not carry the value.
//! 6. Builders called on an instance already touched were silently ignored.
//! 7. A value lent to a nested `Context::inherit` survived another thread's `clear`.

#[allow(unused_macros)]
#[macro_use]
mod support;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use local_core::{Context, SharedThreadLocal, ThreadLocal};
use support::counters::{Counters, scaled};

/// Sends on its channel when dropped: a thread-local destructor that tells the test where
/// the thread's teardown is.
struct Signal(mpsc::Sender<()>);

impl Drop for Signal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Waits on its channel when dropped: holds the thread's teardown at this point.
struct Gate(Option<mpsc::Receiver<()>>);

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(open) = self.0.take() {
            let _ = open.recv();
        }
    }
}

thread_local! {
    static AFTER_EXIT: Cell<Option<Signal>> = const { Cell::new(None) };
    static BEFORE_EXIT: Cell<Option<Gate>> = const { Cell::new(None) };
}

/// Finding 1. A scoped thread's thread-local destructors run after `std::thread::scope`
/// returns; here the library's runs exactly while `iter_mut`'s reference is in use: the
/// thread's destructors run in the reverse order of registration, so a gate touched after
/// the instance holds the teardown until the reference is taken, and a signal touched
/// before it says when the library's part is over.
#[test]
fn shared_iter_mut_outlives_a_scoped_threads_exit() {
    // The staging needs that order; std's OS-key fallback runs destructors in no set order.
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_some() {
        return;
    }
    let counters = Counters::default();
    // Dropping exited values is where the reclaim runs.
    let mut local = SharedThreadLocal::with_init({
        let counters = counters.clone();
        move || counters.make(7)
    })
    .drop_on_exit();
    let (open, gate) = mpsc::channel();
    let (exited, exit_done) = mpsc::channel();
    thread::scope(|s| {
        let local = &local;
        s.spawn(move || {
            AFTER_EXIT.set(Some(Signal(exited)));
            local.with(|value| assert_eq!(value.value, 7));
            BEFORE_EXIT.set(Some(Gate(Some(gate))));
        });
    });
    // The references live as long as the borrow of `local`, past the iterator.
    let values: Vec<_> = local.iter_mut().collect();
    let [value] = values
        .try_into()
        .ok()
        .expect("the scoped thread's value is there");
    open.send(()).unwrap();
    exit_done.recv().unwrap();
    // The thread's exit is over; the reference must still be good.
    value.value += 1;
    assert_eq!(value.value, 8);
    assert_eq!(counters.drops(), 0);
    // The next access lets the exited value go.
    drop(local.read());
    assert_eq!(counters.drops(), 1);
    drop(local);
    assert_eq!((counters.created(), counters.drops()), (1, 1));
}

/// Finding 2, in a child process ([`child_process_exit_inside_with`]), which prints what
/// a thread started after the exit reads.
#[test]
#[cfg_attr(miri, ignore = "Miri runs no child process")]
fn a_thread_started_during_process_exit_never_reads_the_exiting_threads_value() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_exit_inside_with",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LOCAL_REVIEW_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {output:?}");
    // Without native thread-locals (std's OS keys), `exit` runs no thread-local destructor,
    // and no thread starts from one: `scripts/os-tls` says so.
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_some() && !stdout.contains("new thread") {
        return;
    }
    assert!(
        stdout.contains("new thread: with read 0, with_mut Ok(0)"),
        "the new thread did not start fresh: {stdout}"
    );
}

static EXITING: ThreadLocal<u32> = ThreadLocal::new();

/// Starts a thread when dropped: registered before the library's destructor, it runs after
/// it, once the exiting thread's index could have been given back.
struct SpawnOnDrop;

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let seen = thread::spawn(|| {
            let read = EXITING.with(|n| *n);
            let write = EXITING.try_with_mut(|n| *n);
            format!("with read {read}, with_mut {write:?}")
        })
        .join()
        .unwrap();
        println!("new thread: {seen}");
    }
}

thread_local! {
    static SPAWN_ON_DROP: Cell<Option<SpawnOnDrop>> = const { Cell::new(None) };
}

/// The child of finding 2's test: `process::exit` inside `with` runs this thread's
/// thread-local destructors with the value borrowed.
#[test]
fn child_process_exit_inside_with() {
    if std::env::var_os("LOCAL_REVIEW_CHILD").is_none() {
        return;
    }
    SPAWN_ON_DROP.set(Some(SpawnOnDrop));
    EXITING.set(0xDEAD);
    EXITING.with(|_| std::process::exit(0));
}

/// Finding 3: a reporter that takes its next guard before dropping the last, and two
/// guards that alternate, keep at most the values their own guards could see.
#[test]
fn overlapping_readers_keep_exited_values_bounded() {
    let threads = scaled(200, 8);
    let counters = Counters::default();
    let local = SharedThreadLocal::with_init({
        let counters = counters.clone();
        move || counters.make(1)
    })
    .drop_on_exit();
    let touch = || thread::scope(|s| s.spawn(|| local.with(|_| ())).join().unwrap());

    let mut guard = local.read();
    for _ in 0..threads {
        touch();
        let next = local.read();
        drop(guard);
        guard = next;
    }
    assert!(
        counters.live() <= 2,
        "a reporter that overlaps its own guards keeps {} of {threads} exited values",
        counters.live()
    );

    let mut other = local.read();
    for _ in 0..threads {
        touch();
        drop(guard);
        guard = local.read();
        touch();
        drop(other);
        other = local.read();
    }
    assert!(
        counters.live() <= 4,
        "two alternating guards keep {} of {} exited values",
        counters.live(),
        2 * threads
    );
    drop((guard, other));
    drop(local);
    assert_eq!(counters.live(), 0);
}

/// Finding 4.
#[test]
fn a_binding_after_an_iter_mut_that_ended() {
    let mut local = ThreadLocal::with_init(|| 1);
    local.set(2);
    for value in local.iter_mut() {
        *value += 1;
    }
    assert_eq!(local.sync_scope(5, || local.get()), 5);
    assert_eq!(local.get(), 3);
    assert_eq!(format!("{local:?}"), "ThreadLocal { value: 3, .. }");
}

/// Finding 5: `Context::inherit` after an `iter_mut` lost the value. `Context::inherit`
/// cannot tell whether `iter_mut`'s references (which outlive the iterator) are still in
/// use, and cloning under one is undefined behaviour (`red_team.rs`): an `inherit`
/// instance refuses `iter_mut` instead, and its value is always carried.
#[test]
fn inherit_after_an_iter_mut_that_ended() {
    let mut local = ThreadLocal::<u32>::new().inherit();
    local.set(7);
    let refused = catch_unwind(AssertUnwindSafe(|| local.iter_mut().for_each(|v| *v += 1)));
    let message = panic_message(refused.unwrap_err());
    assert!(
        message.contains("ThreadLocal<u32>::iter_mut") && message.contains("inherit"),
        "{message}"
    );
    let mut child = Context::inherit();
    assert_eq!(child.run(|| local.get()), 7);
    // What lends nothing still works.
    local.clear();
    assert_eq!(local.into_iter().count(), 0);
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

/// Finding 6: a builder on an instance already touched panics, naming itself, instead of
/// changing a setting the instance no longer reads.
#[test]
fn builders_on_a_touched_instance_panic() {
    let touched = || {
        let local = ThreadLocal::<u32>::new();
        local.set(1);
        local
    };
    let message = panic_message(catch_unwind(|| drop(touched().retain_on_exit())).unwrap_err());
    assert!(message.contains("retain_on_exit"), "{message}");
    let message = panic_message(catch_unwind(|| drop(touched().inherit())).unwrap_err());
    assert!(message.contains("inherit"), "{message}");

    let shared = SharedThreadLocal::<u32>::new();
    shared.with(|_| ());
    let message =
        panic_message(catch_unwind(AssertUnwindSafe(|| drop(shared.drop_on_exit()))).unwrap_err());
    assert!(message.contains("drop_on_exit"), "{message}");

    // Before any touch they take effect.
    let mut kept = ThreadLocal::<u32>::new().retain_on_exit();
    thread::scope(|s| s.spawn(|| kept.set(4)).join().unwrap());
    assert_eq!(kept.iter_mut().map(|n| *n).sum::<u32>(), 4);
}

static DROPS_OF_ORIGINAL: AtomicUsize = AtomicUsize::new(0);

/// What runs inside the nested clone.
type Inside = Arc<Mutex<Option<Box<dyn FnMut() + Send>>>>;

/// A value whose `Clone` calls `Context::inherit` once more (a nested lend), and, inside
/// that, lets another thread clear the instance.
struct Nested {
    original: bool,
    depth: Arc<AtomicUsize>,
    inside: Inside,
}

impl Clone for Nested {
    fn clone(&self) -> Self {
        if self.depth.fetch_add(1, SeqCst) == 0 {
            drop(Context::inherit());
        } else if let Some(mut inside) = self.inside.lock().unwrap().take() {
            inside();
        }
        Nested {
            original: false,
            depth: Arc::clone(&self.depth),
            inside: Arc::clone(&self.inside),
        }
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        if self.original {
            DROPS_OF_ORIGINAL.fetch_add(1, SeqCst);
        }
    }
}

/// Finding 7.
#[test]
fn clear_during_a_nested_lend_still_drops_the_value() {
    let local = Arc::new(Mutex::new(
        ThreadLocal::with_init(|| -> Nested { unreachable!() }).inherit(),
    ));
    let inside: Inside = Arc::default();
    let depth = Arc::new(AtomicUsize::new(0));
    local.lock().unwrap().set(Nested {
        original: true,
        depth: Arc::clone(&depth),
        inside: Arc::clone(&inside),
    });
    *inside.lock().unwrap() = Some(Box::new({
        let local = Arc::clone(&local);
        move || {
            let local = Arc::clone(&local);
            thread::spawn(move || local.lock().unwrap().clear())
                .join()
                .unwrap();
        }
    }));
    let context = Context::inherit();
    assert!(inside.lock().unwrap().is_none(), "the clear ran");
    assert_eq!(
        DROPS_OF_ORIGINAL.load(SeqCst),
        1,
        "the cleared value is dropped once the lends end"
    );
    drop(context);
    assert!(!local.lock().unwrap().is_initialized());
}
