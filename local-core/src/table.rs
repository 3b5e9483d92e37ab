//! The values an instance holds for threads: an entry per thread index, in buckets of
//! doubling size that never move, and the lock that orders whoever is not the owner.
//!
//! # Who touches a thread's entry, and when
//!
//! - Its **owner**, the thread at its index, through `&ThreadLocal`, with no lock: the fast
//!   path, and every access.
//! - Its owner's **exit**, and `Context::inherit` on the owner's thread, which reach the
//!   table through the thread's list of members (no `&ThreadLocal` needed): under the lock.
//! - The instance's **`&mut` methods** (`iter_mut`, `clear`, `into_iter`, `Drop`), from any
//!   thread: under the lock.
//!
//! `&mut ThreadLocal` excludes every `&ThreadLocal`, so the owner's unlocked accesses never
//! overlap the third kind, and the lock orders the second against the third: the exit can
//! run while the instance is cleared, iterated or dropped, since `std::thread::scope`
//! returns before its threads' thread-local destructors end. The owner's accesses and its
//! exit or `Context::inherit` are on one thread. So an entry is never touched by two
//! threads at once, and no state needs to be atomic.
//!
//! # Who may drop a value, and when
//!
//! Every function here moves values in or out under the lock and returns them for the
//! caller to drop after it. A value is dropped:
//! - by its owner (`set`, `take`, ...), or by its owner's exit, which leaves it in place
//!   instead ([`State::Exited`]) with `retain_on_exit`, or while an `iter_mut` runs (it may
//!   hold a reference to it);
//! - by the instance's `&mut` methods, but not while `Context::inherit` is cloning it (it
//!   is borrowed then): the clone's end drops it ([`ThreadEntry::drain_after_lend`]);
//! - by the index's next owner, who moves aside (or drops) what an exited thread left.

use std::cell::Cell;
use std::ptr;
use std::slice;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::AccessError;
use crate::entry::{Destroyed, Entry, State};
use crate::error::or_fail;
use crate::frame::{Cache, Values};
use crate::sync::CachePadded;
use crate::thread::{BUCKETS, Member, Position};

/// Entries by thread index; a bucket is allocated by the first thread that needs it, and
/// freed with the buckets.
pub(crate) struct Buckets<E> {
    /// Null, or bucket `b`'s `Position::bucket_len(b)` entries, from `Box::<[E]>::into_raw`.
    buckets: [AtomicPtr<E>; BUCKETS],
    /// Buckets from here on were never allocated: walks stop here.
    allocated: AtomicUsize,
}

impl<E> Buckets<E> {
    pub(crate) const fn new() -> Self {
        Buckets {
            buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
            allocated: AtomicUsize::new(0),
        }
    }

    /// Bucket `bucket`'s entries, if it is allocated.
    fn bucket(&self, bucket: usize) -> Option<&[E]> {
        let entries = self.buckets.get(bucket)?.load(Ordering::Acquire);
        if entries.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket was installed by `get_or_insert` from a boxed slice of
        // this length, whose entries the acquire load makes visible; it is freed only by
        // `drop`, which `&self` excludes.
        Some(unsafe { slice::from_raw_parts(entries, Position::bucket_len(bucket)) })
    }

    /// The entry at `position`, if its bucket exists: the fast path.
    #[inline(always)]
    pub(crate) fn get(&self, position: Position) -> Option<&E> {
        // `% BUCKETS` is free (`bucket < BUCKETS`) and spares a bounds check.
        let entries = self.buckets[position.bucket % BUCKETS].load(Ordering::Acquire);
        if entries.is_null() {
            return None;
        }
        // SAFETY: as in `bucket`, and `Position::of` keeps the offset inside its bucket.
        Some(unsafe { &*entries.add(position.offset) })
    }

    /// The entry at `position`, allocating its bucket with `new` entries if needed. Threads
    /// that allocate it at once each make one; the first installed is kept.
    pub(crate) fn get_or_insert(&self, position: Position, new: impl Fn() -> E) -> &E {
        if let Some(entry) = self.get(position) {
            return entry;
        }
        let fresh: Box<[E]> = (0..Position::bucket_len(position.bucket))
            .map(|_| new())
            .collect();
        let fresh = Box::into_raw(fresh);
        match self.buckets[position.bucket % BUCKETS].compare_exchange(
            ptr::null_mut(),
            fresh.cast(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                self.allocated
                    .fetch_max(position.bucket + 1, Ordering::Release);
            }
            // SAFETY: made just above and never shared: another thread installed its own.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
        self.get(position).expect("a bucket is installed")
    }

    /// The number of indices below the last bucket allocated: a walk by index stops there.
    pub(crate) fn len(&self) -> usize {
        (1 << self.allocated.load(Ordering::Acquire)) - 1
    }

    /// Every allocated entry, with its index. A bucket allocated during the walk may be
    /// missed, as a thread that starts during it may.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &E)> {
        let allocated = self.allocated.load(Ordering::Acquire);
        (0..allocated)
            .filter_map(|bucket| Some((bucket, self.bucket(bucket)?)))
            .flat_map(|(bucket, entries)| {
                entries
                    .iter()
                    .enumerate()
                    .map(move |(offset, entry)| (Position { bucket, offset }.index(), entry))
            })
    }
}

impl<E> Drop for Buckets<E> {
    fn drop(&mut self) {
        for (bucket, entries) in self.buckets.iter_mut().enumerate() {
            let entries = entries.get_mut();
            if !entries.is_null() {
                let entries = ptr::slice_from_raw_parts_mut(*entries, Position::bucket_len(bucket));
                // SAFETY: installed by `get_or_insert` from a boxed slice of this length, and
                // `&mut self` is the last reference to it.
                drop(unsafe { Box::from_raw(entries) });
            }
        }
    }
}

/// An instance's table (a `ThreadLocal`'s [`Table`], a `SharedThreadLocal`'s): null until
/// the first touch, then the instance's own `Arc` of it, kept as a raw pointer so that the
/// fast path reaches the table in one load.
pub(crate) struct TableCell<X> {
    /// Null, or from `Arc::into_raw`: the instance's reference, given back by `drop`.
    table: AtomicPtr<X>,
}

impl<X> TableCell<X> {
    pub(crate) const fn new() -> Self {
        TableCell {
            table: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Panics with `builder`'s message if a thread touched the instance already: its table
    /// has the settings the builders change. For a `const` builder, which owns the instance.
    #[track_caller]
    pub(crate) const fn untouched(&self, builder: &'static str) {
        // SAFETY: the caller owns the instance, so nothing writes the pointer meanwhile,
        // and a write made before the instance moved to this thread happened before.
        if !unsafe { *self.table.as_ptr() }.is_null() {
            panic!("{}", builder);
        }
    }

    /// The table, once made: the fast path.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&X> {
        // SAFETY: a non-null pointer is the instance's `Arc`, which `drop` alone gives back,
        // and `&self` excludes it; the acquire load makes the table's making visible.
        unsafe { self.table.load(Ordering::Acquire).as_ref() }
    }

    /// The table, made by `make` on the first touch. Threads touching at once may each
    /// make one: the first installed is kept.
    #[cold]
    pub(crate) fn get_or_init(&self, make: impl FnOnce() -> X) -> &X {
        if let Some(table) = self.get() {
            return table;
        }
        let fresh = Arc::into_raw(Arc::new(make())).cast_mut();
        if let Err(_installed) =
            self.table
                .compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: made just above and never shared: another thread installed its own.
            drop(unsafe { Arc::from_raw(fresh) });
        }
        self.get().expect("a table is installed")
    }

    /// Another reference to the table, once made, for a thread's list of members.
    pub(crate) fn share(&self) -> Arc<X> {
        let table = self.table.load(Ordering::Acquire);
        assert!(!table.is_null(), "the table is made before it is shared");
        // SAFETY: the instance's own `Arc`, from `Arc::into_raw`, alive while `&self` is:
        // one more count, taken back by the `Arc` made from it. (The pointer, not a
        // reference to the table, which would not cover the counts before it.)
        unsafe {
            Arc::increment_strong_count(table);
            Arc::from_raw(table)
        }
    }
}

impl<X> Drop for TableCell<X> {
    fn drop(&mut self) {
        let table = *self.table.get_mut();
        if !table.is_null() {
            // SAFETY: the instance's own `Arc`, from `Arc::into_raw`, given back once.
            drop(unsafe { Arc::from_raw(table) });
        }
    }
}

/// One thread's entry in one instance.
pub(crate) struct ThreadEntry<T> {
    pub(crate) entry: Entry<T>,
    /// Where this thread last found the instance's value in the frame it runs.
    pub(crate) cache: Cache<T>,
    /// The thread at this index listed the instance for its exit. Owner-only.
    joined: Cell<bool>,
    /// Under the lock: a `&mut` method found the value borrowed by `Context::inherit`'s
    /// clone, whose end drops it.
    drain_after_lend: Cell<bool>,
}

impl<T> ThreadEntry<T> {
    /// Has the thread at this index listed the instance for its exit? Owner-only.
    #[inline(always)]
    pub(crate) fn is_joined(&self) -> bool {
        self.joined.get()
    }

    fn new() -> Self {
        ThreadEntry {
            entry: Entry::new(),
            cache: Cache::new(),
            joined: Cell::new(false),
            drain_after_lend: Cell::new(false),
        }
    }
}

/// Guarded by the lock.
struct Locked<T> {
    /// Values of exited threads, with `retain_on_exit`, moved aside by the threads that took
    /// their indices next.
    retained: Vec<T>,
    /// An `iter_mut` may have lent references into the entries: exits leave values in
    /// place. Set by `iter_mut`; cleared by the instance's next `&mut` method, or by a
    /// thread's first touch, both of which mean that the borrow is over (the references
    /// live as long as the `&mut ThreadLocal` they came from, not the iterator).
    iterating: bool,
}

pub(crate) struct Table<T> {
    threads: Buckets<CachePadded<ThreadEntry<T>>>,
    locked: Mutex<Locked<T>>,
    /// `retain_on_exit`.
    keep: bool,
    /// `inherit`: how `Context::inherit` clones a value.
    pub(crate) inherit: Option<fn(&T) -> T>,
    /// Names the instance in frames; never reused.
    pub(crate) key: usize,
    /// The instance is gone: threads may forget the table.
    dropped: AtomicBool,
}

// SAFETY: a thread's entry is touched by one thread at a time, as the module docs show:
// its owner without the lock, and the rest under it, never overlapping. Values move
// between threads (a `&mut` method takes them, a thread's exit leaves them to another),
// hence `T: Send`; `T` need not be `Sync`, since no two threads reach a value at once.
unsafe impl<T: Send> Sync for Table<T> {}
// SAFETY: as above; the caches' pointers are only ever read by their own thread.
unsafe impl<T: Send> Send for Table<T> {}

/// Context keys of instances: odd, so that they never equal the address of an attribute
/// struct's storage, the other kind of key.
static KEYS: AtomicUsize = AtomicUsize::new(1);

impl<T> Table<T> {
    pub(crate) fn new(keep: bool, inherit: Option<fn(&T) -> T>) -> Self {
        Table {
            threads: Buckets::new(),
            locked: Mutex::new(Locked {
                retained: Vec::new(),
                iterating: false,
            }),
            keep,
            inherit,
            key: KEYS.fetch_add(2, Ordering::Relaxed),
            dropped: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Locked<T>> {
        // Critical sections move values and flip flags; none runs user code, so a poisoned
        // lock (an allocation failure) still guards consistent data.
        self.locked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry at `position`, if its bucket exists: the fast path.
    #[inline(always)]
    pub(crate) fn get(&self, position: Position) -> Option<&ThreadEntry<T>> {
        self.threads.get(position).map(|padded| &padded.0)
    }

    /// The entry at `position`, allocated if needed, for a thread that only caches a
    /// frame's entry in it.
    pub(crate) fn entry_at(&self, position: Position) -> &ThreadEntry<T> {
        &self
            .threads
            .get_or_insert(position, || CachePadded::new(ThreadEntry::new()))
            .0
    }

    /// The owner's entry at `position`, ready for it to store a value: allocated, listed
    /// for the thread's exit by `join`, and rid of what an exited thread left there.
    pub(crate) fn owner_entry(
        &self,
        position: Position,
        join: impl FnOnce() -> Result<(), AccessError>,
    ) -> Result<&ThreadEntry<T>, AccessError> {
        let thread = self.entry_at(position);
        if !thread.joined.get() {
            join()?;
            thread.joined.set(true);
            // With `&ThreadLocal`, every `iter_mut` borrow is over; what an exited thread
            // left at this index is moved aside, or dropped after the lock.
            let left = {
                let mut locked = self.lock();
                locked.iterating = false;
                match thread.entry.state() {
                    State::Exited => match thread.entry.take_unborrowed() {
                        Some(value) if self.keep => {
                            locked.retained.push(value);
                            None
                        }
                        left => left,
                    },
                    _ => None,
                }
            };
            drop(left);
        }
        Ok(thread)
    }

    /// Every value, for `clear`, `into_iter` and `Drop`, which hold the instance
    /// exclusively: the entries are left empty.
    pub(crate) fn drain(&self) -> Vec<T> {
        let mut locked = self.lock();
        locked.iterating = false;
        let mut values = std::mem::take(&mut locked.retained);
        for (_, padded) in self.threads.iter() {
            let thread = &padded.0;
            if thread.entry.is_borrowed() {
                // Its owner is cloning it for `Context::inherit`: the clone's end drops it.
                thread.drain_after_lend.set(true);
            } else {
                values.extend(thread.entry.take_unborrowed());
            }
        }
        values
    }

    /// Starts an `iter_mut`, which holds the instance exclusively: from now until the
    /// borrow is seen to be over, exits leave their values in place. Returns the values of
    /// threads that exited during an earlier one, unkept, for the caller to drop.
    pub(crate) fn start_iter(&self) -> Vec<T> {
        let mut locked = self.lock();
        locked.iterating = true;
        self.exited_unkept()
    }

    /// Values that exits left in place only for an `iter_mut`. Called under the lock.
    fn exited_unkept(&self) -> Vec<T> {
        if self.keep {
            return Vec::new();
        }
        self.threads
            .iter()
            .filter(|(_, padded)| padded.0.entry.state() == State::Exited)
            .filter_map(|(_, padded)| padded.0.entry.take_unborrowed())
            .collect()
    }

    /// The value after `from` for an `iter_mut` (entries by index, then the retained
    /// values), and the next cursor.
    ///
    /// # Safety
    ///
    /// - The caller holds the instance exclusively (`&mut`) for as long as it uses the
    ///   reference, and called [`start_iter`](Self::start_iter) under that borrow.
    /// - It walks cursors forward from [`Cursor::START`], so no value is returned twice.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn next_mut(&self, from: Cursor) -> Option<(&mut T, Cursor)> {
        let mut locked = self.lock();
        if let Cursor::Entry(start) = from {
            for (index, padded) in self.threads.iter().skip_while(|(index, _)| *index < start) {
                // Without `retain_on_exit`, an exited value is nobody's: its thread exited
                // after this walk started.
                if !self.keep && padded.0.entry.state() == State::Exited {
                    continue;
                }
                // SAFETY: the caller's duty: `&mut` keeps the owner's accesses out, and
                // `iterating` makes its exit leave the value in place.
                if let Some(value) = unsafe { padded.0.entry.value_mut() } {
                    return Some((value, Cursor::Entry(index + 1)));
                }
            }
        }
        let at = match from {
            Cursor::Retained(at) => at,
            Cursor::Entry(_) => 0,
        };
        if at >= locked.retained.len() {
            return None;
        }
        // Through the buffer's pointer: a `&mut` to the slice (`get_mut`) would reborrow
        // every element, the ones lent by earlier steps too.
        // SAFETY: `at` is in bounds; the retained values grow only when a thread moves an
        // exited value aside with `&ThreadLocal`, which the caller's `&mut` excludes, so the
        // element stays put, and each is lent once.
        let value = unsafe { &mut *locked.retained.as_mut_ptr().add(at) };
        Some((value, Cursor::Retained(at + 1)))
    }

    /// The instance is being dropped: every value is returned, and threads may forget the
    /// table.
    pub(crate) fn close(&self) -> Vec<T> {
        let values = self.drain();
        self.dropped.store(true, Ordering::Release);
        values
    }
}

/// Where an `iter_mut` is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cursor {
    /// At the entries of this index and above.
    Entry(usize),
    /// At this retained value and after.
    Retained(usize),
}

impl Cursor {
    pub(crate) const START: Cursor = Cursor::Entry(0);
}

impl<T: Send + 'static> Member for Table<T> {
    fn destroy(&self, index: usize) -> bool {
        let Some(thread) = self.get(Position::of(index)) else {
            return true;
        };
        let destroyed = {
            let locked = self.lock();
            thread.entry.destroy(self.keep || locked.iterating)
        };
        match destroyed {
            Destroyed::Taken(value) => {
                drop(value);
                true
            }
            Destroyed::Kept => true,
            Destroyed::Borrowed => false,
        }
    }

    fn forget(&self, index: usize) {
        if let Some(thread) = self.get(Position::of(index)) {
            let _locked = self.lock();
            thread.entry.forget_destroyed();
            thread.joined.set(false);
        }
    }

    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    fn inherit(&self, index: usize, into: &Values) {
        let (Some(clone), Some(thread)) = (self.inherit, self.get(Position::of(index))) else {
            return;
        };
        if into.find::<T>(self.key).is_some() {
            return;
        }
        // A shared borrow taken under the lock, so that a `&mut` method on another thread
        // sees it and leaves the value; the clone runs after the lock is released.
        let lent = {
            let _locked = self.lock();
            if !thread.entry.has_value() {
                return;
            }
            thread.entry.borrow()
        };
        // Mutably borrowed (`Context::inherit` inside `with_mut`): a panic, not a silent
        // fresh value.
        let value = {
            let lent = Lent {
                table: self,
                thread,
                value: Some(or_fail::<T, _>(lent)),
            };
            clone(lent.value.as_ref().expect("lent until dropped"))
            // `lent` ends here, in place: moved into a call instead, the reference it holds
            // would be that call's argument, and protected while the value may be dropped.
        };
        into.insert(self.key, Some(clone), value);
    }
}

/// A value borrowed for `Context::inherit`; ends the borrow under the lock, also on
/// unwind, and drops the value if a `&mut` method drained the instance meanwhile and this
/// was the last borrow.
struct Lent<'a, T> {
    table: &'a Table<T>,
    thread: &'a ThreadEntry<T>,
    value: Option<crate::entry::Ref<'a, T>>,
}

impl<T> Drop for Lent<'_, T> {
    fn drop(&mut self) {
        let drained = {
            let _locked = self.table.lock();
            drop(self.value.take());
            if !self.thread.entry.is_borrowed() && self.thread.drain_after_lend.replace(false) {
                self.thread.entry.take_unborrowed()
            } else {
                None
            }
        };
        drop(drained);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::PAD;

    #[test]
    fn buckets_are_allocated_on_first_use_and_never_for_none() {
        let buckets = Buckets::<u32>::new();
        assert!(buckets.get(Position::of(5)).is_none());
        assert!(buckets.get(Position::NONE).is_none());
        assert_eq!(*buckets.get_or_insert(Position::of(5), || 7), 7);
        let indices: Vec<usize> = buckets.iter().map(|(index, _)| index).collect();
        assert_eq!(indices, [3, 4, 5, 6]);
    }

    #[test]
    fn neighbouring_values_are_a_padding_apart() {
        let buckets = Buckets::<CachePadded<u64>>::new();
        for index in 0..40 {
            buckets.get_or_insert(Position::of(index), || CachePadded::new(0));
        }
        let values: Vec<(usize, usize)> = buckets
            .iter()
            .map(|(index, padded)| {
                let value = std::ptr::from_ref(&padded.0).addr();
                (Position::of(index).bucket, value)
            })
            .collect();
        // Indices 0..40 fill buckets 0..=5: 1 + 2 + 4 + 8 + 16 + 32 entries.
        assert_eq!(values.len(), 63);
        for pair in values.windows(2) {
            let [(bucket, value), (next_bucket, next)] = [pair[0], pair[1]];
            if bucket == next_bucket {
                // The next thread's value starts a whole padding after this one ends.
                assert!(next - value >= size_of::<u64>() + PAD, "{}", next - value);
            }
        }
    }
}
