//! `SharedThreadLocal`: per-thread values that other threads read while their threads run.
//!
//! # Who may free a value, and when
//!
//! A thread's value is in a boxed node that its owner publishes in its index's slot
//! (`shared_slot.rs`); readers walk the slots and read through the nodes with no lock.
//! - The owner's **exit** takes its node out of sight and *retires* it (`reclaim.rs`): the
//!   node is freed once no reader that could have seen it is left. With `retain_on_exit`
//!   it stays in the slot instead.
//! - `iter_mut` (`&mut self`) holds a reader until the instance's next access (its
//!   references live as long as the `&mut` borrow, which ends unseen), so an exit that runs
//!   meanwhile (`std::thread::scope` returns before its threads' thread-local destructors
//!   end) retires its node rather than freeing a value `iter_mut` lent.
//! - The other **`&mut` methods** (`clear`, `into_iter`, `Drop`) exclude every reader: they
//!   take the slots' lists and free them, with whatever was retired.
//!
//! The owner's own state (its place in its thread's exit, an initializer running, its
//! exit) is touched by the owner alone.

use std::cell::Cell;
use std::fmt;
use std::iter::FusedIterator;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::AccessError;
use crate::entry::SetOnDrop;
use crate::error::{drop_each, or_fail};
use crate::frame::Values;
use crate::reclaim::{Reader, Reclaim};
use crate::shared_slot::{self, Node, Retired, SharedSlot};
use crate::table::{Buckets, TableCell};
use crate::thread::{self, Member, Position};

/// A per-thread value that other threads can read while its thread runs: each thread adds
/// to its own counter, and a reporter sums them all at any time (the `thread_local`
/// crate's `iter(&self)`, for `T: Sync`). Like [`ThreadLocal`](crate::ThreadLocal), a
/// thread's value is dropped when the thread exits and never handed to another thread.
///
/// Values are only ever shared (`&T`): put the mutability inside (`AtomicU64`, `Mutex`).
/// One value per OS thread, whatever [`Context`](crate::Context) or [`fresh`](crate::fresh)
/// runs: the values are there to be read by other threads, which know threads, not
/// contexts.
///
/// # Reading every thread's value
///
/// [`read`](SharedThreadLocal::read) returns a guard; while it lives, every value it can
/// reach stays alive: a thread that exits meanwhile takes its value out of sight, and the
/// value is dropped once no reader that could have seen it is left. Reading takes no lock
/// and never waits for a writer; a thread's own access never waits for a reader.
///
/// ```
/// use local_core::SharedThreadLocal;
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
///
/// static REQUESTS: SharedThreadLocal<AtomicU64> = SharedThreadLocal::new();
///
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..100 {
///                 REQUESTS.with(|n| n.fetch_add(1, Relaxed));
///             }
///             // Any thread can sum the live counters at any time.
///             let so_far: u64 = REQUESTS.read().iter().map(|n| n.load(Relaxed)).sum();
///             assert!(so_far >= 100);
///         });
///     }
/// });
/// ```
///
/// With [`retain_on_exit`](SharedThreadLocal::retain_on_exit), an exited thread's value is
/// kept and still read, so totals include finished workers.
///
/// # Initialization and Destruction
///
/// As for [`ThreadLocal`](crate::ThreadLocal): built lazily on the thread that touches it,
/// dropped when that thread exits (or kept, with `retain_on_exit`), every value dropped
/// when the instance is; no lock is held while user code runs. Values are boxed, each on
/// its own cache lines, so that a worker's writes never slow another's.
pub struct SharedThreadLocal<T, F = fn() -> T> {
    /// What threads reach: made on the first touch, and shared with the list of every
    /// thread that holds a value in it.
    table: TableCell<SharedTable<T>>,
    init: F,
    keep: bool,
    /// The table as a member of a thread's list: made where the constructors know
    /// `T: Send + Sync + 'static`, so that no access needs the bound.
    member: fn(Arc<SharedTable<T>>) -> Arc<dyn Member>,
}

struct SharedTable<T> {
    entries: Buckets<SharedEntry<T>>,
    reclaim: Reclaim<Retired<T>>,
    keep: bool,
    dropped: AtomicBool,
}

/// Where an owner is with its entry. Owner-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// The thread at this index has not listed the instance for its exit.
    Unjoined,
    /// Listed: the owner may publish a value.
    Joined,
    /// The owner's initializer runs.
    Initializing,
    /// The owner's exit took its value; it is still exiting.
    Destroyed,
}

struct SharedEntry<T> {
    /// The values of this index: see `shared_slot.rs`.
    slot: SharedSlot<T>,
    owner: Cell<Owner>,
}

// SAFETY: slots are atomic (`shared_slot.rs`), and freed as `reclaim.rs` says; an entry's
// `owner` is only touched by its owner thread (its accesses and its exit). Values are read
// from every thread (`T: Sync`) and dropped on any (`T: Send`).
unsafe impl<T: Send + Sync> Sync for SharedTable<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for SharedTable<T> {}

impl<T: Send + Sync + Default + 'static> SharedThreadLocal<T> {
    /// An instance whose threads each start from `T::default()`. `const`, so it can be a
    /// `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// static HITS: SharedThreadLocal<AtomicU64> = SharedThreadLocal::new();
    /// HITS.with(|n| n.fetch_add(1, Relaxed));
    /// assert_eq!(HITS.with(|n| n.load(Relaxed)), 1);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        SharedThreadLocal::with_init(T::default)
    }
}

impl<T: Send + Sync + Default + 'static> Default for SharedThreadLocal<T> {
    fn default() -> Self {
        SharedThreadLocal::new()
    }
}

impl<T: Send + Sync + 'static, F: Fn() -> T> SharedThreadLocal<T, F> {
    /// An instance whose threads each start from `init()`, which may borrow.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    /// use std::sync::Mutex;
    ///
    /// let logs = SharedThreadLocal::with_init(|| Mutex::new(Vec::<String>::new()));
    /// logs.with(|log| log.lock().unwrap().push("started".into()));
    /// assert_eq!(logs.read().iter().count(), 1);
    /// ```
    #[must_use]
    pub const fn with_init(init: F) -> Self {
        SharedThreadLocal {
            table: TableCell::new(),
            init,
            keep: false,
            member: |table| table,
        }
    }
}

impl<T, F> SharedThreadLocal<T, F> {
    /// Keeps each exited thread's value, still read by [`read`](Self::read), instead of
    /// dropping it: totals then include threads that are gone. Never handed to another
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// let done = SharedThreadLocal::<AtomicU64>::new().retain_on_exit();
    /// std::thread::scope(|s| {
    ///     for _ in 0..3 {
    ///         s.spawn(|| done.with(|n| n.fetch_add(2, Relaxed)));
    ///     }
    /// });
    /// let total: u64 = done.read().iter().map(|n| n.load(Relaxed)).sum();
    /// assert_eq!(total, 6);
    /// ```
    ///
    /// # Panics
    ///
    /// If a thread touched the instance already: call it where the instance is made.
    #[must_use]
    #[track_caller]
    pub const fn retain_on_exit(self) -> Self {
        if self.table.is_made() {
            panic!(
                "`SharedThreadLocal::retain_on_exit` called on an instance a thread touched \
                 already; call it where the instance is made"
            );
        }
        let mut this = self;
        this.keep = true;
        this
    }
}

impl<T, F> SharedThreadLocal<T, F> {
    fn table(&self) -> &SharedTable<T> {
        self.table.get_or_init(|| SharedTable {
            entries: Buckets::new(),
            reclaim: Reclaim::new(),
            keep: self.keep,
            dropped: AtomicBool::new(false),
        })
    }

    /// This thread's value, when it has one: the fast path.
    #[inline(always)]
    fn own(&self) -> Option<&T> {
        let entry = self
            .table
            .get()?
            .entries
            .get(thread::position_and_tag().0)?;
        // SAFETY: the entry is this thread's (its position), `&self` excludes the `&mut`
        // methods, and the owner's exit clears `mine` before it retires the node.
        unsafe { entry.slot.mine() }
    }

    /// This thread's entry, listed for its exit, with no initializer running.
    #[cold]
    fn owner_entry(&self) -> Result<&SharedEntry<T>, AccessError> {
        let table = self.table();
        let entry = table
            .entries
            .get_or_insert(thread::position()?, SharedEntry::new);
        match entry.owner.get() {
            Owner::Joined => {}
            Owner::Unjoined => {
                let member = (self.member)(self.table.share());
                thread::join(member, false)?;
                entry.owner.set(Owner::Joined);
            }
            Owner::Initializing => return Err(AccessError::Initializing),
            Owner::Destroyed => return Err(AccessError::Destroyed),
        }
        Ok(entry)
    }

    /// Builds this thread's value with `init`, in `entry`, and publishes it.
    fn initialize<E>(
        &self,
        entry: &SharedEntry<T>,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(), E> {
        entry.owner.set(Owner::Initializing);
        let _joined = SetOnDrop(&entry.owner, Owner::Joined);
        let value = init()?;
        // SAFETY: the owner (this thread's entry, under `&self`), with no value published.
        unsafe { entry.slot.publish(value) };
        Ok(())
    }

    /// Does this thread hold a value? Never runs the initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::<u8>::new();
    /// assert!(!local.is_initialized());
    /// local.with(|_| {});
    /// assert!(local.is_initialized());
    /// ```
    pub fn is_initialized(&self) -> bool {
        self.own().is_some()
    }

    /// Builds this thread's value with `init` unless it has one (the `thread_local` crate's
    /// `get_or_try`): on `Err`, nothing is stored and the next call tries again.
    ///
    /// # Panics
    ///
    /// If called from this instance's initializer, or during thread teardown after the
    /// value was destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let local: SharedThreadLocal<u8, _> = SharedThreadLocal::with_init(|| unreachable!());
    /// assert_eq!(local.try_init(|| Err("no")), Err("no"));
    /// assert!(!local.is_initialized());
    /// local.try_init(|| Ok::<_, ()>(3)).unwrap();
    /// assert_eq!(local.with(|n| *n), 3);
    /// ```
    #[track_caller]
    pub fn try_init<E>(&self, init: impl FnOnce() -> Result<T, E>) -> Result<(), E> {
        if self.own().is_some() {
            return Ok(());
        }
        // No value: `own` found none where the thread's entry is, or the thread has none.
        let entry = or_fail::<T, _>(self.owner_entry());
        self.initialize(entry, init)
    }

    /// Every thread's value, for as long as the returned guard lives; see the type's docs.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// let counts = SharedThreadLocal::<AtomicU64>::new();
    /// counts.with(|n| n.store(5, Relaxed));
    /// let all = counts.read();
    /// assert_eq!(all.iter().map(|n| n.load(Relaxed)).sum::<u64>(), 5);
    /// ```
    pub fn read(&self) -> Read<'_, T> {
        let table = self.table.get();
        if let Some(table) = table {
            // `&self`: an `iter_mut` borrow is over.
            drop_each(table.reclaim.release());
        }
        Read {
            reader: table.map(|table| table.reclaim.read()),
            table,
        }
    }

    /// Every value this instance holds, mutably; no thread can read meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let mut local = SharedThreadLocal::<u32>::new();
    /// local.with(|_| {});
    /// for value in local.iter_mut() {
    ///     *value = 9;
    /// }
    /// assert_eq!(local.with(|n| *n), 9);
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        let table = self.table.get();
        if let Some(table) = table {
            // Readers leaked earlier are forgotten; then one is held for the references lent
            // here, which live as long as `&mut self`, past the iterator: an exit that runs
            // meanwhile retires its value rather than dropping it under one of them, and the
            // instance's next access releases the reader.
            drop_each(table.reclaim.reset());
            table.reclaim.hold();
        }
        let mut cursor = Cursor::default();
        std::iter::from_fn(move || {
            let node = cursor.next(table?)?;
            // SAFETY: `&mut self` keeps readers and the owners' accesses out for as long as
            // the reference lives, so nothing else reads or writes the value; an exit only
            // takes the node out of sight and retires it, which the held reader keeps
            // alive. The cursor visits each node once.
            Some(unsafe { &mut (*node.as_ptr()).0.value })
        })
    }

    /// Drops every value this instance holds; each thread's next access initializes again.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let mut local = SharedThreadLocal::with_init(|| 1);
    /// local.with(|_| {});
    /// local.clear();
    /// assert!(!local.is_initialized());
    /// ```
    pub fn clear(&mut self) {
        if let Some(table) = self.table.get() {
            drop_each(table.drain());
        }
    }
}

impl<T, F: Fn() -> T> SharedThreadLocal<T, F> {
    /// Calls `f` with this thread's value, initializing it first if needed.
    ///
    /// # Panics
    ///
    /// If called from this instance's initializer, or during thread teardown after the
    /// value was destroyed. A panic of the initializer propagates, and nothing is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// let hits = SharedThreadLocal::<AtomicU64>::new();
    /// hits.with(|n| n.fetch_add(1, Relaxed));
    /// ```
    #[inline]
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        or_fail::<T, _>(self.try_with(f))
    }

    /// Calls `f` with this thread's value, or says why it cannot: called from the
    /// initializer ([`AccessError::Initializing`]) or during thread teardown after the
    /// value was destroyed ([`AccessError::Destroyed`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::with_init(|| 7);
    /// assert_eq!(local.try_with(|n| *n), Ok(7));
    /// ```
    #[inline]
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        if let Some(value) = self.own() {
            return Ok(f(value));
        }
        self.try_with_cold(f)
    }

    #[cold]
    #[inline(never)]
    fn try_with_cold<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        // No value, as in `try_init`.
        let entry = self.owner_entry()?;
        let Ok(()) = self.initialize(entry, || Ok::<T, std::convert::Infallible>((self.init)()));
        Ok(f(self.own().expect("initialized just above")))
    }
}

impl<T> SharedTable<T> {
    /// Every value, for `clear`, `into_iter` and `Drop`: needs `&mut` to the instance (no
    /// reader, no owner access); an exit running meanwhile finds its node gone.
    fn drain(&self) -> Vec<T> {
        let mut values = Vec::new();
        for (_, entry) in self.entries.iter() {
            values.extend(entry.slot.take_all());
        }
        // Retired nodes wait for no reader, which `&mut` ensures: freed now.
        drop_each(self.reclaim.reset());
        values
    }
}

impl<T> SharedEntry<T> {
    fn new() -> Self {
        SharedEntry {
            slot: SharedSlot::new(),
            owner: Cell::new(Owner::Unjoined),
        }
    }
}

impl<T: Send + Sync + 'static> Member for SharedTable<T> {
    fn destroy(&self, index: usize) -> bool {
        if let Some(entry) = self.entries.get(Position::of(index)) {
            entry.owner.set(Owner::Destroyed);
            // SAFETY: the owner's exit (this runs on the exiting thread, for its index),
            // once.
            if let Some(node) = unsafe { entry.slot.unpublish(self.keep) } {
                // Readers may still look at it: dropped once none can.
                drop_each(self.reclaim.retire(node));
            }
        }
        true
    }

    fn forget(&self, index: usize) {
        if let Some(entry) = self.entries.get(Position::of(index)) {
            entry.owner.set(Owner::Unjoined);
        }
    }

    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    fn inherit(&self, _: usize, _: &Values) {}
}

impl<T> Drop for SharedTable<T> {
    fn drop(&mut self) {
        // Values were drained by the instance; this frees what a racing exit left.
        drop_each(self.drain());
    }
}

/// Where a walk over every value is: an index, and a node in its slot's list.
struct Cursor<T> {
    index: usize,
    node: Option<NonNull<Node<T>>>,
}

impl<T> Default for Cursor<T> {
    fn default() -> Self {
        Cursor {
            index: 0,
            node: None,
        }
    }
}

impl<T> Cursor<T> {
    /// The next value's node.
    ///
    /// Sound to call, and to dereference what it returns, as a counted reader: a node
    /// retired since the walk began waits for it, and only the `&mut` methods, which no
    /// reader overlaps, free nodes otherwise.
    fn next(&mut self, table: &SharedTable<T>) -> Option<NonNull<Node<T>>> {
        loop {
            if let Some(node) = self.node {
                // SAFETY: as the function's docs say, which its callers follow.
                self.node = unsafe { shared_slot::next(node) };
                return Some(node);
            }
            if self.index >= table.entries.len() {
                return None;
            }
            self.node = table
                .entries
                .get(Position::of(self.index))
                .and_then(|entry| entry.slot.first());
            self.index += 1;
        }
    }
}

/// Every thread's value of a [`SharedThreadLocal`], readable for as long as this guard
/// lives: from [`SharedThreadLocal::read`].
///
/// # Examples
///
/// ```
/// use local_core::{Read, SharedThreadLocal};
///
/// let names = SharedThreadLocal::with_init(|| "worker");
/// names.with(|_| {});
/// let all: Read<'_, &str> = names.read();
/// assert_eq!(all.iter().copied().collect::<Vec<_>>(), ["worker"]);
/// ```
pub struct Read<'a, T> {
    table: Option<&'a SharedTable<T>>,
    reader: Option<Reader<'a, Retired<T>>>,
}

impl<T> Read<'_, T> {
    /// The values: each live thread's and, with `retain_on_exit`, each exited thread's,
    /// each at most once, in unspecified order. A thread that starts or exits during the
    /// walk may or may not be seen.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::with_init(|| 2);
    /// local.with(|_| {});
    /// assert_eq!(local.read().iter().sum::<i32>(), 2);
    /// ```
    pub fn iter(&self) -> ReadIter<'_, T> {
        ReadIter {
            table: self.table,
            cursor: Cursor::default(),
        }
    }
}

impl<'r, T> IntoIterator for &'r Read<'_, T> {
    type Item = &'r T;
    type IntoIter = ReadIter<'r, T>;

    fn into_iter(self) -> ReadIter<'r, T> {
        self.iter()
    }
}

impl<T> Drop for Read<'_, T> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            if std::thread::panicking() {
                // What is parked goes to the next reader out.
                drop(reader);
            } else {
                drop_each(reader.leave());
            }
        }
    }
}

impl<T> fmt::Debug for Read<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read").finish_non_exhaustive()
    }
}

/// The iterator of [`Read::iter`].
///
/// # Examples
///
/// ```
/// use local_core::{ReadIter, SharedThreadLocal};
///
/// let local = SharedThreadLocal::with_init(|| 1u8);
/// local.with(|_| {});
/// let all = local.read();
/// let values: ReadIter<'_, u8> = all.iter();
/// assert_eq!(values.count(), 1);
/// ```
pub struct ReadIter<'r, T> {
    table: Option<&'r SharedTable<T>>,
    cursor: Cursor<T>,
}

impl<'r, T> Iterator for ReadIter<'r, T> {
    type Item = &'r T;

    fn next(&mut self) -> Option<&'r T> {
        let node = self.cursor.next(self.table?)?;
        // SAFETY: `'r` borrows the `Read` guard, which counted its reader before any pointer
        // was loaded: a node retired since waits for the guard to drop (`reclaim.rs`), and
        // the `&mut` methods, which free nodes, are excluded by its borrow of the instance.
        Some(unsafe { &node.as_ref().0.value })
    }
}

impl<T> FusedIterator for ReadIter<'_, T> {}

impl<T> fmt::Debug for ReadIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadIter").finish_non_exhaustive()
    }
}

impl<T, F> IntoIterator for SharedThreadLocal<T, F> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    /// Every value the instance held, live threads' and retained ones.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::with_init(|| 4);
    /// local.with(|_| {});
    /// assert_eq!(local.into_iter().collect::<Vec<_>>(), [4]);
    /// ```
    fn into_iter(self) -> std::vec::IntoIter<T> {
        let values = self.table.get().map(|table| table.drain());
        values.unwrap_or_default().into_iter()
    }
}

impl<T, F> Drop for SharedThreadLocal<T, F> {
    fn drop(&mut self) {
        // Threads that hold a value here keep the table until they exit or sweep it; the
        // values go now, outside every lock.
        if let Some(table) = self.table.get() {
            let values = table.drain();
            table.dropped.store(true, Ordering::Release);
            drop_each(values);
        }
    }
}

impl<T: fmt::Debug, F> fmt::Debug for SharedThreadLocal<T, F> {
    /// Shows this thread's value, if it has one; never runs the initializer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("SharedThreadLocal");
        match self.own() {
            Some(value) => out.field("value", value),
            None => out.field("value", &format_args!("<uninitialized>")),
        };
        out.finish_non_exhaustive()
    }
}
