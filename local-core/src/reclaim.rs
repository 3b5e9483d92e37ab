//! Values that an exiting thread takes out of sight while other threads may still be
//! reading them: dropped only once no reader that could have seen them is left.
//!
//! A reader announces itself (`readers + 1`) before it loads any pointer, and leaves
//! after its last use. A thread that retires a value has unpublished it first (swapped its
//! pointer out). Both then pass a `SeqCst` fence (the store-buffering pattern): either the
//! retiring thread sees the reader counted, or the reader's loads see the value gone. So if
//! the retiring thread sees no reader, none can hold the pointer, and the value is dropped
//! at once. Otherwise it is parked, and whoever sees the count at zero, under the lock,
//! drops what is parked. A stream of readers that always overlap keeps parked values until
//! the first gap.

use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, fence, lock};

pub(crate) struct Reclaim<T> {
    readers: AtomicUsize,
    parked: Mutex<Vec<T>>,
    /// Something may be parked: the last reader out takes the lock only then.
    any_parked: AtomicBool,
}

impl<T> Reclaim<T> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Reclaim {
            readers: AtomicUsize::new(0),
            parked: Mutex::new(Vec::new()),
            any_parked: AtomicBool::new(false),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Reclaim {
            readers: AtomicUsize::new(0),
            parked: Mutex::new(Vec::new()),
            any_parked: AtomicBool::new(false),
        }
    }

    /// Announces a reader, for as long as the token lives; load pointers after this.
    pub(crate) fn read(&self) -> Reader<'_, T> {
        self.readers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        Reader(self)
    }

    /// Drops `value`, already unpublished, once no reader can be looking at it. Returns
    /// what may be dropped now, for the caller to drop outside any lock of its own.
    #[must_use]
    pub(crate) fn retire(&self, value: T) -> Vec<T> {
        fence(Ordering::SeqCst);
        if self.readers.load(Ordering::SeqCst) == 0 {
            return vec![value];
        }
        let mut parked = lock(&self.parked);
        parked.push(value);
        self.any_parked.store(true, Ordering::SeqCst);
        self.collect(&mut parked)
    }

    /// Everything parked, if no reader is left: with the lock held, so that a reader's
    /// exit and a retire do not both miss the count's zero.
    fn collect(&self, parked: &mut Vec<T>) -> Vec<T> {
        if self.readers.load(Ordering::SeqCst) == 0 {
            self.any_parked.store(false, Ordering::SeqCst);
            std::mem::take(parked)
        } else {
            Vec::new()
        }
    }

    /// Everything parked, for `&mut` paths (no reader can exist).
    pub(crate) fn drain(&self) -> Vec<T> {
        std::mem::take(&mut *lock(&self.parked))
    }
}

/// A reader: while it lives, no value retired after it announced itself is dropped.
pub(crate) struct Reader<'a, T>(&'a Reclaim<T>);

impl<T> Reader<'_, T> {
    /// Leaves, returning what the last reader out may drop now (outside the lock).
    #[must_use]
    pub(crate) fn leave(self) -> Vec<T> {
        let reclaim = self.0;
        std::mem::forget(self);
        if reclaim.readers.fetch_sub(1, Ordering::SeqCst) != 1 {
            return Vec::new();
        }
        // Without a fence, this and `retire`'s check of the count may both miss the other:
        // the value then stays parked until the next reader out or a `&mut` path, never
        // dropped early.
        if !reclaim.any_parked.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let mut parked = lock(&reclaim.parked);
        reclaim.collect(&mut parked)
    }
}

impl<T> Drop for Reader<'_, T> {
    fn drop(&mut self) {
        // Only on unwind: `leave` is the normal way out. Nothing is dropped then; what is
        // parked goes to the next reader out.
        self.0.readers.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use crate::sync::{Arc, AtomicPtr};
    use loom::thread;

    /// A value that knows whether it was dropped.
    struct Value(Arc<AtomicBool>);

    impl Drop for Value {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A reader against an exit that unpublishes and retires: the reader never sees a
    /// dropped value, and the value is dropped exactly once, by one of them.
    #[test]
    fn a_reader_never_sees_a_retired_value_dropped() {
        loom::model(|| {
            let dropped = Arc::new(AtomicBool::new(false));
            let published = Arc::new(AtomicPtr::new(Box::into_raw(Box::new(Value(Arc::clone(
                &dropped,
            ))))));
            let reclaim = Arc::new(Reclaim::new());

            let reader = thread::spawn({
                let (published, reclaim) = (Arc::clone(&published), Arc::clone(&reclaim));
                move || {
                    let token = reclaim.read();
                    let value = published.load(Ordering::SeqCst);
                    if !value.is_null() {
                        // SAFETY: loaded after announcing; retired values wait for us.
                        let value = unsafe { &*value };
                        assert!(!value.0.load(Ordering::SeqCst), "read after drop");
                    }
                    drop(token.leave());
                }
            });

            let old = published.swap(std::ptr::null_mut(), Ordering::SeqCst);
            // SAFETY: unpublished just above; only the exit owns it now.
            let old = unsafe { Box::from_raw(old) };
            drop(reclaim.retire(old));

            reader.join().unwrap();
            drop(reclaim.drain());
            assert!(dropped.load(Ordering::SeqCst), "never dropped");
        });
    }
}
