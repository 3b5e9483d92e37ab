//! The values a `ThreadLocal` holds for threads (not contexts): one padded entry per thread
//! index, and the lock that serializes whoever is not the entry's owner.
//!
//! Who touches a thread's entry:
//! - its owner, through `&ThreadLocal`, without the lock (the fast path);
//! - its owner's exit, and `Context::inherit` on the owner's thread, through the thread's
//!   list of members (no `&ThreadLocal` needed), under the lock;
//! - `&mut ThreadLocal` methods and `Drop`, from any thread, under the lock.
//!
//! `&mut ThreadLocal` excludes every `&ThreadLocal`, so the unlocked owner accesses never
//! overlap the third kind, and the lock orders the rest: `std::thread::scope` can return,
//! and the instance be cleared or dropped, while a scoped thread is still running its exit.
//! Every function here moves values in or out under the lock and drops them after it.

use std::any::TypeId;
use std::cell::Cell;
use std::ptr::{self, NonNull};

use crate::AccessError;
use crate::anchor::{Kept, Recycle};
use crate::buckets::{Buckets, CachePadded, FIRST_BUCKETS, FIRST_ENTRIES, Position};
use crate::context::{Kind, Values};
use crate::entry::{Entry, Status};
use crate::error::or_fail;
use crate::exit::Member;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering, lock};

/// Context keys of `ThreadLocal`s: odd, so that they never equal the address of an
/// attribute struct's storage, the other kind of key.
static KEYS: AtomicUsize = AtomicUsize::new(1);

/// One thread's entry in one instance.
pub(crate) struct ThreadEntry<T> {
    pub(crate) entry: Entry<T>,
    /// Where this thread found the instance's value in the context or scope it runs, for
    /// the entry into it named by `tag` (see `current.rs`).
    pub(crate) cache: Cache<T>,
    /// The thread's list of members holds this instance.
    joined: Cell<bool>,
    /// A `&mut` path found the value borrowed by `Context::inherit`'s clone: the clone's end
    /// drops it.
    drained: Cell<bool>,
}

/// The last entry a thread found for one local in the frame it runs.
pub(crate) struct Cache<T> {
    tag: Cell<u64>,
    /// Dangling until `set`: never read before, since no frame entry has the tag `0`.
    entry: Cell<NonNull<Entry<T>>>,
}

impl<T> Cache<T> {
    pub(crate) const fn new() -> Self {
        Cache {
            tag: Cell::new(0),
            entry: Cell::new(NonNull::dangling()),
        }
    }

    /// The entry cached for the frame entry `tag` (never `0`).
    #[inline(always)]
    pub(crate) fn get(&self, tag: u64) -> Option<&Entry<T>> {
        if self.tag.get() != tag {
            return None;
        }
        // SAFETY: set by `set` for the frame entry `tag`, which is current (the caller read
        // it from `current::tag`). Tags are unique in the process, and a frame's entries
        // live, in place, until the frame is dropped, which cannot happen (nor can it move)
        // while it is current.
        Some(unsafe { self.entry.get().as_ref() })
    }

    /// Caches `entry`, of the frame entered under `tag`.
    pub(crate) fn set(&self, tag: u64, entry: &Entry<T>) {
        self.tag.set(tag);
        self.entry.set(NonNull::from(entry));
    }
}

/// Guarded by the lock: values of exited threads, with `retain_on_exit`, moved aside by the
/// threads that took their indices next. Grows only through `&ThreadLocal`, so never while
/// an `iter_mut` borrow points into it.
struct Locked<T> {
    retained: Vec<T>,
}

/// Aligned as its padded entries, so that in its anchor the count (which every thread's
/// first touch increments) has a padded line of its own, apart from the bucket pointers
/// (which every access reads).
pub(crate) struct Table<T> {
    entries: Buckets<CachePadded<ThreadEntry<T>>>,
    /// The entries of the first buckets, lent to `entries`.
    first: [CachePadded<ThreadEntry<T>>; FIRST_ENTRIES],
    lock: Mutex<Locked<T>>,
    /// `retain_on_exit`.
    keep: bool,
    /// How contexts keep this instance's values, and whether `inherit` clones them.
    pub(crate) kind: &'static dyn Kind,
    inherit: Option<fn(&T) -> T>,
    /// Names this instance in contexts; never reused.
    pub(crate) key: usize,
    /// The `ThreadLocal` is gone: threads may forget this table.
    dropped: AtomicBool,
    /// `TypeId::of::<Self>()`, from the instance (which knows `T: 'static`): names the
    /// table's type when it is kept for reuse ([`Recycle`]).
    table_type: TypeId,
}

// SAFETY: entries are only touched as the module docs say: by their owner alone, or under
// the lock while no owner access can run. Values move between threads only by `&mut`
// methods, `Drop` and `retain_on_exit`, hence `T: Send`. `T` need not be `Sync`: no two
// threads ever reach the same value at once.
unsafe impl<T: Send> Sync for Table<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Table<T> {}

/// Values moved out under the lock, dropped by the caller after it.
pub(crate) type Drained<T> = Vec<T>;

impl<T> Table<T> {
    /// Builds a table at `place`, where it stays: the first threads' entries are in it,
    /// lent to the buckets, so that those threads' first touches allocate nothing of the
    /// instance's.
    ///
    /// # Safety
    ///
    /// `place` is aligned, valid for writes, and keeps the table, unmoved, until it is
    /// dropped; `table_type` is `TypeId::of::<Self>()`.
    pub(crate) unsafe fn init(
        place: *mut Self,
        table_type: TypeId,
        keep: bool,
        kind: &'static dyn Kind,
        inherit: Option<fn(&T) -> T>,
    ) {
        // SAFETY: the caller's duty: every field is written once, in place; the entries
        // lent to the buckets live as long as they do (both are the table's) and are
        // dropped by the table, after the buckets (field order), which do not free them.
        unsafe {
            let first = (&raw mut (*place).first).cast::<CachePadded<ThreadEntry<T>>>();
            for offset in 0..FIRST_ENTRIES {
                first.add(offset).write(CachePadded(ThreadEntry::new()));
            }
            let entries = &raw mut (*place).entries;
            entries.write(Buckets::new());
            (*entries).lend(first, FIRST_BUCKETS);
            (&raw mut (*place).lock).write(Mutex::new(Locked {
                retained: Vec::new(),
            }));
            (&raw mut (*place).keep).write(keep);
            (&raw mut (*place).kind).write(kind);
            (&raw mut (*place).inherit).write(inherit);
            (&raw mut (*place).key).write(KEYS.fetch_add(2, Ordering::Relaxed));
            (&raw mut (*place).dropped).write(AtomicBool::new(false));
            (&raw mut (*place).table_type).write(table_type);
        }
    }

    /// Readies a table that [`recycle`](Recycle::recycle) emptied for a new instance: writes
    /// only what is the instance's own, with a key never used before.
    pub(crate) fn reuse(
        &mut self,
        keep: bool,
        kind: &'static dyn Kind,
        inherit: Option<fn(&T) -> T>,
    ) {
        self.keep = keep;
        self.kind = kind;
        self.inherit = inherit;
        self.key = KEYS.fetch_add(2, Ordering::Relaxed);
        self.dropped.store(false, Ordering::Relaxed);
    }

    fn locked(&self) -> MutexGuard<'_, Locked<T>> {
        lock(&self.lock)
    }

    /// The entry at `position`, if its bucket exists: the fast path.
    #[inline(always)]
    pub(crate) fn get(&self, position: Position) -> Option<&ThreadEntry<T>> {
        self.entries.get(position).map(|padded| &padded.0)
    }

    /// The owner's entry at `position`, ready for an owner access: allocated, joined to the
    /// thread's list (by `join`), and free of what an `iter_mut` or a previous owner of the
    /// index left there.
    #[inline]
    pub(crate) fn owner_entry(
        &self,
        position: Position,
        join: impl FnOnce() -> Result<(), AccessError>,
    ) -> Result<&ThreadEntry<T>, AccessError> {
        // The common case, a context's first touch on a thread that holds the instance
        // already: nothing to allocate, join or move aside.
        if let Some(entry) = self.get(position)
            && entry.joined.get()
        {
            // As below.
            entry.entry.unpin();
            return Ok(entry);
        }
        self.owner_entry_new(position, join)
    }

    #[cold]
    fn owner_entry_new(
        &self,
        position: Position,
        join: impl FnOnce() -> Result<(), AccessError>,
    ) -> Result<&ThreadEntry<T>, AccessError> {
        let entry = &self
            .entries
            .get_or_insert(position, || CachePadded(ThreadEntry::new()))
            .0;
        if !entry.joined.get() {
            join()?;
            entry.joined.set(true);
            if entry.entry.status() == Status::Orphaned {
                // A previous owner's value, left in place by its exit: moved aside, under the
                // lock since `&mut` paths need not be the only other ones to look.
                let orphan = {
                    let mut locked = self.locked();
                    match entry.entry.drain() {
                        Some(value) if self.keep => {
                            locked.retained.push(value);
                            None
                        }
                        orphan => orphan,
                    }
                };
                drop(orphan);
            }
        }
        // We hold `&ThreadLocal`: any `iter_mut` borrow that pinned the value is over.
        entry.entry.unpin();
        Ok(entry)
    }

    /// Every value, for `clear`, `into_iter` and `Drop`: the entries are left empty.
    /// Needs `&mut ThreadLocal`.
    pub(crate) fn drain(&self) -> Drained<T> {
        let mut locked = self.locked();
        let mut values: Vec<T> = locked.retained.drain(..).collect();
        for (_, padded) in self.entries.iter() {
            let entry = &padded.0;
            match entry.entry.status() {
                // Its owner is cloning it for `Context::inherit`: it drops it after.
                Status::Borrowed => entry.drained.set(true),
                _ => values.extend(entry.entry.drain()),
            }
        }
        values
    }

    /// Values orphaned (not retained) by threads that exited during an earlier `iter_mut`
    /// borrow, for the caller to drop: at the start of a new one, with `&mut ThreadLocal`,
    /// no reference of the earlier borrow is alive.
    pub(crate) fn sweep_orphans(&self) -> Drained<T> {
        if self.keep {
            return Vec::new();
        }
        let _locked = self.locked();
        self.entries
            .iter()
            .filter(|(_, padded)| padded.0.entry.status() == Status::Orphaned)
            .filter_map(|(_, padded)| padded.0.entry.drain())
            .collect()
    }

    /// The value after `from` for an `iter_mut` borrow (a cursor: entries by thread
    /// index, then the retained values), and the next cursor.
    ///
    /// # Safety
    ///
    /// - The caller holds `&mut ThreadLocal` for as long as it uses the returned
    ///   references.
    /// - It walks cursors forward from [`Cursor::START`], so no value is returned twice
    ///   during one borrow.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn next_mut(&self, from: Cursor) -> Option<(&mut T, Cursor)> {
        let mut locked = self.locked();
        if let Cursor::Entry(start) = from {
            for (index, padded) in self.entries.iter().skip_while(|(index, _)| *index < start) {
                // Without `retain_on_exit`, an orphan is no one's value: its thread exited
                // after this borrow visited it.
                if !self.keep && padded.0.entry.status() == Status::Orphaned {
                    continue;
                }
                // SAFETY: under the lock, with the caller's `&mut ThreadLocal`; the value
                // is pinned, so that its owner's exit leaves it in place.
                if let Some(value) = unsafe { padded.0.entry.pin_mut() } {
                    return Some((value, Cursor::Entry(index + 1)));
                }
            }
        }
        let at = match from {
            Cursor::Retained(at) => at,
            Cursor::Entry(_) => 0,
        };
        let value = ptr::from_mut(locked.retained.get_mut(at)?);
        // SAFETY: the retained values grow only through `&ThreadLocal`, which the caller's
        // `&mut` excludes, so the element stays where it is while the reference is used.
        Some((unsafe { &mut *value }, Cursor::Retained(at + 1)))
    }

    /// The `ThreadLocal` is being dropped: every value is returned, and threads may forget
    /// the table.
    pub(crate) fn close(&self) -> Drained<T> {
        let values = self.drain();
        self.dropped.store(true, Ordering::Release);
        values
    }
}

/// Where an `iter_mut` borrow is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cursor {
    /// At the entries of this thread index and above.
    Entry(usize),
    /// At this retained value and after.
    Retained(usize),
}

impl Cursor {
    pub(crate) const START: Cursor = Cursor::Entry(0);
}

impl<T> ThreadEntry<T> {
    fn new() -> Self {
        ThreadEntry {
            entry: Entry::new(),
            cache: Cache::new(),
            joined: Cell::new(false),
            drained: Cell::new(false),
        }
    }

    /// Makes the entry as new; its value, if any, is dropped after.
    fn reset(&mut self) {
        let new = self.entry.status() == Status::Empty
            && !self.joined.get()
            && !self.drained.get()
            && self.cache.tag.get() == 0;
        // Written only when needed: the table is recycled by a thread that may not have
        // written these lines before.
        if !new {
            drop(std::mem::replace(self, ThreadEntry::new()));
        }
    }

    /// The thread at this index has made the entry its own ([`Table::owner_entry`]): it is
    /// listed for the thread's exit, and nothing a previous owner left is in it.
    pub(crate) fn is_owned(&self) -> bool {
        self.joined.get()
    }
}

/// The last anchor of a table (the instance's, or a thread's list's) empties it for the
/// next instance of `T`, which then writes a few words instead of building a table: its
/// lent buckets, and their entries, are left in place as new.
impl<T> Recycle for Table<T> {
    fn recycle(&mut self) -> Option<Kept> {
        // Each step leaves the table valid, should a value's `drop` panic: values are
        // moved out of the table before they drop.
        let retained = std::mem::take(&mut self.locked().retained);
        drop(retained);
        self.entries.reset();
        for padded in &mut self.first {
            padded.0.reset();
        }
        // SAFETY: `table_type` is `TypeId::of::<Self>()`, by `init`'s duty.
        Some(unsafe { Kept::of::<Self>(self.table_type) })
    }
}

impl<T: Send + 'static> Member for Table<T> {
    fn destroy(&self, index: usize) {
        let Some(entry) = self.get(Position::of(index)) else {
            return;
        };
        let value = {
            let _locked = self.locked();
            entry.entry.destroy(self.keep)
        };
        drop(value);
    }

    fn forget(&self, index: usize) {
        let Some(entry) = self.get(Position::of(index)) else {
            return;
        };
        let _locked = self.locked();
        entry.entry.forget_destroyed();
        entry.joined.set(false);
        entry.cache.tag.set(0);
    }

    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    fn inherit(&self, index: usize, values: &Values) {
        let Some(clone) = self.inherit else { return };
        let Some(entry) = self.get(Position::of(index)) else {
            return;
        };
        if values.contains(self.key) {
            return;
        }
        // A shared borrow taken under the lock, so that a `&mut` path on another thread sees
        // it and leaves the value alone; the clone runs after the lock is released. A pinned
        // value may be under another thread's `iter_mut` borrow: not cloned.
        let lent = {
            let _locked = self.locked();
            match entry.entry.status() {
                Status::Unborrowed | Status::Borrowed => entry.entry.lend(),
                _ => return,
            }
        };
        let lent = or_fail::<T, _>(lent);
        let end = EndLend(self, entry);
        // SAFETY: the borrow keeps the value in place and unchanged until `end` drops: the
        // owner is this thread, busy here, and `&mut` paths skip a borrowed value.
        let value = clone(unsafe { lent.as_ref() });
        drop(end);
        // SAFETY: `key` stands for this instance, whose context nodes hold `T`.
        let node = unsafe { values.find_or_insert::<T>(self.key, self.kind) };
        // Empty: `values` had no node for `key`.
        let _ = node.put(value);
    }
}

/// Ends the borrow of [`Member::inherit`], also on unwind, dropping the value if a `&mut`
/// path drained the instance meanwhile.
struct EndLend<'a, T>(&'a Table<T>, &'a ThreadEntry<T>);

impl<T> Drop for EndLend<'_, T> {
    fn drop(&mut self) {
        let drained = {
            let _locked = self.0.locked();
            self.1.entry.end_lend();
            if self.1.drained.replace(false) {
                self.1.entry.drain()
            } else {
                None
            }
        };
        drop(drained);
    }
}
