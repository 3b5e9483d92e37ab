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

/// The future of `scope_async`: binds its value to the local during every poll of the
/// inner future.
///
/// # Examples
///
/// ```
/// use local_core::{Scoped, ThreadLocal};
///
/// let user: ThreadLocal<&str> = ThreadLocal::new();
/// let task: Scoped<'_, _, _, _> = user.scope_async("ada", async { user.get() });
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// # let mut task = std::pin::pin!(task);
/// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready("ada"));
/// ```
pub struct Scoped<'a, L: ?Sized, T, F> {
    local: &'a L,
    /// `None` after the inner future took the value out of the local.
    value: Option<T>,
    /// Structurally pinned; `None` once it completed.
    future: Option<F>,
}

impl<'a, L: ?Sized, T, F> Scoped<'a, L, T, F> {
    pub(crate) fn new(local: &'a L, value: T, future: F) -> Self {
        Scoped {
            local,
            value: Some(value),
            future: Some(future),
        }
    }
}

impl<'a, L: ?Sized, T, F: Future> Future for Scoped<'a, L, T, F>
where
    &'a L: Local<Value = T>,
{
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, only
        // polled through the pin made below and dropped in place; `local` and `value` are
        // not pinned, and only `value` is moved.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        let Some(inner) = future.as_mut().as_pin_mut() else {
            panic!("`Scoped` polled after it completed");
        };
        let poll = if this.value.is_some() {
            let value = &mut this.value;
            let mut poll = Some(|| inner.poll(cx));
            or_fail::<T, _>(access::bindable(this.local, |entry| {
                access::bound(entry, value, poll.take().expect("polled once"))
            }))
        } else {
            // The inner future took the value: polled with the local as it is.
            inner.poll(cx)
        };
        if poll.is_ready() {
            future.set(None);
        }
        poll
    }
}

impl<L: ?Sized, T, F> fmt::Debug for Scoped<'_, L, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("done", &self.future.is_none())
            .finish_non_exhaustive()
    }
}
