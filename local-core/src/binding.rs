//! Binding one value to one local for a call or a future: tokio's `sync_scope`/`scope`,
//! Java's `ScopedValue`. The value is swapped into the local's current entry (the thread's
//! own, or the current context's) and the previous value, or its absence, swapped back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context as TaskContext, Poll};

use crate::AccessError;
use crate::entry::Entry;

/// A value bound to an entry; dropping the guard restores what the entry held before, also
/// on unwind, and drops the bound value after that.
pub(crate) struct Bound<T> {
    entry: NonNull<Entry<T>>,
    previous: Option<T>,
}

impl<T> Bound<T> {
    /// Swaps `value` into `entry`.
    ///
    /// # Safety
    ///
    /// - `entry` stays valid until the guard drops: it is the thread's own entry of a local
    ///   that outlives the guard, or a node of the frame current now;
    /// - the guard drops on this thread, with the same frame current (the guard is `!Send`,
    ///   and callers drop it before returning from the call that made it).
    pub(crate) unsafe fn bind(entry: &Entry<T>, value: T) -> Result<Self, AccessError> {
        let previous = entry.swap(Some(value))?;
        Ok(Bound {
            entry: NonNull::from(entry),
            previous,
        })
    }

    fn restore(&mut self) -> Option<T> {
        // SAFETY: `bind`'s contract.
        let entry = unsafe { self.entry.as_ref() };
        // Cannot be refused: borrows taken since `bind` ended before the guard drops (they
        // are scoped to calls made inside), and nothing else marks the entry meanwhile.
        entry.swap(self.previous.take()).ok().flatten()
    }

    /// Restores the previous value and returns the bound one (if the code run with it did
    /// not take it): for the next poll of a future.
    pub(crate) fn unbind(mut self) -> Option<T> {
        let bound = self.restore();
        std::mem::forget(self);
        bound
    }
}

impl<T> Drop for Bound<T> {
    fn drop(&mut self) {
        drop(self.restore());
    }
}

/// Binds a value to a local, wherever the local keeps its current entry. `'a` is how long
/// the local must be borrowed for it: `'static` for an attribute struct's storage.
pub(crate) trait Bind<'a, T> {
    fn bind(&'a self, value: T) -> Result<Bound<T>, AccessError>;
}

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
    /// `None` only while a poll runs, or after the inner future took the value.
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

impl<'a, L: Bind<'a, T> + ?Sized, T, F: Future> Future for Scoped<'a, L, T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: never moved out, only polled through the
        // pin made below and dropped in place; `local` and `value` are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        let Some(inner) = future.as_mut().as_pin_mut() else {
            panic!("`Scoped` polled after it completed");
        };
        let bound = match this.value.take() {
            Some(value) => Some(crate::error::or_fail::<T, _>(Bind::bind(this.local, value))),
            // The inner future took the value: polled with the local as it is.
            None => None,
        };
        let poll = inner.poll(cx);
        this.value = bound.and_then(Bound::unbind);
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
