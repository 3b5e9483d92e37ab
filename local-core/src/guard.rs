//! A borrow of this thread's value that lives across calls: `ThreadLocal::borrow_mut`, for
//! `per_thread` instances.
//!
//! It holds the entry's own mutable borrow (`entry::RefMut`), so everything that could
//! drop or move the value refuses while it is alive, as with `with_mut`: another access,
//! `set`, `take`, a binding; the instance's `&mut` methods and its drop are kept out by the
//! guard's lifetime. It is not lent while a binding runs on the entry (`sync_scope`, a
//! `scope` future's poll): the binding's end swaps the previous value back, which a guard
//! that outlived it would refuse.
//!
//! What a closure's scope guaranteed, that the borrow ends before its thread's exit, a
//! guard cannot: it may be leaked, kept in another thread-local and dropped during
//! teardown, or be alive at `process::exit`. The exit handles that case already (it is
//! the one of an access the thread exits from): it finds the value borrowed and leaves it
//! in place, and the thread's index is never reused, so no later thread reaches the entry.
//! The value is then dropped with the instance. A guard is `!Send`, so that it is dropped
//! on the thread whose entry it borrows; and it is only lent for a `per_thread` instance,
//! whose value is the thread's own entry, never a context's, which a `Context`'s drop
//! would free under it.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use crate::entry;

/// A mutable borrow of this thread's value of a `per_thread` [`ThreadLocal`], held across
/// calls: [`ThreadLocal::borrow_mut`]. Every other access to the value on this thread is
/// refused (or panics) until it is dropped, as with `RefCell`'s `RefMut`.
///
/// It is neither `Send` nor `Sync`: it is dropped on the thread whose value it borrows.
///
/// ```compile_fail
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// static BUFFER: ThreadLocal<Vec<u8>> = ThreadLocal::new().per_thread();
/// let guard = BUFFER.borrow_mut();
/// std::thread::spawn(move || drop(guard));
/// ```
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// let items = ThreadLocal::<Vec<u32>>::new().per_thread();
/// let mut guard = items.borrow_mut();
/// guard.push(1);
/// guard.push(2);
/// drop(guard);
/// assert_eq!(items.with(Vec::len), 2);
/// ```
///
/// [`ThreadLocal`]: crate::ThreadLocal
/// [`ThreadLocal::borrow_mut`]: crate::ThreadLocal::borrow_mut
#[must_use = "the value is borrowed until the guard is dropped"]
pub struct RefMut<'a, T> {
    borrow: entry::RefMut<'a, T>,
    /// Not `Send`: dropped by the thread that borrowed; not `Sync` either.
    thread_bound: PhantomData<*const ()>,
}

impl<'a, T> RefMut<'a, T> {
    pub(crate) fn new(borrow: entry::RefMut<'a, T>) -> Self {
        RefMut {
            borrow,
            thread_bound: PhantomData,
        }
    }
}

impl<T> Deref for RefMut<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.borrow
    }
}

impl<T> DerefMut for RefMut<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.borrow
    }
}

impl<T: fmt::Debug> fmt::Debug for RefMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
