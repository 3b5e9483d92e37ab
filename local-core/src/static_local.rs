use std::fmt;

use crate::AccessError;
use crate::identity::Membership;
use crate::table::{Local, Table, or_fail};

/// The storage of one `#[thread_local_struct]`: a per-thread table in a `static`.
///
/// Not public API: the attribute's expansion is its only user. Every method takes
/// `&'static self`, so the registry's pointer to the table can never dangle.
#[doc(hidden)]
pub struct StaticLocal<T> {
    table: Table<T>,
    init: fn() -> T,
}

// SAFETY: a `StaticLocal` is never dropped and has no `&mut` or iterating methods, so a
// value is only ever touched by the thread that owns it: created, borrowed and taken in
// that thread's calls, and dropped by that thread's exit path (`Table::release`, run from
// its own thread-local destructor). So `T` need be neither `Send` nor `Sync`: a struct
// holding an `Rc` works per thread, as `std::thread_local!` allows.
unsafe impl<T> Sync for StaticLocal<T> {}

impl<T> StaticLocal<T> {
    /// Storage whose threads each start from `init()`.
    pub const fn new(init: fn() -> T) -> Self {
        StaticLocal {
            table: Table::new(),
            init,
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

    fn membership(&self) -> Membership {
        unsafe fn release<T>(table: *const (), id: usize) {
            // SAFETY: `table` points into a `StaticLocal<T>` that lives for `'static`.
            unsafe { &*table.cast::<Table<T>>() }.release(id);
        }
        // Nothing is counted: the table lives for `'static`.
        unsafe fn forget(_: *const ()) {}
        let table = std::ptr::from_ref(&self.table).cast::<()>();
        // SAFETY: the table is `'static`, so holding its address needs no count, and
        // `release` runs on `id`'s own thread (`Table::release`).
        unsafe { Membership::new(table, release::<T>, forget) }
    }
}

impl<T> fmt::Debug for StaticLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticLocal").finish_non_exhaustive()
    }
}
