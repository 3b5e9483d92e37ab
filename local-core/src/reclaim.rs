//! When a value that readers may be looking at can be dropped: the deferred freeing of
//! `SharedThreadLocal`, whose readers walk every thread's value while threads exit.
//!
//! # The protocol
//!
//! A thread's exit first takes its value out of sight (`shared_slot.rs`): a reader that
//! starts after that cannot reach it. What is left is the readers that started before.
//! Readers count themselves in one of two slots, the one the current *phase* names; the
//! value is *retired* in the phase current when it was taken out of sight, and:
//!
//! 1. once the readers of the other slot are gone, the phase moves on, so readers that
//!    start from then on count in the other slot;
//! 2. once the readers of the value's own slot are gone too, it is dropped.
//!
//! Why this is enough. A reader that could see the value loaded a pointer to it after
//! counting itself and before the value went out of sight. At step 1 the other slot is
//! empty, so every such reader still reading counts in the value's slot; a reader that
//! counts itself after step 1 (in either slot) started after the value went out of sight.
//! So when the value's slot empties, no reader that could see it is left. A reader that
//! read the phase before a move and counts itself after it lands in the old slot, and only
//! delays a step.
//!
//! Why memory stays bounded. A value waits for readers that were there when it was
//! retired, and for nothing else: each phase lasts until the readers counted in it are
//! gone, so readers that overlap, or a reader that takes its next guard before dropping the
//! last, keep at most two phases of values alive, never the whole history. (A single
//! reader that is never dropped keeps what retires while it lives: a leaked guard is
//! forgotten by the instance's next `&mut` method, [`Reclaim::reset`], and `iter_mut`'s
//! reader by the instance's next access, [`Reclaim::release`].)
//!
//! Both sides are a store followed by a load of what the other side stores (a reader counts
//! itself, then loads pointers; an exit takes a pointer out of sight, then loads the
//! counts), so each has a `SeqCst` fence between the two: at least one of them sees the
//! other's store. Loom checks the protocol with those fences (it models `SeqCst` fences,
//! not the total order of `SeqCst` accesses). The moves and drops happen under a lock that
//! readers never take to read, only to drop what they were the last to hold back.

use std::mem;

use crate::sync::{AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering::SeqCst, fence, lock};

pub(crate) struct Reclaim<T> {
    /// The phase readers count themselves in now; its parity names their slot.
    phase: AtomicUsize,
    readers: [AtomicUsize; 2],
    retired: Mutex<Retired<T>>,
    /// Something is retired: a reader that empties a slot takes the lock only then.
    any_retired: AtomicBool,
    /// A reader is held for an `iter_mut` (see [`hold`](Self::hold)).
    any_held: AtomicBool,
}

struct Retired<T> {
    /// Retired in the phase before the current one: dropped once its slot empties.
    older: Vec<T>,
    /// Retired in the current phase.
    newer: Vec<T>,
    /// The slot of the reader held for an `iter_mut`.
    held: Option<usize>,
}

/// A reader: while it lives, no value retired after it counted itself is dropped.
#[must_use]
pub(crate) struct Reader<'a, T> {
    reclaim: &'a Reclaim<T>,
    slot: usize,
}

impl<T> Reclaim<T> {
    pub(crate) fn new() -> Self {
        Reclaim {
            phase: AtomicUsize::new(0),
            readers: [AtomicUsize::new(0), AtomicUsize::new(0)],
            retired: Mutex::new(Retired {
                older: Vec::new(),
                newer: Vec::new(),
                held: None,
            }),
            any_retired: AtomicBool::new(false),
            any_held: AtomicBool::new(false),
        }
    }

    /// Counts a reader, for as long as the token lives; load pointers after this.
    pub(crate) fn read(&self) -> Reader<'_, T> {
        let slot = self.phase.load(SeqCst) % 2;
        self.readers[slot].fetch_add(1, SeqCst);
        fence(SeqCst);
        Reader {
            reclaim: self,
            slot,
        }
    }

    /// Drops `value`, already out of sight, once no reader can be looking at it. Returns
    /// what may be dropped now, for the caller to drop outside any lock of its own.
    #[must_use]
    pub(crate) fn retire(&self, value: T) -> Vec<T> {
        let mut retired = lock(&self.retired);
        retired.newer.push(value);
        self.any_retired.store(true, SeqCst);
        self.collect(&mut retired)
    }

    /// Moves the phase on and takes out what may be dropped, as far as the readers allow.
    /// Under the lock, so that a reader that empties a slot and a retire do not both miss
    /// the other (see [`Reader`]'s `drop`).
    fn collect(&self, retired: &mut MutexGuard<'_, Retired<T>>) -> Vec<T> {
        // After a retire's unlinking and `any_retired`, before the counts (module docs).
        fence(SeqCst);
        let mut free = Vec::new();
        loop {
            let phase = self.phase.load(SeqCst);
            // The slot of the phase before, which is also the one the next phase counts in.
            if self.readers[(phase + 1) % 2].load(SeqCst) != 0 {
                break;
            }
            free.append(&mut retired.older);
            if retired.newer.is_empty() {
                break;
            }
            self.phase.store(phase + 1, SeqCst);
            retired.older = mem::take(&mut retired.newer);
        }
        if retired.older.is_empty() && retired.newer.is_empty() {
            self.any_retired.store(false, SeqCst);
        }
        free
    }

    /// Counts a reader that no token ends: `iter_mut`'s, whose references live as long as
    /// the instance's `&mut` borrow, which ends unseen. The next access to the instance
    /// proves it over: [`release`](Self::release) or [`reset`](Self::reset) ends it.
    #[cfg_attr(loom, allow(dead_code))] // `shared.rs` is not built under loom
    pub(crate) fn hold(&self) {
        let reader = self.read();
        let slot = reader.slot;
        mem::forget(reader);
        lock(&self.retired).held = Some(slot);
        self.any_held.store(true, SeqCst);
    }

    /// Ends a held reader, if there is one; returns what may be dropped now. Call only with
    /// `&` to the instance, which proves that the `&mut` borrow of the held reader is over.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn release(&self) -> Vec<T> {
        if !self.any_held.load(SeqCst) {
            return Vec::new();
        }
        let mut retired = lock(&self.retired);
        self.any_held.store(false, SeqCst);
        match retired.held.take() {
            Some(slot) => {
                self.readers[slot].fetch_sub(1, SeqCst);
                self.collect(&mut retired)
            }
            None => Vec::new(),
        }
    }

    /// Everything retired, for the instance's `&mut` methods, which exclude every reader:
    /// the counts start again from zero, forgetting readers that were held or leaked.
    pub(crate) fn reset(&self) -> Vec<T> {
        let mut retired = lock(&self.retired);
        for readers in &self.readers {
            readers.store(0, SeqCst);
        }
        retired.held = None;
        self.any_held.store(false, SeqCst);
        self.any_retired.store(false, SeqCst);
        let mut free = mem::take(&mut retired.older);
        free.append(&mut retired.newer);
        free
    }
}

impl<T> Reader<'_, T> {
    /// Leaves, returning what may be dropped now that this reader is gone.
    #[must_use]
    pub(crate) fn leave(self) -> Vec<T> {
        let (reclaim, slot) = (self.reclaim, self.slot);
        mem::forget(self);
        // A fence on both sides: either a retire's `collect` sees this slot empty, or this
        // sees its `any_retired` and collects after it.
        if reclaim.readers[slot].fetch_sub(1, SeqCst) != 1 {
            return Vec::new();
        }
        fence(SeqCst);
        if !reclaim.any_retired.load(SeqCst) {
            return Vec::new();
        }
        reclaim.collect(&mut lock(&reclaim.retired))
    }
}

impl<T> Drop for Reader<'_, T> {
    /// Only on unwind: [`leave`](Reader::leave) is the way out. Nothing is dropped then;
    /// what waited for this reader goes with the next reader out or the next retire.
    fn drop(&mut self) {
        self.reclaim.readers[self.slot].fetch_sub(1, SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_value_waits_for_the_readers_before_it_and_no_others() {
        let reclaim = Reclaim::new();
        let first = reclaim.read();
        assert!(reclaim.retire(1).is_empty(), "a reader may see it");
        let second = reclaim.read(); // started after: cannot see 1
        assert_eq!(first.leave(), [1]);
        assert!(reclaim.retire(2).is_empty(), "the second reader may see it");
        let third = reclaim.read();
        assert_eq!(second.leave(), [2]);
        assert!(third.leave().is_empty());
        assert_eq!(reclaim.retire(3), [3], "no reader left");
    }

    #[test]
    fn a_held_reader_holds_until_released() {
        let reclaim = Reclaim::new();
        reclaim.hold();
        assert!(reclaim.retire(1).is_empty());
        assert_eq!(reclaim.release(), [1]);
        assert!(reclaim.release().is_empty());
        assert_eq!(reclaim.retire(2), [2]);
    }

    #[test]
    fn leaked_readers_are_forgotten_by_reset() {
        let reclaim = Reclaim::new();
        mem::forget(reclaim.read());
        assert!(reclaim.retire(1).is_empty());
        assert_eq!(reclaim.reset(), [1]);
        assert_eq!(reclaim.retire(2), [2]);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::{Arc, AtomicPtr};
    use loom::thread;

    /// A value that knows whether it was dropped.
    struct Value(Arc<AtomicBool>);

    impl Drop for Value {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }

    /// Takes `published` out of sight and retires it, as an exit does.
    fn unpublish(published: &AtomicPtr<Value>, reclaim: &Reclaim<Box<Value>>) {
        let old = published.swap(std::ptr::null_mut(), SeqCst);
        if !old.is_null() {
            // SAFETY: out of sight just above; only this thread owns it now.
            drop(reclaim.retire(unsafe { Box::from_raw(old) }));
        }
    }

    /// Checks `published` as a counted reader does: it was not dropped.
    fn check(published: &AtomicPtr<Value>) {
        let value = published.load(SeqCst);
        // SAFETY: the callers count themselves as readers first: a value retired since
        // waits for them.
        if let Some(value) = unsafe { value.as_ref() } {
            assert!(!value.0.load(SeqCst), "read after drop");
        }
    }

    /// Reads `published` as a reader does.
    fn read(published: &AtomicPtr<Value>, reclaim: &Reclaim<Box<Value>>) {
        let reader = reclaim.read();
        check(published);
        drop(reader.leave());
    }

    /// Two readers against an exit: neither sees the value dropped, and it is dropped
    /// exactly once, by one of them or the exit.
    #[test]
    fn readers_never_see_a_retired_value_dropped() {
        loom::model(|| {
            let dropped = Arc::new(AtomicBool::new(false));
            let value = Box::into_raw(Box::new(Value(Arc::clone(&dropped))));
            let published = Arc::new(AtomicPtr::new(value));
            let reclaim = Arc::new(Reclaim::new());

            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (published, reclaim) = (Arc::clone(&published), Arc::clone(&reclaim));
                    thread::spawn(move || read(&published, &reclaim))
                })
                .collect();
            unpublish(&published, &reclaim);
            for reader in readers {
                reader.join().unwrap();
            }
            assert!(
                dropped.load(SeqCst),
                "never dropped: the last reader out drops it"
            );
        });
    }

    /// A reader that overlaps its own next read, against two exits: each value is dropped
    /// once the readers that could see it are gone, and never before.
    #[test]
    fn overlapping_readers_let_values_go() {
        loom::model(|| {
            let drops: Vec<Arc<AtomicBool>> = (0..2).map(|_| Arc::default()).collect();
            let published: Arc<Vec<AtomicPtr<Value>>> = Arc::new(
                drops
                    .iter()
                    .map(|dropped| {
                        AtomicPtr::new(Box::into_raw(Box::new(Value(Arc::clone(dropped)))))
                    })
                    .collect(),
            );
            let reclaim = Arc::new(Reclaim::new());

            let exits = thread::spawn({
                let (published, reclaim) = (Arc::clone(&published), Arc::clone(&reclaim));
                move || {
                    for value in published.iter() {
                        unpublish(value, &reclaim);
                    }
                }
            });
            let first = reclaim.read();
            published.iter().for_each(check);
            let second = reclaim.read();
            drop(first.leave());
            published.iter().for_each(check);
            drop(second.leave());
            exits.join().unwrap();
            // Every reader is gone: the last retire or reader out dropped everything.
            for dropped in &drops {
                assert!(dropped.load(SeqCst), "kept with no reader left");
            }
        });
    }
}
