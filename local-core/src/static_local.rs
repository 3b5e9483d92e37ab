use std::fmt;

use crate::AccessError;
use crate::identity::{self, Membership};
use crate::table::{Local, Table, or_fail};

/// The storage of one `#[thread_local_struct]`: a per-thread table in a `static`.
///
/// Not public API: the attribute's expansion is its only user. Every method takes
/// `&'static self`, so the registry's pointer to the table can never dangle.
#[doc(hidden)]
pub struct StaticLocal<T> {
    table: Table<T>,
    init: fn() -> T,
    /// Whether `T` is `Send`, decided by the expansion for its concrete type.
    is_send: fn() -> bool,
    /// Read with the thread's own identity, whatever context runs.
    per_thread: bool,
    /// Copied into contexts made by `Context::inherit`.
    inherit: Option<fn(&T) -> T>,
}

// SAFETY: a `StaticLocal` is never dropped and has no `&mut` or iterating methods, so a
// value is only ever touched by the owner of its identity. A thread's values are created,
// borrowed and taken in that thread's calls and dropped by its own exit path. A context,
// which may move between threads, is refused values whose type is not `Send` (`admit`,
// from `is_send`), and a scope never leaves its thread. So `T` need be neither `Send` nor
// `Sync`: a struct holding an `Rc` works per thread, as `std::thread_local!` allows.
unsafe impl<T> Sync for StaticLocal<T> {}

/// How the expansion configures a [`StaticLocal`].
#[doc(hidden)]
#[derive(Debug)]
pub struct StaticOptions<T> {
    /// Whether `T: Send`, decided by the expansion for its concrete type.
    pub is_send: fn() -> bool,
    /// `#[thread_local_struct(per_thread)]`: one value per OS thread, whatever context runs.
    pub per_thread: bool,
    /// `#[thread_local_struct(inherit)]`: `Context::inherit()` copies the value with it.
    pub inherit: Option<fn(&T) -> T>,
}

impl<T> StaticLocal<T> {
    /// Storage whose threads each start from `init()`.
    pub const fn new(init: fn() -> T, options: StaticOptions<T>) -> Self {
        StaticLocal {
            table: Table::new(),
            init,
            is_send: options.is_send,
            per_thread: options.per_thread,
            inherit: options.inherit,
        }
    }
}

impl<T: 'static> StaticLocal<T> {
    #[inline]
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        or_fail::<T, _>(Local::try_with(&self, f))
    }

    #[inline]
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        Local::try_with(&self, f)
    }

    #[inline]
    #[track_caller]
    pub fn with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        or_fail::<T, _>(Local::try_with_mut(&self, f))
    }

    #[inline]
    pub fn try_with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        Local::try_with_mut(&self, f)
    }

    #[track_caller]
    pub fn set(&'static self, value: T) {
        Local::set(&self, value);
    }

    #[track_caller]
    pub fn replace(&'static self, value: T) -> T {
        self.with_mut(|old| std::mem::replace(old, value))
    }

    #[track_caller]
    pub fn take(&'static self) -> Option<T> {
        Local::take(&self)
    }

    pub fn is_initialized(&'static self) -> bool {
        Local::is_initialized(&self)
    }
}

impl<T: 'static> Local for &'static StaticLocal<T> {
    type Value = T;

    #[inline(always)]
    fn table(&self) -> &Table<T> {
        &self.table
    }

    fn init(&self) -> T {
        (self.init)()
    }

    #[inline(always)]
    fn slot(&self) -> identity::Slot {
        identity::slot(self.per_thread)
    }

    fn identity_or_register(&self) -> Result<usize, AccessError> {
        if self.per_thread {
            identity::root_or_register()
        } else {
            identity::current_or_register()
        }
    }

    fn admit(&self) -> Result<(), AccessError> {
        if !self.per_thread && identity::current_is_movable() && !(self.is_send)() {
            return Err(AccessError::NotSend);
        }
        Ok(())
    }

    fn membership(&self) -> Membership {
        unsafe fn release<T: 'static>(local: *const (), id: usize) {
            // SAFETY: `local` is a `&'static StaticLocal<T>` (see below).
            let local = unsafe { &*local.cast::<StaticLocal<T>>() };
            local.table.release(id);
        }
        unsafe fn inherit<T: 'static>(local: *const (), _from: usize, to: usize) {
            // SAFETY: `local` is a `&'static StaticLocal<T>` (see below).
            let local: &'static StaticLocal<T> = unsafe { &*local.cast::<StaticLocal<T>>() };
            if let Some(clone) = local.inherit {
                local.copy_into(to, clone);
            }
        }
        // Nothing is counted: the storage lives for `'static`.
        unsafe fn forget(_: *const ()) {}
        let local = std::ptr::from_ref::<StaticLocal<T>>(self).cast::<()>();
        // SAFETY: the storage is `'static`, so holding its address needs no count;
        // `release` and `inherit` are called by the identity's owner (`Table::release`,
        // `copy_into`).
        let membership = unsafe { Membership::new(local, release::<T>, forget) };
        if self.inherit.is_some() {
            // SAFETY: as above; the storage lives for the rest of the program.
            unsafe { membership.with_inherit(inherit::<T>) }
        } else {
            membership
        }
    }
}

impl<T: 'static> StaticLocal<T> {
    /// Gives the new identity `to` a clone of this thread's current value, if it has one.
    fn copy_into(&'static self, to: usize, clone: fn(&T) -> T) {
        if !Local::is_initialized(&self) {
            return;
        }
        let value = or_fail::<T, _>(Local::try_with(&self, clone));
        Local::store_new(&self, to, value);
    }
}

impl<T> fmt::Debug for StaticLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticLocal").finish_non_exhaustive()
    }
}

/// Tells whether a concrete type is `Send`, for the expansion: autoref specialization.
/// `(&&SendProbe::<T>::NEW).is_send()` finds [`ProbeSend`] on `&&SendProbe<T>` when
/// `T: Send`, and otherwise derefs once to [`ProbeNotSend`] on `&SendProbe<T>`.
#[doc(hidden)]
#[derive(Debug)]
pub struct SendProbe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> SendProbe<T> {
    pub const NEW: Self = SendProbe(std::marker::PhantomData);
}

#[doc(hidden)]
pub trait ProbeSend {
    fn is_send(&self) -> bool {
        true
    }
}

impl<T: Send> ProbeSend for &SendProbe<T> {}

#[doc(hidden)]
pub trait ProbeNotSend {
    fn is_send(&self) -> bool {
        false
    }
}

impl<T> ProbeNotSend for SendProbe<T> {}
