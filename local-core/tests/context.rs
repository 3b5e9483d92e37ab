//! Scopes and contexts in the core, where Miri runs them: fresh values, outer values back,
//! values dropped exactly once with their scope or context, contexts and wrapped futures
//! moving between threads, and values that are not `Send` kept out of contexts.

#[macro_use]
mod support;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Poll, Waker};
use std::thread;

use local_core::{AccessError, Context, LocalStack, ThreadLocal, fresh, fresh_async};

/// Counts the drops of values built by one local.
#[derive(Default)]
struct Drops(Arc<AtomicUsize>);

struct Counted(Arc<AtomicUsize>, u32);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Drops {
    fn local(
        &self,
        start: u32,
    ) -> ThreadLocal<Counted, impl Fn() -> Counted + Send + Sync + use<>> {
        let drops = Arc::clone(&self.0);
        ThreadLocal::with_init(move || Counted(Arc::clone(&drops), start))
    }

    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

#[test]
fn fresh_gives_fresh_values_and_restores_the_outer_ones() {
    let drops = Drops::default();
    let local = drops.local(0);
    local.with_mut(|c| c.1 = 1);
    let inner = fresh(|| {
        assert!(!local.is_initialized(), "fresh inside a scope");
        local.with_mut(|c| c.1 = 2);
        fresh(|| {
            assert_eq!(local.with(|c| c.1), 0, "nested scopes are fresh too");
            local.with_mut(|c| c.1 = 3);
        });
        assert_eq!(
            drops.count(),
            1,
            "the nested scope's value is dropped at its end"
        );
        local.with(|c| c.1)
    });
    assert_eq!(inner, 2);
    assert_eq!(drops.count(), 2, "the scope's value is dropped at its end");
    assert_eq!(local.with(|c| c.1), 1, "the outer value is back");
}

#[test]
fn fresh_restores_the_outer_values_when_its_closure_panics() {
    let drops = Drops::default();
    let local = drops.local(0);
    local.with_mut(|c| c.1 = 1);
    let result = catch_unwind(AssertUnwindSafe(|| {
        fresh(|| {
            local.with_mut(|c| c.1 = 2);
            panic!("job failed");
        })
    }));
    assert!(result.is_err());
    assert_eq!(local.with(|c| c.1), 1);
    assert_eq!(
        drops.count(),
        1,
        "the scope's value was dropped while unwinding"
    );
}

#[test]
fn contexts_are_resumable_and_drop_their_values_once() {
    let drops = Drops::default();
    let test = drops.local(0);
    let mut gr1 = Context::new();
    let mut gr2 = Context::new();
    gr1.run(|| test.with_mut(|c| c.1 = 1));
    gr2.run(|| test.with_mut(|c| c.1 = 2));
    for _ in 0..3 {
        assert_eq!(gr1.run(|| test.with(|c| c.1)), 1);
        assert_eq!(gr2.run(|| test.with(|c| c.1)), 2);
    }
    assert!(
        !test.is_initialized(),
        "the thread's own value is untouched"
    );
    assert_eq!(drops.count(), 0);
    drop(gr1);
    assert_eq!(drops.count(), 1);
    drop(gr2);
    assert_eq!(drops.count(), 2);
}

#[test]
fn a_context_moves_between_threads_with_its_values() {
    let drops = Drops::default();
    let local = Arc::new(drops.local(0));
    let mut context = Context::new();
    context.run(|| local.with_mut(|c| c.1 = 7));
    let moved = thread::spawn({
        let local = Arc::clone(&local);
        move || {
            assert_eq!(context.run(|| local.with(|c| c.1)), 7);
            assert_eq!(local.with(|c| c.1), 0, "the other thread's own value");
            drop(context);
        }
    });
    moved.join().unwrap();
    // The worker's own value and the context's, each dropped once.
    assert_eq!(drops.count(), 2);
}

/// A future that is pending once, then reads `local`.
struct YieldThenRead {
    local: Arc<ThreadLocal<u32>>,
    yielded: bool,
}

impl Future for YieldThenRead {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<u32> {
        if self.yielded {
            Poll::Ready(self.local.get())
        } else {
            self.yielded = true;
            self.local.set(42);
            Poll::Pending
        }
    }
}

#[test]
fn a_wrapped_future_keeps_its_values_across_polls_on_different_threads() {
    let local = Arc::new(ThreadLocal::<u32>::new());
    let mut task = Box::pin(fresh_async(YieldThenRead {
        local: Arc::clone(&local),
        yielded: false,
    }));
    let mut cx = std::task::Context::from_waker(Waker::noop());
    assert_eq!(task.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(
        local.get(),
        0,
        "the task's value stays out of this thread's"
    );
    let resumed = thread::spawn(move || {
        let mut cx = std::task::Context::from_waker(Waker::noop());
        let polled = task.as_mut().poll(&mut cx);
        (polled, local.get())
    });
    let (polled, workers_own) = resumed.join().unwrap();
    assert_eq!(polled, Poll::Ready(42), "the value set on the first thread");
    assert_eq!(workers_own, 0, "nor does it leak into the second thread's");
}

static_local!(NOT_SEND: Rc<u32> = || Rc::new(1), per_thread: false, inherit: None);

#[test]
fn values_that_are_not_send_stay_out_of_contexts_but_work_in_fresh() {
    let mut context = Context::new();
    context.run(|| {
        assert_eq!(NOT_SEND.try_with(|rc| **rc), Err(AccessError::NotSend));
        assert!(!NOT_SEND.is_initialized());
        let message = catch_unwind(|| NOT_SEND.with(|rc| **rc)).unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("Rc<u32>"), "{message}");
        assert!(message.contains("local::fresh"), "{message}");
        // A scope inside the context never leaves this thread.
        assert_eq!(fresh(|| NOT_SEND.with(|rc| **rc)), 1);
    });
    assert_eq!(fresh(|| NOT_SEND.with(|rc| **rc)), 1);
    assert_eq!(NOT_SEND.with(|rc| **rc), 1);
}

static_local!(PER_THREAD: u32 = || 0, per_thread: true, inherit: None);

#[test]
fn per_thread_values_ignore_fresh_and_contexts() {
    PER_THREAD.set(5);
    assert_eq!(fresh(|| PER_THREAD.with(|n| *n)), 5);
    assert_eq!(Context::new().run(|| PER_THREAD.with(|n| *n)), 5);
    fresh(|| PER_THREAD.set(6));
    assert_eq!(PER_THREAD.with(|n| *n), 6);
}

static_local!(INHERITED: String = || "initial".to_owned(), per_thread: false, inherit: Some(String::clone));
static_local!(NOT_INHERITED: u32 = || 0, per_thread: false, inherit: None);

#[test]
fn inherit_seeds_a_context_with_clones_of_the_current_values() {
    thread::spawn(|| {
        let mut untouched = Context::inherit();
        assert_eq!(untouched.run(|| INHERITED.with(String::clone)), "initial");

        INHERITED.set("parent".to_owned());
        NOT_INHERITED.set(9);
        let mut child = Context::inherit();
        let seen = thread::scope(|s| {
            s.spawn(|| {
                child.run(|| {
                    let seen = (INHERITED.with(String::clone), NOT_INHERITED.with(|n| *n));
                    INHERITED.with_mut(|s| s.push_str(" changed in child"));
                    seen
                })
            })
            .join()
            .unwrap()
        });
        assert_eq!(seen, ("parent".to_owned(), 0));
        assert_eq!(
            INHERITED.with(String::clone),
            "parent",
            "the child's change stays there"
        );
        assert_eq!(
            child.run(|| INHERITED.with(String::clone)),
            "parent changed in child"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn a_local_stack_is_per_thread_and_per_context() {
    let stack = LocalStack::new();
    stack.push(1);
    let _two = stack.push_scoped(2);
    thread::scope(|s| {
        s.spawn(|| assert!(stack.is_empty()));
    });
    let mut context = Context::new();
    context.run(|| {
        assert!(stack.is_empty());
        stack.push(10);
    });
    assert_eq!(stack.len(), 2);
    stack.with_top(|top| assert_eq!(top, Some(&2)));
    {
        let _three = stack.push_scoped(3);
        assert_eq!(stack.len(), 3);
    }
    assert_eq!(stack.len(), 2);
    assert_eq!(context.run(|| stack.pop()), Some(10));
    fresh(|| stack.with_top(|top| assert_eq!(top, None)));
}

#[test]
fn a_first_touch_by_a_per_thread_local_inside_fresh_leaves_the_thread_consistent() {
    thread::spawn(|| {
        fresh(|| PER_THREAD.set(1)); // registers this thread, inside a scope
        let local = ThreadLocal::<u32>::new();
        local.set(5);
        assert!(
            local.is_initialized(),
            "the thread reads its own identity again"
        );
        INHERITED.set("set after".to_owned());
        assert_eq!(
            Context::inherit().run(|| INHERITED.with(String::clone)),
            "set after"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn a_scoped_push_carried_out_of_its_context_pops_nothing_else() {
    let stack = LocalStack::new();
    stack.push("outer");
    let mut context = Context::new();
    let guard = context.run(|| stack.push_scoped("inner"));
    drop(guard);
    assert_eq!(stack.len(), 1, "the thread's own stack keeps its value");
    stack.with_top(|top| assert_eq!(top, Some(&"outer")));
    assert_eq!(
        context.run(|| stack.len()),
        1,
        "the value stays in its context"
    );
    let escaped = fresh(|| stack.push_scoped("scoped"));
    drop(escaped);
    assert_eq!(stack.len(), 1);
}

/// As with std's `LocalKey` and the `thread_local` crate: the locals, contexts and wrapped
/// futures go into `catch_unwind` without `AssertUnwindSafe`, and a context whose run
/// panicked runs again, with what the run had written.
#[test]
fn locals_and_contexts_cross_catch_unwind_as_std_local_keys_do() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    let local = ThreadLocal::<u32>::new();
    let stack = LocalStack::<u32>::new();
    let mut context = Context::new();
    let task = Context::new().wrap(std::future::ready(1));
    unwind_safe(&local);
    unwind_safe(&stack);
    unwind_safe(&context);
    unwind_safe(&task);

    let panicked = catch_unwind(|| {
        let mut context = Context::new();
        context.run(|| local.set(1));
        stack.push(1);
        drop(task);
        panic!("inside")
    });
    assert!(panicked.is_err());
    // `&mut` is never `UnwindSafe`, as with every type.
    let context_ref = &mut context;
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        context_ref.run(|| {
            local.set(2);
            panic!("inside run")
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(context.run(|| local.get()), 2);
    assert_eq!((local.get(), stack.pop()), (0, Some(1)));
}
