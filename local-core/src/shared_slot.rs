//! One thread index's values in a `SharedThreadLocal`: a list with the current owner's node
//! at the head and, below it, the nodes of earlier owners that the instance keeps (their
//! values, or values folded into its total that readers with an older total still count).
//!
//! Readers walk the list with no lock. Every change to it is made under the instance's lock
//! (`shared.rs`): a node is linked at the head, or spliced out; its `next` never changes
//! otherwise, and a node spliced out keeps its own `next`, so that a reader standing on it
//! walks on. A node out of the list is retired (`reclaim.rs`) and freed once no reader can
//! stand on it; only the instance's `&mut` methods, which exclude readers, free nodes at once.
//!
//! # Folding exited values into a total, exactly
//!
//! With `fold_on_exit`, an exited thread's value is added into the instance's total, so that
//! memory stays as small as the threads alive at once while a sum never loses a thread's
//! part. A reader sums the nodes and the total it took when it started; to count each value
//! once, a fold never changes a total a reader may hold: it makes a new one ([`Totals`]),
//! numbered, marks the node with that number, and only then publishes the new total. A
//! reader whose total includes the fold skips the node; one with an older total counts it,
//! so the node stays in its list until every reader with an older total is gone (the old
//! total is retired with the reclaim, and settles the fold when it is freed).

use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, AtomicU64, CachePadded, Ordering::SeqCst};

/// A value on cache lines of its own: a worker's writes never slow another's reads.
pub(crate) type Node<T> = CachePadded<Link<T>>;

pub(crate) struct Link<T> {
    pub(crate) value: T,
    next: AtomicPtr<Node<T>>,
    /// The fold that added this value to the instance's total, `0` before: a reader whose
    /// total includes that fold skips the node.
    pub(crate) folded: AtomicU64,
}

pub(crate) struct SharedSlot<T> {
    head: AtomicPtr<Node<T>>,
    /// The owner's node: set by the owner, cleared by its exit and by `&mut` methods.
    /// Dereferenced by the owner only.
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
    /// Called by the slot's owner, which holds `&` to the instance (so no `&mut` method
    /// runs) and is not past its exit's `unpublish`.
    #[cfg_attr(loom, allow(dead_code))] // `shared.rs` is not built under loom
    #[inline(always)]
    pub(crate) unsafe fn mine(&self) -> Option<&T> {
        // SAFETY: the owner's node lives until its exit unlinks it or a `&mut` method takes
        // it, both excluded by the caller's duty.
        Some(unsafe { &self.mine.load(SeqCst).as_ref()?.0.value })
    }

    /// The owner publishes its value, at the head. Under the instance's lock.
    pub(crate) fn publish(&self, value: T) {
        let node = Box::into_raw(Box::new(CachePadded::new(Link {
            value,
            next: AtomicPtr::new(self.head.load(SeqCst)),
            folded: AtomicU64::new(0),
        })));
        self.head.store(node, SeqCst);
        self.mine.store(node, SeqCst);
    }

    /// The owner's node, if it has one. Under the instance's lock.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn mine_node(&self) -> Option<NonNull<Node<T>>> {
        NonNull::new(self.mine.load(SeqCst))
    }

    /// The owner's exit: its node, which stays in the list, is no longer the owner's.
    /// Under the instance's lock.
    pub(crate) fn unpublish(&self) -> Option<NonNull<Node<T>>> {
        NonNull::new(self.mine.swap(ptr::null_mut(), SeqCst))
    }

    /// Splices `node` out of the list, for the caller to retire. Under the instance's lock;
    /// `None` if the node is not in the list (a `&mut` method took it).
    pub(crate) fn unlink(&self, node: NonNull<Node<T>>) -> Option<Detached<Node<T>>> {
        let mut link = &self.head;
        loop {
            let at = NonNull::new(link.load(SeqCst))?;
            // SAFETY: a node in the list, which changes only under the lock the caller
            // holds: alive.
            let next = &unsafe { at.as_ref() }.0.next;
            if at == node {
                link.store(next.load(SeqCst), SeqCst);
                return Some(Detached(node));
            }
            link = next;
        }
    }

    /// The nodes of the list. Under the instance's lock, which keeps them alive.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn nodes(&self) -> impl Iterator<Item = NonNull<Node<T>>> + '_ {
        // SAFETY: walked under the lock: every node in the list is alive.
        std::iter::successors(self.first(), |&node| unsafe { next(node) })
    }

    /// Every value in the list, each with whether it was folded into the total, for the
    /// instance's `&mut` methods, which exclude readers and owners, and hold the lock
    /// against exits.
    pub(crate) fn take_all(&self) -> Vec<(T, bool)> {
        self.mine.store(ptr::null_mut(), SeqCst);
        let mut node = self.head.swap(ptr::null_mut(), SeqCst);
        let mut values = Vec::new();
        while let Some(taken) = NonNull::new(node) {
            let taken = Detached(taken).into_box();
            node = taken.0.next.load(SeqCst);
            let folded = taken.0.folded.load(SeqCst) != 0;
            values.push((taken.0.value, folded));
        }
        values
    }

    /// The first node of a walk; [`next`] gives the rest.
    pub(crate) fn first(&self) -> Option<NonNull<Node<T>>> {
        NonNull::new(self.head.load(SeqCst))
    }
}

/// What the reclaim keeps for readers: a node out of its list, or a total a fold replaced.
pub(crate) enum Garbage<T> {
    /// Held only to be freed when dropped.
    #[cfg_attr(loom, allow(dead_code))]
    Node(#[allow(dead_code)] Detached<Node<T>>),
    Total(Replaced<T>),
}

/// A node out of its list, or a total a fold replaced: boxed, out of readers' sight from
/// now on, and freed when dropped, by then with no reader on it (the reclaim's duty,
/// `reclaim.rs`), or never shared. Held by its pointer, not as a `Box`, whose claim to be
/// the only way to its contents readers still on it would contradict.
pub(crate) struct Detached<X>(NonNull<X>);

// SAFETY: it owns the box and its contents, which are `Send`.
unsafe impl<X: Send> Send for Detached<X> {}

impl<X> Detached<X> {
    fn into_box(self) -> Box<X> {
        let boxed = self.0;
        std::mem::forget(self);
        // SAFETY: from `Box::into_raw` (`publish`, `fold`), out of sight, and no reader is
        // on it: the duty of whoever made this `Detached` and kept it until now.
        unsafe { Box::from_raw(boxed.as_ptr()) }
    }
}

impl<X> Drop for Detached<X> {
    fn drop(&mut self) {
        drop(Detached(self.0).into_box());
    }
}

/// The instance's total of folded values, and how far the readers have caught up with it.
pub(crate) struct Totals<T> {
    /// Null, or the current total, from `Box::into_raw`; replaced whole by each fold.
    current: AtomicPtr<Total<T>>,
    /// No reader holds a total older than this fold: a node folded at or below it is
    /// counted in every reader's total, and may leave its list.
    settled: AtomicU64,
    /// The number of the last fold, never reset: a `clear` empties the total, not the
    /// count, so that a fold after it never takes a number `settled` has already passed.
    last: AtomicU64,
}

/// Exited threads' values, added up: never changed once published.
pub(crate) struct Total<T> {
    pub(crate) value: T,
    /// The last fold it includes: a node folded at or below this is counted in it.
    pub(crate) folds: u64,
}

/// A total a fold replaced, to retire: once it is freed, its readers are gone.
pub(crate) struct Replaced<T> {
    /// Held only to be freed when dropped.
    #[allow(dead_code)]
    total: Option<Detached<Total<T>>>,
    /// The fold that replaced it: counted in every reader's total once it is freed.
    settles: u64,
}

impl<T> Totals<T> {
    pub(crate) fn new() -> Self {
        Totals {
            current: AtomicPtr::new(ptr::null_mut()),
            settled: AtomicU64::new(0),
            last: AtomicU64::new(0),
        }
    }

    /// The current total, or none yet. Dereferenced only by a caller that counts as a
    /// reader (`reclaim.rs`), or holds the instance's lock, for as long as it uses it: a
    /// total replaced meanwhile waits for it.
    pub(crate) fn current_ptr(&self) -> Option<NonNull<Total<T>>> {
        NonNull::new(self.current.load(SeqCst))
    }

    /// Adds the value of `node`, whose owner has exited, into a new total with `add`, marks
    /// the node, and publishes the total. Under the instance's lock, with the node in its
    /// list; `add` is this crate's own (an atomic's sum), not user code.
    pub(crate) fn fold(&self, node: NonNull<Node<T>>, add: fn(Option<&T>, &T) -> T) -> Replaced<T> {
        // SAFETY: under the lock: the node is in its list and the current total is current.
        let (link, current) = unsafe {
            (
                &node.as_ref().0,
                self.current_ptr().map(|total| total.as_ref()),
            )
        };
        let number = self.last.fetch_add(1, SeqCst) + 1;
        let total = Box::new(Total {
            value: add(current.map(|total| &total.value), &link.value),
            folds: number,
        });
        // The mark first: a reader that finds the new total finds the node marked.
        link.folded.store(number, SeqCst);
        let old = self.current.swap(Box::into_raw(total), SeqCst);
        // Out of sight now: the caller retires it.
        Replaced {
            total: NonNull::new(old).map(Detached),
            settles: number,
        }
    }

    /// A replaced total is gone, so is every reader that had it or an older one: the fold
    /// that replaced it, and those before, are counted in every reader's total.
    pub(crate) fn settle(&self, replaced: Replaced<T>) {
        self.settled.fetch_max(replaced.settles, SeqCst);
        drop(replaced);
    }

    /// Is `node` counted in every reader's total, so that it may leave its list?
    pub(crate) fn has_settled(&self, node: &Link<T>) -> bool {
        let folded = node.folded.load(SeqCst);
        folded != 0 && folded <= self.settled.load(SeqCst)
    }

    /// The current total, for the instance's `&mut` methods (which exclude readers).
    pub(crate) fn take(&self) -> Option<T> {
        // Out of sight, and no reader can hold it.
        let total = NonNull::new(self.current.swap(ptr::null_mut(), SeqCst));
        total.map(|total| Detached(total).into_box().value)
    }
}

impl<T> Drop for Totals<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Does a reader whose total includes the folds up to `covers` count `node`? Not if the
/// node was folded into that total.
pub(crate) fn counts<T>(node: &Link<T>, covers: u64) -> bool {
    let folded = node.folded.load(SeqCst);
    folded == 0 || folded > covers
}

/// The node after `node` in its list.
///
/// # Safety
///
/// `node` is alive: the caller walks as a counted reader (a node retired since waits for
/// it), or under the instance's lock, while the `&mut` methods are excluded.
pub(crate) unsafe fn next<T>(node: NonNull<Node<T>>) -> Option<NonNull<Node<T>>> {
    // SAFETY: the caller's duty.
    NonNull::new(unsafe { node.as_ref() }.0.next.load(SeqCst))
}

#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use crate::reclaim::Reclaim;
    use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, lock};
    use loom::thread;

    struct Counted {
        drops: Arc<AtomicUsize>,
        dropped: AtomicBool,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.dropped.store(true, SeqCst);
            self.drops.fetch_add(1, SeqCst);
        }
    }

    fn counted(drops: &Arc<AtomicUsize>) -> Counted {
        Counted {
            drops: Arc::clone(drops),
            dropped: AtomicBool::new(false),
        }
    }

    /// Walks the slot as a counted reader, checking that no value seen was dropped;
    /// returns how many it saw.
    fn walk(slot: &SharedSlot<Counted>) -> usize {
        std::iter::successors(slot.first(), |&at| {
            // SAFETY: the callers count themselves as readers first: a node retired since
            // waits for them.
            let (value, next) = unsafe { (&at.as_ref().0.value, next(at)) };
            assert!(!value.dropped.load(SeqCst), "read after drop");
            next
        })
        .count()
    }

    /// Readers walk while the owner exits, unlinks and retires its node, below a node an
    /// earlier owner left: neither reader sees a dropped value, and walks past the
    /// unlinked node to the one below it.
    #[test]
    fn walks_against_an_exit_that_unlinks() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(SharedSlot::new());
            let (lock_, reclaim) = (Arc::new(Mutex::new(())), Arc::new(Reclaim::new()));
            slot.publish(counted(&drops)); // an earlier owner's, kept
            assert!(slot.unpublish().is_some());
            slot.publish(counted(&drops));

            let reader = thread::spawn({
                let (slot, reclaim) = (Arc::clone(&slot), Arc::clone(&reclaim));
                move || {
                    let reader = reclaim.read();
                    let seen = walk(&slot);
                    drop(reader.leave());
                    assert!(seen >= 1, "the kept node is always there");
                }
            });

            let retired = {
                let _locked = lock(&lock_);
                let mine = slot.unpublish().unwrap();
                slot.unlink(mine).unwrap()
            };
            drop(reclaim.retire(retired));
            reader.join().unwrap();
            drop(reclaim.reset());
            assert_eq!(drops.load(SeqCst), 1, "the unlinked node, once");
            assert_eq!(slot.take_all().len(), 1);
            assert_eq!(drops.load(SeqCst), 2, "and the kept one, taken and dropped");
        });
    }

    /// Settles the totals a reclaim let go of, as `shared.rs` does.
    fn settle(totals: &Totals<u64>, freed: Vec<Garbage<u64>>) {
        for garbage in freed {
            if let Garbage::Total(replaced) = garbage {
                totals.settle(replaced);
            }
        }
    }

    /// A reader sums the slot and the total while an exited value is folded into the
    /// total: it counts the value exactly once, whichever total it took.
    #[test]
    fn a_sum_counts_a_folded_value_once() {
        loom::model(|| {
            let slot = Arc::new(SharedSlot::new());
            let totals = Arc::new(Totals::new());
            let (lock_, reclaim) = (Arc::new(Mutex::new(())), Arc::new(Reclaim::new()));
            slot.publish(2u64); // a live thread's
            let exited = {
                slot.publish(3u64);
                slot.unpublish().unwrap()
            };

            let reader = thread::spawn({
                let (slot, totals, reclaim) =
                    (Arc::clone(&slot), Arc::clone(&totals), Arc::clone(&reclaim));
                move || {
                    let reader = reclaim.read();
                    // SAFETY: counted as a reader: the total and the nodes it sees stay.
                    let sum = unsafe {
                        let total = totals.current_ptr().map(|total| total.as_ref());
                        let covers = total.map_or(0, |total| total.folds);
                        let nodes: u64 = std::iter::successors(slot.first(), |&at| next(at))
                            .map(|at| &at.as_ref().0)
                            .filter(|link| counts(link, covers))
                            .map(|link| link.value)
                            .sum();
                        nodes + total.map_or(0, |total| total.value)
                    };
                    settle(&totals, reader.leave());
                    assert_eq!(sum, 5, "each value counted once");
                }
            });

            let replaced = {
                let _locked = lock(&lock_);
                totals.fold(exited, |total, value| total.copied().unwrap_or(0) + value)
            };
            settle(&totals, reclaim.retire(Garbage::Total(replaced)));
            reader.join().unwrap();
            settle(&totals, reclaim.reset());
            // Every reader gone: the folded node is counted in every total, and may go.
            let _locked = lock(&lock_);
            // SAFETY: in the list, under the lock.
            assert!(totals.has_settled(unsafe { &exited.as_ref().0 }));
            drop(slot.unlink(exited).unwrap());
        });
    }
}
