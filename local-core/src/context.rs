//! Contexts and `fresh` frames: sets of values for every local at once, current on a thread
//! while they run. A frame's values live in the frame (`frame.rs`), not in the locals: a context
//! costs what it holds, and creating, entering and dropping one takes no lock.

use std::fmt;
use std::future::Future;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::frame::Values;
use crate::thread;

/// Runs `f` with fresh values for every local: the outer values are back afterwards, and
/// the values `f` created are dropped when it returns (or unwinds).
///
/// This is how a pooled worker starts each job clean (werkzeug's `release_local` for every
/// local at once). A `fresh` frame never leaves its thread, so it works with every local,
/// including
/// structs whose fields are not `Send`. Locals declared `per_thread` keep their thread's
/// value inside it.
///
/// It costs what it holds: nothing until a local is touched in it, then one small
/// allocation per local touched. Entering and leaving cost the same however many locals
/// exist.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// let request: ThreadLocal<Vec<&str>> = ThreadLocal::new();
/// request.with_mut(|r| r.push("outer"));
/// local::fresh(|| {
///     assert!(request.with(Vec::is_empty)); // fresh inside
///     request.with_mut(|r| r.push("inner"));
/// });
/// assert_eq!(request.get(), ["outer"]); // the outer value is back
/// ```
///
/// # Panics
///
/// A panic of `f` propagates, after the outer values are back and the frame's are dropped.
/// If a value's destructor panics, the other values are still dropped, and the first such
/// panic propagates.
pub fn fresh<R>(f: impl FnOnce() -> R) -> R {
    let values = Values::new();
    let entered = thread::enter(&values, false);
    let result = f();
    // Leave before the frame's values are dropped, so their destructors see the outer ones.
    // On unwind the same happens: `entered` was declared last, so it drops first.
    drop(entered);
    drop(values);
    result
}

/// Runs `future` in a context of its own: [`Context::new`] and [`Context::wrap`] in one.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::ThreadLocal;
/// use std::sync::Arc;
///
/// let id = Arc::new(ThreadLocal::<u32>::new());
/// let task = local::fresh_async({
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
pub fn fresh_async<F: Future>(future: F) -> Wrapped<F> {
    Context::new().wrap(future)
}

/// A resumable set of values for every local, like a greenlet's: code run in it with
/// [`run`](Context::run) sees the context's values, created and kept there, not the
/// thread's. A [`wrap`](Context::wrap)ped future runs every poll in its context, so a task
/// keeps its values as it moves between the worker threads of an executor.
///
/// A context may move between threads, so it holds only `Send` values: touching, inside
/// one, a `#[thread_local_struct]` whose fields are not `Send` panics (its `try_with`
/// returns [`AccessError::NotSend`](crate::AccessError::NotSend)); use [`fresh`], which
/// never leaves its thread, or declare the struct `per_thread`. The values a context holds
/// are dropped with it, on the thread that drops it.
///
/// # Cost
///
/// A context is one pointer, and holds one small allocation per local touched in it (a
/// `u64` local: 56 bytes); creating, entering and dropping one takes no lock. Entering and
/// leaving cost the same however many locals exist. A context's values belong to the
/// context, not to the locals: dropping a `ThreadLocal` leaves the values contexts hold for
/// it to be dropped with those contexts.
///
/// # Examples
///
/// werkzeug's greenlet case: two contexts alternating on one thread.
///
/// ```
/// # use local_core as local;
/// use local::{Context, ThreadLocal};
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
    values: Values,
}

// SAFETY: a context's values are only reached while it runs, through `run(&mut self)` or
// a wrapped future's `poll(Pin<&mut Self>)`, so by one thread at a time; only `Send` values
// are ever stored in one (a `ThreadLocal` requires `T: Send`, and the attribute's storage
// refuses a type without a proof that it is `Send` in a movable frame). Moving it, or
// dropping it (with its values) on another thread, is therefore sound.
unsafe impl Send for Context {}
// SAFETY: `&Context` gives no access to the values at all.
unsafe impl Sync for Context {}

impl Context {
    /// A context with no values yet: each local is initialized in it on first touch.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{Context, ThreadLocal};
    ///
    /// let hits: ThreadLocal<u32> = ThreadLocal::new();
    /// hits.set(5);
    /// let mut context = Context::new();
    /// assert_eq!(context.run(|| hits.get()), 0); // fresh in the context
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Context {
            values: Values::new(),
        }
    }

    /// A context that starts with clones of the current values of the locals declared
    /// `inherit`, and fresh values of every other local: structs declared
    /// `#[thread_local_struct(inherit)]`, [`ThreadLocal`]s and [`LocalStack`]s made with
    /// `.inherit()` (Java's `InheritableThreadLocal`, Flask's `copy_current_request_context`).
    /// For a child thread or task to run in; changes made in it do not reach the parent.
    /// Inside a context or `fresh`, the current values are that frame's.
    ///
    /// Inheriting is opt-in, as in Java, because it clones, and Rust never clones on its own
    /// (Python's `contextvars` and .NET's `AsyncLocal` flow every value): a local that was
    /// not declared `inherit` reads its initializer's value in the child, as the second
    /// local of the example below does.
    ///
    /// [`ThreadLocal`]: crate::ThreadLocal
    /// [`LocalStack`]: crate::LocalStack
    ///
    /// # Panics
    ///
    /// If an inheritable local is mutably borrowed on this thread. A panic of a `Clone`
    /// propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{Context, ThreadLocal};
    ///
    /// let user = ThreadLocal::<String>::new().inherit();
    /// let request_id = ThreadLocal::<u64>::new(); // not declared `inherit`
    /// user.set("ada".to_string());
    /// request_id.set(7);
    /// let mut child = Context::inherit();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         child.run(|| {
    ///             assert_eq!(user.get(), "ada"); // a clone of the parent's
    ///             assert_eq!(request_id.get(), 0); // fresh: it did not opt in
    ///             user.set("bob".to_string());
    ///         })
    ///     });
    /// });
    /// assert_eq!(user.get(), "ada"); // the parent's is unchanged
    /// ```
    #[must_use]
    #[doc(alias = "copy_context")]
    pub fn inherit() -> Self {
        let context = Context::new();
        thread::with_frame(|frame| match frame {
            Some(frame) => frame.values.inherit_into(&context.values),
            None => thread::inherit_into(&context.values),
        });
        context
    }

    /// Runs `f` in this context: every local it touches reads and keeps the context's value.
    /// The thread's own values are back when `f` returns or unwinds.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{Context, ThreadLocal};
    ///
    /// let log: ThreadLocal<Vec<u32>> = ThreadLocal::new();
    /// let mut context = Context::new();
    /// context.run(|| log.with_mut(|l| l.push(1)));
    /// context.run(|| log.with_mut(|l| l.push(2))); // resumed: the same values
    /// assert_eq!(context.run(|| log.get()), [1, 2]);
    /// assert!(log.get().is_empty());
    /// ```
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _entered = thread::enter(&self.values, true);
        f()
    }

    /// A future that runs every poll of `future` in this context, and drops it in there.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{Context, ThreadLocal};
    /// use std::sync::Arc;
    ///
    /// let id = Arc::new(ThreadLocal::<u32>::new());
    /// let mut context = Context::new();
    /// context.run(|| id.set(9));
    /// let task = context.wrap({
    ///     let id = Arc::clone(&id);
    ///     async move { id.get() }
    /// });
    /// # let waker = std::task::Waker::noop();
    /// # let mut cx = std::task::Context::from_waker(&waker);
    /// # let mut task = std::pin::pin!(task);
    /// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready(9));
    /// ```
    pub fn wrap<F: Future>(self, future: F) -> Wrapped<F> {
        Wrapped {
            context: self,
            future: Some(future),
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

/// A future running in its own [`Context`]: from [`Context::wrap`], [`fresh_async`] or
/// [`InheritLocals::inherit_locals`]. It is `Send` when the future is.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{Context, Wrapped};
///
/// let task: Wrapped<_> = Context::new().wrap(async { 1 + 1 });
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// # let mut task = std::pin::pin!(task);
/// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready(2));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wrapped<F> {
    context: Context,
    /// Pinned with `Wrapped` (structural pinning): only ever polled through that pin and
    /// dropped in place; `None` once it completed.
    future: Option<F>,
}

// As `ThreadLocal` and std's `LocalKey` are: a context's values are reached only through
// the locals' accesses, which follow `RefCell`'s borrows, never through the `Context`
// itself; a panic inside `run` leaves a value as a panic inside `with_mut` leaves an
// instance's. (Not automatic only because the values are held as trait objects.)
impl UnwindSafe for Context {}
impl RefUnwindSafe for Context {}
impl<F: UnwindSafe> UnwindSafe for Wrapped<F> {}
impl<F: RefUnwindSafe> RefUnwindSafe for Wrapped<F> {}

impl<F: Future> Future for Wrapped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, only
        // polled through the pin made below and dropped in place (here and in `drop`);
        // `context` is not pinned and is only borrowed.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = thread::enter(&this.context.values, true);
        // SAFETY: as above: `this.future` stays where it is until dropped in place.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        let poll = future
            .as_mut()
            .as_pin_mut()
            .expect("`Wrapped` polled after it completed")
            .poll(cx);
        if poll.is_ready() {
            // Dropped in its context, where its locals are.
            future.set(None);
        }
        poll
    }
}

impl<F> Drop for Wrapped<F> {
    fn drop(&mut self) {
        if self.future.is_some() {
            let _entered = thread::enter(&self.context.values, true);
            // In place, inside the context; the context's values are dropped after.
            self.future = None;
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

/// Runs a future in a context that starts with clones of the current values of the locals
/// declared `inherit`, and fresh values of every other local ([`Context::inherit`]): the one
/// expression that spawns a task with them, on any executor (`tracing`'s `in_current_span`,
/// for locals).
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{InheritLocals, ThreadLocal};
/// use std::sync::Arc;
///
/// let request = Arc::new(ThreadLocal::<u32>::new().inherit());
/// request.set(42);
/// let task = {
///     let request = Arc::clone(&request);
///     async move { request.get() }
/// }
/// .inherit_locals(); // e.g. `tokio::spawn(async { .. }.inherit_locals())`
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// # let mut task = std::pin::pin!(task);
/// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready(42));
/// ```
pub trait InheritLocals: Future + Sized {
    /// `Context::inherit().wrap(self)`: a task that starts from clones of the current
    /// values of the locals declared `inherit`, and fresh values of the others.
    fn inherit_locals(self) -> Wrapped<Self> {
        Context::inherit().wrap(self)
    }
}

impl<F: Future> InheritLocals for F {}

/// Wraps `f` to run in a context that starts with clones of the current values of the
/// locals declared `inherit`, and fresh values of every other local ([`Context::inherit`]),
/// wherever it is called: for `std::thread::spawn`, `tokio::task::spawn_blocking`,
/// `rayon::spawn` and the like. The clones are taken now, on the calling thread.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::ThreadLocal;
/// use std::sync::Arc;
///
/// let user = Arc::new(ThreadLocal::<String>::new().inherit());
/// user.set("ada".into());
/// let child = std::thread::spawn(local::inherit_locals({
///     let user = Arc::clone(&user);
///     move || user.get()
/// }));
/// assert_eq!(child.join().unwrap(), "ada");
/// ```
pub fn inherit_locals<F, R>(f: F) -> impl FnOnce() -> R + Send
where
    F: FnOnce() -> R + Send,
{
    let mut context = Context::inherit();
    move || context.run(f)
}
