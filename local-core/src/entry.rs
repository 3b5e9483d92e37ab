//! One value's cell: a `RefCell` whose state also says whether a value is there, what
//! happened to it, and whose it is.
//!
//! The state is an enum of where the value is in its life; a present value's borrows are
//! counted as `RefCell` counts them, in a flag of their own, so that an access checks two
//! words and, once inlined into a loop, writes neither back.
//!
//! An entry is touched by one thread at a time, and by its owner's thread most of the time:
//! a thread's entry in an instance (`table.rs`), a context's node (`frame.rs`), an attribute
//! struct's own `thread_local!` slot (`attribute.rs`). The types that let another thread
//! reach an entry (an instance's `&mut` methods, under its lock) carry that proof, so the
//! state is a plain `Cell` and everything here is safe on `&Entry`, but [`value_mut`].
//!
//! This file holds every `unsafe` access to a value: each one is guarded by the state.
//!
//! [`value_mut`]: Entry::value_mut

use std::cell::{Cell, UnsafeCell};
use std::ops::{Deref, DerefMut};

use crate::AccessError;

/// Where an [`Entry`]'s value is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// No value: the next access runs the initializer.
    Empty,
    /// No value yet: the initializer is running on the owner's thread.
    Initializing,
    /// The owner's value; [`Entry`]'s borrow flag says who borrows it.
    Present,
    /// No value: the owner's thread destroyed it while exiting, and is still exiting.
    Destroyed,
    /// A value whose thread has exited, left in place: with `retain_on_exit`, or while an
    /// `iter_mut` may hold a reference to it. Nobody's to read; moved aside by the index's
    /// next thread, or taken by the instance's `&mut` methods.
    Exited,
}

/// What [`Entry::destroy`] did at its owner's exit.
pub(crate) enum Destroyed<T> {
    /// The value, for the caller to drop, or none: the entry is [`State::Destroyed`].
    Taken(Option<T>),
    /// The value stays, [`State::Exited`].
    Kept,
    /// The value is borrowed, or being built (the thread exits from inside an access:
    /// `process::exit`); nothing may drop it under the borrow, so the entry stays as it is.
    Borrowed,
}

/// The borrow flag of a present value, as `RefCell`'s: `0` not borrowed, `n > 0` borrowed
/// `n` times, [`WRITING`] mutably.
type Borrows = isize;
const WRITING: Borrows = -1;

pub(crate) struct Entry<T> {
    state: Cell<State>,
    borrows: Cell<Borrows>,
    /// Bindings running on this entry (`sync_scope`, a `scope` future's poll): a borrow
    /// that could outlive its binding (a guard) is refused while there is one, since the
    /// binding's end must swap the previous value back.
    bindings: Cell<u32>,
    /// `Some` exactly when the state is `Present` or `Exited`. An `Option`, so that an
    /// entry dropped with its value drops it, and an entry of a type without a destructor
    /// has none either: an attribute struct's slot then costs std no registration, as with
    /// a hand-written `thread_local!`.
    value: UnsafeCell<Option<T>>,
}

impl<T> Entry<T> {
    pub(crate) const fn new() -> Self {
        Entry {
            state: Cell::new(State::Empty),
            borrows: Cell::new(0),
            bindings: Cell::new(0),
            value: UnsafeCell::new(None),
        }
    }

    #[inline(always)]
    pub(crate) fn state(&self) -> State {
        self.state.get()
    }

    /// A value that [`borrow`](Self::borrow) will lend.
    #[inline(always)]
    pub(crate) fn is_readable(&self) -> bool {
        self.state.get() == State::Present && self.borrows.get() >= 0
    }

    /// A value that [`borrow_mut`](Self::borrow_mut) will lend.
    #[inline(always)]
    pub(crate) fn is_writable(&self) -> bool {
        self.state.get() == State::Present && self.borrows.get() == 0
    }

    /// Does the owner hold a value here (`is_initialized`)?
    pub(crate) fn has_value(&self) -> bool {
        self.state.get() == State::Present
    }

    /// Will [`swap`](Self::swap) take a value now?
    #[inline(always)]
    pub(crate) fn can_swap(&self) -> bool {
        match self.state.get() {
            State::Empty => true,
            State::Present => self.borrows.get() == 0,
            _ => false,
        }
    }

    /// Is the value borrowed, or being built? Then nothing may replace or drop it.
    pub(crate) fn is_borrowed(&self) -> bool {
        match self.state.get() {
            State::Present => self.borrows.get() != 0,
            State::Initializing => true,
            _ => false,
        }
    }

    /// Why a borrow is refused.
    #[cold]
    fn refusal(&self) -> AccessError {
        match self.state.get() {
            State::Initializing => AccessError::Initializing,
            State::Destroyed | State::Exited => AccessError::Destroyed,
            // `Empty` reaches here only through callers that fill first.
            State::Present | State::Empty => AccessError::Borrowed,
        }
    }

    /// A shared borrow (`RefCell::try_borrow`).
    #[inline(always)]
    pub(crate) fn borrow(&self) -> Result<Ref<'_, T>, AccessError> {
        if !self.is_readable() {
            return Err(self.refusal());
        }
        // The count is bounded by the depth of nested accesses on one thread's stack.
        self.borrows.set(self.borrows.get() + 1);
        // SAFETY: `Present` means a value is there; the count just taken keeps out every
        // mutable access and every replacement of the value until the `Ref` drops.
        let value = unsafe { (*self.value.get()).as_ref().unwrap_unchecked() };
        Ok(Ref {
            value,
            borrows: &self.borrows,
        })
    }

    /// A mutable borrow (`RefCell::try_borrow_mut`).
    #[inline(always)]
    pub(crate) fn borrow_mut(&self) -> Result<RefMut<'_, T>, AccessError> {
        if !self.is_writable() {
            return Err(self.refusal());
        }
        self.borrows.set(WRITING);
        // SAFETY: `Present` and not borrowed: a value is there, and `WRITING` keeps every
        // other access out until the `RefMut` drops.
        let value = unsafe { (*self.value.get()).as_mut().unwrap_unchecked() };
        Ok(RefMut {
            value,
            borrows: &self.borrows,
        })
    }

    /// A mutable borrow that may outlive the caller's scope (a guard): refused while a
    /// binding runs on the entry, whose end could not swap its value back out.
    pub(crate) fn borrow_mut_held(&self) -> Result<RefMut<'_, T>, AccessError> {
        if self.bindings.get() > 0 {
            return Err(AccessError::Borrowed);
        }
        self.borrow_mut()
    }

    /// A binding starts on the entry, or ends.
    pub(crate) fn bind(&self, bound: bool) {
        let bindings = self.bindings.get();
        self.bindings
            .set(if bound { bindings + 1 } else { bindings - 1 });
    }

    /// Calls `f` with the value under a shared borrow.
    #[inline(always)]
    pub(crate) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        Ok(f(&*self.borrow()?))
    }

    /// Calls `f` with the value under a mutable borrow.
    #[inline(always)]
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        Ok(f(&mut *self.borrow_mut()?))
    }

    /// Replaces the value of an entry that nobody borrows; the state is the caller's to set.
    #[inline]
    fn replace_unborrowed(&self, value: Option<T>) -> Option<T> {
        debug_assert!(self.borrows.get() == 0);
        // SAFETY: every caller checked first that the value is not borrowed: no `Ref` or
        // `RefMut` is alive (an initializing entry holds no value, and its initializer has
        // returned), so no reference to the value exists.
        unsafe { std::mem::replace(&mut *self.value.get(), value) }
    }

    /// Builds the value with `init` on an empty entry; an entry with a value is left as it
    /// is. While `init` runs the entry is [`State::Initializing`], so an initializer that
    /// touches its own local is refused instead of recursing. If `init` fails or panics,
    /// the entry is empty again.
    pub(crate) fn initialize<E>(
        &self,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<Result<(), E>, AccessError> {
        match self.state.get() {
            State::Empty => {}
            State::Present => return Ok(Ok(())),
            _ => return Err(self.refusal()),
        }
        self.state.set(State::Initializing);
        let unwind = SetOnDrop(&self.state, State::Empty);
        let value = match init() {
            Ok(value) => value,
            Err(error) => return Ok(Err(error)),
        };
        std::mem::forget(unwind);
        self.replace_unborrowed(Some(value));
        self.state.set(State::Present);
        Ok(Ok(()))
    }

    /// Swaps `value` with what the entry holds, a value or none: `set`, `take` and binding.
    /// Refused while the value is borrowed or being built, and then `value` is untouched.
    #[inline]
    pub(crate) fn swap(&self, value: &mut Option<T>) -> Result<(), AccessError> {
        if !self.can_swap() {
            return Err(self.refusal());
        }
        let state = if value.is_some() {
            State::Present
        } else {
            State::Empty
        };
        *value = self.replace_unborrowed(value.take());
        self.state.set(state);
        Ok(())
    }

    /// Takes out a value that nobody borrows, the owner's or an exited thread's, leaving the
    /// entry empty: the instance's `&mut` methods, and a new owner moving aside what an
    /// exited thread left. `None` for a borrowed value, or none.
    pub(crate) fn take_unborrowed(&self) -> Option<T> {
        match self.state.get() {
            State::Present if self.borrows.get() == 0 => {}
            State::Exited => {}
            _ => return None,
        }
        self.state.set(State::Empty);
        self.replace_unborrowed(None)
    }

    /// The owner's thread is exiting: destroys its value, so that a destructor touching
    /// this local later in the thread's teardown gets [`AccessError::Destroyed`], or, with
    /// `keep`, leaves it in place as [`State::Exited`].
    pub(crate) fn destroy(&self, keep: bool) -> Destroyed<T> {
        if self.is_borrowed() {
            return Destroyed::Borrowed;
        }
        match self.state.get() {
            State::Empty => {
                self.state.set(State::Destroyed);
                Destroyed::Taken(None)
            }
            State::Present if keep => {
                self.state.set(State::Exited);
                Destroyed::Kept
            }
            State::Present => {
                self.state.set(State::Destroyed);
                Destroyed::Taken(self.replace_unborrowed(None))
            }
            State::Initializing | State::Destroyed | State::Exited => Destroyed::Taken(None),
        }
    }

    /// The exiting owner is gone: a destroyed entry is empty for the index's next thread.
    pub(crate) fn forget_destroyed(&self) {
        if self.state.get() == State::Destroyed {
            self.state.set(State::Empty);
        }
    }

    /// The value, mutably, for an `iter_mut` that holds the instance exclusively: an
    /// unborrowed value of a live thread, or one an exited thread left.
    ///
    /// # Safety
    ///
    /// For as long as the reference is used, nothing else touches the entry: the caller
    /// holds `&mut` to the instance (so the owner's accesses are out), and the owner's exit
    /// leaves the value in place meanwhile (so it neither drops nor moves it).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn value_mut(&self) -> Option<&mut T> {
        match self.state.get() {
            State::Present if self.borrows.get() == 0 => {}
            State::Exited => {}
            _ => return None,
        }
        // SAFETY: the caller's duty; these states hold a value that nothing borrows.
        unsafe { (*self.value.get()).as_mut() }
    }
}

/// A shared borrow of an entry's value; ends when dropped, also on unwind.
pub(crate) struct Ref<'a, T> {
    value: &'a T,
    borrows: &'a Cell<Borrows>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> Drop for Ref<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.borrows.set(self.borrows.get() - 1);
    }
}

/// A mutable borrow of an entry's value; ends when dropped, also on unwind.
pub(crate) struct RefMut<'a, T> {
    value: &'a mut T,
    borrows: &'a Cell<Borrows>,
}

impl<T> Deref for RefMut<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> DerefMut for RefMut<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

impl<T> Drop for RefMut<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.borrows.set(0);
    }
}

/// Sets a state when dropped, also on unwind: an initializer's unwind leaves the entry
/// empty.
pub(crate) struct SetOnDrop<'a, S: Copy>(pub(crate) &'a Cell<S>, pub(crate) S);

impl<S: Copy> Drop for SetOnDrop<'_, S> {
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
        assert_eq!(entry.initialize(|| Ok::<_, ()>(1u8)), Ok(Ok(())));
        let inner = entry.read(|_| {
            assert_eq!(entry.read(|v| *v), Ok(1));
            entry.write(|_| ())
        });
        assert_eq!(inner, Ok(Err(AccessError::Borrowed)));
        assert_eq!(entry.write(|v| std::mem::replace(v, 2)), Ok(1));
        let mut taken = None;
        assert_eq!(entry.swap(&mut taken), Ok(()));
        assert_eq!((taken, entry.state()), (Some(2), State::Empty));
        assert!(!entry.is_borrowed());
    }

    #[test]
    fn a_refused_swap_leaves_the_value_with_the_caller() {
        let entry = Entry::new();
        entry.initialize(|| Ok::<_, ()>(1u8)).unwrap().unwrap();
        let mut bound = Some(5);
        entry
            .read(|_| assert_eq!(entry.swap(&mut bound), Err(AccessError::Borrowed)))
            .unwrap();
        assert_eq!(bound, Some(5));
        entry.swap(&mut bound).unwrap();
        assert_eq!((bound, entry.read(|v| *v)), (Some(1), Ok(5)));
    }

    #[test]
    fn an_initializer_that_fails_or_unwinds_leaves_the_entry_empty() {
        let entry = Entry::<u8>::new();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = entry.initialize(|| -> Result<u8, ()> {
                assert_eq!(entry.state(), State::Initializing);
                panic!("no value")
            });
        }));
        assert!(unwound.is_err());
        assert_eq!(entry.state(), State::Empty);
        assert_eq!(
            entry.initialize(|| Err::<u8, _>("refused")),
            Ok(Err("refused"))
        );
        assert_eq!(entry.state(), State::Empty);
    }

    #[test]
    fn a_destroyed_entry_refuses_until_forgotten() {
        let entry = Entry::new();
        entry.swap(&mut Some(5u8)).unwrap();
        assert!(matches!(entry.destroy(false), Destroyed::Taken(Some(5))));
        assert_eq!(entry.read(|_| ()), Err(AccessError::Destroyed));
        assert_eq!(
            entry.initialize(|| Ok::<_, ()>(6)),
            Err(AccessError::Destroyed)
        );
        entry.forget_destroyed();
        assert_eq!(entry.initialize(|| Ok::<_, ()>(6)), Ok(Ok(())));
    }

    #[test]
    fn a_kept_value_is_left_for_the_instance_and_nobody_reads_it() {
        let entry = Entry::new();
        entry.swap(&mut Some(5u8)).unwrap();
        assert!(matches!(entry.destroy(true), Destroyed::Kept));
        assert_eq!(entry.read(|_| ()), Err(AccessError::Destroyed));
        assert!(!entry.has_value());
        assert_eq!(entry.take_unborrowed(), Some(5));
        assert_eq!(entry.state(), State::Empty);
    }

    #[test]
    fn a_borrowed_value_survives_its_owners_exit() {
        let entry = Entry::new();
        entry.swap(&mut Some(5u8)).unwrap();
        entry
            .read(|value| {
                assert!(matches!(entry.destroy(false), Destroyed::Borrowed));
                assert_eq!(*value, 5);
            })
            .unwrap();
    }
}
