//! The part of an instance that threads reach (`ThreadLocal`'s and `SharedThreadLocal`'s
//! table): allocated on the first touch, and anchored on the heap (`anchor.rs`), shared
//! with the lists of the threads that hold a value in it, so that a thread's exit can
//! still reach it after the instance is gone.

use std::ptr::{self, NonNull};

use crate::anchor::{Anchor, Counted, Recycle};
use crate::sync::{AtomicPtr, Ordering};

pub(crate) struct LazyTable<T> {
    /// Null until the first touch, then the instance's own anchor of the table, from
    /// [`Anchor::into_raw`]; given back only by [`take`](Self::take).
    table: AtomicPtr<Counted<T>>,
}

impl<T: Recycle> LazyTable<T> {
    pub(crate) const fn new() -> Self {
        LazyTable {
            table: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The table, if a thread touched the instance: the fast path.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&T> {
        let table = NonNull::new(self.table.load(Ordering::Acquire))?;
        // SAFETY: a non-null pointer is the instance's own anchor of the table, given back
        // only by `take`, which needs `&mut self`.
        Some(unsafe { Anchor::value_of(table) })
    }

    /// The table, made by `make` on the first touch. Threads touching at once may each
    /// make one: the first installed is kept, the others dropped.
    #[cold]
    pub(crate) fn get_or_init(&self, make: impl FnOnce() -> Anchor<T>) -> &T {
        if let Some(table) = self.get() {
            return table;
        }
        let fresh = make().into_raw();
        let installed = match self.table.compare_exchange(
            ptr::null_mut(),
            fresh.as_ptr(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(installed) => {
                // SAFETY: `fresh` came from `into_raw` just above and was never shared.
                drop(unsafe { Anchor::from_raw(fresh) });
                // SAFETY: the failed exchange read a non-null pointer.
                unsafe { NonNull::new_unchecked(installed) }
            }
        };
        // SAFETY: installed, so anchored by the instance until `take`.
        unsafe { Anchor::value_of(installed) }
    }

    /// A counted reference to the table, for a thread's list of members.
    ///
    /// # Panics
    ///
    /// If no table was made yet: a thread joins an instance only after touching it.
    pub(crate) fn counted(&self) -> Anchor<T> {
        let table = NonNull::new(self.table.load(Ordering::Acquire))
            .expect("the table exists before a thread joins it");
        // SAFETY: the instance's anchor, from `into_raw` and held until `take`, which needs
        // `&mut self`: one more count.
        unsafe { Anchor::counted_from_raw(table) }
    }

    /// The instance's own anchor of the table, for its `Drop`: the table is left to the
    /// threads' lists, which keep it until they exit or sweep it.
    pub(crate) fn take(&mut self) -> Option<Anchor<T>> {
        let table = std::mem::replace(self.table.get_mut(), ptr::null_mut());
        // SAFETY: a non-null pointer is the instance's own anchor, from `into_raw` in
        // `get_or_init`; replaced by null above, so given back once.
        NonNull::new(table).map(|table| unsafe { Anchor::from_raw(table) })
    }
}
