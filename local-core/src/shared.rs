//! `SharedThreadLocal`: per-thread values that other threads read while their threads run.
//!
//! # Who touches what, and who may free what
//!
//! A thread's value is in a boxed node that its owner publishes in its index's list
//! (`shared_slot.rs`); readers walk the lists, and the total of folded values, with no lock.
//! Every change to a list or to the total is made under the instance's lock:
//! - the owner **publishes** its node (its first touch);
//! - its **exit** lets go of its node: keeps it in the list (the default), folds its value
//!   into a new total (`fold_on_exit`), or splices it out (`drop_on_exit`);
//! - **tidying** a list folds the nodes of exited owners that are not folded yet, and splices
//!   out the folded ones that every reader's total counts;
//! - the **`&mut` methods** (`iter_mut`, `clear`, `into_iter`, `Drop`), which exclude readers
//!   and owners but not exits (`std::thread::scope` returns before its threads' thread-local
//!   destructors end), take the lists apart.
//!
//! A node spliced out, and a total replaced, are retired (`reclaim.rs`): freed once no
//! reader that could stand on them is left. `iter_mut` holds a reader until the instance's
//! next access (its references live as long as the `&mut` borrow, past the iterator), and
//! while it may hold them an exit neither folds nor splices: it keeps its node.
//!
//! The owner's own state (its place in its thread's exit, an initializer running, its
//! exit) is touched by the owner alone. No user code runs under the lock: folding adds up
//! std's atomic integers, and values are dropped after the lock is released.

use std::cell::Cell;
use std::fmt;
use std::iter::FusedIterator;
use std::ptr::NonNull;
use std::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8, AtomicU16,
    AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::AccessError;
use crate::entry::SetOnDrop;
use crate::error::{drop_each, or_fail};
use crate::frame::Values;
use crate::reclaim::{Reader, Reclaim};
use crate::shared_slot::{self, Garbage, Node, SharedSlot, Total, Totals};
use crate::table::{Buckets, TableCell};
use crate::thread::{self, Member, Position};

/// A per-thread value that other threads read while its thread runs: each worker adds to
/// its own counter, and a reporter sums them all at any time (the `thread_local` crate's
/// `iter(&self)`, for `T: Sync`). A thread's value is never handed to another thread.
///
/// Values are only ever shared (`&T`): put the mutability inside (`AtomicU64`, `Mutex`).
/// One value per OS thread, whatever [`Context`](crate::Context) or [`fresh`](crate::fresh)
/// frame runs: the values are there to be read by other threads, which know threads, not
/// frames.
///
/// # When a thread exits
///
/// A sum of every thread's value must not lose a worker's part when the worker exits, so
/// by default an exited thread's value is **kept**, still read, until the instance is
/// cleared or dropped; a thread that takes the exited one's place starts from a fresh value.
///
/// - [`fold_on_exit`](Self::fold_on_exit), for counters (std's atomic integers): the exited
///   value is added into the instance's total, which readers read as one more value, so
///   that memory stays as small as the threads alive at once, whatever the thread churn.
///   The sharded counter:
///
/// ```
/// # use local_core as local;
/// use local::SharedThreadLocal;
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
///
/// static REQUESTS: SharedThreadLocal<AtomicU64> = SharedThreadLocal::new().fold_on_exit();
///
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..100 {
///                 REQUESTS.with(|n| n.fetch_add(1, Relaxed));
///             }
///         });
///     }
///     // Any thread can sum the counters at any time: finished workers' counts are in.
///     let so_far: u64 = REQUESTS.read().iter().map(|n| n.load(Relaxed)).sum();
///     assert!(so_far <= 400);
/// });
/// let total: u64 = REQUESTS.read().iter().map(|n| n.load(Relaxed)).sum();
/// assert_eq!(total, 400);
/// ```
///
/// - [`drop_on_exit`](Self::drop_on_exit), for values that are a thread's state rather than
///   its part of a whole (a worker's current job, shown by a monitor): the exited value is
///   dropped, once no reader can be looking at it.
///
/// # Reading every thread's value
///
/// [`read`](SharedThreadLocal::read) returns a guard; while it lives, every value it can
/// reach stays alive. Reading takes no lock and never waits; a thread's own access never
/// waits for a reader. A sum taken from one guard counts each value once, even while
/// threads exit and their values are folded: a reader reads the total as it was when the
/// guard was taken, with the values folded since.
///
/// # Initialization and Destruction
///
/// As for [`ThreadLocal`](crate::ThreadLocal): built lazily on the thread that touches it,
/// each value dropped exactly once, every value dropped when the instance is; no lock is
/// held while user code runs. Values are boxed, each on its own cache lines, so that a
/// worker's writes never slow another's.
pub struct SharedThreadLocal<T, F = fn() -> T> {
    /// What threads reach: made on the first touch, and shared with the list of every
    /// thread that holds a value in it.
    table: TableCell<SharedTable<T>>,
    init: F,
    on_exit: OnExit<T>,
    /// The table as a member of a thread's list: made where the constructors know
    /// `T: Send + Sync + 'static`, so that no access needs the bound.
    member: fn(Arc<SharedTable<T>>) -> Arc<dyn Member>,
}

/// What an owner's exit does with its value.
enum OnExit<T> {
    /// Keeps it in its list, still read.
    Keep,
    /// Adds it into the instance's total with this (an atomic integer's sum).
    Fold(fn(Option<&T>, &T) -> T),
    /// Splices it out, to be dropped once no reader can be looking at it.
    Drop,
}

impl<T> Clone for OnExit<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for OnExit<T> {}

struct SharedTable<T> {
    entries: Buckets<SharedEntry<T>>,
    reclaim: Reclaim<Garbage<T>>,
    totals: Totals<T>,
    on_exit: OnExit<T>,
    /// Every change to a list or to the total is made under it (module docs).
    lock: Mutex<()>,
    /// An `iter_mut` may hold references into the values: exits keep their nodes. Set and
    /// read under the lock; cleared by the next access, which proves the borrow over.
    iterating: AtomicBool,
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
    /// The owner's exit let go of its value; it is still exiting.
    Destroyed,
}

struct SharedEntry<T> {
    /// The values of this index: see `shared_slot.rs`.
    slot: SharedSlot<T>,
    owner: Cell<Owner>,
    /// The owner's accesses running now. A thread that exits from inside one
    /// (`process::exit` in `with` runs the thread's destructors) leaves its value in place,
    /// under the closure's reference, and its index is never reused.
    accesses: Cell<usize>,
}

// SAFETY: lists and totals change under the lock, and are freed as `reclaim.rs` says; an
// entry's `owner` and `accesses` are only touched by its owner thread (its accesses and its
// exit). Values are read from every thread (`T: Sync`) and dropped on any (`T: Send`).
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
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
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
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
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
            on_exit: OnExit::Keep,
            member: |table| table,
        }
    }
}

/// A counter a [`SharedThreadLocal`] can fold an exited thread's value into its total: std's
/// atomic integers, added up (wrapping, as `fetch_add` does).
///
/// Sealed: the fold runs under the instance's lock, where no user code may run.
pub trait Fold: Sized + sealed::Sealed {
    #[doc(hidden)]
    fn fold(total: Option<&Self>, exited: &Self) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! fold_atomics {
    ($($atomic:ty),*) => {$(
        impl sealed::Sealed for $atomic {}

        impl Fold for $atomic {
            fn fold(total: Option<&Self>, exited: &Self) -> Self {
                let total = total.map_or(0, |total| total.load(Ordering::Relaxed));
                <$atomic>::new(total.wrapping_add(exited.load(Ordering::Relaxed)))
            }
        }
    )*};
}

fold_atomics!(
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicIsize
);

impl<T, F> SharedThreadLocal<T, F> {
    /// Adds each exited thread's value into the instance's total, which
    /// [`read`](Self::read) yields as one more value, instead of keeping it: a sum never
    /// loses a finished worker's part, and memory stays as small as the threads alive at
    /// once, whatever the thread churn. The sharded counter (see the type's docs).
    ///
    /// # Panics
    ///
    /// If a thread touched the instance already: call it where the instance is made.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// let done = SharedThreadLocal::<AtomicU64>::new().fold_on_exit();
    /// for _ in 0..3 {
    ///     std::thread::scope(|s| {
    ///         s.spawn(|| done.with(|n| n.fetch_add(2, Relaxed))).join().unwrap();
    ///     });
    /// }
    /// let values: Vec<u64> = done.read().iter().map(|n| n.load(Relaxed)).collect();
    /// assert_eq!(values, [6]); // one total, not a value per exited thread
    /// ```
    #[must_use]
    #[track_caller]
    pub const fn fold_on_exit(self) -> Self
    where
        T: Fold,
    {
        self.table.untouched(
            "`SharedThreadLocal::fold_on_exit` called on an instance a thread touched \
             already; call it where the instance is made",
        );
        let mut this = self;
        this.on_exit = OnExit::Fold(T::fold);
        this
    }

    /// Drops each exited thread's value, once no reader can be looking at it, instead of
    /// keeping it: for values that are a thread's state rather than its part of a whole.
    /// A sum then loses a worker's part when the worker exits.
    ///
    /// # Panics
    ///
    /// If a thread touched the instance already: call it where the instance is made.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    /// use std::sync::Mutex;
    ///
    /// let jobs = SharedThreadLocal::with_init(|| Mutex::new("idle")).drop_on_exit();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| jobs.with(|job| *job.lock().unwrap() = "indexing")).join().unwrap();
    /// });
    /// assert_eq!(jobs.read().iter().count(), 0); // the worker is gone, and so is its job
    /// ```
    #[must_use]
    #[track_caller]
    pub const fn drop_on_exit(self) -> Self {
        self.table.untouched(
            "`SharedThreadLocal::drop_on_exit` called on an instance a thread touched \
             already; call it where the instance is made",
        );
        let mut this = self;
        this.on_exit = OnExit::Drop;
        this
    }

    fn table(&self) -> &SharedTable<T> {
        self.table.get_or_init(|| SharedTable {
            entries: Buckets::new(),
            reclaim: Reclaim::new(),
            totals: Totals::new(),
            on_exit: self.on_exit,
            lock: Mutex::new(()),
            iterating: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
        })
    }

    /// This thread's entry and value, when it has one: the fast path.
    #[inline(always)]
    fn own(&self) -> Option<(&SharedEntry<T>, &T)> {
        let entry = self
            .table
            .get()?
            .entries
            .get(thread::position_and_tag().0)?;
        // SAFETY: the entry is this thread's (its position), `&self` excludes the `&mut`
        // methods, and the owner's exit clears `mine` before anything frees the node.
        Some((entry, unsafe { entry.slot.mine() }?))
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
                // `&self`: an `iter_mut` borrow is over.
                table.end_iteration();
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
        let table = self.table();
        let garbage = {
            let _locked = table.lock();
            entry.slot.publish(value);
            table.tidy(&entry.slot)
        };
        table.retire(garbage);
        Ok(())
    }

    /// Does this thread hold a value? Never runs the initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
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
    /// value was let go of.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
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
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// let counts = SharedThreadLocal::<AtomicU64>::new();
    /// counts.with(|n| n.store(5, Relaxed));
    /// let all = counts.read();
    /// assert_eq!(all.iter().map(|n| n.load(Relaxed)).sum::<u64>(), 5);
    /// ```
    #[doc(alias = "iter")]
    pub fn read(&self) -> Read<'_, T> {
        let table = self.table.get();
        if let Some(table) = table {
            // `&self`: an `iter_mut` borrow is over.
            table.end_iteration();
        }
        Read {
            reader: table.map(|table| table.reclaim.read()),
            table,
        }
    }

    /// Every value this instance holds, mutably: live threads', kept ones and the total;
    /// no thread can read meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
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
            // Readers leaked earlier are forgotten; then one is held for the references
            // lent here, which live as long as `&mut self`, past the iterator: an exit that
            // runs meanwhile keeps its node, and the instance's next access lets go.
            table.free(table.reclaim.reset());
            {
                let _locked = table.lock();
                table.iterating.store(true, Ordering::Relaxed);
            }
            table.reclaim.hold();
        }
        // SAFETY: a reader is held for as long as `&mut self` lasts (above).
        let mut walk = unsafe { Walk::new(table) };
        std::iter::from_fn(move || {
            let value = walk.next()?;
            // SAFETY: `&mut self` keeps readers and the owners' accesses out for as long as
            // the reference lives, so nothing else reads or writes the value; an exit keeps
            // its node meanwhile, and the held reader keeps anything retired alive. Each
            // value is visited once.
            Some(unsafe { &mut *value.as_ptr() })
        })
    }

    /// Drops every value this instance holds; each thread's next access initializes again.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
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
    /// value was let go of. A panic of the initializer propagates, and nothing is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    ///
    /// let hits = SharedThreadLocal::<AtomicU64>::new();
    /// hits.with(|n| n.fetch_add(1, Relaxed));
    /// ```
    #[inline]
    #[track_caller]
    #[doc(alias = "get_or_default")]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        or_fail::<T, _>(self.try_with(f))
    }

    /// Calls `f` with this thread's value, or says why it cannot: called from the
    /// initializer ([`AccessError::Initializing`]) or during thread teardown after the
    /// value was let go of ([`AccessError::Destroyed`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::with_init(|| 7);
    /// assert_eq!(local.try_with(|n| *n), Ok(7));
    /// ```
    #[inline]
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        if let Some((entry, value)) = self.own() {
            return Ok(entry.access(|| f(value)));
        }
        self.try_with_cold(f)
    }

    #[cold]
    #[inline(never)]
    fn try_with_cold<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        // No value, as in `try_init`.
        let entry = self.owner_entry()?;
        let Ok(()) = self.initialize(entry, || Ok::<T, std::convert::Infallible>((self.init)()));
        let (entry, value) = self.own().expect("initialized just above");
        Ok(entry.access(|| f(value)))
    }
}

impl<T> SharedTable<T> {
    fn lock(&self) -> MutexGuard<'_, ()> {
        // It guards no data of its own, only the order of changes: a poison means nothing.
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Retires what left the lists or the totals, and drops what no reader can see any
    /// more, outside the lock.
    fn retire(&self, garbage: Vec<Garbage<T>>) {
        let mut free = Vec::new();
        for garbage in garbage {
            free.extend(self.reclaim.retire(garbage));
        }
        self.free(free);
    }

    /// Drops what the reclaim let go of; a replaced total settles its folds first.
    fn free(&self, garbage: Vec<Garbage<T>>) {
        drop_each(garbage.into_iter().map(|garbage| {
            if let Garbage::Total(replaced) = garbage {
                self.totals.settle(replaced);
                return None;
            }
            Some(garbage)
        }));
    }

    /// The next access to the instance proves an `iter_mut` borrow over: its reader goes,
    /// and the values of threads that exited meanwhile are dealt with as they exit.
    fn end_iteration(&self) {
        if !self.iterating.load(Ordering::Relaxed) {
            return;
        }
        let garbage = {
            let _locked = self.lock();
            self.iterating.store(false, Ordering::Relaxed);
            let mut garbage = Vec::new();
            for (_, entry) in self.entries.iter() {
                garbage.extend(self.tidy(&entry.slot));
            }
            garbage
        };
        self.free(self.reclaim.release());
        self.retire(garbage);
    }

    /// Does with the nodes of exited owners in `slot` what `on_exit` says: nothing (kept),
    /// splice them out (`drop_on_exit`), or fold the ones not folded yet and splice out
    /// the folded ones that every reader's total counts (`fold_on_exit`). Not while an
    /// `iter_mut` may hold references. Under the lock; returns what to retire.
    fn tidy(&self, slot: &SharedSlot<T>) -> Vec<Garbage<T>> {
        let mut garbage = Vec::new();
        if matches!(self.on_exit, OnExit::Keep) || self.iterating.load(Ordering::Relaxed) {
            return garbage;
        }
        let mine = slot.mine_node();
        let exited: Vec<NonNull<Node<T>>> =
            slot.nodes().filter(|&node| Some(node) != mine).collect();
        for node in exited {
            // SAFETY: in the list, under the lock.
            let link = unsafe { &node.as_ref().0 };
            let unlink = match self.on_exit {
                OnExit::Keep => false,
                OnExit::Drop => true,
                OnExit::Fold(add) if link.folded.load(Ordering::SeqCst) == 0 => {
                    garbage.push(Garbage::Total(self.totals.fold(node, add)));
                    false
                }
                OnExit::Fold(_) => self.totals.has_settled(link),
            };
            if unlink {
                garbage.extend(slot.unlink(node).map(Garbage::Node));
            }
        }
        garbage
    }

    /// Every value, for `clear`, `into_iter` and `Drop`, which exclude readers and owners:
    /// the lists are left empty, and a value folded into the total is given once, in it.
    fn drain(&self) -> Vec<T> {
        let mut values = Vec::new();
        {
            let _locked = self.lock();
            self.iterating.store(false, Ordering::Relaxed);
            for (_, entry) in self.entries.iter() {
                values.extend(entry.slot.take_all());
            }
        }
        let total = self.totals.take();
        // A value folded into the total is given once, in it.
        let (folded, values): (Vec<_>, Vec<_>) = values.into_iter().partition(|(_, f)| *f);
        // Retired nodes and totals wait for no reader, which `&mut` ensures: freed now.
        self.free(self.reclaim.reset());
        drop_each(folded);
        values
            .into_iter()
            .map(|(value, _)| value)
            .chain(total)
            .collect()
    }
}

impl<T> SharedEntry<T> {
    fn new() -> Self {
        SharedEntry {
            slot: SharedSlot::new(),
            owner: Cell::new(Owner::Unjoined),
            accesses: Cell::new(0),
        }
    }

    /// Runs the owner's access `f`, counted in `accesses` until it returns or unwinds.
    #[inline(always)]
    fn access<R>(&self, f: impl FnOnce() -> R) -> R {
        self.accesses.set(self.accesses.get() + 1);
        let _done = Uncount(&self.accesses);
        f()
    }
}

/// Ends an access's count, also on unwind.
struct Uncount<'a>(&'a Cell<usize>);

impl Drop for Uncount<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl<T: Send + Sync + 'static> Member for SharedTable<T> {
    fn destroy(&self, index: usize) -> bool {
        let Some(entry) = self.entries.get(Position::of(index)) else {
            return true;
        };
        if entry.accesses.get() > 0 {
            // The thread exits from inside an access: the value stays, published, as
            // `ThreadLocal` leaves a borrowed one.
            return false;
        }
        entry.owner.set(Owner::Destroyed);
        let garbage = {
            let _locked = self.lock();
            // The node is an exited owner's now: kept, folded or spliced out with the rest.
            entry.slot.unpublish();
            self.tidy(&entry.slot)
        };
        self.retire(garbage);
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
    /// The next node.
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

/// A walk over the values a reader counts: each node that its total does not include,
/// then the total.
struct Walk<'a, T> {
    table: Option<&'a SharedTable<T>>,
    cursor: Cursor<T>,
    /// The reader's total, taken as a counted reader, and yielded last.
    total: Option<NonNull<Total<T>>>,
    /// The last fold it includes.
    covers: u64,
}

impl<'a, T> Walk<'a, T> {
    /// A walk for a counted reader that stays counted for `'a`.
    ///
    /// # Safety
    ///
    /// The caller counts as a reader, or holds the instance exclusively with a reader
    /// held, for `'a`: what is retired meanwhile waits for it.
    unsafe fn new(table: Option<&'a SharedTable<T>>) -> Self {
        let total = table.and_then(|table| table.totals.current_ptr());
        Walk {
            table,
            cursor: Cursor::default(),
            total,
            // SAFETY: the caller's duty: a total it can see stays alive.
            covers: total.map_or(0, |total| unsafe { total.as_ref() }.folds),
        }
    }

    /// The next value; valid for `'a`, by `new`'s duty. Its pointer is the node's (or the
    /// total's) own, not one made from a shared reference, so that `iter_mut` may write
    /// through it.
    fn next(&mut self) -> Option<NonNull<T>> {
        let table = self.table?;
        while let Some(node) = self.cursor.next(table) {
            // SAFETY: as `new`'s duty: a counted reader's node is alive.
            let (link, value) = unsafe { (&node.as_ref().0, &raw mut (*node.as_ptr()).0.value) };
            if shared_slot::counts(link, self.covers) {
                return NonNull::new(value);
            }
        }
        let total = self.total.take()?;
        // SAFETY: as for the nodes: a total the reader could see stays alive.
        NonNull::new(unsafe { &raw mut (*total.as_ptr()).value })
    }
}

/// Every thread's value of a [`SharedThreadLocal`], readable for as long as this guard
/// lives: from [`SharedThreadLocal::read`].
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{Read, SharedThreadLocal};
///
/// let names = SharedThreadLocal::with_init(|| "worker");
/// names.with(|_| {});
/// let all: Read<'_, &str> = names.read();
/// assert_eq!(all.iter().copied().collect::<Vec<_>>(), ["worker"]);
/// ```
pub struct Read<'a, T> {
    table: Option<&'a SharedTable<T>>,
    reader: Option<Reader<'a, Garbage<T>>>,
}

impl<T> Read<'_, T> {
    /// The values: each live thread's, each kept one, and the total of folded ones, each
    /// counted once, in unspecified order: the walk takes the total as it is when it
    /// starts, and a value folded after that is seen in its thread's node. A thread that
    /// starts or exits during the walk may or may not be seen.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::with_init(|| 2);
    /// local.with(|_| {});
    /// assert_eq!(local.read().iter().sum::<i32>(), 2);
    /// ```
    pub fn iter(&self) -> ReadIter<'_, T> {
        ReadIter {
            // SAFETY: the guard counted its reader before this, until it drops, which the
            // iterator's borrow of it prevents.
            walk: unsafe { Walk::new(self.table) },
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
        if let (Some(table), Some(reader)) = (self.table, self.reader.take()) {
            if std::thread::panicking() {
                // What waited for this reader goes with the next reader out.
                drop(reader);
            } else {
                table.free(reader.leave());
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
/// # use local_core as local;
/// use local::{ReadIter, SharedThreadLocal};
///
/// let local = SharedThreadLocal::with_init(|| 1u8);
/// local.with(|_| {});
/// let all = local.read();
/// let values: ReadIter<'_, u8> = all.iter();
/// assert_eq!(values.count(), 1);
/// ```
pub struct ReadIter<'r, T> {
    walk: Walk<'r, T>,
}

impl<'r, T> Iterator for ReadIter<'r, T> {
    type Item = &'r T;

    fn next(&mut self) -> Option<&'r T> {
        let value = self.walk.next()?;
        // SAFETY: `'r` borrows the `Read` guard, which counted its reader before the walk
        // took its total or loaded any node: what is retired since waits for the guard to
        // drop (`reclaim.rs`), and the `&mut` methods, which free at once, are excluded by
        // its borrow of the instance.
        Some(unsafe { value.as_ref() })
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

    /// Every value the instance held: live threads', kept ones, and the total of folded
    /// ones.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::SharedThreadLocal;
    ///
    /// let local = SharedThreadLocal::with_init(|| 4);
    /// local.with(|_| {});
    /// assert_eq!(local.into_iter().collect::<Vec<_>>(), [4]);
    /// ```
    fn into_iter(self) -> std::vec::IntoIter<T> {
        let values = self.table.get().map(SharedTable::drain);
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
            Some((entry, value)) => entry.access(|| out.field("value", value)),
            None => out.field("value", &format_args!("<uninitialized>")),
        };
        out.finish_non_exhaustive()
    }
}
