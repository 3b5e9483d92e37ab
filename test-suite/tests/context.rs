//! Contexts (DESIGN §3) through the facade: `local::fresh`, `Context::run`, `wrap` and
//! `fresh_async` (by hand and on a multi-threaded tokio runtime), `Context::inherit`,
//! `per_thread`, the refusal of values that are not `Send`, and `LocalStack`.
//!
//! Each test declares its own structs: a struct's storage is one `static`, shared by every
//! test that would use it. Scenarios that depend on a thread's first touch run on a thread
//! of their own.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use local::{AccessError, Context, LocalStack, ThreadLocal, Wrapped, thread_local_struct};

#[path = "../../tests/support/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// The panic message of `f`, which must panic.
fn panics(f: impl FnOnce()) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => panic_message(payload),
    }
}

/// Joins `handle`, re-raising the thread's own panic (not a bare `Err` from `unwrap`).
fn join<T>(handle: thread::JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| resume_unwind(payload))
}

fn count(counter: &AtomicUsize) -> usize {
    counter.load(SeqCst)
}

/// Counts its drops: a value's lifetime made visible.
#[derive(Debug)]
struct Tracked {
    value: usize,
    drops: &'static AtomicUsize,
}

impl Tracked {
    fn new(value: usize, drops: &'static AtomicUsize) -> Self {
        Tracked { value, drops }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.value, self.drops)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// A `ThreadLocal<Tracked>` whose initializer counts its runs, starting at `value`.
fn tracked_local(
    value: usize,
    inits: &'static AtomicUsize,
    drops: &'static AtomicUsize,
) -> ThreadLocal<Tracked, impl Fn() -> Tracked + Send + Sync> {
    ThreadLocal::with_init(move || {
        inits.fetch_add(1, SeqCst);
        Tracked::new(value, drops)
    })
}

fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut TaskContext::from_waker(Waker::noop()))
}

// ---------------------------------------------------------------------------------------
// 1. `local::fresh`
// ---------------------------------------------------------------------------------------

#[test]
fn fresh_gives_fresh_values_lazily_and_restores_the_outer_ones() {
    static INITS: AtomicUsize = AtomicUsize::new(0);
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Request {
        #[init({
            INITS.fetch_add(1, SeqCst);
            0
        })]
        id: u32,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    let tl = tracked_local(0, &TL_INITS, &TL_DROPS);
    Request::set_id(1);
    tl.with_mut(|t| t.value = 1);
    assert_eq!((count(&INITS), count(&TL_INITS)), (1, 1));

    let returned = local::fresh(|| {
        // Nothing is built on entry: the initializers run on first touch, in the scope.
        assert!(!Request::is_initialized());
        assert!(!tl.is_initialized());
        assert_eq!((count(&INITS), count(&TL_INITS)), (1, 1));
        assert_eq!(Request::id(), 0, "fresh, not the outer 1");
        assert_eq!(tl.with(|t| t.value), 0, "fresh, not the outer 1");
        assert_eq!((count(&INITS), count(&TL_INITS)), (2, 2));
        assert!(Request::is_initialized() && tl.is_initialized());
        Request::set_id(2);
        tl.with_mut(|t| t.value = 2);
        assert_eq!((Request::id(), tl.with(|t| t.value)), (2, 2));
        // The outer values are alive, only hidden.
        assert_eq!((count(&DROPS), count(&TL_DROPS)), (0, 0));
        "result"
    });
    assert_eq!(returned, "result");

    // The scope's values were dropped when it ended, exactly once; the outer ones are back,
    // untouched and not rebuilt.
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));
    assert_eq!(Request::id(), 1);
    assert_eq!(tl.with(|t| t.value), 1);
    assert_eq!(Request::with(|r| r.tracked.value), 0);
    assert_eq!((count(&INITS), count(&TL_INITS)), (2, 2));

    // Dropping the instance drops this thread's value; the scope's is not dropped twice.
    drop(tl);
    assert_eq!(count(&TL_DROPS), 2);
    assert_eq!(count(&DROPS), 1);
}

#[test]
fn fresh_restores_outer_values_and_drops_its_own_when_the_closure_panics() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Request {
        #[init(String::from("none"))]
        path: String,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    let tl = tracked_local(0, &TL_INITS, &TL_DROPS);
    Request::set_path("/outer".into());
    tl.with_mut(|t| t.value = 1);

    let message = panics(|| {
        local::fresh(|| {
            Request::set_path("/inner".into());
            tl.with_mut(|t| t.value = 2);
            panic!("job failed on {}", Request::path());
        });
    });
    assert_eq!(message, "job failed on /inner");

    // Unwinding left the scope: the outer values are back, the scope's were dropped.
    assert_eq!(Request::path(), "/outer");
    assert_eq!(tl.with(|t| t.value), 1);
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));
    assert_eq!(Request::with(|r| r.tracked.value), 0);

    // The thread is usable for the next scope, which starts fresh again.
    local::fresh(|| {
        assert_eq!(Request::path(), "none");
        assert_eq!(tl.with(|t| t.value), 0);
    });
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (2, 2));
    assert_eq!(Request::path(), "/outer");
}

#[test]
fn nested_and_sequential_fresh_frames_are_each_fresh() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Depth {
        level: u32,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    let tl = tracked_local(0, &TL_INITS, &TL_DROPS);
    let both = || (Depth::level(), tl.with(|t| t.value));
    Depth::set_level(1);
    tl.with_mut(|t| t.value = 1);

    local::fresh(|| {
        assert_eq!(both(), (0, 0));
        Depth::set_level(2);
        tl.with_mut(|t| t.value = 2);
        local::fresh(|| {
            assert_eq!(both(), (0, 0), "the inner scope sees neither outer value");
            Depth::set_level(3);
            tl.with_mut(|t| t.value = 3);
            assert_eq!(both(), (3, 3));
        });
        // Only the inner scope's values are gone.
        assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));
        assert_eq!(both(), (2, 2));
    });
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (2, 2));
    assert_eq!(both(), (1, 1));

    // A later scope (which may reuse the first one's identity) finds nothing left over.
    local::fresh(|| {
        assert!(!Depth::is_initialized());
        assert!(!tl.is_initialized());
        assert_eq!(both(), (0, 0));
    });
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (3, 3));
    assert_eq!(both(), (1, 1));
    assert_eq!(Depth::with(|d| d.tracked.value), 0);
}

#[test]
fn per_thread_struct_keeps_its_thread_value_in_fresh_and_contexts() {
    static INITS: AtomicUsize = AtomicUsize::new(0);
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct(per_thread)]
    struct Pool {
        #[init({
            INITS.fetch_add(1, SeqCst);
            0
        })]
        connections: u32,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    join(thread::spawn(|| {
        Pool::set_connections(5);
        local::fresh(|| {
            assert!(Pool::is_initialized());
            assert_eq!(Pool::connections(), 5, "the thread's value inside a scope");
            Pool::set_connections(6);
        });
        assert_eq!(
            Pool::connections(),
            6,
            "written in the scope, kept by the thread"
        );

        let mut ctx = Context::new();
        ctx.run(|| {
            assert!(Pool::is_initialized());
            assert_eq!(
                Pool::connections(),
                6,
                "the thread's value inside a context"
            );
            Pool::set_connections(7);
        });
        assert_eq!(Pool::connections(), 7);
        drop(ctx);

        // Neither the scope nor the context owned it: nothing dropped, built once.
        assert_eq!(count(&DROPS), 0);
        assert_eq!(count(&INITS), 1);
        assert_eq!(Pool::with(|p| p.tracked.value), 0);
    }));
    // The thread's value went with its thread.
    assert_eq!(count(&DROPS), 1);

    // A context run on another thread sees that thread's value, not the one it was made on.
    Pool::set_connections(9);
    let mut ctx = Context::new();
    ctx.run(|| assert_eq!(Pool::connections(), 9));
    let seen = join(thread::spawn(move || ctx.run(Pool::connections)));
    assert_eq!(seen, 0, "a fresh value for the other OS thread");
    assert_eq!(count(&INITS), 3);
    assert_eq!(Pool::connections(), 9);
}

#[test]
fn struct_holding_an_rc_gets_a_fresh_value_inside_fresh() {
    #[thread_local_struct]
    struct Document {
        #[init(Rc::new(Cell::new(0)))]
        counter: Rc<Cell<u32>>,
    }

    let outer = Document::counter();
    outer.set(1);
    let inner = local::fresh(|| {
        let inner = Document::counter();
        assert!(!Rc::ptr_eq(&inner, &outer), "a value of the scope's own");
        assert_eq!(inner.get(), 0);
        inner.set(2);
        assert_eq!(Rc::strong_count(&inner), 2); // the scope's value and ours
        inner
    });
    // The scope dropped its value: only our handle is left.
    assert_eq!(Rc::strong_count(&inner), 1);
    assert_eq!(inner.get(), 2);
    assert!(Rc::ptr_eq(&Document::counter(), &outer));
    assert_eq!(outer.get(), 1);
    assert_eq!(Rc::strong_count(&outer), 2);
}

// ---------------------------------------------------------------------------------------
// 2. `Context`
// ---------------------------------------------------------------------------------------

#[test]
fn two_contexts_alternating_on_one_thread_each_see_their_own_values() {
    static INITS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Greenlet {
        #[init({
            INITS.fetch_add(1, SeqCst);
            0
        })]
        steps: u32,
        #[init(String::new())]
        name: String,
    }

    join(thread::spawn(|| {
        let test: ThreadLocal<u32> = ThreadLocal::with_init(|| 0);
        let (mut gr1, mut gr2) = (Context::new(), Context::new());
        gr1.run(|| {
            Greenlet::set_name("gr1".into());
            test.set(1);
        });
        gr2.run(|| {
            Greenlet::set_name("gr2".into());
            test.set(2);
        });
        // werkzeug's test: switch back and forth, each resumes its own values.
        for round in 1..=5 {
            let seen1 = gr1.run(|| {
                Greenlet::with_mut(|g| g.steps += 1);
                (Greenlet::name(), Greenlet::steps(), test.get())
            });
            assert_eq!(seen1, ("gr1".to_owned(), round, 1));
            let seen2 = gr2.run(|| {
                Greenlet::with_mut(|g| g.steps += 10);
                (Greenlet::name(), Greenlet::steps(), test.get())
            });
            assert_eq!(seen2, ("gr2".to_owned(), round * 10, 2));
        }
        // One context run inside another: the outer one's values are back afterwards.
        gr1.run(|| {
            let inner = gr2.run(|| (Greenlet::name(), test.get()));
            assert_eq!(inner, ("gr2".to_owned(), 2));
            assert_eq!((Greenlet::name(), test.get()), ("gr1".to_owned(), 1));
        });
        // The thread's own values were never touched.
        assert!(!Greenlet::is_initialized());
        assert!(!test.is_initialized());
        assert_eq!(count(&INITS), 2, "one initializer run per context");
        assert_eq!((Greenlet::steps(), test.get()), (0, 0));
        assert_eq!(count(&INITS), 3);
    }));
}

#[test]
fn context_values_are_dropped_exactly_once_when_the_context_is_dropped() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Held {
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    let tl = tracked_local(0, &TL_INITS, &TL_DROPS);
    Held::with_mut(|h| h.tracked.value = 100); // the thread's own value
    let mut ctx = Context::new();
    ctx.run(|| {
        Held::with_mut(|h| h.tracked.value = 1);
        tl.with_mut(|t| t.value = 1);
    });
    // Not dropped when `run` returns: the context keeps them for the next run.
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (0, 0));
    let seen = ctx.run(|| (Held::with(|h| h.tracked.value), tl.with(|t| t.value)));
    assert_eq!(seen, (1, 1));
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (0, 0));

    drop(ctx);
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));
    assert_eq!(
        Held::with(|h| h.tracked.value),
        100,
        "the thread's value lives on"
    );

    // A new context (possibly at the dropped one's index) starts fresh.
    let mut next = Context::new();
    next.run(|| {
        assert!(!Held::is_initialized() && !tl.is_initialized());
        assert_eq!(Held::with(|h| h.tracked.value), 0);
        tl.with_mut(|t| t.value = 2);
    });
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));

    // A context's values belong to the context: an instance dropped first leaves the
    // context's value to be dropped with it, once.
    drop(tl);
    assert_eq!(count(&TL_DROPS), 1);
    drop(next);
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (2, 2));

    // A context that never touched anything drops nothing.
    drop(Context::new());
    let mut idle = Context::default();
    idle.run(|| {});
    drop(idle);
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (2, 2));
    assert_eq!(count(&TL_INITS), 2);
}

#[test]
fn context_moved_to_another_thread_keeps_its_values_and_drops_them_there() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static DROPPED_ON: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    struct RecordsThread;
    impl Drop for RecordsThread {
        fn drop(&mut self) {
            DROPPED_ON.lock().unwrap().push(thread::current().id());
        }
    }

    #[thread_local_struct]
    struct Job {
        id: u64,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
        #[init(RecordsThread)]
        record: RecordsThread,
    }

    let tl = Arc::new(tracked_local(0, &TL_INITS, &TL_DROPS));
    let mut ctx = Context::new();
    ctx.run(|| {
        Job::set_id(42);
        tl.with_mut(|t| t.value = 42);
    });
    let main = thread::current().id();

    let worker = join(thread::spawn({
        let tl = Arc::clone(&tl);
        move || {
            let seen = ctx.run(|| (Job::id(), tl.with(|t| t.value)));
            assert_eq!(seen, (42, 42), "the context's values, on another thread");
            ctx.run(|| Job::set_id(43));
            assert_eq!(ctx.run(Job::id), 43);
            // This thread's own values are separate, and were never made.
            assert!(!Job::is_initialized() && !tl.is_initialized());
            assert_eq!((count(&DROPS), count(&TL_DROPS)), (0, 0));
            drop(ctx);
            assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));
            thread::current().id()
        }
    }));
    assert_ne!(worker, main);
    assert_eq!(
        *DROPPED_ON.lock().unwrap(),
        [worker],
        "dropped where the context was"
    );
    // This thread never had values of its own.
    assert!(!Job::is_initialized() && !tl.is_initialized());
    assert_eq!(count(&TL_INITS), 1);
    assert_eq!(Job::with(|j| (j.id, j.tracked.value)), (0, 0));
}

#[test]
fn wrapped_future_keeps_its_values_when_polled_on_another_thread() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct Task {
        id: usize,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    let tl = Arc::new(tracked_local(0, &TL_INITS, &TL_DROPS));
    let mut task = Box::pin(local::fresh_async({
        let tl = Arc::clone(&tl);
        async move {
            assert!(!Task::is_initialized() && !tl.is_initialized());
            Task::set_id(7);
            tl.with_mut(|t| t.value = 7);
            let first = thread::current().id();
            YieldOnce(false).await;
            (
                first,
                thread::current().id(),
                Task::id(),
                tl.with(|t| t.value),
            )
        }
    }));
    assert!(poll_once(&mut task).is_pending());
    // Between polls, this thread's own values are its own.
    assert!(!Task::is_initialized() && !tl.is_initialized());
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (0, 0));

    // Move the half-run task to another thread (it is `Send`) and finish it there.
    let (first, second, id, value) = join(thread::spawn(move || {
        let Poll::Ready(output) = poll_once(&mut task) else {
            panic!("the second poll completes");
        };
        output
    }));
    assert_eq!(first, thread::current().id());
    assert_ne!(second, first, "polled on two threads");
    assert_eq!((id, value), (7, 7), "its values followed it");
    // Done and dropped: the context's values with it, once.
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (1, 1));
    assert_eq!(count(&TL_INITS), 1);

    // `Context::wrap`: a context prepared with `run` keeps its values in the future.
    let mut ctx = Context::new();
    ctx.run(|| Task::set_id(8));
    let mut wrapped = Box::pin(ctx.wrap(async { Task::id() }));
    assert_eq!(poll_once(&mut wrapped), Poll::Ready(8));
    drop(wrapped);
    assert_eq!(count(&DROPS), 2);
    assert!(!Task::is_initialized());
}

#[test]
fn dropping_an_unfinished_wrapped_future_drops_it_in_its_context_then_its_values() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static SEEN_ON_DROP: Mutex<Option<Result<usize, AccessError>>> = Mutex::new(None);

    #[thread_local_struct]
    struct Task {
        id: usize,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    /// Held across an await: reads the task's id when the future is dropped.
    struct ReadsOnDrop;
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            *SEEN_ON_DROP.lock().unwrap() = Some(Task::try_with(|t| t.id));
        }
    }

    Task::set_id(1); // this thread's own value
    let mut task = Box::pin(local::fresh_async(async {
        Task::set_id(99);
        let _guard = ReadsOnDrop;
        std::future::pending::<()>().await;
    }));
    assert!(poll_once(&mut task).is_pending());
    assert!(poll_once(&mut task).is_pending());
    assert_eq!(count(&DROPS), 0);
    drop(task);
    assert_eq!(
        *SEEN_ON_DROP.lock().unwrap(),
        Some(Ok(99)),
        "the future is dropped inside its context"
    );
    assert_eq!(count(&DROPS), 1, "then the context's value");
    assert_eq!(Task::id(), 1);
}

// ---------------------------------------------------------------------------------------
// 3. Values that are not `Send` inside a `Context`
// ---------------------------------------------------------------------------------------

#[test]
fn not_send_struct_is_refused_inside_a_context() {
    #[thread_local_struct]
    struct RcSession {
        #[init(Rc::new(RefCell::new(vec![1])))]
        items: Rc<RefCell<Vec<u32>>>,
    }

    // The thread's own value works, and is not what a context sees.
    RcSession::with(|s| s.items.borrow_mut().push(2));
    assert!(RcSession::is_initialized());

    let mut ctx = Context::new();
    ctx.run(|| {
        assert!(!RcSession::is_initialized());
        assert_eq!(
            RcSession::try_with(|s| s.items.borrow().len()),
            Err(AccessError::NotSend)
        );
        assert_eq!(RcSession::try_with_mut(|_| ()), Err(AccessError::NotSend));

        let message = panics(|| RcSession::with(|_| ()));
        assert!(message.contains("RcSession"), "names the struct: {message}");
        assert!(
            message.contains("local::fresh") && message.contains("per_thread"),
            "points to the alternatives: {message}"
        );
        assert!(
            message.contains(&AccessError::NotSend.to_string()),
            "{message}"
        );

        for message in [
            panics(|| drop(RcSession::items())),
            panics(|| RcSession::with_mut(|_| ())),
            panics(|| RcSession::set_items(Rc::default())),
            panics(|| RcSession::set(RcSession::default())),
            panics(|| drop(RcSession::replace(RcSession::default()))),
        ] {
            assert!(message.contains("RcSession"), "{message}");
            assert!(message.contains("local::fresh"), "{message}");
        }
        // Nothing was stored by any of the refused calls.
        assert!(!RcSession::is_initialized());
        assert!(RcSession::take().is_none());
    });

    // Also in a future run by `fresh_async`, on every poll.
    let mut task = Box::pin(local::fresh_async(async {
        let first = RcSession::try_with(|_| ());
        YieldOnce(false).await;
        (
            first,
            RcSession::try_with(|_| ()),
            RcSession::is_initialized(),
        )
    }));
    assert!(poll_once(&mut task).is_pending());
    assert_eq!(
        poll_once(&mut task),
        Poll::Ready((Err(AccessError::NotSend), Err(AccessError::NotSend), false))
    );

    // The thread's value was never handed to a context, and is intact.
    assert_eq!(RcSession::with(|s| s.items.borrow().clone()), [1, 2]);
    assert_eq!(RcSession::with(|s| Rc::strong_count(&s.items)), 1);
}

#[test]
fn not_send_struct_works_in_fresh_and_as_per_thread_inside_contexts() {
    #[thread_local_struct]
    struct RcSession {
        #[init(Rc::new(Cell::new(0)))]
        hits: Rc<Cell<u32>>,
    }

    #[thread_local_struct(per_thread)]
    struct Scratch {
        #[init(Rc::new(RefCell::new(Vec::new())))]
        buffer: Rc<RefCell<Vec<u32>>>,
    }

    // A scope never leaves its thread: fine, even inside a context.
    local::fresh(|| {
        RcSession::with(|s| s.hits.set(s.hits.get() + 1));
        assert_eq!(RcSession::with(|s| s.hits.get()), 1);
    });
    let mut ctx = Context::new();
    let inside = ctx.run(|| {
        assert_eq!(RcSession::try_with(|_| ()), Err(AccessError::NotSend));
        let in_scope = local::fresh(|| {
            RcSession::with(|s| s.hits.set(10));
            RcSession::with(|s| s.hits.get())
        });
        // Back in the context: refused again, the scope's value did not stay.
        assert_eq!(RcSession::try_with(|_| ()), Err(AccessError::NotSend));
        in_scope
    });
    assert_eq!(inside, 10);
    assert_eq!(
        RcSession::with(|s| s.hits.get()),
        0,
        "the thread's own, fresh"
    );

    // `per_thread`: the thread's value, the same `Rc`, inside a context.
    let outside = Scratch::buffer();
    outside.borrow_mut().push(1);
    let inside = ctx.run(|| {
        assert!(Scratch::is_initialized());
        Scratch::with(|s| s.buffer.borrow_mut().push(2));
        Scratch::buffer()
    });
    assert!(Rc::ptr_eq(&inside, &outside));
    assert_eq!(*outside.borrow(), [1, 2]);
}

#[test]
fn context_and_wrapped_futures_are_send() {
    fn assert_send<T: Send>() {}
    fn assert_send_value<T: Send>(_: &T) {}

    assert_send::<Context>();
    assert_send::<Wrapped<std::future::Ready<u32>>>();
    assert_send::<Wrapped<Pin<Box<dyn Future<Output = ()> + Send>>>>();
    let task = local::fresh_async(async {
        YieldOnce(false).await;
        1
    });
    assert_send_value(&task);
    let task = Context::new().wrap(async { 1 });
    assert_send_value(&task);
}

// ---------------------------------------------------------------------------------------
// 4. Tasks on a multi-threaded tokio runtime
// ---------------------------------------------------------------------------------------

#[test]
fn fresh_async_tasks_keep_their_values_across_tokio_worker_threads() {
    const TASKS: usize = 50;
    const ROUNDS: usize = 40;
    const NO_REQUEST: usize = usize::MAX;
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TL_INITS: AtomicUsize = AtomicUsize::new(0);
    static TL_DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct]
    struct RequestId {
        #[init(NO_REQUEST)]
        id: usize,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    let tl = Arc::new(tracked_local(NO_REQUEST, &TL_INITS, &TL_DROPS));
    // What each worker thread holds of its own whenever it parks, outside any task, until
    // the unscoped tasks below give the workers values of their own.
    let parked: Arc<Mutex<Vec<(ThreadId, bool, bool)>>> = Arc::default();
    let unscoped_phase = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_park({
            let tl = Arc::clone(&tl);
            let parked = Arc::clone(&parked);
            let unscoped_phase = Arc::clone(&unscoped_phase);
            move || {
                if unscoped_phase.load(SeqCst) {
                    return;
                }
                let seen = (
                    thread::current().id(),
                    RequestId::is_initialized(),
                    tl.is_initialized(),
                );
                parked.lock().unwrap().push(seen);
            }
        })
        .build()
        .unwrap();

    let polls: Vec<Vec<ThreadId>> = rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|task| {
                let tl = Arc::clone(&tl);
                tokio::spawn(local::fresh_async(async move {
                    // A fresh context: nothing of another task's or of the worker's.
                    assert!(!RequestId::is_initialized() && !tl.is_initialized());
                    assert_eq!(RequestId::id(), NO_REQUEST);
                    assert_eq!(tl.with(|t| t.value), NO_REQUEST);
                    RequestId::set_id(task);
                    tl.with_mut(|t| t.value = task);
                    let mut threads = vec![thread::current().id()];
                    for round in 0..ROUNDS {
                        if round % 4 == 3 {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        } else {
                            tokio::task::yield_now().await;
                        }
                        let now = thread::current().id();
                        assert_eq!(RequestId::id(), task, "task {task}, round {round}");
                        assert_eq!(tl.with(|t| t.value), task, "task {task}, round {round}");
                        threads.push(now);
                    }
                    threads
                }))
            })
            .collect();
        let mut polls = Vec::new();
        for handle in handles {
            match handle.await {
                Ok(threads) => polls.push(threads),
                Err(error) => resume_unwind(error.into_panic()),
            }
        }
        polls
    });

    // Every task ran to completion, and its context's values were dropped with it, once.
    assert_eq!(polls.len(), TASKS);
    assert!(polls.iter().all(|threads| threads.len() == ROUNDS + 1));
    assert_eq!((count(&DROPS), count(&TL_DROPS)), (TASKS, TASKS));
    assert_eq!(count(&TL_INITS), TASKS);

    let workers: HashSet<ThreadId> = polls.iter().flatten().copied().collect();
    assert!(!workers.contains(&thread::current().id()));
    assert!(
        workers.len() <= 2,
        "only the two workers poll spawned tasks"
    );
    let hopped = polls
        .iter()
        .filter(|threads| threads.iter().collect::<HashSet<_>>().len() > 1)
        .count();
    let hops: usize = polls
        .iter()
        .map(|threads| threads.windows(2).filter(|w| w[0] != w[1]).count())
        .sum();
    // Moving between workers is up to tokio's scheduler, so it is reported, not required;
    // `wrapped_future_keeps_its_values_when_polled_on_another_thread` moves one for sure.
    println!(
        "{TASKS} tasks polled on {} worker thread(s); {hopped} task(s) changed threads, \
         {hops} move(s) in all",
        workers.len()
    );

    let parked = parked.lock().unwrap().clone();
    for (worker, struct_initialized, tl_initialized) in &parked {
        assert!(
            !struct_initialized && !tl_initialized,
            "worker {worker:?} held a value of its own while parked between tasks"
        );
    }

    // Unscoped tasks on the same workers find the workers' own values: fresh, never any
    // task's.
    unscoped_phase.store(true, SeqCst);
    let unscoped: Vec<(ThreadId, usize, usize)> = rt.block_on(async {
        let handles: Vec<_> = (0..4 * TASKS)
            .map(|_| {
                let tl = Arc::clone(&tl);
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    (
                        thread::current().id(),
                        RequestId::id(),
                        tl.with(|t| t.value),
                    )
                })
            })
            .collect();
        let mut seen = Vec::new();
        for handle in handles {
            seen.push(
                handle
                    .await
                    .unwrap_or_else(|e| resume_unwind(e.into_panic())),
            );
        }
        seen
    });
    for &(worker, id, value) in &unscoped {
        assert_eq!(
            (id, value),
            (NO_REQUEST, NO_REQUEST),
            "worker {worker:?} leaked"
        );
    }
    let unscoped_workers: HashSet<ThreadId> = unscoped.iter().map(|seen| seen.0).collect();
    assert!(!unscoped_workers.contains(&thread::current().id()));
    assert!(unscoped_workers.len() <= 2);
    assert_eq!(
        count(&TL_INITS),
        TASKS + unscoped_workers.len(),
        "one fresh value per worker, built on the worker"
    );
    println!(
        "{} park(s) checked clean; unscoped tasks ran on {} worker(s), {} of which polled \
         scoped tasks",
        parked.len(),
        unscoped_workers.len(),
        unscoped_workers.intersection(&workers).count()
    );
    drop(rt);
}

// ---------------------------------------------------------------------------------------
// 5. `Context::inherit`
// ---------------------------------------------------------------------------------------

#[test]
fn inherited_context_sees_clones_of_the_parent_values_in_a_child_thread() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct(inherit)]
    #[derive(Clone)]
    struct User {
        #[init(String::from("anonymous"))]
        name: String,
        #[init(Tracked::new(0, &DROPS))]
        tracked: Tracked,
    }

    #[thread_local_struct]
    struct Plain {
        #[init(1)]
        n: u32,
    }

    #[thread_local_struct(inherit)]
    #[derive(Clone)]
    struct Untouched {
        #[init(7)]
        v: u32,
    }

    join(thread::spawn(|| {
        let tl: Arc<ThreadLocal<u32>> = Arc::new(ThreadLocal::with_init(|| 1));
        User::set_name("alice".into());
        User::with_mut(|u| u.tracked.value = 5);
        Plain::set_n(5);
        tl.set(5);

        let mut child = Context::inherit();
        // Cloned when the context was made: later changes of the parent do not follow.
        User::set_name("carol".into());
        assert_eq!(count(&DROPS), 0);

        let child_tl = Arc::clone(&tl);
        let (seen, after_drop, child_thread) = join(thread::spawn(move || {
            let tl = child_tl;
            let seen = child.run(|| {
                (
                    User::is_initialized(),
                    User::name(),
                    User::with(|u| u.tracked.value),
                    Plain::is_initialized(),
                    Plain::n(),
                    Untouched::v(),
                    tl.get(),
                )
            });
            child.run(|| User::set_name("bob".into()));
            assert_eq!(
                child.run(User::name),
                "bob",
                "the child's changes stay in it"
            );
            assert_eq!(count(&DROPS), 0);
            drop(child);
            (seen, count(&DROPS), thread::current().id())
        }));
        assert_ne!(child_thread, thread::current().id());
        assert_eq!(
            seen,
            (true, "alice".to_owned(), 5, false, 1, 7, 1),
            "inherit locals cloned; the others fresh"
        );
        assert_eq!(
            after_drop, 1,
            "the inherited clone is dropped with the context"
        );

        // The parent kept its own values, untouched by the child.
        assert_eq!(User::name(), "carol");
        assert_eq!(Plain::n(), 5);
        assert_eq!(tl.get(), 5);
        assert!(
            !Untouched::is_initialized(),
            "inherit never touches the parent"
        );

        // Inheriting inside a context copies that context's values.
        let mut outer = Context::inherit();
        let nested = outer.run(|| {
            User::set_name("dora".into());
            let mut inner = Context::inherit();
            inner.run(User::name)
        });
        assert_eq!(nested, "dora");
        assert_eq!(outer.run(User::name), "dora");
        assert_eq!(User::name(), "carol");
    }));
    // Everything is gone with its thread or context, each value once: the parent's, the
    // child's clone, `outer`'s and `inner`'s.
    assert_eq!(count(&DROPS), 4);
}

#[test]
fn inheriting_from_a_parent_that_never_touched_the_struct_gives_the_initializer_value() {
    static INITS: AtomicUsize = AtomicUsize::new(0);

    #[thread_local_struct(inherit)]
    #[derive(Clone)]
    struct Locale {
        #[init({
            INITS.fetch_add(1, SeqCst);
            String::from("en")
        })]
        tag: String,
    }

    // A thread that has touched no local at all.
    let seen = join(thread::spawn(|| {
        let mut child = Context::inherit();
        assert!(!Locale::is_initialized());
        join(thread::spawn(move || {
            child.run(|| (Locale::is_initialized(), Locale::tag()))
        }))
    }));
    assert_eq!(seen, (false, "en".to_owned()));
    assert_eq!(count(&INITS), 1, "built once, in the child");

    // A thread with other locals, but not this one.
    let seen = join(thread::spawn(|| {
        let other: ThreadLocal<u8> = ThreadLocal::new();
        other.set(1);
        let mut child = Context::inherit();
        let seen = child.run(Locale::tag);
        (seen, Locale::is_initialized(), other.get())
    }));
    assert_eq!(seen, ("en".to_owned(), false, 1));
    assert_eq!(count(&INITS), 2);
}

// ---------------------------------------------------------------------------------------
// 6. `LocalStack`
// ---------------------------------------------------------------------------------------

#[test]
fn local_stack_is_per_thread() {
    let requests: LocalStack<String> = LocalStack::new();
    assert!(requests.is_empty());
    requests.push("/index".into());
    requests.push("/login".into());
    assert_eq!(requests.len(), 2);

    thread::scope(|s| {
        join_scoped(s.spawn(|| {
            assert!(requests.is_empty(), "another thread's stack");
            requests.with_top(|top| assert_eq!(top, None));
            requests.push("/other".into());
            assert_eq!(requests.len(), 1);
            requests.with_top(|top| assert_eq!(top.map(String::as_str), Some("/other")));
        }));
    });

    assert_eq!(requests.len(), 2);
    requests.with_top(|top| assert_eq!(top.map(String::as_str), Some("/login")));
    assert_eq!(requests.pop().as_deref(), Some("/login"));
    assert_eq!(requests.pop().as_deref(), Some("/index"));
    assert_eq!(requests.pop(), None);
    assert!(requests.is_empty());
}

fn join_scoped<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| resume_unwind(payload))
}

#[test]
fn local_stack_is_per_context_and_push_scoped_pops_on_drop() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    let stack: LocalStack<&str> = LocalStack::default();
    let _outer = stack.push_scoped("outer");
    {
        let _inner = stack.push_scoped("inner");
        assert_eq!(stack.len(), 2);
        stack.with_top(|top| assert_eq!(top, Some(&"inner")));
    }
    assert_eq!(stack.len(), 1, "the guard popped on drop");
    stack.with_top(|top| assert_eq!(top, Some(&"outer")));

    let mut ctx = Context::new();
    ctx.run(|| {
        assert!(stack.is_empty(), "a context has a stack of its own");
        stack.with_top(|top| assert_eq!(top, None));
        stack.push("ctx");
        {
            let _guard = stack.push_scoped("ctx-scoped");
            assert_eq!(stack.len(), 2);
            stack.with_top(|top| assert_eq!(top, Some(&"ctx-scoped")));
        }
        assert_eq!(stack.len(), 1);
    });
    assert_eq!(stack.len(), 1);
    stack.with_top(|top| assert_eq!(top, Some(&"outer")));
    // Resumed: the context's stack is as it was left.
    ctx.run(|| stack.with_top(|top| assert_eq!(top, Some(&"ctx"))));
    local::fresh(|| assert!(stack.is_empty()));
    ctx.run(|| {
        assert_eq!(stack.pop(), Some("ctx"));
        assert!(stack.is_empty());
    });
    stack.with_top(|top| assert_eq!(top, Some(&"outer")));

    // What a context's stack still holds is dropped with the context.
    let tracked: LocalStack<Tracked> = LocalStack::new();
    tracked.push(Tracked::new(0, &DROPS));
    let mut ctx = Context::new();
    ctx.run(|| {
        tracked.push(Tracked::new(1, &DROPS));
        tracked.push(Tracked::new(2, &DROPS));
    });
    assert_eq!(count(&DROPS), 0);
    drop(ctx);
    assert_eq!(count(&DROPS), 2);
    assert_eq!(tracked.len(), 1);
    tracked.with_top(|top| assert_eq!(top.map(|t| t.value), Some(0)));
}

/// A thread whose first touch of any local is a `per_thread` one, inside a scope, was
/// left without a current identity afterwards (found by this test).
#[test]
fn first_touch_by_a_per_thread_local_inside_fresh_leaves_the_thread_consistent() {
    #[thread_local_struct(per_thread)]
    struct Pool {
        connections: u32,
    }

    #[thread_local_struct(inherit)]
    #[derive(Clone)]
    struct User {
        #[init(String::from("anonymous"))]
        name: String,
    }

    join(thread::spawn(|| {
        local::fresh(|| Pool::set_connections(1)); // the thread's first touch of any local
        let tl: ThreadLocal<u32> = ThreadLocal::new();
        tl.set(5);
        User::set_name("alice".into());
        assert_eq!((tl.get(), User::name()), (5, "alice".to_owned()));
        assert!(tl.is_initialized(), "ThreadLocal::is_initialized after set");
        assert!(User::is_initialized(), "User::is_initialized after set");
        let mut child = Context::inherit();
        assert_eq!(
            child.run(User::name),
            "alice",
            "Context::inherit copies the value"
        );
    }));
}
