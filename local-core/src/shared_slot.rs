//! One thread index's values in a `SharedThreadLocal`: the current owner's at the head of a
//! list and, with `retain_on_exit`, earlier owners' below it. Other threads walk the list
//! while the owner runs, so every step here is atomic, and nodes never move: the owner
//! publishes its node at the head, its exit unlinks it (unless kept), and only `&mut`
//! paths take the list apart. A walk therefore sees each value at most once.

use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, CachePadded, Ordering};

/// A value on cache lines of its own: a worker's writes never slow another's reads.
pub(crate) type Node<T> = CachePadded<Link<T>>;

pub(crate) struct Link<T> {
    pub(crate) value: T,
    /// Set before the node is published, never changed after.
    next: *mut Node<T>,
}

pub(crate) struct SharedSlot<T> {
    head: AtomicPtr<Node<T>>,
    /// The owner's node: set by the owner, cleared by its exit and by `&mut` paths (which
    /// may race with the exit: hence an atomic). Dereferenced by the owner only.
    mine: AtomicPtr<Node<T>>,
}

impl<T> SharedSlot<T> {
    pub(crate) fn new() -> Self {
        SharedSlot {
            head: AtomicPtr::new(ptr::null_mut()),
            mine: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The owner's value, if it has one.
    ///
    /// # Safety
    ///
    /// - Called by the slot's owner, which holds `&` to the instance (so no `&mut` path
    ///   runs) and is not exiting past this slot's `unpublish`.
    #[inline(always)]
    #[cfg_attr(loom, allow(dead_code))] // `shared.rs` is not built under loom
    pub(crate) unsafe fn mine(&self) -> Option<&T> {
        // SAFETY: the owner's node lives until its exit or a `&mut` path, both excluded by
        // the caller's duty; `Relaxed` suffices, the owner wrote it.
        Some(unsafe { &self.mine.load(Ordering::Relaxed).as_ref()?.0.value })
    }

    /// The owner publishes its value.
    ///
    /// # Safety
    ///
    /// - Called by the slot's owner, which has no value published yet and holds `&` to
    ///   the instance.
    pub(crate) unsafe fn publish(&self, value: T) {
        let node = Box::into_raw(Box::new(CachePadded(Link {
            value,
            // Values of earlier owners, kept: below ours.
            next: self.head.load(Ordering::Acquire),
        })));
        self.head.store(node, Ordering::Release);
        self.mine.store(node, Ordering::Relaxed);
    }

    /// The owner's exit: without `keep`, takes its node out of sight and returns it for the
    /// caller to retire (readers may still hold it); with `keep`, leaves it in the list.
    /// `None` if there is nothing to retire (no value, kept, or a `&mut` path took it).
    ///
    /// # Safety
    ///
    /// - Called by the slot's owner thread, at its exit, once.
    pub(crate) unsafe fn unpublish(&self, keep: bool) -> Option<Retired<T>> {
        let mine = self.mine.swap(ptr::null_mut(), Ordering::Relaxed);
        if mine.is_null() || keep {
            return None;
        }
        // Without `keep` the list holds the owner's node alone (earlier owners unlinked
        // theirs), so the head is `mine` unless a `&mut` path took the list; `mine` is not
        // dereferenced before the exchange says it is still ours.
        self.head
            .compare_exchange(mine, ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        // Not a `Box` yet: readers may still hold references to it, which a `Box` (unique)
        // would invalidate. It becomes one when it is dropped, once none can.
        NonNull::new(mine).map(Retired)
    }

    /// Every value in the list, for `&mut` paths: readers and owner accesses are out, an
    /// exit may race (and then finds its node gone).
    pub(crate) fn take_all(&self) -> Vec<T> {
        self.mine.store(ptr::null_mut(), Ordering::Relaxed);
        let mut node = self.head.swap(ptr::null_mut(), Ordering::SeqCst);
        let mut values = Vec::new();
        while !node.is_null() {
            // SAFETY: taken off the slot just above: ours alone; boxed by `publish`.
            let taken = unsafe { Box::from_raw(node) };
            node = taken.0.next;
            values.push(taken.0.value);
        }
        values
    }

    /// The first node of a walk; [`next`] gives the rest.
    pub(crate) fn first(&self) -> Option<NonNull<Node<T>>> {
        NonNull::new(self.head.load(Ordering::SeqCst))
    }
}

/// A node out of sight, freed when dropped: by then no reader may hold it (see
/// `reclaim.rs`).
pub(crate) struct Retired<T>(NonNull<Node<T>>);

// SAFETY: it owns the node and its value, which is `Send`.
unsafe impl<T: Send> Send for Retired<T> {}

impl<T> Drop for Retired<T> {
    fn drop(&mut self) {
        // SAFETY: boxed by `publish`, unlinked by `unpublish`, and dropped only once no
        // reader can hold it (the reclaim's duty).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// The node after `node` in its slot's list.
///
/// # Safety
///
/// - `node` is alive: the caller walks as an announced reader (a node retired since is
///   parked) while `&mut` paths are excluded.
pub(crate) unsafe fn next<T>(node: NonNull<Node<T>>) -> Option<NonNull<Node<T>>> {
    // SAFETY: the caller's duty; `next` is immutable once published.
    NonNull::new(unsafe { node.as_ref() }.0.next)
}

#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use crate::reclaim::Reclaim;
    use crate::sync::{Arc, AtomicBool, AtomicUsize};
    use loom::thread;

    struct Counted {
        drops: Arc<AtomicUsize>,
        dropped: AtomicBool,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The slot's owner publishes a counted value.
    fn publish(slot: &SharedSlot<Counted>, drops: &Arc<AtomicUsize>) {
        let value = Counted {
            drops: Arc::clone(drops),
            dropped: AtomicBool::new(false),
        };
        // SAFETY: each test publishes from one owner at a time, which has no value yet.
        unsafe { slot.publish(value) };
    }

    /// The owner's exit, once per owner.
    fn exit(slot: &SharedSlot<Counted>, keep: bool) -> Option<Retired<Counted>> {
        // SAFETY: each test calls it once per published value, as that value's owner exits.
        unsafe { slot.unpublish(keep) }
    }

    /// Walks the slot as a counted reader (or with no exit or drain running), checking that
    /// no value seen was dropped; returns how many it saw.
    fn walk(slot: &SharedSlot<Counted>) -> usize {
        std::iter::successors(slot.first(), |&at| {
            // SAFETY: the callers' duty, above: a node retired meanwhile waits for them.
            let (value, next) = unsafe { (&at.as_ref().0.value, next(at)) };
            assert!(!value.dropped.load(Ordering::SeqCst), "read after drop");
            next
        })
        .count()
    }

    /// A reader walks while the owner exits and retires its value: the reader never sees a
    /// dropped value, and the value is dropped exactly once.
    #[test]
    fn a_walk_against_the_owners_exit() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(SharedSlot::new());
            let reclaim = Arc::new(Reclaim::new());
            publish(&slot, &drops);

            let reader = thread::spawn({
                let (slot, reclaim) = (Arc::clone(&slot), Arc::clone(&reclaim));
                move || {
                    let reader = reclaim.read();
                    walk(&slot);
                    drop(reader.leave());
                }
            });

            if let Some(node) = exit(&slot, false) {
                drop(reclaim.retire(node));
            }
            reader.join().unwrap();
            drop(reclaim.reset());
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// The owner's exit against a `&mut` path taking the list (`std::thread::scope` returns
    /// before its threads' destructors run): one of them drops the value, once.
    #[test]
    fn the_owners_exit_against_a_drain() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(SharedSlot::new());
            publish(&slot, &drops);
            let exit = thread::spawn({
                let slot = Arc::clone(&slot);
                move || drop(exit(&slot, false))
            });
            drop(slot.take_all());
            exit.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// Kept values stay in the list below the next owner's, and a drain takes them all.
    #[test]
    fn kept_values_stay_below_the_next_owners() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(SharedSlot::new());
            publish(&slot, &drops);
            assert!(exit(&slot, true).is_none());
            let owner = thread::spawn({
                let (slot, drops) = (Arc::clone(&slot), Arc::clone(&drops));
                move || publish(&slot, &drops)
            });
            owner.join().unwrap();
            assert_eq!(walk(&slot), 2);
            assert_eq!(slot.take_all().len(), 2);
        });
    }
}
