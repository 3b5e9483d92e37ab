use std::any::type_name;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::AccessError;
use crate::identity::{self, Membership};

/// Per-instance thread-local storage: each thread that touches a `ThreadLocal` gets its own
/// value, built on that thread by the initializer, like a Python `threading.local()` object.
///
/// Unlike `std::thread_local!`, any number of instances can be created at run time; unlike
/// the `thread_local` crate, a thread's value is dropped when that thread exits and is never
/// handed to a later thread.
///
/// # Initialization and Destruction
///
/// A thread's value is built lazily, by the initializer given to [`with_init`] (or
/// `T::default` for [`new`]), on the first access from that thread. A thread that never
/// touches the instance never runs the initializer. If the initializer panics, nothing is
/// stored and the next access runs it again.
///
/// A thread's value is dropped on that thread when the thread exits, with the same
/// best-effort rules as `std::thread_local!` (the main thread's values, for example, are
/// not dropped when the process exits). Every value still held is dropped when the
/// `ThreadLocal` is dropped. Each value is dropped exactly once.
///
/// With [`retain_on_exit`], an exited thread's value is kept instead, for [`iter_mut`],
/// [`into_iter`](IntoIterator::into_iter) and [`clear`]: the per-thread accumulator
/// pattern. A kept value is still never visible to another thread through [`with`].
///
/// # Borrowing
///
/// Accesses follow `RefCell`'s rules on each thread: [`with`] inside [`with`] is fine; a
/// mutable access inside any access, or [`set`], [`replace`] or [`take`] while the value is
/// borrowed, is refused. The `with*` methods and the setters panic, with a message naming
/// `T`; [`try_with`] and [`try_with_mut`] return an [`AccessError`]. Touching an instance
/// from its own initializer is refused the same way, never a stack overflow or a deadlock.
///
/// # Examples
///
/// ```
/// use local_core::ThreadLocal;
/// use std::thread;
///
/// let hits: ThreadLocal<u32> = ThreadLocal::new();
/// hits.with_mut(|n| *n += 1);
/// thread::scope(|s| {
///     s.spawn(|| {
///         // A new thread starts from its own fresh value.
///         assert_eq!(hits.get(), 0);
///         hits.with_mut(|n| *n += 10);
///         assert_eq!(hits.get(), 10);
///     });
/// });
/// assert_eq!(hits.get(), 1);
/// ```
///
/// # Platform-specific behavior
///
/// Values are dropped by a thread-local destructor, so the platform rules of
/// `std::thread::LocalKey` apply: on some platforms the main thread's values, or the values
/// of threads killed without unwinding, are never dropped. A destructor of another
/// thread-local that runs after this library's and touches an instance gets
/// [`AccessError::Destroyed`].
///
/// [`new`]: ThreadLocal::new
/// [`with_init`]: ThreadLocal::with_init
/// [`with`]: ThreadLocal::with
/// [`try_with`]: ThreadLocal::try_with
/// [`try_with_mut`]: ThreadLocal::try_with_mut
/// [`set`]: ThreadLocal::set
/// [`replace`]: ThreadLocal::replace
/// [`take`]: ThreadLocal::take
/// [`iter_mut`]: ThreadLocal::iter_mut
/// [`clear`]: ThreadLocal::clear
/// [`retain_on_exit`]: ThreadLocal::retain_on_exit
pub struct ThreadLocal<T> {
    shared: Arc<Shared<T>>,
    init: Box<dyn Fn() -> T + Send + Sync>,
}

/// An entry's `state`: a `RefCell`-style borrow count for a present value (`0` unborrowed,
/// `n > 0` shared borrows, [`WRITING`]), or one of the negative markers below. Folding
/// presence into the count lets the fast path decide with a single comparison.
const WRITING: isize = -1;
/// No value.
const EMPTY: isize = isize::MIN;
/// No value yet: the initializer is running on the owning thread.
const INITIALIZING: isize = isize::MIN + 1;
/// A value, unborrowed, that an `iter_mut` borrow may still reference. The owner's next
/// access turns it back into `0`; if the owner exits first, its value is orphaned rather
/// than dropped under that reference.
const PINNED: isize = isize::MIN + 2;
/// A value whose identity has ended: kept for `iter_mut` (`retain_on_exit`), or pinned when
/// its thread exited. Moved out of the way by the next identity that reuses the index.
const ORPHANED: isize = isize::MIN + 3;

/// One identity's slot in one instance.
///
/// Only the identity's own thread touches an entry through `&ThreadLocal`. Every other
/// access (a thread's exit, `&mut self` methods, `Drop`) holds the instance's lock, and
/// `&mut self` excludes the owner's accesses, so the plain `Cell`s are never raced.
struct Entry<T> {
    state: Cell<isize>,
    /// This entry's identity is listed as a member of the instance (see `identity::join`).
    registered: Cell<bool>,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Entry<T> {
    fn empty() -> Self {
        Entry {
            state: Cell::new(EMPTY),
            registered: Cell::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
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
    unsafe fn take_value(&self) -> T {
        self.state.set(EMPTY);
        // SAFETY: the caller guarantees a present, unborrowed value; `EMPTY` is set first so
        // that it is never read again.
        unsafe { (*self.value.get()).assume_init_read() }
    }
}

/// The part of an instance that identities reach: the table of entries and the lock that
/// serializes everything except the owner's own accesses.
struct Shared<T> {
    /// Bucket `b` holds `1 << b` entries, allocated on first use and never moved or freed
    /// before the `Shared` itself, so entry references stay valid.
    buckets: [AtomicPtr<Entry<T>>; BUCKETS],
    /// Also what makes `Shared<T>` (and so `ThreadLocal<T>`) `Send + Sync` exactly when
    /// `T: Send`, like the `thread_local` crate: each thread reaches only its own value.
    lock: Mutex<Retained<T>>,
}

/// Guarded by the instance's lock.
struct Retained<T> {
    /// `retain_on_exit` was called.
    keep: bool,
    /// Values of exited identities whose entries have been reused.
    values: Vec<T>,
}

const BUCKETS: usize = usize::BITS as usize;

/// The bucket and the index in it of identity `id`'s entry.
#[inline(always)]
fn locate(id: usize) -> (usize, usize) {
    let n = id + 1;
    let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (bucket, n - (1 << bucket))
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Retained<T>> {
        // A panic in a value's destructor can poison the lock; states are updated before
        // every drop, so the table is consistent and the lock stays usable.
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Identity `id`'s entry, if its bucket exists.
    #[inline(always)]
    fn entry(&self, id: usize) -> Option<&Entry<T>> {
        let (bucket, index) = locate(id);
        let entries = self.buckets[bucket].load(Ordering::Acquire);
        if entries.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket `bucket` points to `1 << bucket` initialized entries,
        // `index < 1 << bucket` by `locate`, and buckets live as long as `self`.
        Some(unsafe { &*entries.add(index) })
    }

    /// Identity `id`'s entry, allocating its bucket if needed.
    fn entry_or_insert(&self, id: usize) -> &Entry<T> {
        if let Some(entry) = self.entry(id) {
            return entry;
        }
        let (bucket, index) = locate(id);
        let fresh: Box<[Entry<T>]> = (0..1usize << bucket).map(|_| Entry::empty()).collect();
        let fresh = Box::into_raw(fresh).cast::<Entry<T>>();
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
        unsafe { &*entries.add(index) }
    }

    /// Every allocated entry, with the identity it belongs to.
    fn entries(&self) -> impl Iterator<Item = (usize, &Entry<T>)> {
        (0..BUCKETS).flat_map(move |bucket| {
            let entries = self.buckets[bucket].load(Ordering::Acquire);
            let len = if entries.is_null() { 0 } else { 1 << bucket };
            (0..len).map(move |index| {
                // SAFETY: as in `entry`.
                ((1 << bucket) + index - 1, unsafe { &*entries.add(index) })
            })
        })
    }

    /// The exit path: identity `id` has ended. Runs on the identity's own thread, under the
    /// lock, so it cannot overlap `&mut self` methods or `Drop` running on another thread
    /// (`std::thread::scope` can return before its threads' destructors have run).
    fn release(&self, id: usize) {
        let retained = self.lock();
        let Some(entry) = self.entry(id) else { return };
        entry.registered.set(false);
        match entry.state.get() {
            // SAFETY: present and unborrowed; we hold the lock and `id`'s thread is the
            // one running this, outside any access.
            0 if !retained.keep => drop(unsafe { entry.take_value() }),
            // Kept (`retain_on_exit`), or pinned: an `iter_mut` borrow may still point at
            // it, so the value stays where it is.
            0 | PINNED => entry.state.set(ORPHANED),
            state => debug_assert!(state == EMPTY, "identity ended during an access"),
        }
    }

    /// Empties entry `entry`, left `ORPHANED` by an identity that has ended, so that the
    /// identity now at its index starts afresh.
    fn adopt_orphan(&self, entry: &Entry<T>) {
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
    fn drain(&self, mut each: impl FnMut(T)) -> Vec<usize> {
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

    /// A counted reference to this instance, for the registry.
    fn membership(self: &Arc<Self>) -> Membership {
        unsafe fn release<T>(shared: *const (), id: usize) {
            // SAFETY: `shared` is a counted `Arc<Shared<T>>` (see `membership`).
            unsafe { &*shared.cast::<Shared<T>>() }.release(id);
        }
        unsafe fn forget<T>(shared: *const ()) {
            // SAFETY: gives back the count taken by `Arc::into_raw` in `membership`.
            unsafe { Arc::decrement_strong_count(shared.cast::<Shared<T>>()) }
        }
        let shared = Arc::into_raw(Arc::clone(self)).cast::<()>();
        // SAFETY: `shared` carries the count taken just above, which `forget` gives back;
        // `release` only touches the table under its lock and runs on `id`'s own thread
        // (`Shared::release`).
        unsafe { Membership::new(shared, release::<T>, forget::<T>) }
    }
}

impl<T> Drop for Shared<T> {
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
fn fail<T>(error: AccessError) -> ! {
    panic!("cannot access thread-local `{}`: {error}", type_name::<T>())
}

impl<T: Default + 'static> ThreadLocal<T> {
    /// Creates an instance whose threads each start from `T::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let names: ThreadLocal<Vec<String>> = ThreadLocal::new();
    /// names.with_mut(|v| v.push("main".into()));
    /// assert_eq!(names.get(), ["main"]);
    /// ```
    pub fn new() -> Self {
        Self::with_init(T::default)
    }
}

impl<T: Default + 'static> Default for ThreadLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ThreadLocal<T> {
    /// Creates an instance whose threads each start from `init()`, called on that thread at
    /// its first access. Arguments are captured once by the closure; it runs once per thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    /// use std::thread;
    ///
    /// let start = 1000;
    /// let value = ThreadLocal::with_init(move || start);
    /// thread::scope(|s| {
    ///     s.spawn(|| assert_eq!(value.get(), 1000));
    /// });
    /// ```
    pub fn with_init<F>(init: F) -> Self
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        ThreadLocal {
            shared: Arc::new(Shared {
                buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
                lock: Mutex::new(Retained {
                    keep: false,
                    values: Vec::new(),
                }),
            }),
            init: Box::new(init),
        }
    }

    /// Keeps the value of each thread that exits, instead of dropping it, for
    /// [`iter_mut`](Self::iter_mut), [`into_iter`](IntoIterator::into_iter) and
    /// [`clear`](Self::clear). A kept value is never handed to another thread: a thread
    /// that starts later gets a fresh value from the initializer.
    ///
    /// This is the per-thread accumulator pattern: each worker adds to its own value, and
    /// the totals are summed once the workers are done.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    /// use std::thread;
    ///
    /// let mut counts = ThreadLocal::<u64>::new().retain_on_exit();
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| (0..100).for_each(|_| counts.with_mut(|n| *n += 1)));
    ///     }
    /// });
    /// assert_eq!(counts.iter_mut().map(|n| *n).sum::<u64>(), 400);
    /// ```
    #[must_use]
    pub fn retain_on_exit(self) -> Self {
        self.shared.lock().keep = true;
        self
    }

    /// This thread's entry, when it holds an unborrowed or shared-borrowed value: the fast
    /// path, with no lock, no allocation and no atomic read-modify-write.
    #[inline(always)]
    fn entry(&self) -> Option<&Entry<T>> {
        let id = identity::current();
        if id >= identity::LIMIT {
            return None;
        }
        self.shared.entry(id)
    }

    /// This thread's entry, registering the thread and resolving the markers left by
    /// `iter_mut` and by an ended identity; does not initialize.
    #[cold]
    fn own_entry(&self) -> Result<(usize, &Entry<T>), AccessError> {
        let id = identity::current_or_register()?;
        let entry = self.shared.entry_or_insert(id);
        match entry.state.get() {
            // We hold `&self`, so the `iter_mut` borrow that pinned the value has ended.
            PINNED => entry.state.set(0),
            ORPHANED => self.shared.adopt_orphan(entry),
            INITIALIZING => return Err(AccessError::Initializing),
            _ => {}
        }
        Ok((id, entry))
    }

    /// This thread's entry, holding a value (initialized now if needed).
    #[cold]
    fn initialized_entry(&self) -> Result<&Entry<T>, AccessError> {
        let (id, entry) = self.own_entry()?;
        if entry.state.get() == EMPTY {
            entry.state.set(INITIALIZING);
            let unwind = ResetGuard(&entry.state, EMPTY);
            let value = (self.init)();
            std::mem::forget(unwind);
            self.store(id, entry, value);
        }
        Ok(entry)
    }

    /// Puts `value` into this thread's empty entry.
    fn store(&self, id: usize, entry: &Entry<T>, value: T) {
        // SAFETY: the entry is this thread's and empty (or initializing), so nothing reads
        // or borrows its value.
        unsafe { (*entry.value.get()).write(value) };
        entry.state.set(0);
        if !entry.registered.get() {
            identity::join(id, self.shared.membership());
            entry.registered.set(true);
        }
    }

    /// Calls `f` with this thread's value, initializing it first if needed.
    ///
    /// # Panics
    ///
    /// If the value is mutably borrowed on this thread, if called from this instance's
    /// initializer, or during thread teardown after the value was destroyed; see
    /// [`try_with`](Self::try_with). A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let name = ThreadLocal::with_init(|| String::from("worker"));
    /// assert_eq!(name.with(|n| n.len()), 6);
    /// ```
    #[inline]
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(f).unwrap_or_else(|error| fail::<T>(error))
    }

    /// Calls `f` with this thread's value, or says why it cannot: the value is mutably
    /// borrowed ([`AccessError::Borrowed`]), this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting
    /// ([`AccessError::Destroyed`]). A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::{AccessError, ThreadLocal};
    ///
    /// let log: ThreadLocal<Vec<&str>> = ThreadLocal::new();
    /// log.with_mut(|_| assert_eq!(log.try_with(|l| l.len()), Err(AccessError::Borrowed)));
    /// assert_eq!(log.try_with(|l| l.len()), Ok(0));
    /// ```
    #[inline]
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        let entry = match self.entry() {
            Some(entry) if entry.state.get() >= 0 => entry,
            _ => self.initialized_entry()?,
        };
        let state = entry.state.get();
        if !(0..isize::MAX).contains(&state) {
            return Err(AccessError::Borrowed);
        }
        entry.state.set(state + 1);
        let _borrow = ReadGuard(&entry.state);
        // SAFETY: the entry holds a value, and the count we hold excludes mutable borrows,
        // `take` and the other exclusive paths until `_borrow` drops.
        Ok(f(unsafe { (*entry.value.get()).assume_init_ref() }))
    }

    /// Calls `f` with this thread's value, mutably, initializing it first if needed.
    ///
    /// # Panics
    ///
    /// If the value is already borrowed on this thread, if called from this instance's
    /// initializer, or during thread teardown after the value was destroyed; see
    /// [`try_with_mut`](Self::try_with_mut). A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let total: ThreadLocal<u64> = ThreadLocal::new();
    /// total.with_mut(|t| *t += 5);
    /// assert_eq!(total.get(), 5);
    /// ```
    #[inline]
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.try_with_mut(f)
            .unwrap_or_else(|error| fail::<T>(error))
    }

    /// Calls `f` with this thread's value, mutably, or says why it cannot: the value is
    /// already borrowed ([`AccessError::Borrowed`]), this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting
    /// ([`AccessError::Destroyed`]). A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::{AccessError, ThreadLocal};
    ///
    /// let total: ThreadLocal<u64> = ThreadLocal::new();
    /// total.with(|_| assert_eq!(total.try_with_mut(|t| *t += 1), Err(AccessError::Borrowed)));
    /// assert_eq!(total.try_with_mut(|t| { *t += 1; *t }), Ok(1));
    /// ```
    #[inline]
    pub fn try_with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        let entry = match self.entry() {
            Some(entry) if entry.state.get() == 0 => entry,
            _ => self.initialized_entry()?,
        };
        if entry.state.get() != 0 {
            return Err(AccessError::Borrowed);
        }
        entry.state.set(WRITING);
        let _borrow = ResetGuard(&entry.state, 0);
        // SAFETY: the entry holds a value and `WRITING` excludes every other access to it
        // until `_borrow` drops.
        Ok(f(unsafe { (*entry.value.get()).assume_init_mut() }))
    }

    /// A clone of this thread's value, initializing it first if needed.
    ///
    /// # Panics
    ///
    /// As [`with`](Self::with).
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let greeting = ThreadLocal::with_init(|| String::from("hello"));
    /// assert_eq!(greeting.get(), "hello");
    /// ```
    #[track_caller]
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// Replaces this thread's value with `value`, without running the initializer; the old
    /// value, if any, is dropped.
    ///
    /// # Panics
    ///
    /// If the value is borrowed on this thread, from this instance's initializer, or during
    /// thread teardown after the value was destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let value = ThreadLocal::with_init(|| -> u32 { unreachable!("set does not initialize") });
    /// value.set(7);
    /// assert_eq!(value.get(), 7);
    /// ```
    #[track_caller]
    pub fn set(&self, value: T) {
        let (id, entry) = self.own_entry().unwrap_or_else(|error| fail::<T>(error));
        match entry.state.get() {
            EMPTY => self.store(id, entry, value),
            // SAFETY: present and unborrowed; the old value is dropped after the new one is
            // in place, so its destructor sees a consistent entry.
            0 => drop(std::mem::replace(
                unsafe { (*entry.value.get()).assume_init_mut() },
                value,
            )),
            _ => fail::<T>(AccessError::Borrowed),
        }
    }

    /// Replaces this thread's value with `value` and returns the old one, initializing it
    /// first if needed (like `LocalKey::replace`).
    ///
    /// # Panics
    ///
    /// As [`with_mut`](Self::with_mut).
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let value = ThreadLocal::with_init(|| 1);
    /// assert_eq!(value.replace(2), 1);
    /// assert_eq!(value.get(), 2);
    /// ```
    #[track_caller]
    pub fn replace(&self, value: T) -> T {
        self.with_mut(|old| std::mem::replace(old, value))
    }

    /// Removes this thread's value and returns it; the next access on this thread runs the
    /// initializer again (werkzeug's `release_local`). Returns `None` if the thread holds
    /// no value.
    ///
    /// # Panics
    ///
    /// If the value is borrowed on this thread, from this instance's initializer, or during
    /// thread teardown after the value was destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let value = ThreadLocal::with_init(|| 1);
    /// assert_eq!(value.take(), None);
    /// value.set(5);
    /// assert_eq!(value.take(), Some(5));
    /// assert_eq!(value.get(), 1);
    /// ```
    #[track_caller]
    pub fn take(&self) -> Option<T> {
        let (_, entry) = self.own_entry().unwrap_or_else(|error| fail::<T>(error));
        match entry.state.get() {
            EMPTY => None,
            // SAFETY: our own entry, present and unborrowed.
            0 => Some(unsafe { entry.take_value() }),
            _ => fail::<T>(AccessError::Borrowed),
        }
    }

    /// Does this thread hold a value (initialized, or `set`)? Never runs the initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let value: ThreadLocal<u8> = ThreadLocal::new();
    /// assert!(!value.is_initialized());
    /// value.with(|_| {});
    /// assert!(value.is_initialized());
    /// ```
    pub fn is_initialized(&self) -> bool {
        // An `ORPHANED` entry belongs to an identity that has ended, not to this thread.
        self.entry().is_some_and(|entry| {
            let state = entry.state.get();
            state >= WRITING || state == PINNED
        })
    }

    /// Every value this instance holds: live threads' values and, with
    /// [`retain_on_exit`](Self::retain_on_exit), those of exited threads. The order is
    /// unspecified.
    ///
    /// A thread that exits while the returned borrow is alive keeps its value until the
    /// instance is next cleared, iterated or dropped, or until a new thread reuses its slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    /// use std::thread;
    ///
    /// let mut seen = ThreadLocal::<Vec<u32>>::new().retain_on_exit();
    /// thread::scope(|s| {
    ///     for n in 0..3 {
    ///         let seen = &seen;
    ///         s.spawn(move || seen.with_mut(|v| v.push(n)));
    ///     }
    /// });
    /// let mut all: Vec<u32> = seen.iter_mut().flat_map(|v| v.drain(..)).collect();
    /// all.sort();
    /// assert_eq!(all, [0, 1, 2]);
    /// ```
    pub fn iter_mut(&mut self) -> IterMut<'_, T> {
        let mut retained = self.shared.lock();
        let mut values = Vec::new();
        for (_, entry) in self.shared.entries() {
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
            values.push(NonNull::new(entry.value.get().cast::<T>()).expect("entry address"));
        }
        values.extend(retained.values.iter_mut().map(NonNull::from));
        IterMut {
            values: values.into_iter(),
            _borrow: PhantomData,
        }
    }

    /// Drops every value this instance holds; each thread's next access runs the
    /// initializer again.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let mut value = ThreadLocal::with_init(|| 1);
    /// value.set(9);
    /// value.clear();
    /// assert_eq!(value.get(), 1);
    /// ```
    pub fn clear(&mut self) {
        self.shared.drain(drop);
    }
}

impl<T> Drop for ThreadLocal<T> {
    fn drop(&mut self) {
        let members = self.shared.drain(drop);
        identity::leave(members, Arc::as_ptr(&self.shared).cast());
    }
}

impl<T: fmt::Debug> fmt::Debug for ThreadLocal<T> {
    /// Shows this thread's value if it has one and it is not mutably borrowed; never runs
    /// the initializer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ThreadLocal");
        if self.is_initialized() {
            match self.try_with(|value| {
                out.field("value", value);
            }) {
                Ok(()) => {}
                Err(_) => {
                    out.field("value", &format_args!("<borrowed>"));
                }
            }
        } else {
            out.field("value", &format_args!("<uninitialized>"));
        }
        out.finish_non_exhaustive()
    }
}

/// The iterator of [`ThreadLocal::iter_mut`].
pub struct IterMut<'a, T> {
    values: std::vec::IntoIter<NonNull<T>>,
    _borrow: PhantomData<&'a mut T>,
}

impl<'a, T> Iterator for IterMut<'a, T> {
    type Item = &'a mut T;

    fn next(&mut self) -> Option<&'a mut T> {
        // SAFETY: each pointer is a distinct present value of the instance borrowed by `'a`.
        // Pinned entries are not dropped by a thread exiting during `'a` (it orphans them),
        // and the retained list only grows through `&ThreadLocal`, which `'a` excludes.
        self.values
            .next()
            .map(|mut value| unsafe { value.as_mut() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl<T> ExactSizeIterator for IterMut<'_, T> {}
impl<T> FusedIterator for IterMut<'_, T> {}

// SAFETY: `IterMut` is a set of `&mut T`, so it is as `Send`/`Sync` as `&mut T` is.
unsafe impl<T: Send> Send for IterMut<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for IterMut<'_, T> {}

impl<T: fmt::Debug> fmt::Debug for IterMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterMut")
            .field("remaining", &self.values.len())
            .finish_non_exhaustive()
    }
}

impl<'a, T> IntoIterator for &'a mut ThreadLocal<T> {
    type Item = &'a mut T;
    type IntoIter = IterMut<'a, T>;

    fn into_iter(self) -> IterMut<'a, T> {
        self.iter_mut()
    }
}

/// The iterator of [`ThreadLocal`]'s `into_iter`: every value it held, live threads' and
/// retained ones, in unspecified order.
#[derive(Debug)]
pub struct IntoIter<T> {
    values: std::vec::IntoIter<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.values.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}
impl<T> FusedIterator for IntoIter<T> {}

impl<T> IntoIterator for ThreadLocal<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    /// use std::thread;
    ///
    /// let totals = ThreadLocal::<u32>::new().retain_on_exit();
    /// thread::scope(|s| {
    ///     s.spawn(|| totals.set(2));
    ///     s.spawn(|| totals.set(3));
    /// });
    /// assert_eq!(totals.into_iter().sum::<u32>(), 5);
    /// ```
    fn into_iter(self) -> IntoIter<T> {
        let mut values = Vec::new();
        self.shared.drain(|value| values.push(value));
        IntoIter {
            values: values.into_iter(),
        }
    }
}
