//! One value's cell: a `RefCell` whose borrow count also says whether a value is there, so
//! that the fast path decides with a single comparison.
//!
//! An entry is only ever touched by one thread at a time: its owner (a thread, or the
//! thread running the context that holds it), or, for a thread's entries, whoever holds
//! the instance's lock with no owner access possible (see `table.rs`). So the state is a
//! plain `Cell`, and every method here is safe on `&Entry`: the types that let an entry be
//! reached from another thread carry that proof.

use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;

use crate::AccessError;

/// The state of an [`Entry`]: `n >= 0` is a value with `n` shared borrows, the rest are the
/// markers below.
const WRITING: isize = -1;
const EMPTY: isize = isize::MIN;
const INITIALIZING: isize = isize::MIN + 1;
const DESTROYED: isize = isize::MIN + 2;
const PINNED: isize = isize::MIN + 3;
const ORPHANED: isize = isize::MIN + 4;

/// What an entry holds, for the slow paths and the owners of thread entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// No value.
    Empty,
    /// No value yet: the initializer is running on the owner's thread.
    Initializing,
    /// No value: the owner's thread destroyed it while exiting, and is still exiting.
    Destroyed,
    /// A value, not borrowed.
    Unborrowed,
    /// A value, borrowed by the owner (shared or mutable).
    Borrowed,
    /// A value, not borrowed, that an `iter_mut` borrow may still point at: the owner's
    /// exit leaves it in place ([`Status::Orphaned`]) instead of dropping it. The owner's
    /// next access unpins it.
    Pinned,
    /// A value whose owner exited while it was pinned, or under `retain_on_exit`: nobody's
    /// value now, kept in place until the instance iterates, clears or drops it, or a new
    /// owner of the index moves it aside.
    Orphaned,
}

pub(crate) struct Entry<T> {
    state: Cell<isize>,
    /// `Some` exactly when the state says a value is there (a borrow count, `PINNED` or
    /// `ORPHANED`). An `Option` rather than `MaybeUninit`, so that an entry that is simply
    /// dropped drops its value: the attribute's `thread_local!` slot relies on it.
    value: UnsafeCell<Option<T>>,
}

impl<T> Entry<T> {
    pub(crate) const fn new() -> Self {
        Entry {
            state: Cell::new(EMPTY),
            value: UnsafeCell::new(None),
        }
    }

    pub(crate) fn status(&self) -> Status {
        match self.state.get() {
            0 => Status::Unborrowed,
            EMPTY => Status::Empty,
            INITIALIZING => Status::Initializing,
            DESTROYED => Status::Destroyed,
            PINNED => Status::Pinned,
            ORPHANED => Status::Orphaned,
            _ => Status::Borrowed,
        }
    }

    /// A value that [`read`](Self::read) will lend.
    #[inline(always)]
    pub(crate) fn is_readable(&self) -> bool {
        (0..isize::MAX).contains(&self.state.get())
    }

    /// A value that [`write`](Self::write) will lend.
    #[inline(always)]
    pub(crate) fn is_writable(&self) -> bool {
        self.state.get() == 0
    }

    /// Does the owner have a value here? (`is_initialized`.)
    pub(crate) fn is_present(&self) -> bool {
        matches!(
            self.status(),
            Status::Unborrowed | Status::Borrowed | Status::Pinned
        )
    }

    /// Calls `f` with the value under a shared borrow (`RefCell::try_borrow`).
    #[inline(always)]
    pub(crate) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        if !self.is_readable() {
            return Err(self.refusal());
        }
        self.state.set(self.state.get() + 1);
        let _borrow = EndRead(&self.state);
        // SAFETY: a borrow count means a value is present, and the count we now hold keeps
        // out every mutable access to it (`write`, `put`, `take`, ...) until `_borrow` drops.
        Ok(f(unsafe {
            (*self.value.get()).as_ref().unwrap_unchecked()
        }))
    }

    /// Calls `f` with the value under a mutable borrow (`RefCell::try_borrow_mut`).
    #[inline(always)]
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        if !self.is_writable() {
            return Err(self.refusal());
        }
        self.state.set(WRITING);
        let _borrow = Reset(&self.state, 0);
        // SAFETY: state `0` means a value is present and unborrowed, and `WRITING` keeps
        // every other access out until `_borrow` drops.
        Ok(f(unsafe {
            (*self.value.get()).as_mut().unwrap_unchecked()
        }))
    }

    /// Why `read`/`write` refuse, for a present value.
    #[cold]
    fn refusal(&self) -> AccessError {
        match self.status() {
            Status::Initializing => AccessError::Initializing,
            Status::Destroyed | Status::Orphaned => AccessError::Destroyed,
            _ => AccessError::Borrowed,
        }
    }

    /// Builds the value with `init`, on an empty entry. While `init` runs the entry is
    /// [`Status::Initializing`], so an initializer that touches its own local is refused
    /// instead of recursing; if it panics, the entry is empty again.
    pub(crate) fn initialize(&self, init: impl FnOnce() -> T) -> Result<(), AccessError> {
        self.check_empty()?;
        self.state.set(INITIALIZING);
        let unwind = Reset(&self.state, EMPTY);
        let value = init();
        std::mem::forget(unwind);
        self.fill(value);
        Ok(())
    }

    /// Builds the value with a fallible `init`: on `Err`, the entry stays empty.
    pub(crate) fn try_initialize<E>(
        &self,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<Result<(), E>, AccessError> {
        self.check_empty()?;
        self.state.set(INITIALIZING);
        let _reset = Reset(&self.state, EMPTY);
        let value = init();
        Ok(value.map(|value| {
            std::mem::forget(_reset);
            self.fill(value);
        }))
    }

    fn check_empty(&self) -> Result<(), AccessError> {
        match self.status() {
            Status::Empty => Ok(()),
            _ => Err(self.refusal()),
        }
    }

    /// Puts `value` in an empty or initializing entry.
    fn fill(&self, value: T) {
        // SAFETY: the entry is empty or initializing, so nothing borrows its value.
        unsafe { *self.value.get() = Some(value) };
        self.state.set(0);
    }

    /// Replaces the value, or fills an empty entry; returns the old value for the caller to
    /// drop once it no longer touches the entry.
    pub(crate) fn put(&self, value: T) -> Result<Option<T>, AccessError> {
        self.swap(Some(value))
    }

    /// Removes the value: the next access initializes again.
    pub(crate) fn take(&self) -> Result<Option<T>, AccessError> {
        self.swap(None)
    }

    /// Replaces what the entry holds, a value or none, with `value`: the binding of
    /// `scope`, and the primitive of `put` and `take`. Refused while the value is borrowed.
    pub(crate) fn swap(&self, value: Option<T>) -> Result<Option<T>, AccessError> {
        match self.status() {
            Status::Empty | Status::Unborrowed => {}
            _ => return Err(self.refusal()),
        }
        self.state.set(if value.is_some() { 0 } else { EMPTY });
        // SAFETY: empty or unborrowed: nothing borrows the value.
        Ok(unsafe { std::mem::replace(&mut *self.value.get(), value) })
    }

    /// Moves out a value that nobody borrows (unborrowed, pinned or orphaned) and leaves the
    /// entry `then`.
    fn take_unborrowed(&self, then: isize) -> Option<T> {
        match self.status() {
            Status::Unborrowed | Status::Pinned | Status::Orphaned => {
                self.state.set(then);
                // SAFETY: no borrow: the states above exclude `read` and `write` guards.
                unsafe { (*self.value.get()).take() }
            }
            _ => None,
        }
    }

    /// Empties the entry, whatever it holds unborrowed: `clear`, `into_iter`, the
    /// instance's `Drop`, and a new owner adopting an orphan.
    pub(crate) fn drain(&self) -> Option<T> {
        self.take_unborrowed(EMPTY)
    }

    /// The owner's thread is exiting: moves its value out and marks the entry destroyed,
    /// so that a destructor touching this local during the rest of the thread's teardown
    /// gets [`AccessError::Destroyed`]. With `keep` (`retain_on_exit`), or if an `iter_mut`
    /// borrow may point at it (pinned), the value is orphaned in place instead.
    ///
    /// An entry borrowed at that moment (thread-local destructors run by `process::exit`
    /// inside an access) keeps its value: nothing may drop it under the borrow.
    pub(crate) fn destroy(&self, keep: bool) -> Option<T> {
        match self.status() {
            Status::Empty => {
                self.state.set(DESTROYED);
                None
            }
            Status::Pinned => {
                self.state.set(ORPHANED);
                None
            }
            Status::Unborrowed if keep => {
                self.state.set(ORPHANED);
                None
            }
            Status::Unborrowed => self.take_unborrowed(DESTROYED),
            _ => None,
        }
    }

    /// The exiting owner is gone: a destroyed entry becomes empty for the next owner.
    pub(crate) fn forget_destroyed(&self) {
        if self.status() == Status::Destroyed {
            self.state.set(EMPTY);
        }
    }

    /// A mutable reference for an `iter_mut` borrow, to a value that nobody borrows; a
    /// value of a live owner is marked [`Status::Pinned`], so that its owner's exit leaves
    /// it in place while the reference may be alive.
    ///
    /// # Safety
    ///
    /// The caller holds the exclusive access of `&mut ThreadLocal` for as long as it uses
    /// the reference (so the owner's accesses are out), and calls this under the instance's
    /// lock (so the owner's exit is).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn pin_mut(&self) -> Option<&mut T> {
        match self.status() {
            Status::Unborrowed | Status::Pinned => self.state.set(PINNED),
            Status::Orphaned => {}
            _ => return None,
        }
        // SAFETY: present (the states above); exclusive by the caller's duty. The exit
        // only changes the state of a pinned entry, never its value.
        Some(unsafe { (*self.value.get()).as_mut().unwrap_unchecked() })
    }

    /// The owner is back (with `&ThreadLocal`, so every `iter_mut` borrow has ended): a
    /// pinned value is plainly its own again.
    pub(crate) fn unpin(&self) {
        if self.status() == Status::Pinned {
            self.state.set(0);
        }
    }

    /// Starts a shared borrow that outlives this call, for a clone made without the
    /// instance's lock held; [`end_lend`](Self::end_lend) ends it.
    pub(crate) fn lend(&self) -> Result<NonNull<T>, AccessError> {
        if !self.is_readable() {
            return Err(self.refusal());
        }
        self.state.set(self.state.get() + 1);
        // SAFETY: a borrow count means a value is present.
        Ok(NonNull::from(unsafe {
            (*self.value.get()).as_ref().unwrap_unchecked()
        }))
    }

    /// Ends a borrow started by [`lend`](Self::lend).
    pub(crate) fn end_lend(&self) {
        self.state.set(self.state.get() - 1);
    }
}

/// Ends a shared borrow, also on unwind.
struct EndRead<'a>(&'a Cell<isize>);

impl Drop for EndRead<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Sets a state back, also on unwind: the end of a mutable borrow, or of an initializer.
struct Reset<'a>(&'a Cell<isize>, isize);

impl Drop for Reset<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_follow_refcell() {
        let entry = Entry::new();
        assert_eq!(entry.read(|_: &u8| ()), Err(AccessError::Borrowed));
        entry.initialize(|| 1u8).unwrap();
        let inner = entry.read(|_| {
            assert_eq!(entry.read(|v| *v), Ok(1));
            entry.write(|_| ())
        });
        assert_eq!(inner, Ok(Err(AccessError::Borrowed)));
        assert_eq!(entry.write(|v| std::mem::replace(v, 2)), Ok(1));
        assert_eq!(entry.take(), Ok(Some(2)));
        assert_eq!(entry.status(), Status::Empty);
    }

    #[test]
    fn an_initializer_that_unwinds_leaves_the_entry_empty() {
        let entry = Entry::<u8>::new();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = entry.initialize(|| {
                assert_eq!(entry.status(), Status::Initializing);
                panic!("no value")
            });
        }));
        assert!(unwound.is_err());
        assert_eq!(entry.status(), Status::Empty);
        assert_eq!(
            entry.try_initialize(|| Err::<u8, _>("refused")),
            Ok(Err("refused"))
        );
        assert_eq!(entry.status(), Status::Empty);
    }

    #[test]
    fn a_destroyed_entry_refuses_until_forgotten() {
        let entry = Entry::new();
        entry.put(5u8).unwrap();
        assert_eq!(entry.destroy(false), Some(5));
        assert_eq!(entry.read(|_| ()), Err(AccessError::Destroyed));
        assert_eq!(entry.initialize(|| 6), Err(AccessError::Destroyed));
        entry.forget_destroyed();
        assert_eq!(entry.initialize(|| 6), Ok(()));
    }

    #[test]
    fn a_pinned_value_is_orphaned_by_its_owners_exit_and_drained_later() {
        let entry = Entry::new();
        entry.put(5u8).unwrap();
        // SAFETY: the test is the only user of the entry.
        let value = unsafe { entry.pin_mut() }.unwrap();
        *value += 1;
        assert_eq!(entry.destroy(false), None);
        assert_eq!(entry.status(), Status::Orphaned);
        assert_eq!(entry.read(|_| ()), Err(AccessError::Destroyed));
        assert_eq!(entry.drain(), Some(6));
        assert_eq!(entry.status(), Status::Empty);
    }

    #[test]
    fn a_kept_value_is_orphaned_in_place() {
        let entry = Entry::new();
        entry.put(5u8).unwrap();
        assert_eq!(entry.destroy(true), None);
        assert_eq!(entry.status(), Status::Orphaned);
        entry.forget_destroyed();
        assert_eq!(entry.drain(), Some(5));
    }
}
