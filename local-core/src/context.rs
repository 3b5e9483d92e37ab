use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::identity;

/// Runs `f` with fresh values for every local: the outer values are back afterwards, and
/// the values `f` created are dropped when it returns (or unwinds).
///
/// This is how a pooled worker starts each job clean (werkzeug's `release_local` for every
/// local at once). A scope never leaves its thread, so it works with every local, including
/// structs whose fields are not `Send`. Locals declared
/// `#[thread_local_struct(per_thread)]` keep their thread's value inside it.
///
/// # Examples
///
/// ```
/// use local_core::ThreadLocal;
///
/// let request: ThreadLocal<Vec<&str>> = ThreadLocal::new();
/// request.with_mut(|r| r.push("outer"));
/// local_core::scope(|| {
///     assert!(request.with(Vec::is_empty)); // fresh inside
///     request.with_mut(|r| r.push("inner"));
/// });
/// assert_eq!(request.get(), ["outer"]); // the outer value is back
/// ```
pub fn scope<R>(f: impl FnOnce() -> R) -> R {
    let scope = Identity(identity::allocate());
    let entered = identity::enter(scope.0, false);
    let result = f();
    // Leave before the scope's values are dropped, so their destructors see the outer ones.
    drop(entered);
    drop(scope);
    result
}

/// Runs `future` in a context of its own: [`Context::new`] and [`Context::wrap`] in one.
///
/// # Examples
///
/// ```
/// use local_core::ThreadLocal;
/// use std::sync::Arc;
///
/// let id = Arc::new(ThreadLocal::<u32>::new());
/// let task = local_core::scope_async({
///     let id = Arc::clone(&id);
///     async move {
///         id.set(7);
///         std::future::ready(()).await;
///         id.get() // still 7 on whichever thread polls it next
///     }
/// });
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// # let mut task = std::pin::pin!(task);
/// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready(7));
/// assert_eq!(id.get(), 0); // the task's value never reached this thread's
/// ```
pub fn scope_async<F: Future>(future: F) -> Wrapped<F> {
    Context::new().wrap(future)
}

/// A resumable set of values for every local, like a greenlet's: code run in it with
/// [`run`](Context::run) sees the context's values, created and kept there, not the
/// thread's. A [`wrap`](Context::wrap)ped future runs every poll in its context, so a task
/// keeps its values as it moves between the worker threads of an executor.
///
/// A context may move between threads, so it holds only `Send` values: touching, inside
/// one, a `#[thread_local_struct]` whose fields are not `Send` panics (its `try_with`
/// returns [`AccessError::NotSend`](crate::AccessError::NotSend)); use [`scope`], which
/// never leaves its thread, or declare the struct `per_thread`. The values a context holds
/// are dropped with it, on the thread that drops it.
///
/// Entering and leaving a context costs the same however many locals the thread has.
///
/// # Examples
///
/// werkzeug's greenlet case: two contexts alternating on one thread.
///
/// ```
/// use local_core::{Context, ThreadLocal};
///
/// let test = ThreadLocal::with_init(|| 0);
/// let (mut gr1, mut gr2) = (Context::new(), Context::new());
/// gr1.run(|| test.set(1));
/// gr2.run(|| test.set(2));
/// assert_eq!(gr1.run(|| test.get()), 1);
/// assert_eq!(gr2.run(|| test.get()), 2);
/// assert_eq!(test.get(), 0); // the thread's own value
/// ```
pub struct Context {
    identity: Identity,
}

impl Context {
    /// A context with no values yet: each local is initialized in it on first touch.
    #[must_use]
    pub fn new() -> Self {
        Context {
            identity: Identity(identity::allocate()),
        }
    }

    /// A context seeded with clones of the current values of the locals declared
    /// `#[thread_local_struct(inherit)]` (Java's `InheritableThreadLocal`), for a child
    /// thread or task to run in. Changes made in it do not reach the parent.
    ///
    /// # Panics
    ///
    /// If an `inherit` local is mutably borrowed on this thread.
    #[must_use]
    pub fn inherit() -> Self {
        let context = Context::new();
        let parent = identity::current();
        if parent < identity::LIMIT {
            identity::inherit(parent, context.identity.0);
        }
        context
    }

    /// Runs `f` in this context: every local it touches reads and keeps the context's value.
    /// The thread's own values are back when `f` returns or unwinds.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _entered = identity::enter(self.identity.0, true);
        f()
    }

    /// A future that runs every poll of `future` in this context, and drops it in there.
    pub fn wrap<F: Future>(self, future: F) -> Wrapped<F> {
        Wrapped {
            future: Some(Box::pin(future)),
            context: self,
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// A future running in its own [`Context`]: from [`Context::wrap`] or [`scope_async`].
/// It is `Send` when the future is.
pub struct Wrapped<F> {
    // Boxed, so that `Wrapped` is `Unpin` and projecting the pin needs no `unsafe`.
    future: Option<Pin<Box<F>>>,
    context: Context,
}

impl<F: Future> Future for Wrapped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = identity::enter(this.context.identity.0, true);
        let future = this
            .future
            .as_mut()
            .expect("`Wrapped` polled after it completed");
        let poll = future.as_mut().poll(cx);
        if poll.is_ready() {
            // Dropped in the context, where its locals are.
            this.future = None;
        }
        poll
    }
}

impl<F> Drop for Wrapped<F> {
    fn drop(&mut self) {
        if let Some(future) = self.future.take() {
            let _entered = identity::enter(self.context.identity.0, true);
            drop(future);
        }
    }
}

impl<F> fmt::Debug for Wrapped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wrapped")
            .field("done", &self.future.is_none())
            .finish_non_exhaustive()
    }
}

/// An identity of a context or scope, released (its values dropped) when this drops.
struct Identity(usize);

impl Drop for Identity {
    fn drop(&mut self) {
        identity::release(self.0);
    }
}
