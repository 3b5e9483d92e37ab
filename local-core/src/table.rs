//! The storage behind every local: a table of per-identity entries, and the protocol
//! between an entry's owner, its identity's exit path and the `&mut` paths of the instance.

use std::any::type_name;
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::AccessError;
use crate::identity::{self, BUCKETS, Membership, Slot};

/// An entry's `state`: a `RefCell`-style borrow count for a present value (`0` unborrowed,
/// `n > 0` shared borrows, [`WRITING`]), or one of the negative markers below. Folding
/// presence into the count lets the fast path decide with a single comparison.
const WRITING: isize = -1;
/// No value.
pub(crate) const EMPTY: isize = isize::MIN;
/// No value yet: the initializer is running for the entry's identity.
pub(crate) const INITIALIZING: isize = isize::MIN + 1;
/// A value, unborrowed, that an `iter_mut` borrow may still reference. The owner's next
/// access turns it back into `0`; if the owner exits first, its value is orphaned rather
/// than dropped under that reference.
const PINNED: isize = isize::MIN + 2;
/// A value whose identity has ended: kept for `iter_mut` (`retain_on_exit`), or pinned when
/// its thread exited. Moved out of the way by the next identity that reuses the index.
const ORPHANED: isize = isize::MIN + 3;

/// One identity's slot in one instance: in a table (as a [`Padded`] entry), or, for an
/// attribute struct and the thread's own identity, in a `std::thread_local!` of its own.
///
/// Through `&ThreadLocal`, an entry is only touched by its identity's owner: the thread,
/// or the one thread running the context (`Context::run` takes `&mut`, and moving a context
/// or a wrapped future to another thread synchronizes). Every other access (an identity's
/// end, `&mut self` methods, `Drop`) holds the instance's lock, and `&mut self` excludes
/// the owner's accesses, so the plain `Cell`s are never raced.
pub(crate) struct Entry<T> {
    pub(crate) state: Cell<isize>,
    /// This entry's identity is listed as a member of the instance (see `identity::join`).
    pub(crate) registered: Cell<bool>,
    pub(crate) value: UnsafeCell<MaybeUninit<T>>,
}

/// A table's entry, aligned to 128 bytes (two cache lines, for the adjacent-line
/// prefetcher), so that the entries of two threads never share a line: neighbouring
/// identities sit side by side in one bucket, and each writes its `state` on every access.
#[repr(align(128))]
pub(crate) struct Padded<T>(Entry<T>);

impl<T> Entry<T> {
    pub(crate) const fn empty() -> Self {
        Entry {
            state: Cell::new(EMPTY),
            registered: Cell::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Present and not mutably borrowed: [`read`](Self::read) will call its closure.
    #[inline(always)]
    pub(crate) fn readable(&self) -> bool {
        (0..isize::MAX).contains(&self.state.get())
    }

    /// Present and not borrowed: [`write`](Self::write) will call its closure.
    #[inline(always)]
    pub(crate) fn writable(&self) -> bool {
        self.state.get() == 0
    }

    /// Calls `f` with the value under a shared borrow, or says it is mutably borrowed or
    /// absent (`RefCell::try_borrow`). Only the entry's owner calls it (see the type).
    #[inline(always)]
    pub(crate) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        if !self.readable() {
            return Err(AccessError::Borrowed);
        }
        self.state.set(self.state.get() + 1);
        let _borrow = ReadGuard(&self.state);
        // SAFETY: a state in `0..isize::MAX` means a value is present, and the count we hold
        // excludes mutable borrows, `take` and the other exclusive paths until `_borrow`
        // drops.
        Ok(f(unsafe { (*self.value.get()).assume_init_ref() }))
    }

    /// Calls `f` with the value under a mutable borrow, or says it is borrowed or absent
    /// (`RefCell::try_borrow_mut`). Only the entry's owner calls it (see the type).
    #[inline(always)]
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        if !self.writable() {
            return Err(AccessError::Borrowed);
        }
        self.state.set(WRITING);
        let _borrow = ResetGuard(&self.state, 0);
        // SAFETY: state `0` means a value is present and unborrowed, and `WRITING` excludes
        // every other access to it until `_borrow` drops.
        Ok(f(unsafe { (*self.value.get()).assume_init_mut() }))
    }

    fn holds_value(&self) -> bool {
        let state = self.state.get();
        state >= WRITING || state == PINNED || state == ORPHANED
    }

    /// Moves the value out and leaves the entry empty.
    ///
    /// # Safety
    ///
    /// The entry holds a value (`holds_value`) that nothing borrows, and the caller has
    /// exclusive access to the entry (it owns it, or holds the instance's lock).
    pub(crate) unsafe fn take_value(&self) -> T {
        self.state.set(EMPTY);
        // SAFETY: the caller guarantees a present, unborrowed value; `EMPTY` is set first so
        // that it is never read again.
        unsafe { (*self.value.get()).assume_init_read() }
    }
}

/// The part of an instance that identities reach: the table of entries and the lock that
/// serializes everything except the owner's own accesses.
pub(crate) struct Table<T> {
    /// Bucket `b` holds `1 << b` entries, allocated on first use and never moved or freed
    /// before the `Table` itself, so entry references stay valid.
    buckets: [AtomicPtr<Padded<T>>; BUCKETS],
    /// Also what makes `Table<T>` (and so `ThreadLocal<T>`) `Send + Sync` exactly when
    /// `T: Send`, like the `thread_local` crate: each thread reaches only its own value.
    lock: Mutex<Retained<T>>,
}

/// Guarded by the instance's lock.
pub(crate) struct Retained<T> {
    /// `retain_on_exit` was called.
    pub(crate) keep: bool,
    /// Values of exited identities whose entries have been reused.
    pub(crate) values: Vec<T>,
}

impl<T> Table<T> {
    pub(crate) const fn new() -> Self {
        Table {
            buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
            lock: Mutex::new(Retained {
                keep: false,
                values: Vec::new(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Retained<T>> {
        // A panic in a value's destructor can poison the lock; states are updated before
        // every drop, so the table is consistent and the lock stays usable.
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Identity `id`'s entry, if its bucket exists.
    #[inline(always)]
    pub(crate) fn entry(&self, id: usize) -> Option<&Entry<T>> {
        self.entry_at(Slot::of(id))
    }

    /// The entry at `slot`, if its bucket exists; never for [`Slot::NONE`].
    #[inline(always)]
    pub(crate) fn entry_at(&self, slot: Slot) -> Option<&Entry<T>> {
        // `% BUCKETS` is free (`slot.bucket < BUCKETS`) and spares a bounds check.
        let entries = NonNull::new(self.buckets[slot.bucket % BUCKETS].load(Ordering::Acquire))?;
        // SAFETY: a non-null bucket `bucket` points to `1 << bucket` initialized entries,
        // `index < 1 << bucket` by `Slot::of`, and buckets live as long as `self`.
        // `NonNull::add` keeps the pointer known non-null: no second check.
        Some(unsafe { &entries.add(slot.index).as_ref().0 })
    }

    /// Identity `id`'s entry, allocating its bucket if needed.
    pub(crate) fn entry_or_insert(&self, id: usize) -> &Entry<T> {
        if let Some(entry) = self.entry(id) {
            return entry;
        }
        let Slot { bucket, index } = Slot::of(id);
        let fresh: Box<[Padded<T>]> = (0..1usize << bucket)
            .map(|_| Padded(Entry::empty()))
            .collect();
        let fresh = Box::into_raw(fresh).cast::<Padded<T>>();
        let entries = match self.buckets[bucket].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(installed) => {
                // SAFETY: `fresh` came from `Box::into_raw` of `1 << bucket` entries just
                // above and was never shared: another thread installed its bucket first.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, 1 << bucket)) });
                installed
            }
        };
        // SAFETY: as in `entry`: the bucket holds `1 << bucket` entries and lives with `self`.
        unsafe { &(*entries.add(index)).0 }
    }

    /// Every allocated entry, with the identity it belongs to.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (usize, &Entry<T>)> {
        (0..BUCKETS).flat_map(move |bucket| {
            let entries = self.buckets[bucket].load(Ordering::Acquire);
            let len = if entries.is_null() { 0 } else { 1 << bucket };
            (0..len).map(move |index| {
                // SAFETY: as in `entry`.
                ((1 << bucket) + index - 1, unsafe {
                    &(*entries.add(index)).0
                })
            })
        })
    }

    /// The exit path: identity `id` has ended. Runs by the identity's owner (its thread, or
    /// whoever ends its context), under the lock, so it cannot overlap `&mut self` methods
    /// or `Drop` running on another thread (`std::thread::scope` can return before its
    /// threads' destructors have run).
    pub(crate) fn release(&self, id: usize) {
        let retained = self.lock();
        let Some(entry) = self.entry(id) else { return };
        entry.registered.set(false);
        match entry.state.get() {
            // SAFETY: present and unborrowed; we hold the lock, and `id`'s owner runs this
            // outside any access of `id`.
            0 if !retained.keep => drop(unsafe { entry.take_value() }),
            // Kept (`retain_on_exit`), or pinned: an `iter_mut` borrow may still point at
            // it, so the value stays where it is.
            0 | PINNED => entry.state.set(ORPHANED),
            state => debug_assert!(state == EMPTY, "identity ended during an access"),
        }
    }

    /// Empties entry `entry`, left `ORPHANED` by an identity that has ended, so that the
    /// identity now at its index starts afresh.
    pub(crate) fn adopt_orphan(&self, entry: &Entry<T>) {
        let mut retained = self.lock();
        // SAFETY: an orphan holds a value; the caller is the identity that now owns the
        // entry and holds `&ThreadLocal`, so no `iter_mut` borrow is alive.
        let value = unsafe { entry.take_value() };
        if retained.keep {
            retained.values.push(value);
        } else {
            drop(value);
        }
    }

    /// Moves every value out (under the lock) and hands it to `each`; returns the
    /// identities listed as members. Needs the exclusive access of `&mut ThreadLocal`.
    pub(crate) fn drain(&self, mut each: impl FnMut(T)) -> Vec<usize> {
        let mut retained = self.lock();
        let mut members = Vec::new();
        for (id, entry) in self.entries() {
            if entry.registered.get() {
                members.push(id);
            }
            if entry.holds_value() {
                // SAFETY: the caller has `&mut ThreadLocal`, so no access is in progress,
                // and the lock keeps exit paths out.
                each(unsafe { entry.take_value() });
            }
        }
        retained.values.drain(..).for_each(each);
        members
    }

    /// Pointers to every value, for an `iter_mut` borrow: live values are pinned, so that
    /// an identity ending during the borrow orphans its value instead of dropping it.
    /// Needs the exclusive access of `&mut ThreadLocal`, for as long as the pointers are used.
    pub(crate) fn pin_values(&self) -> Vec<NonNull<T>> {
        let mut retained = self.lock();
        let mut values = Vec::new();
        for (_, entry) in self.entries() {
            match entry.state.get() {
                0 | PINNED => entry.state.set(PINNED),
                ORPHANED if !retained.keep => {
                    // SAFETY: an orphan holds a value; `&mut self` ends every earlier borrow,
                    // and the lock keeps exit paths out.
                    drop(unsafe { entry.take_value() });
                    continue;
                }
                ORPHANED => {}
                _ => continue,
            }
            values.push(NonNull::new(entry.value.get().cast::<T>()).expect("entries are not null"));
        }
        // Exit paths never touch this list, and only `&ThreadLocal` grows it.
        values.extend(retained.values.iter_mut().map(NonNull::from));
        values
    }
}

impl<T> Drop for Table<T> {
    fn drop(&mut self) {
        // Values were drained by `ThreadLocal`'s `Drop`; only the table's memory is left.
        for (bucket, entries) in self.buckets.iter_mut().enumerate() {
            let entries = *entries.get_mut();
            if !entries.is_null() {
                // SAFETY: allocated in `entry_or_insert` as a boxed slice of `1 << bucket`
                // entries; we are the last owner. Entries hold `MaybeUninit`, so no value
                // is dropped here.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(entries, 1 << bucket)) });
            }
        }
    }
}

/// Ends a shared borrow, also on unwind.
struct ReadGuard<'a>(&'a Cell<isize>);

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Ends a mutable borrow, or an initialization that unwound.
struct ResetGuard<'a>(&'a Cell<isize>, isize);

impl Drop for ResetGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn fail<T>(error: AccessError) -> ! {
    panic!("cannot access thread-local `{}`: {error}", type_name::<T>())
}

/// The value, or the panic of the `with*` functions, reported at their caller (a closure
/// passed to `unwrap_or_else` would lose `#[track_caller]`).
#[inline]
#[track_caller]
pub(crate) fn or_fail<T, R>(result: Result<R, AccessError>) -> R {
    match result {
        Ok(value) => value,
        Err(error) => fail::<T>(error),
    }
}

/// An owner of a [`Table`]: a `ThreadLocal` instance or a `StaticLocal`. The per-thread
/// access paths are written once here; owners differ only in how they build a value and
/// how an identity keeps their table alive.
pub(crate) trait Local {
    type Value;

    fn table(&self) -> &Table<Self::Value>;

    /// Builds a value for the current thread.
    fn init(&self) -> Self::Value;

    /// A reference to the table for the registry, held until the identity releases it.
    fn membership(&self) -> Membership;

    /// The membership that releases `entry`, this thread's: by default the table's.
    fn membership_for(&self, entry: &Entry<Self::Value>) -> Membership {
        let _ = entry;
        self.membership()
    }

    /// Where the entry of the identity whose value this thread reads is: the current
    /// identity (its own, or its context's), or [`Slot::NONE`] if there is none.
    #[inline(always)]
    fn slot(&self) -> Slot {
        identity::slot(false)
    }

    /// The identity whose value this thread reads, registering the thread if needed.
    fn identity_or_register(&self) -> Result<usize, AccessError> {
        identity::current_or_register()
    }

    /// May a value be created for the current identity? Values that are not `Send` stay
    /// out of contexts, which may move between threads.
    fn admit(&self) -> Result<(), AccessError> {
        Ok(())
    }

    /// This thread's entry, when it holds an unborrowed or shared-borrowed value: the fast
    /// path, with no lock, no allocation and no atomic read-modify-write.
    #[inline(always)]
    fn entry(&self) -> Option<&Entry<Self::Value>> {
        self.table().entry_at(self.slot())
    }

    /// This thread's entry, registering the thread and resolving the markers left by
    /// `iter_mut` and by an ended identity; does not initialize.
    #[cold]
    fn own_entry(&self) -> Result<(usize, &Entry<Self::Value>), AccessError> {
        self.own_table_entry()
    }

    /// [`own_entry`](Local::own_entry), in the table.
    #[cold]
    fn own_table_entry(&self) -> Result<(usize, &Entry<Self::Value>), AccessError> {
        let id = self.identity_or_register()?;
        let table = self.table();
        let entry = table.entry_or_insert(id);
        match entry.state.get() {
            // We hold `&self`, so the `iter_mut` borrow that pinned the value has ended.
            PINNED => entry.state.set(0),
            ORPHANED => table.adopt_orphan(entry),
            INITIALIZING => return Err(AccessError::Initializing),
            _ => {}
        }
        Ok((id, entry))
    }

    /// This thread's entry, holding a value (initialized now if needed).
    #[cold]
    fn initialized_entry(&self) -> Result<&Entry<Self::Value>, AccessError> {
        let (id, entry) = self.own_entry()?;
        if entry.state.get() == EMPTY {
            self.admit()?;
            entry.state.set(INITIALIZING);
            let unwind = ResetGuard(&entry.state, EMPTY);
            let value = self.init();
            std::mem::forget(unwind);
            self.store(id, entry, value);
        }
        Ok(entry)
    }

    /// Puts `value` into the entry of `id`, a new identity that nothing else uses yet.
    fn store_new(&self, id: usize, value: Self::Value) {
        let table = self.table();
        let entry = table.entry_or_insert(id);
        // An index reused from an ended identity may still hold that identity's value.
        if entry.state.get() == ORPHANED {
            table.adopt_orphan(entry);
        }
        self.store(id, entry, value);
    }

    /// Puts `value` into this thread's empty entry.
    fn store(&self, id: usize, entry: &Entry<Self::Value>, value: Self::Value) {
        // SAFETY: the entry is this thread's and empty (or initializing), so nothing reads
        // or borrows its value.
        unsafe { (*entry.value.get()).write(value) };
        entry.state.set(0);
        if !entry.registered.get() {
            identity::join(id, self.membership_for(entry));
            entry.registered.set(true);
        }
    }

    #[inline]
    fn try_with<R>(&self, f: impl FnOnce(&Self::Value) -> R) -> Result<R, AccessError> {
        match self.entry() {
            Some(entry) if entry.readable() => entry,
            _ => self.initialized_entry()?,
        }
        .read(f)
    }

    #[inline]
    fn try_with_mut<R>(&self, f: impl FnOnce(&mut Self::Value) -> R) -> Result<R, AccessError> {
        match self.entry() {
            Some(entry) if entry.writable() => entry,
            _ => self.initialized_entry()?,
        }
        .write(f)
    }

    #[track_caller]
    fn set(&self, value: Self::Value) {
        let (id, entry) = or_fail::<Self::Value, _>(self.own_entry());
        match entry.state.get() {
            EMPTY => {
                or_fail::<Self::Value, _>(self.admit());
                self.store(id, entry, value);
            }
            // SAFETY: present and unborrowed; the old value is dropped after the new one is
            // in place, so its destructor sees a consistent entry.
            0 => drop(std::mem::replace(
                unsafe { (*entry.value.get()).assume_init_mut() },
                value,
            )),
            _ => fail::<Self::Value>(AccessError::Borrowed),
        }
    }

    #[track_caller]
    fn take(&self) -> Option<Self::Value> {
        let (_, entry) = or_fail::<Self::Value, _>(self.own_entry());
        match entry.state.get() {
            EMPTY => None,
            // SAFETY: our own entry, present and unborrowed.
            0 => Some(unsafe { entry.take_value() }),
            _ => fail::<Self::Value>(AccessError::Borrowed),
        }
    }

    fn is_initialized(&self) -> bool {
        // An `ORPHANED` entry belongs to an identity that has ended, not to this thread.
        self.entry().is_some_and(|entry| {
            let state = entry.state.get();
            state >= WRITING || state == PINNED
        })
    }
}
