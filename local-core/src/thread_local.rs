use std::any::TypeId;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::AccessError;
use crate::anchor::{Anchor, Counted};
use crate::binding::{Bind, Bound, Scoped};
use crate::context::{Inherited, Kind, Plain};
use crate::current;
use crate::entry::{Entry, Status};
use crate::error::or_fail;
use crate::exit::{self, Member};
use crate::lazy_table::LazyTable;
use crate::table::Table;

/// Per-instance thread-local storage: each thread that touches a `ThreadLocal` gets its own
/// value, built on that thread by the initializer, like a Python `threading.local()` object.
///
/// Unlike `std::thread_local!`, any number of instances can be created at run time (or
/// declared in a `static`: [`new`] and [`with_init`] are `const`); unlike the
/// `thread_local` crate, a thread's value is dropped when that thread exits and is never
/// handed to a later thread.
///
/// # Initialization and Destruction
///
/// A thread's value is built lazily, by the initializer given to [`with_init`] (or
/// `T::default` for [`new`]), on the first access from that thread. A thread that never
/// touches the instance never runs the initializer. If the initializer panics, nothing is
/// stored and the next access runs it again; [`try_init`] takes a fallible one.
///
/// A thread's value is dropped on that thread when the thread exits, with std's rules for
/// thread-local destructors: while a thread's values are being destroyed, a destructor can
/// still use every local whose value is alive, and a value it creates is destroyed too; a
/// local whose value was already destroyed refuses with [`AccessError::Destroyed`]. Every
/// value still held is dropped when the `ThreadLocal` is dropped. Each value is dropped
/// exactly once, and no lock of this library is held while a destructor, an initializer or
/// a `Clone` runs: a value's `Drop` may drop a [`Context`], end a [`scope`], drop the last
/// `Arc` of its own `ThreadLocal` or join a thread that uses it. If a destructor panics,
/// the other values are still dropped, and the first panic propagates (at thread exit, as
/// with std, it aborts).
///
/// Thread-local destructors run after the thread's closure returns: `JoinHandle::join`
/// waits for them, but the end of `std::thread::scope` does not. Right after a scope, a
/// worker's value may still be there for [`iter_mut`]; with [`retain_on_exit`] it is there
/// either way, which is why accumulators use it.
///
/// With [`retain_on_exit`], an exited thread's value is kept instead, for [`iter_mut`],
/// [`into_iter`](IntoIterator::into_iter) and [`clear`]: the per-thread accumulator
/// pattern. A kept value is still never visible to another thread through [`with`].
///
/// Inside a [`Context`] or [`scope`], a `ThreadLocal` reads the value of that frame, kept
/// by the frame and dropped with it (never retained): `iter_mut`, `into_iter` and `clear`
/// reach the values of threads, not those of frames.
///
/// # Memory
///
/// An instance allocates nothing until its first touch. Then it allocates its table:
/// about 2.7 KiB for a small `T`, carrying the entries of the first 15 threads alive at
/// once, so that those threads' first touches allocate nothing more. Each entry is padded
/// to its own 128 bytes, so that threads writing their own values never share a cache
/// line. Further threads' entries come in buckets of doubling size, allocated by the first
/// thread that needs one (the `thread_local` crate's layout). A thread's index, and so its
/// entry, is reused by later threads once it exits. The table is freed once the instance
/// is dropped and no thread that used it still lists it (a thread lets go at its exit at
/// the latest). The process keeps the last table freed, emptied, for the next instance of
/// the same `T`: a program that makes an instance per job neither goes back to the
/// allocator nor builds a table for each. Nothing of the old instance carries over: its
/// values were dropped with it, and the new instance is a new key to every context.
///
/// # Why values are `Send + 'static`
///
/// A value may outlive the instance: `mem::forget` of a `ThreadLocal` is safe, and a
/// [`Context`] keeps its values until it is dropped, so a value is dropped by its thread's
/// exit or its context's end, possibly after the instance is gone; a borrowed value could
/// then be dropped after what it borrows. And a value may be dropped on another thread than
/// its own (by [`clear`], or with a context that moved), hence `Send`. The *initializer*
/// may borrow: it is only called through `&self`. For values that are not `Send`, declare
/// a struct with `#[thread_local_struct]`.
///
/// ```compile_fail
/// use local_core::ThreadLocal;
///
/// let local = ThreadLocal::with_init(|| std::rc::Rc::new(0));
/// ```
///
/// ```compile_fail
/// use local_core::ThreadLocal;
///
/// let name = String::from("borrowed");
/// let local = ThreadLocal::with_init(|| name.as_str()); // a value that borrows
/// local.with(|_| {});
/// ```
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
/// static HITS: ThreadLocal<u32> = ThreadLocal::new();
///
/// HITS.with_mut(|n| *n += 1);
/// thread::spawn(|| {
///     // A new thread starts from its own fresh value.
///     assert_eq!(HITS.get(), 0);
///     HITS.with_mut(|n| *n += 10);
///     assert_eq!(HITS.get(), 10);
/// })
/// .join()
/// .unwrap();
/// assert_eq!(HITS.get(), 1);
/// ```
///
/// An initializer that borrows, inside `std::thread::scope`:
///
/// ```
/// use local_core::ThreadLocal;
///
/// let config = vec!["verbose"];
/// let options = ThreadLocal::with_init(|| config.clone());
/// std::thread::scope(|s| {
///     s.spawn(|| assert_eq!(options.get(), ["verbose"]));
/// });
/// ```
///
/// # Platform-specific behavior
///
/// Values are dropped by a thread-local destructor, so the platform rules of
/// `std::thread::LocalKey` apply: on some platforms the main thread's values, or the values
/// of threads killed without unwinding, are never dropped. The values of every instance a
/// thread touched are destroyed by one destructor of this library's; a thread-local
/// destructor that std runs after it and touches an instance gets
/// [`AccessError::Destroyed`]. On platforms without native thread-locals (std's OS-key
/// fallback: `windows-gnu`, Android, OpenBSD, illumos, ...) values are dropped at thread
/// exit too, and a destructor that std runs later may find the instance fresh again, as
/// with std's own `thread_local!` there.
///
/// [`new`]: ThreadLocal::new
/// [`with_init`]: ThreadLocal::with_init
/// [`try_init`]: ThreadLocal::try_init
/// [`with`]: ThreadLocal::with
/// [`try_with`]: ThreadLocal::try_with
/// [`try_with_mut`]: ThreadLocal::try_with_mut
/// [`set`]: ThreadLocal::set
/// [`replace`]: ThreadLocal::replace
/// [`take`]: ThreadLocal::take
/// [`iter_mut`]: ThreadLocal::iter_mut
/// [`clear`]: ThreadLocal::clear
/// [`retain_on_exit`]: ThreadLocal::retain_on_exit
/// [`Context`]: crate::Context
/// [`scope`]: crate::scope
pub struct ThreadLocal<T, F = fn() -> T> {
    /// The part threads reach, shared with the list of every thread that holds a value in
    /// it.
    table: LazyTable<Table<T>>,
    init: F,
    /// `retain_on_exit`.
    keep: bool,
    kind: &'static dyn Kind,
    /// `inherit`: how `Context::inherit` clones a value.
    inherit: Option<fn(&T) -> T>,
    /// The table as a member of a thread's list. Made where `T: Send + 'static` is known
    /// (the constructors), so that no access needs the bound: every instance has it.
    member: fn(Anchor<Table<T>>) -> Anchor<dyn Member>,
    /// `TypeId::of::<Table<T>>`, which needs `T: 'static` as `member` does: names the
    /// table's type to the one kept for reuse (`anchor.rs`).
    table_type: fn() -> TypeId,
    /// Owns a `Table<T>`: `Send` and `Sync` exactly when `T: Send`, like the `thread_local`
    /// crate's, since each thread reaches only its own value.
    _table: PhantomData<Table<T>>,
}

impl<T: Send + Default + 'static> ThreadLocal<T> {
    /// Creates an instance whose threads each start from `T::default()`. `const`, so it can
    /// be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// static NAMES: ThreadLocal<Vec<String>> = ThreadLocal::new();
    ///
    /// NAMES.with_mut(|v| v.push("main".into()));
    /// assert_eq!(NAMES.get(), ["main"]);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        ThreadLocal::with_init(T::default)
    }
}

impl<T: Send + Default + 'static> Default for ThreadLocal<T> {
    fn default() -> Self {
        ThreadLocal::new()
    }
}

impl<T: Send + 'static, F: Fn() -> T> ThreadLocal<T, F> {
    /// Creates an instance whose threads each start from `init()`, called on that thread at
    /// its first access. `init` may borrow (from a `std::thread::scope` or a rayon scope);
    /// `const`, so a function or a non-capturing closure can make a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    /// use std::thread;
    ///
    /// let start = 1000;
    /// let value = ThreadLocal::with_init(|| start); // borrows `start`
    /// thread::scope(|s| {
    ///     s.spawn(|| assert_eq!(value.get(), 1000));
    /// });
    /// ```
    #[must_use]
    pub const fn with_init(init: F) -> Self {
        ThreadLocal {
            table: LazyTable::new(),
            init,
            keep: false,
            kind: Plain::<T>::KIND,
            inherit: None,
            member: member::<T>,
            table_type: TypeId::of::<Table<T>>,
            _table: PhantomData,
        }
    }
}

/// The table as a thread's list keeps it, whatever its value type.
fn member<T: Send + 'static>(table: Anchor<Table<T>>) -> Anchor<dyn Member> {
    let table: NonNull<Counted<dyn Member>> = table.into_raw();
    // SAFETY: from `into_raw`, unsized; its count is taken back once.
    unsafe { Anchor::from_raw(table) }
}

impl<T: Send + 'static, F> ThreadLocal<T, F> {
    /// Keeps the value of each thread that exits, instead of dropping it, for
    /// [`iter_mut`](Self::iter_mut), [`into_iter`](IntoIterator::into_iter) and
    /// [`clear`](Self::clear). A kept value is never handed to another thread: a thread
    /// that starts later gets a fresh value from the initializer. Values of contexts and
    /// scopes are not kept: they are dropped with their frame.
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
    pub const fn retain_on_exit(self) -> Self {
        let mut this = self;
        this.keep = true;
        this
    }

    /// Makes [`Context::inherit`](crate::Context::inherit) carry this instance: a context
    /// it makes starts from a clone of the current value (as `#[thread_local_struct(inherit)]`
    /// does for a struct).
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::{Context, ThreadLocal};
    ///
    /// let trace_id = ThreadLocal::<u64>::new().inherit();
    /// trace_id.set(7);
    /// let mut child = Context::inherit();
    /// assert_eq!(child.run(|| trace_id.get()), 7);
    /// ```
    #[must_use]
    pub const fn inherit(self) -> Self
    where
        T: Clone,
    {
        let mut this = self;
        this.kind = Inherited::<T>::KIND;
        this.inherit = Some(T::clone);
        this
    }
}

impl<T, F> ThreadLocal<T, F> {
    /// The table, allocated on the first touch.
    #[inline(always)]
    fn table(&self) -> Option<&Table<T>> {
        self.table.get()
    }

    /// The table, made on the first touch: the one a dropped instance of the same `T` left,
    /// if it was kept, or a new one.
    #[inline]
    fn table_or_create(&self) -> &Table<T> {
        if let Some(table) = self.table() {
            return table;
        }
        self.table.get_or_init(|| {
            let table_type = (self.table_type)();
            // SAFETY: `table_type` is `TypeId::of::<Table<T>>()`; `Table::init`
            // initializes the whole table.
            unsafe {
                Anchor::reuse_or_new_with(
                    table_type,
                    |table: &mut Table<T>| table.reuse(self.keep, self.kind, self.inherit),
                    |place| Table::init(place, table_type, self.keep, self.kind, self.inherit),
                )
            }
        })
    }

    /// A counted reference to the table, for a thread's list of members. Called once the
    /// table exists.
    fn member(&self) -> Anchor<dyn Member> {
        (self.member)(self.table.counted())
    }

    /// The entry the current thread or frame reads, when it is there already: no lock, no
    /// allocation, no atomic read-modify-write.
    ///
    /// The thread's own entry may not be the thread's yet: its index may have been another
    /// thread's, which left it empty or holding a kept value. Reads and writes need a value
    /// and so refuse both, and take the slow path; anything that would use such an entry
    /// as it is asks for `owned`.
    #[inline(always)]
    fn current_entry_where(&self, owned: bool) -> Option<&Entry<T>> {
        let table = self.table()?;
        let (position, tag) = current::position_and_tag();
        let thread = table.get(position)?;
        if current::likely(tag == 0) {
            (!owned || thread.is_owned()).then_some(&thread.entry)
        } else {
            thread.cache.get(tag)
        }
    }

    #[inline(always)]
    fn current_entry(&self) -> Option<&Entry<T>> {
        self.current_entry_where(false)
    }

    /// The current entry, if a shared borrow of it can start now: the fast path.
    #[inline(always)]
    fn readable_entry(&self) -> Option<&Entry<T>> {
        self.current_entry().filter(|entry| entry.is_readable())
    }

    /// The current entry, if a mutable borrow of it can start now: the fast path.
    #[inline(always)]
    fn writable_entry(&self) -> Option<&Entry<T>> {
        self.current_entry().filter(|entry| entry.is_writable())
    }

    /// Calls `f` with the entry the current thread or frame reads, creating it (and
    /// registering the thread) if needed; does not initialize.
    #[cold]
    fn locate<R>(
        &self,
        f: impl FnOnce(&Entry<T>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError> {
        let table = self.table_or_create();
        let frame = current::frame();
        let thread = exit::position().and_then(|position| {
            table.owner_entry(position, || {
                exit::join(self.member(), self.inherit.is_some())
            })
        });
        match frame {
            None => f(&thread?.entry),
            Some(frame) => {
                // SAFETY: the current frame's values are valid while it is current.
                let values = unsafe { &*frame.values };
                // SAFETY: `key` stands for this instance, whose nodes hold `T`, and `kind`
                // is the instance's.
                let entry = unsafe { values.find_or_insert::<T>(table.key, table.kind) };
                // A thread whose exit is over still runs contexts, uncached.
                if let Ok(thread) = thread {
                    thread.cache.set(frame.tag, entry);
                }
                f(entry)
            }
        }
    }
}

impl<T, F: Fn() -> T> ThreadLocal<T, F> {
    fn fill(&self, entry: &Entry<T>) -> Result<(), AccessError> {
        match entry.status() {
            Status::Empty => entry.initialize(&self.init),
            _ => Ok(()),
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
        // The fast path of `try_with`, and a slow path that returns the value itself: no
        // stack frame here, and the slow path is a tail call.
        match self.readable_entry() {
            Some(entry) => or_fail::<T, _>(entry.read(f)),
            None => self.with_cold(f),
        }
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn with_cold<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        or_fail::<T, _>(self.locate_read(f))
    }

    /// Calls `f` with this thread's value, or says why it cannot: the value is mutably
    /// borrowed ([`AccessError::Borrowed`]), this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting and its value was
    /// destroyed ([`AccessError::Destroyed`]). A panic of the initializer propagates.
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
        match self.readable_entry() {
            Some(entry) => entry.read(f),
            None => self.try_with_cold(f),
        }
    }

    #[cold]
    #[inline(never)]
    fn try_with_cold<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.locate_read(f)
    }

    #[inline(always)]
    fn locate_read<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.locate(|entry| {
            self.fill(entry)?;
            entry.read(f)
        })
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
        // As in `with`.
        match self.writable_entry() {
            Some(entry) => or_fail::<T, _>(entry.write(f)),
            None => self.with_mut_cold(f),
        }
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn with_mut_cold<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        or_fail::<T, _>(self.locate_write(f))
    }

    /// Calls `f` with this thread's value, mutably, or says why it cannot: the value is
    /// already borrowed ([`AccessError::Borrowed`]), this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting and its value was
    /// destroyed ([`AccessError::Destroyed`]). A panic of the initializer propagates.
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
        match self.writable_entry() {
            Some(entry) => entry.write(f),
            None => self.try_with_mut_cold(f),
        }
    }

    #[cold]
    #[inline(never)]
    fn try_with_mut_cold<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        self.locate_write(f)
    }

    #[inline(always)]
    fn locate_write<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        self.locate(|entry| {
            self.fill(entry)?;
            entry.write(f)
        })
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
}

impl<T, F> ThreadLocal<T, F> {
    /// Builds this thread's value with `init`, unless the thread already has one: the
    /// `thread_local` crate's `get_or_try`. If `init` fails, nothing is stored, the error
    /// is returned, and the next call tries again. `init` runs instead of the instance's
    /// initializer, which this never calls.
    ///
    /// # Panics
    ///
    /// If the value is borrowed on this thread, if called from this instance's own
    /// initializer, or during thread teardown after the value was destroyed. A panic of
    /// `init` propagates.
    ///
    /// # Examples
    ///
    /// A per-thread connection whose connect may fail:
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// struct Connection {
    ///     queries: u32,
    /// }
    ///
    /// fn connect(attempt: &mut u32) -> Result<Connection, String> {
    ///     *attempt += 1;
    ///     if *attempt < 3 { Err(format!("refused ({attempt})")) } else { Ok(Connection { queries: 0 }) }
    /// }
    ///
    /// let connections: ThreadLocal<Connection, _> =
    ///     ThreadLocal::with_init(|| unreachable!("connections are made with try_init"));
    /// let mut attempts = 0;
    /// assert_eq!(connections.try_init(|| connect(&mut attempts)).err().as_deref(), Some("refused (1)"));
    /// assert!(!connections.is_initialized()); // nothing stored
    /// assert!(connections.try_init(|| connect(&mut attempts)).is_err());
    /// connections.try_init(|| connect(&mut attempts)).unwrap(); // the third attempt
    /// connections.with_mut(|c| c.queries += 1);
    /// connections.try_init(|| connect(&mut attempts)).unwrap(); // already there: not called
    /// assert_eq!((attempts, connections.with(|c| c.queries)), (3, 1));
    /// ```
    #[track_caller]
    pub fn try_init<E>(&self, init: impl FnOnce() -> Result<T, E>) -> Result<(), E> {
        if self.current_entry().is_some_and(Entry::is_present) {
            return Ok(());
        }
        or_fail::<T, _>(self.locate(|entry| {
            if entry.is_present() {
                return Ok(Ok(()));
            }
            entry.try_initialize(init)
        }))
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
        // Dropped after the entry is consistent again, so that its destructor may use it.
        let old = or_fail::<T, _>(self.locate(|entry| entry.put(value)));
        drop(old);
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
        or_fail::<T, _>(self.locate(Entry::take))
    }

    /// Does this thread (or the current context) hold a value, initialized or `set`? Only
    /// looks: never runs the initializer, and allocates nothing.
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
        if let Some(entry) = self.current_entry() {
            return entry.is_present();
        }
        // Looks, and changes nothing: no table made, no thread registered, no entry added
        // to a context. Without a table, no thread or context holds a value (keys come with
        // the table); outside a frame, `current_entry` found the thread's entry if it has
        // one.
        let (Some(table), Some(frame)) = (self.table(), current::frame()) else {
            return false;
        };
        // SAFETY: the current frame's values are valid while it is current; `key` stands
        // for this instance, whose nodes hold `T`.
        unsafe { (*frame.values).find::<T>(table.key) }.is_some_and(Entry::is_present)
    }

    /// Runs `f` with this thread's value (or the current context's) bound to `value`; the
    /// previous value, or its absence, is back afterwards, also on unwind, and `value` (or
    /// whatever `f` left in its place) is dropped. tokio's `LocalKey::sync_scope`, Java's
    /// `ScopedValue`. The initializer does not run.
    ///
    /// # Panics
    ///
    /// If the value is borrowed on this thread, from this instance's initializer, or during
    /// thread teardown after the value was destroyed. A panic of `f` propagates, after the
    /// previous value is back.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let user = ThreadLocal::with_init(|| "anonymous");
    /// let seen = user.scope("ada", || user.get());
    /// assert_eq!((seen, user.get()), ("ada", "anonymous"));
    /// ```
    #[track_caller]
    pub fn scope<R>(&self, value: T, f: impl FnOnce() -> R) -> R {
        let bound = or_fail::<T, _>(self.bind(value));
        let result = f();
        drop(bound);
        result
    }

    /// A future that binds this local to `value` during every poll of `future`, on
    /// whichever thread polls it: tokio's `LocalKey::scope`. Between polls the local has
    /// its previous value (or none) again.
    ///
    /// # Panics
    ///
    /// A poll panics as [`scope`](Self::scope) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use local_core::ThreadLocal;
    ///
    /// let user = ThreadLocal::with_init(|| "anonymous");
    /// let task = user.scope_async("ada", async { user.get() });
    /// # let waker = std::task::Waker::noop();
    /// # let mut cx = std::task::Context::from_waker(&waker);
    /// # let mut task = std::pin::pin!(task);
    /// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready("ada"));
    /// assert_eq!(user.get(), "anonymous");
    /// ```
    pub fn scope_async<Fut: Future>(&self, value: T, future: Fut) -> Scoped<'_, Self, T, Fut> {
        Scoped::new(self, value, future)
    }

    /// Every value this instance holds for threads: live threads' values and, with
    /// [`retain_on_exit`](Self::retain_on_exit), those of exited threads. The order is
    /// unspecified. Values held by contexts and scopes belong to them and are not visited.
    ///
    /// A thread that exits after its value was visited keeps that value, instead of
    /// dropping it, until the instance is next cleared, iterated or dropped, or a new
    /// thread takes its index: a reference returned here may still be alive.
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
    pub fn iter_mut(&mut self) -> crate::IterMut<'_, T> {
        if let Some(table) = self.table() {
            drop_all(table.sweep_orphans());
        }
        crate::IterMut::new(self.table())
    }

    /// Drops every value this instance holds for threads; each thread's next access runs
    /// the initializer again.
    ///
    /// # Panics
    ///
    /// If a value's destructor panics, after the other values are dropped.
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
        if let Some(table) = self.table() {
            drop_all(table.drain());
        }
    }

    /// Moves every value this instance holds for threads out, for `into_iter`.
    pub(crate) fn drain(self) -> Vec<T> {
        match self.table() {
            Some(table) => table.drain(),
            None => Vec::new(),
        }
    }
}

impl<'a, T, F> Bind<'a, T> for ThreadLocal<T, F> {
    fn bind(&'a self, value: T) -> Result<Bound<T>, AccessError> {
        // Binding takes an empty entry as it is: only one this thread owns, so that a first
        // touch joins the thread's list (for its exit and `Context::inherit`) and moves a
        // previous owner's value aside.
        if let Some(entry) = self.current_entry_where(true) {
            // SAFETY: the thread's own entry of this instance, alive while `&self` is, or a
            // node of the current frame; the guard is dropped within the caller's call.
            return unsafe { Bound::bind(entry, value) };
        }
        let mut value = Some(value);
        self.locate(|entry| {
            // SAFETY: as above.
            unsafe { Bound::bind(entry, value.take().expect("called once")) }
        })
    }
}

/// Drops `values` one by one; one whose destructor panics does not stop the others, and
/// the first panic is resumed after the last value.
pub(crate) fn drop_all<T>(values: Vec<T>) {
    let mut panic = None;
    for value in values {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(value)))
        {
            panic.get_or_insert(payload);
        }
    }
    if let Some(payload) = panic {
        std::panic::resume_unwind(payload);
    }
}

impl<T, F> Drop for ThreadLocal<T, F> {
    fn drop(&mut self) {
        let Some(table) = self.table.take() else {
            return;
        };
        let values = table.close();
        // The lists of threads that hold a value here keep the table until they exit or
        // sweep it; the values go now, outside every lock.
        drop(table);
        drop_all(values);
    }
}

impl<T: fmt::Debug, F> fmt::Debug for ThreadLocal<T, F> {
    /// Shows this thread's value if it has one and it is not mutably borrowed; never runs
    /// the initializer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ThreadLocal");
        match self.current_entry() {
            Some(entry) if entry.is_present() => {
                if entry.read(|value| out.field("value", value)).is_err() {
                    out.field("value", &format_args!("<borrowed>"));
                }
            }
            _ if self.is_initialized() => {
                out.field("value", &format_args!("<borrowed>"));
            }
            _ => {
                out.field("value", &format_args!("<uninitialized>"));
            }
        }
        out.finish_non_exhaustive()
    }
}
