use std::cell::Cell;
use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::AccessError;
use crate::anchor::{Anchor, Counted, Recycle};
use crate::buckets::{Buckets, Position};
use crate::context::Values;
use crate::error::or_fail;
use crate::exit::{self, Member};
use crate::lazy_table::LazyTable;
use crate::reclaim::{Reader, Reclaim};
use crate::shared_slot::{self, Node, Retired, SharedSlot};
use crate::sync::{AtomicBool, Ordering};
use crate::thread_local::drop_all;

/// A per-thread value that other threads can read while its thread runs: each thread adds
/// to its own counter, and a reporter sums them all at any time (the `thread_local`
/// crate's `iter(&self)`, for `T: Sync`). Like [`ThreadLocal`](crate::ThreadLocal), a
/// thread's value is dropped when the thread exits and never handed to another thread.
///
/// Values are only ever shared (`&T`): put the mutability inside (`AtomicU64`, `Mutex`).
/// One value per OS thread, whatever [`Context`](crate::Context) or [`scope`](crate::scope)
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
    /// The part threads reach, shared with the list of every thread that holds a value in
    /// it.
    table: LazyTable<SharedTable<T>>,
    init: F,
    keep: bool,
    member: fn(Anchor<SharedTable<T>>) -> Anchor<dyn Member>,
    _table: PhantomData<SharedTable<T>>,
}

struct SharedTable<T> {
    entries: Buckets<SharedEntry<T>>,
    reclaim: Reclaim<Retired<T>>,
    keep: bool,
    dropped: AtomicBool,
}

struct SharedEntry<T> {
    /// The values of this index: see `shared_slot.rs`.
    slot: SharedSlot<T>,
    /// Owner-only (its accesses and its exit):
    joined: Cell<bool>,
    initializing: Cell<bool>,
    destroyed: Cell<bool>,
}

/// Dropped with its last anchor: its values are boxed, and reclaimed through readers, so
/// there is no padded block of entries to keep.
impl<T> Recycle for SharedTable<T> {}

// SAFETY: slots are atomic (`shared_slot.rs`); the `Cell`s of an entry are only touched by
// its owner thread (its accesses through `&self` and its exit). Values are shared between
// threads (`T: Sync`) and dropped on any (`T: Send`).
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
            table: LazyTable::new(),
            init,
            keep: false,
            member: shared_member::<T>,
            _table: PhantomData,
        }
    }
}

/// The table as a thread's list keeps it, whatever its value type.
fn shared_member<T: Send + Sync + 'static>(table: Anchor<SharedTable<T>>) -> Anchor<dyn Member> {
    let table: NonNull<Counted<dyn Member>> = table.into_raw();
    // SAFETY: from `into_raw`, unsized; its count is taken back once.
    unsafe { Anchor::from_raw(table) }
}

impl<T: Send + Sync + 'static, F> SharedThreadLocal<T, F> {
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
    #[must_use]
    pub const fn retain_on_exit(self) -> Self {
        let mut this = self;
        this.keep = true;
        this
    }
}

impl<T, F> SharedThreadLocal<T, F> {
    #[inline(always)]
    fn table(&self) -> Option<&SharedTable<T>> {
        self.table.get()
    }

    fn table_or_create(&self) -> &SharedTable<T> {
        self.table.get_or_init(|| {
            Anchor::new(SharedTable {
                entries: Buckets::new(),
                reclaim: Reclaim::new(),
                keep: self.keep,
                dropped: AtomicBool::new(false),
            })
        })
    }

    /// A counted reference to the table, for a thread's list of members.
    fn member(&self) -> Anchor<dyn Member> {
        (self.member)(self.table.counted())
    }

    /// This thread's value, when it has one: the fast path.
    #[inline(always)]
    fn own(&self) -> Option<&T> {
        let entry = self.table()?.entries.get(crate::current::position())?;
        // SAFETY: the entry is this thread's (its position), `&self` excludes `&mut` paths,
        // and an exiting owner's accesses find the entry destroyed before it unpublishes.
        unsafe { entry.slot.mine() }
    }

    /// This thread's entry, joined to its list.
    #[cold]
    fn owner_entry(&self) -> Result<&SharedEntry<T>, AccessError> {
        let table = self.table_or_create();
        let position = exit::position()?;
        let entry = table.entries.get_or_insert(position, SharedEntry::new);
        if entry.destroyed.get() {
            return Err(AccessError::Destroyed);
        }
        if !entry.joined.get() {
            exit::join(self.member(), false)?;
            entry.joined.set(true);
        }
        if entry.initializing.get() {
            return Err(AccessError::Initializing);
        }
        Ok(entry)
    }

    /// Builds this thread's value with `init`, in `entry`, and publishes it.
    fn initialize<E>(
        &self,
        entry: &SharedEntry<T>,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(), E> {
        entry.initializing.set(true);
        struct Done<'a>(&'a Cell<bool>);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _done = Done(&entry.initializing);
        let value = init()?;
        // SAFETY: the owner (this thread's entry, under `&self`), with no value yet.
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
        let entry = or_fail::<T, _>(self.owner_entry());
        // SAFETY: as in `own`.
        if unsafe { entry.slot.mine() }.is_some() {
            return Ok(());
        }
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
        let table = self.table();
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
        let table = self.table();
        let mut cursor = Cursor::default();
        std::iter::from_fn(move || {
            // SAFETY: `&mut self` keeps readers and owner accesses out for the iterator's
            // life, and only exits touch the values meanwhile: an exit swaps its pointer out
            // and retires the value, which the reclaim keeps until `&mut self` drains it.
            let node = cursor.next(table?)?;
            // SAFETY: as above.
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
        if let Some(table) = self.table() {
            drop_all(table.drain());
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
        let entry = self.owner_entry()?;
        // SAFETY: as in `own`.
        if unsafe { entry.slot.mine() }.is_none() {
            let Ok(()) =
                self.initialize(entry, || Ok::<T, std::convert::Infallible>((self.init)()));
        }
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
        drop_all(self.reclaim.drain());
        values
    }
}

impl<T> SharedEntry<T> {
    fn new() -> Self {
        SharedEntry {
            slot: SharedSlot::new(),
            joined: Cell::new(false),
            initializing: Cell::new(false),
            destroyed: Cell::new(false),
        }
    }
}

impl<T: Send + Sync + 'static> Member for SharedTable<T> {
    fn destroy(&self, index: usize) {
        let Some(entry) = self.entries.get(Position::of(index)) else {
            return;
        };
        entry.destroyed.set(true);
        // SAFETY: the owner's exit (this runs on the exiting thread, for its index), once.
        if let Some(node) = unsafe { entry.slot.unpublish(self.keep) } {
            // Readers may still look at it: dropped once none can.
            drop_all(self.reclaim.retire(node));
        }
    }

    fn forget(&self, index: usize) {
        if let Some(entry) = self.entries.get(Position::of(index)) {
            entry.destroyed.set(false);
            entry.joined.set(false);
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
        drop_all(self.drain());
    }
}

/// Where a walk over every value is: an entry (by bucket and offset), and a node in its
/// slot's list.
struct Cursor<T> {
    bucket: usize,
    offset: usize,
    node: Option<NonNull<Node<T>>>,
}

impl<T> Default for Cursor<T> {
    fn default() -> Self {
        Cursor {
            bucket: 0,
            offset: 0,
            node: None,
        }
    }
}

impl<T> Cursor<T> {
    /// The next value's node.
    ///
    /// Sound to dereference (and to call) as an announced reader, or with `&mut` to the
    /// instance: a node retired since the walk began is parked, and only `&mut` paths free
    /// nodes.
    fn next(&mut self, table: &SharedTable<T>) -> Option<NonNull<Node<T>>> {
        loop {
            if let Some(node) = self.node {
                // SAFETY: as the function's docs say, which its callers follow.
                self.node = unsafe { shared_slot::next(node) };
                return Some(node);
            }
            match table.entries.bucket(self.bucket) {
                Some(entries) if self.offset < entries.len() => {
                    self.node = entries[self.offset].slot.first();
                    self.offset += 1;
                }
                _ if self.bucket + 1 < table.entries.allocated() => {
                    self.bucket += 1;
                    self.offset = 0;
                }
                _ => return None,
            }
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
                drop_all(reader.leave());
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
        // SAFETY: `'r` borrows the `Read` guard, whose reader was announced before any
        // pointer was loaded: a node retired since is parked until the guard drops, and
        // `&mut` paths (which free nodes) are excluded by its borrow of the instance.
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
        match self.table() {
            Some(table) => table.drain().into_iter(),
            None => Vec::new().into_iter(),
        }
    }
}

impl<T, F> Drop for SharedThreadLocal<T, F> {
    fn drop(&mut self) {
        let Some(table) = self.table.take() else {
            return;
        };
        table.dropped.store(true, Ordering::Release);
        let values = table.drain();
        drop(table);
        drop_all(values);
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
