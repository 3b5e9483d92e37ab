//! A value bound to a local for every poll of a future: tokio's `LocalKey::scope`, Java's
//! `ScopedValue`. Each poll swaps the value into the local's current entry (the thread's
//! own, or the current frame's) and swaps it back out after (`access::bound`), so the
//! value travels with the future from poll to poll, whichever thread polls it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::access::{self, Local};
use crate::error::or_fail;

/// The future of `scope`: binds its value to the local during every poll of the inner
/// future, and while the inner future is dropped, as tokio's `TaskLocalFuture` does.
///
/// Between polls the value is kept here, and the local has its previous value (or none)
/// again. A poll refused because the local is borrowed (an access to it is running on the
/// polling thread) panics and keeps the value for the next poll. [`take_value`] takes the
/// value back; the inner future then runs with the local as it is.
///
/// [`take_value`]: Scoped::take_value
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{Scoped, ThreadLocal};
///
/// let user: ThreadLocal<&str> = ThreadLocal::new();
/// let task: Scoped<'_, _, _, _> = user.scope("ada", async { user.get() });
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// # let mut task = std::pin::pin!(task);
/// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready("ada"));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Scoped<'a, L: ?Sized, T, F> {
    local: &'a L,
    /// `None` after `take_value`, or after the inner future took the value out of the local.
    value: Option<T>,
    /// Structurally pinned; `None` once it completed.
    future: Option<F>,
    /// Drops `future` inside the binding: made by `new`, which knows that `&L` is a local,
    /// for `drop`, which cannot ask.
    drop_bound: fn(&mut Self),
}

impl<'a, L: ?Sized, T, F> Scoped<'a, L, T, F> {
    pub(crate) fn new(local: &'a L, value: T, future: F) -> Self
    where
        &'a L: Local<Value = T>,
    {
        Scoped {
            local,
            value: Some(value),
            future: Some(future),
            drop_bound: drop_bound::<L, T, F>,
        }
    }
}

/// [`Scoped`]'s `drop` inside the binding.
fn drop_bound<'a, L: ?Sized, T, F>(this: &mut Scoped<'a, L, T, F>)
where
    &'a L: Local<Value = T>,
{
    let (local, value, future) = (this.local, &mut this.value, &mut this.future);
    // Refused (the local is borrowed here): the future is dropped as it is, unbound.
    let _ = access::bindable(local, |entry| {
        access::bound(entry, value, || *future = None)
    });
}

impl<'a, L: ?Sized, T, F> Scoped<'a, L, T, F> {
    /// The fields, `future` pinned with `self` and the others not.
    fn project(self: Pin<&mut Self>) -> (&'a L, &mut Option<T>, Pin<&mut Option<F>>) {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, only
        // polled through the pin made here, and dropped in place (by `Pin::set`, by the
        // assignment in `drop_bound`, or with `self`); `local` and `value` are not pinned,
        // and only `value` is moved.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        (this.local, &mut this.value, future)
    }

    /// Takes the bound value back (tokio's `TaskLocalFuture::take_value`): `None` if it was
    /// taken already, by this or by the inner future. The inner future's next polls run
    /// with the local as it is, unbound.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let user = ThreadLocal::with_init(|| "anonymous");
    /// let mut task = Box::pin(user.scope("ada", async { user.get() }));
    /// assert_eq!(task.as_mut().take_value(), Some("ada"));
    /// assert_eq!(task.as_mut().take_value(), None);
    /// # let waker = std::task::Waker::noop();
    /// # let mut cx = std::task::Context::from_waker(&waker);
    /// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready("anonymous"));
    /// ```
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.project().1.take()
    }
}

impl<'a, L: ?Sized, T, F: Future> Future for Scoped<'a, L, T, F>
where
    &'a L: Local<Value = T>,
{
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let (local, value, mut future) = self.project();
        assert!(future.is_some(), "`Scoped` polled after it completed");
        // Polled, and dropped once ready, inside the binding.
        let mut poll_once = || {
            let inner = future.as_mut().as_pin_mut().expect("checked above");
            let poll = inner.poll(cx);
            if poll.is_ready() {
                future.set(None);
            }
            poll
        };
        if value.is_none() {
            return poll_once();
        }
        let mut poll_once = Some(poll_once);
        or_fail::<T, _>(access::bindable(local, |entry| {
            access::bound(entry, value, poll_once.take().expect("polled once"))
        }))
    }
}

impl<L: ?Sized, T, F> Drop for Scoped<'_, L, T, F> {
    fn drop(&mut self) {
        // Dropped in place inside its binding, so that its destructor reads the bound value,
        // as it does in tokio.
        if self.future.is_some() && self.value.is_some() {
            (self.drop_bound)(self);
        }
    }
}
impl<L: ?Sized, T, F> fmt::Debug for Scoped<'_, L, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("done", &self.future.is_none())
            .finish_non_exhaustive()
    }
}
