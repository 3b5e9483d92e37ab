//! A review's attempts to break the storage from safe code, by someone who had not written
//! it. Each test without a mark failed, natively or under Miri, on the code it was written
//! against, and its comment says how; those marked `// holds` probe a scenario that the
//! code handled already. Miri runs them with the rest of the core's tests.

#[allow(unused_macros)]
#[macro_use]
mod support;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use local_core::{Context, SharedThreadLocal, ThreadLocal};
use support::counters::{Counters, scaled};

/// Finding 1: `Context::inherit` on a thread that holds a value reaches the
/// instance through the thread's list of members, with no `&ThreadLocal`, and lent the value
/// to `Clone` while `iter_mut`'s `&mut` to it was alive (on another thread: a data race,
/// seen by TSan and Miri; on the same thread, inside the loop: the value changed under
/// `&mut`, and an optimized build read a stale count through it). `iter_mut` is refused on
/// an `inherit` instance, on every thread, so no such `&mut` exists.
#[derive(Default)]
struct CountsClones {
    clones: Cell<u32>,
}

impl Clone for CountsClones {
    fn clone(&self) -> Self {
        self.clones.set(self.clones.get() + 1);
        CountsClones::default()
    }
}

#[test]
fn iter_mut_is_refused_on_an_inherit_instance_on_every_thread() {
    let local = Arc::new(Mutex::new(ThreadLocal::<CountsClones>::new().inherit()));
    local.lock().unwrap().with(|_| ());
    // Another thread holding the instance exclusively, while the owner inherits.
    let other = thread::spawn({
        let local = Arc::clone(&local);
        move || {
            let mut guard = local.lock().unwrap_or_else(|poison| poison.into_inner());
            let refused = catch_unwind(AssertUnwindSafe(|| guard.iter_mut().count()));
            refused.is_err()
        }
    });
    let child = Context::inherit();
    assert!(
        other.join().unwrap(),
        "iter_mut lent an inherit instance's values"
    );
    drop(child);
    // The owner's value was cloned once, by its own `Context::inherit`, and is intact.
    let local = local.lock().unwrap_or_else(|poison| poison.into_inner());
    assert_eq!(local.with(|value| value.clones.get()), 1);
}

/// Finding 4: after one `iter_mut`, an instance used only through `with` (its owners'
/// accesses) kept every exited thread's value: the reader `iter_mut` holds was released
/// only by `read` and the `&mut` methods. A thread's first touch releases it too now.
#[test]
fn shared_values_of_exited_threads_pile_up_after_one_iter_mut() {
    let threads = scaled(100, 6);
    let counters = Counters::default();
    let mut local = SharedThreadLocal::with_init({
        let counters = counters.clone();
        move || counters.make(1)
    })
    .drop_on_exit();
    local.with(|_| ());
    local.iter_mut().for_each(|value| value.value += 1);
    // From here on, only owners' accesses: workers that come and go.
    for _ in 0..threads {
        thread::scope(|s| s.spawn(|| local.with(|_| ())).join().unwrap());
    }
    assert!(
        counters.live() <= 3,
        "{} values alive for 1 live thread after {threads} exited threads",
        counters.live()
    );
}

/// Finding 2: any first touch of an instance by a thread. `TableCell::share` made the
/// thread's `Arc` from a `&Table` (whose provenance covers the table, not the `ArcInner`
/// counts before it) and incremented the count through it; the thread's exit, when its
/// `Arc` is the last, deallocated through it. Passed natively; Miri reported UB under
/// Stacked Borrows (the increment) and Tree Borrows (the deallocation). It takes the
/// instance's own pointer now.
#[test]
fn a_threads_first_touch() {
    let local = ThreadLocal::<u32>::new();
    local.set(1);
    assert_eq!(local.get(), 1);
}

/// Finding 3: `iter_mut` over values that `retain_on_exit` moved aside into the `retained`
/// vector. Each step reborrowed the whole vector mutably (`Vec::get_mut` under the lock),
/// which invalidated the `&mut` handed out by the step before. Passed natively; Miri
/// reported UB under Stacked Borrows.
#[test]
fn iter_mut_over_two_retained_values() {
    let mut local = ThreadLocal::<u32>::new().retain_on_exit();
    // Each thread takes the index the one before gave back, and moves its value aside.
    for n in 1..=3 {
        let local = &local;
        thread::scope(|s| s.spawn(move || local.set(n)).join().unwrap());
    }
    let values: Vec<&mut u32> = local.iter_mut().collect();
    assert_eq!(values.len(), 3);
    for value in values {
        *value += 10;
    }
    let mut all: Vec<u32> = local.iter_mut().map(|n| *n).collect();
    all.sort();
    assert_eq!(all, [11, 12, 13]);
}

static INSIDE_ACCESS: AtomicBool = AtomicBool::new(false);

/// Reports on stderr if it is dropped while an access to it is running.
#[derive(Default)]
struct InUse;

impl Drop for InUse {
    fn drop(&mut self) {
        if INSIDE_ACCESS.load(SeqCst) {
            eprintln!("dropped while borrowed");
        }
    }
}

static SHARED_EXITING: SharedThreadLocal<InUse> = SharedThreadLocal::new().drop_on_exit();

/// Finding 5: `process::exit` inside `SharedThreadLocal::with` runs this thread's
/// thread-local destructors (glibc does) with the value borrowed. `ThreadLocal` leaves such
/// a value alone (`Destroyed::Borrowed`); the shared table's exit unpublished the node and,
/// with no reader counted, freed it under the `&T` the closure holds. The owner's accesses
/// are counted now, and an exit inside one leaves the value. (An attribute struct's own
/// slot does the same as before, as std's `thread_local!` does with a borrowed `RefCell`:
/// not tested here.)
#[test]
fn process_exit_inside_shared_with_frees_the_borrowed_value() {
    const CHILD: &str = "LOCAL_RED_TEAM_EXIT_CHILD";
    if std::env::var_os(CHILD).is_some() {
        SHARED_EXITING.with(|_| {
            INSIDE_ACCESS.store(true, SeqCst);
            std::process::exit(7)
        });
    }
    if cfg!(miri) {
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process_exit_inside_shared_with_frees_the_borrowed_value",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("dropped while borrowed"),
        "the value was dropped under the closure's `&T`: {stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// Scenarios probed that the code handles
// ---------------------------------------------------------------------------------------

static_local!(
    NOT_SEND_INHERITED: std::rc::Rc<u32> = || std::rc::Rc::new(0),
    per_thread: false,
    inherit: Some(std::rc::Rc::clone)
);

// holds
/// A value that is not `Send` never reaches a context: not through a binding inside one,
/// a binding around one, a binding future wrapped in one, or `Context::inherit` from a
/// scope that holds it.
#[test]
fn values_that_are_not_send_stay_out_of_contexts_through_bindings() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::rc::Rc;
    let mut context = Context::new();
    let bound = catch_unwind(AssertUnwindSafe(|| {
        context.run(|| NOT_SEND_INHERITED.sync_scope(Rc::new(1), || ()))
    }));
    assert!(bound.is_err(), "a binding inside a context");
    NOT_SEND_INHERITED.sync_scope(Rc::new(2), || {
        let inside = context.run(|| NOT_SEND_INHERITED.try_with(|rc| **rc));
        assert_eq!(inside, Err(local_core::AccessError::NotSend));
    });
    local_core::fresh(|| {
        NOT_SEND_INHERITED.set(Rc::new(3));
        let mut child = Context::inherit();
        assert_eq!(
            child.run(|| NOT_SEND_INHERITED.try_with(|rc| **rc)),
            Err(local_core::AccessError::NotSend)
        );
    });
    let task = context.wrap(NOT_SEND_INHERITED.scope(Rc::new(4), async {}));
    let mut task = std::pin::pin!(task);
    let waker = std::task::Waker::noop();
    let polled = catch_unwind(AssertUnwindSafe(|| {
        let _ = task
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
    }));
    assert!(polled.is_err(), "a binding future polled inside a context");
}

// holds
/// `iter_mut`'s iterator forgotten while a thread holds a value, then that thread exits
/// (its value is left in place for references that may still be alive), a new thread takes
/// its index, and the instance is dropped: every value is dropped exactly once.
#[test]
fn forgotten_iter_mut_then_an_exit_then_drop() {
    let counters = Counters::default();
    let local = Arc::new(Mutex::new(counters.tracked_local()));
    let (touched, wait_touched) = mpsc::channel::<()>();
    let (go, wait_go) = mpsc::channel::<()>();
    let worker = thread::spawn({
        let local = Arc::clone(&local);
        move || {
            local.lock().unwrap().with(|_| ());
            touched.send(()).unwrap();
            wait_go.recv().unwrap();
        }
    });
    wait_touched.recv().unwrap();
    {
        let mut guard = local.lock().unwrap();
        guard.with(|_| ());
        // The scenario as a user could write it; the code must not rely on the
        // iterator's end (it has no `Drop`, so forgetting it is the same as dropping it).
        #[allow(clippy::forget_non_drop)]
        std::mem::forget(guard.iter_mut());
    }
    go.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(counters.drops(), 0, "left in place for `iter_mut`");
    thread::spawn({
        let local = Arc::clone(&local);
        move || local.lock().unwrap().with(|_| ())
    })
    .join()
    .unwrap();
    drop(Arc::into_inner(local).unwrap());
    assert_eq!((counters.created(), counters.drops()), (3, 3));
}

static EXIT_CONTEXT: ThreadLocal<u32> = ThreadLocal::new().inherit();

/// At thread exit, makes a context that inherits, runs in it, and drops it.
struct InheritOnDrop(mpsc::Sender<Option<u32>>);

impl Drop for InheritOnDrop {
    fn drop(&mut self) {
        let mut context = Context::inherit();
        let seen = context.run(|| EXIT_CONTEXT.try_with(|n| *n).ok());
        let _ = self.0.send(seen);
    }
}

thread_local! {
    static INHERIT_ON_DROP: Cell<Option<InheritOnDrop>> = const { Cell::new(None) };
}

// holds
/// `Context::inherit` and `Context::run` from a thread-local destructor that runs after the
/// library's (registered before it): nothing is inherited, the context works, no panic.
#[test]
fn inherit_from_a_destructor_after_the_librarys() {
    let (seen, receive) = mpsc::channel();
    thread::spawn(move || {
        INHERIT_ON_DROP.set(Some(InheritOnDrop(seen)));
        EXIT_CONTEXT.set(5);
    })
    .join()
    .unwrap();
    let seen = receive.recv().unwrap();
    if std::env::var_os("LOCAL_NO_NATIVE_TLS").is_none() {
        assert_eq!(seen, Some(0));
    } else {
        // std's OS-key fallback runs destructors in no set order: before the library's,
        // the context inherits the live value.
        assert!(matches!(seen, Some(0 | 5)), "{seen:?}");
    }
}

static TEARDOWN_DROPS: AtomicUsize = AtomicUsize::new(0);

struct CountsDrop;

impl Drop for CountsDrop {
    fn drop(&mut self) {
        TEARDOWN_DROPS.fetch_add(1, SeqCst);
    }
}

type Shared = Arc<Mutex<ThreadLocal<Option<CountsDrop>>>>;

/// At thread exit, takes the instance exclusively and writes through `iter_mut` to every
/// value, this thread's included, before the library destroys it.
struct IterOnDrop(Shared);

impl Drop for IterOnDrop {
    fn drop(&mut self) {
        let mut local = self.0.lock().unwrap();
        let values: Vec<_> = local.iter_mut().collect();
        for value in values {
            assert!(value.is_some());
        }
    }
}

static ITER_ON_DROP: ThreadLocal<Option<IterOnDrop>> = ThreadLocal::new();

// holds
/// A destructor at thread exit holds `iter_mut`'s references to the exiting thread's own
/// value of another instance, whose destruction comes later in the same teardown: the value
/// is left in place and dropped once, by the instance's drop.
#[test]
fn iter_mut_from_a_teardown_destructor_over_its_own_value() {
    let shared: Shared = Arc::new(Mutex::new(ThreadLocal::new()));
    thread::spawn({
        let shared = Arc::clone(&shared);
        move || {
            // Listed after `ITER_ON_DROP`'s table: destroyed before it, so touch it first.
            shared.lock().unwrap().set(Some(CountsDrop));
            ITER_ON_DROP.set(Some(IterOnDrop(Arc::clone(&shared))));
        }
    })
    .join()
    .unwrap();
    let shared = Arc::into_inner(shared).unwrap().into_inner().unwrap();
    drop(shared);
    assert_eq!(TEARDOWN_DROPS.load(SeqCst), 1);
}
