//! The part of an instance that threads reach (`ThreadLocal`'s and `SharedThreadLocal`'s
//! table): allocated on the first touch, and shared by `Arc` with the lists of the threads
//! that hold a value in it, so that a thread's exit can still reach it after the instance
//! is gone.

use std::ptr;

use crate::sync::{Arc, AtomicPtr, Ordering};

pub(crate) struct LazyTable<T> {
    /// Null until the first touch, then the instance's own `Arc` count of the table, from
    /// `Arc::into_raw`; given back only by [`take`](Self::take).
    table: AtomicPtr<T>,
}

impl<T> LazyTable<T> {
    pub(crate) const fn new() -> Self {
        LazyTable {
            table: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The table, if a thread touched the instance: the fast path.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&T> {
        // SAFETY: a non-null pointer is the instance's own count of the table, given back
        // only by `take`, which needs `&mut self`.
        unsafe { self.table.load(Ordering::Acquire).as_ref() }
    }

    /// The table, made by `make` on the first touch. Threads touching at once may each
    /// make one: the first installed is kept, the others dropped.
    #[cold]
    pub(crate) fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        if let Some(table) = self.get() {
            return table;
        }
        let fresh = Arc::into_raw(Arc::new(make()));
        let installed = match self.table.compare_exchange(
            ptr::null_mut(),
            fresh.cast_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(installed) => {
                // SAFETY: `fresh` came from `Arc::into_raw` just above and was never shared.
                drop(unsafe { Arc::from_raw(fresh) });
                installed
            }
        };
        // SAFETY: installed, so counted by the instance until `take`.
        unsafe { &*installed }
    }

    /// A counted reference to the table, for a thread's list of members.
    ///
    /// # Panics
    ///
    /// If no table was made yet: a thread joins an instance only after touching it.
    pub(crate) fn counted(&self) -> Arc<T> {
        // The pointer from `Arc::into_raw`, whose provenance covers the counts too.
        let table = self.table.load(Ordering::Acquire).cast_const();
        assert!(
            !table.is_null(),
            "the table exists before a thread joins it"
        );
        // SAFETY: the instance's table, from `Arc::into_raw` and still counted by the
        // instance (`take` needs `&mut self`): one more count, given to the new `Arc`.
        unsafe {
            Arc::increment_strong_count(table);
            Arc::from_raw(table)
        }
    }

    /// The instance's own count of the table, for its `Drop`: the table is left to the
    /// threads' lists, which keep it until they exit or sweep it.
    pub(crate) fn take(&mut self) -> Option<Arc<T>> {
        let table = std::mem::replace(self.table.get_mut(), ptr::null_mut());
        // SAFETY: a non-null pointer is the instance's own count, from `Arc::into_raw` in
        // `get_or_init`; replaced by null above, so given back once.
        (!table.is_null()).then(|| unsafe { Arc::from_raw(table) })
    }
}
