use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::AccessError;
use crate::access::{self, Local};
use crate::binding::Scoped;
use crate::entry::Entry;
use crate::error::{drop_each, or_fail};
use crate::frame::Values;
use crate::guard::RefMut;
use crate::iter::{IntoIter, IterMut};
use crate::table::{Table, TableCell};
use crate::thread::{self, Member};

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
/// a `Clone` runs: a value's `Drop` may drop a [`Context`], end a [`fresh`] frame, drop the last
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
/// Inside a [`Context`] or [`fresh`], a `ThreadLocal` reads the value of that frame, kept
/// by the frame and dropped with it (never retained): `iter_mut`, `into_iter` and `clear`
/// reach the values of threads, not those of frames.
///
/// # Memory
///
/// An instance allocates nothing until its first touch. Then it allocates its table (about
/// 600 bytes), and each thread's entry comes in a bucket of doubling size, allocated by the
/// first thread that needs one (the `thread_local` crate's layout). Each entry is followed
/// by 128 bytes of padding (64 on targets other than x86-64 and aarch64), so that threads
/// writing their own values never share a cache line.
/// A thread's index, and so its entry, is reused by later threads once it exits. The table
/// is freed once the instance is dropped and no thread that used it still lists it (a
/// thread lets go at its exit at the latest).
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
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// let local = ThreadLocal::with_init(|| std::rc::Rc::new(0));
/// ```
///
/// ```compile_fail
/// # use local_core as local;
/// use local::ThreadLocal;
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
/// # use local_core as local;
/// use local::ThreadLocal;
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
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// let config = vec!["verbose"];
/// let options = ThreadLocal::with_init(|| config.clone());
/// std::thread::scope(|s| {
///     s.spawn(|| assert_eq!(options.get(), ["verbose"]));
/// });
/// ```
///
/// # An initializer that captures, held in a struct
///
/// The instance's type names its initializer's (`ThreadLocal<T, F>`, as `LazyLock` does),
/// and every closure has a type of its own: a field holds one boxed, which also lets two
/// branches build the same type.
///
/// ```
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// type Connect = Box<dyn Fn() -> String + Send + Sync>;
///
/// struct Client {
///     connections: ThreadLocal<String, Connect>,
/// }
///
/// impl Client {
///     fn new(host: String, tls: bool) -> Self {
///         let connect: Connect = if tls {
///             Box::new(move || format!("tls://{host}"))
///         } else {
///             Box::new(move || format!("tcp://{host}"))
///         };
///         Client { connections: ThreadLocal::with_init(connect) }
///     }
/// }
///
/// let client = Client::new("db.local".into(), true);
/// assert_eq!(client.connections.get(), "tls://db.local");
/// ```
///
/// A function that builds an instance from one closure can return
/// `ThreadLocal<T, impl Fn() -> T + Send + Sync>` instead, unboxed.
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
/// [`fresh`]: crate::fresh
pub struct ThreadLocal<T, F = fn() -> T> {
    /// What threads reach: made on the first touch, and shared with the list of every
    /// thread that holds a value in it, so that a thread's exit can reach it after the
    /// instance is gone.
    table: TableCell<Table<T>>,
    init: F,
    /// `retain_on_exit`.
    keep: bool,
    /// `inherit`: how `Context::inherit` clones a value.
    inherit: Option<fn(&T) -> T>,
    /// `per_thread`: one value per OS thread, whatever frame runs.
    per_thread: bool,
    ops: Ops<T>,
}

/// What the accesses need of `T: Send + 'static`, fixed where the constructors know it, so
/// that no access needs the bound: a value type that is not `Send` is one error, at the
/// constructor, rather than one more at every call.
struct Ops<T> {
    /// The table as a member of a thread's list.
    member: fn(Arc<Table<T>>) -> Arc<dyn Member>,
    /// A frame's entry for the instance, which the frame checks the type of (`T: 'static`).
    find: for<'v> fn(&'v Values, usize) -> Option<&'v Entry<T>>,
    find_or_insert: for<'v> fn(&'v Values, usize, Option<CloneFn<T>>) -> &'v Entry<T>,
}

/// How `Context::inherit` clones a value.
type CloneFn<T> = fn(&T) -> T;

impl<T: Send + 'static> Ops<T> {
    const OF: Ops<T> = Ops {
        member: |table| table,
        find: Values::find,
        find_or_insert: Values::find_or_insert,
    };
}

impl<T: Send + Default + 'static> ThreadLocal<T> {
    /// Creates an instance whose threads each start from `T::default()`. `const`, so it can
    /// be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
        ThreadLocal::make(init)
    }
}

/// The initializer of an instance made by [`ThreadLocal::without_init`]: there is none.
/// Such an instance has no `with`, `with_mut`, `get` or `borrow_mut`, which would run it:
/// each access names its own ([`with_or_init`](ThreadLocal::with_or_init)), or the value
/// is stored by [`set`](ThreadLocal::set) or [`try_init`](ThreadLocal::try_init).
///
/// # Examples
///
/// ```compile_fail
/// # use local_core as local;
/// use local::ThreadLocal;
///
/// let names = ThreadLocal::<String, _>::without_init();
/// names.with(|n| n.len()); // no initializer to run: use `with_or_init`
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NoInit(());

impl<T: Send + 'static> ThreadLocal<T, NoInit> {
    /// Creates an instance without an initializer, for a `T` that is not `Default` and is
    /// built at each call site (the `thread_local` crate's `new()` with `get_or(create)`):
    /// read it with [`with_or_init`](Self::with_or_init) and
    /// [`with_mut_or_init`](Self::with_mut_or_init), or [`with_existing`](Self::with_existing),
    /// which never initializes. `const`, so it can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{NoInit, ThreadLocal};
    ///
    /// struct Connection {
    ///     host: String,
    /// }
    ///
    /// static CONNECTIONS: ThreadLocal<Connection, NoInit> = ThreadLocal::without_init();
    ///
    /// let connect = || Connection { host: String::from("db.local") };
    /// assert_eq!(CONNECTIONS.with_or_init(connect, |c| c.host.len()), 8);
    /// ```
    #[must_use]
    pub const fn without_init() -> Self {
        ThreadLocal::make(NoInit(()))
    }
}

impl<T: Send + 'static, F> ThreadLocal<T, F> {
    /// Where `T: Send + 'static` is checked, once for every access.
    const fn make(init: F) -> Self {
        ThreadLocal {
            table: TableCell::new(),
            init,
            keep: false,
            inherit: None,
            per_thread: false,
            ops: Ops::<T>::OF,
        }
    }
}

impl<T, F> ThreadLocal<T, F> {
    /// Keeps the value of each thread that exits, instead of dropping it, for
    /// [`iter_mut`](Self::iter_mut), [`into_iter`](IntoIterator::into_iter) and
    /// [`clear`](Self::clear). A kept value is never handed to another thread: a thread
    /// that starts later gets a fresh value from the initializer. Values of contexts and
    /// `fresh` frames are not kept: they are dropped with their frame.
    ///
    /// This is the per-thread accumulator pattern: each worker adds to its own value, and
    /// the totals are summed once the workers are done.
    ///
    /// # Panics
    ///
    /// If a thread touched the instance already: call it where the instance is made.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
    #[track_caller]
    pub const fn retain_on_exit(self) -> Self {
        self.table.untouched(
            "`ThreadLocal::retain_on_exit` called on an instance a thread touched already; \
             call it where the instance is made",
        );
        let mut this = self;
        this.keep = true;
        this
    }

    /// Makes [`Context::inherit`](crate::Context::inherit) carry this instance: a context
    /// it makes starts from a clone of the current value (as `#[thread_local_struct(inherit)]`
    /// does for a struct). Such an instance has no [`iter_mut`](Self::iter_mut), which
    /// would lend values that a clone could read under it.
    ///
    /// # Panics
    ///
    /// If a thread touched the instance already: call it where the instance is made.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{Context, ThreadLocal};
    ///
    /// let trace_id = ThreadLocal::<u64>::new().inherit();
    /// trace_id.set(7);
    /// let mut child = Context::inherit();
    /// assert_eq!(child.run(|| trace_id.get()), 7);
    /// ```
    #[must_use]
    #[track_caller]
    pub const fn inherit(self) -> Self
    where
        T: Clone,
    {
        self.table.untouched(
            "`ThreadLocal::inherit` called on an instance a thread touched already; call it \
             where the instance is made",
        );
        if self.per_thread {
            panic!(
                "`ThreadLocal::inherit` called on a `per_thread` instance: its value stays with \
                 its thread, and a context would not read a copy"
            );
        }
        let mut this = self;
        this.inherit = Some(T::clone);
        this
    }

    /// Makes each OS thread's value the one it reads, whatever
    /// [`Context`](crate::Context) or [`fresh`](crate::fresh) frame runs, as
    /// `#[thread_local_struct(per_thread)]` does for a struct: the `thread_local` crate's
    /// semantics. For a library's internal per-thread state (a span
    /// stack, a buffer pool, a connection cache), which an application's frames must not
    /// swap out.
    ///
    /// # Panics
    ///
    /// If a thread touched the instance already, or it was made [`inherit`](Self::inherit)
    /// (a context would never read the copy).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    /// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    ///
    /// let connects = AtomicUsize::new(0);
    /// let connections = ThreadLocal::with_init(|| {
    ///     connects.fetch_add(1, Relaxed);
    ///     "connection"
    /// })
    /// .per_thread();
    /// for _job in 0..3 {
    ///     local::fresh(|| connections.with(|_| ())); // each job in a fresh frame
    /// }
    /// assert_eq!(connects.load(Relaxed), 1); // one for the thread, not one a job
    /// ```
    #[must_use]
    #[track_caller]
    pub const fn per_thread(self) -> Self {
        self.table.untouched(
            "`ThreadLocal::per_thread` called on an instance a thread touched already; call \
             it where the instance is made",
        );
        if self.inherit.is_some() {
            panic!(
                "`ThreadLocal::per_thread` called on an `inherit` instance: its value would \
                 stay with its thread, and a context would not read a copy"
            );
        }
        let mut this = self;
        this.per_thread = true;
        this
    }

    /// The table, made on the first touch.
    fn table(&self) -> &Table<T> {
        self.table
            .get_or_init(|| Table::new(self.keep, self.inherit))
    }

    /// This thread's own entry, listed for the thread's exit: the one it reads outside
    /// frames, or always with `per_thread`.
    fn own_entry(&self) -> Result<&Entry<T>, AccessError> {
        let table = self.table();
        let thread = table.owner_entry(thread::position()?, || {
            let member = (self.ops.member)(self.table.share());
            thread::join(member, table.inherit.is_some())
        })?;
        Ok(&thread.entry)
    }
}

impl<T, F> Local for &ThreadLocal<T, F> {
    type Value = T;

    #[inline(always)]
    fn fast<R, A: FnOnce(&Entry<T>) -> R>(
        self,
        ready: impl Fn(&Entry<T>) -> bool,
        owned: bool,
        access: A,
    ) -> Result<R, A> {
        let Some(table) = self.table.get() else {
            return Err(access);
        };
        let (position, tag) = thread::position_and_tag();
        let Some(thread) = table.get(position) else {
            return Err(access);
        };
        let entry = if thread::likely(tag == 0) || self.per_thread {
            if owned && !thread.is_joined() {
                return Err(access);
            }
            &thread.entry
        } else {
            match thread.cache.get(tag) {
                Some(entry) => entry,
                None => return Err(access),
            }
        };
        if ready(entry) {
            Ok(access(entry))
        } else {
            Err(access)
        }
    }

    fn locate<R>(
        self,
        f: impl FnOnce(&Entry<T>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError> {
        let table = self.table();
        thread::with_frame(|frame| match frame.filter(|_| !self.per_thread) {
            None => f(self.own_entry()?),
            Some(frame) => {
                let entry = (self.ops.find_or_insert)(frame.values, table.key, table.inherit);
                // A thread whose exit is over still runs frames, uncached.
                if let Ok(position) = thread::position() {
                    table.entry_at(position).cache.set(frame.tag, entry);
                }
                f(entry)
            }
        })
    }

    fn peek<R>(self, f: impl FnOnce(Option<&Entry<T>>) -> R) -> R {
        // No table: no thread or frame holds a value (keys come with the table).
        let Some(table) = self.table.get() else {
            return f(None);
        };
        thread::with_frame(|frame| match frame.filter(|_| !self.per_thread) {
            None => f(table
                .get(thread::position_and_tag().0)
                .map(|thread| &thread.entry)),
            Some(frame) => f((self.ops.find)(frame.values, table.key)),
        })
    }
}

impl<T, F: Fn() -> T> ThreadLocal<T, F> {
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let name = ThreadLocal::with_init(|| String::from("worker"));
    /// assert_eq!(name.with(|n| n.len()), 6);
    /// ```
    #[inline]
    #[track_caller]
    #[doc(alias = "with_borrow")]
    #[doc(alias = "get_or_default")]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        access::with(self, &self.init, f)
    }

    /// Calls `f` with this thread's value, or says why it cannot: the value is mutably
    /// borrowed ([`AccessError::Borrowed`]), this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting and its value was
    /// destroyed ([`AccessError::Destroyed`]). A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let log: ThreadLocal<Vec<&str>> = ThreadLocal::new();
    /// log.with_mut(|_| assert_eq!(log.try_with(|l| l.len()), Err(AccessError::Borrowed)));
    /// assert_eq!(log.try_with(|l| l.len()), Ok(0));
    /// ```
    #[inline]
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        access::try_with(self, &self.init, f)
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let total: ThreadLocal<u64> = ThreadLocal::new();
    /// total.with_mut(|t| *t += 5);
    /// assert_eq!(total.get(), 5);
    /// ```
    #[inline]
    #[track_caller]
    #[doc(alias = "with_borrow_mut")]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        access::with_mut(self, &self.init, f)
    }

    /// Calls `f` with this thread's value, mutably, or says why it cannot: the value is
    /// already borrowed ([`AccessError::Borrowed`]), this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting and its value was
    /// destroyed ([`AccessError::Destroyed`]). A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let total: ThreadLocal<u64> = ThreadLocal::new();
    /// total.with(|_| assert_eq!(total.try_with_mut(|t| *t += 1), Err(AccessError::Borrowed)));
    /// assert_eq!(total.try_with_mut(|t| { *t += 1; *t }), Ok(1));
    /// ```
    #[inline]
    pub fn try_with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        access::try_with_mut(self, &self.init, f)
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let value = ThreadLocal::with_init(|| 1);
    /// assert_eq!(value.replace(2), 1);
    /// assert_eq!(value.get(), 2);
    /// ```
    #[track_caller]
    pub fn replace(&self, value: T) -> T {
        self.with_mut(|old| std::mem::replace(old, value))
    }

    /// This thread's value, mutably borrowed until the returned guard drops, initializing
    /// it first if needed: for a borrow held across calls, where a closure cannot hold it
    /// (rayon's `for_each_init`, bevy's `Parallel::borrow_local_mut`). Only for a
    /// [`per_thread`](Self::per_thread) instance, whose value is its thread's whatever
    /// frame runs; `with_mut` is the same borrow for the length of a closure.
    ///
    /// While the guard lives, every other access to the value on this thread is refused
    /// ([`AccessError::Borrowed`]), as with `RefCell::borrow_mut`. The guard is `!Send`.
    /// It may outlive the thread's own teardown (leaked, kept in another thread-local,
    /// alive at `process::exit`): the exiting thread then leaves the value where it is,
    /// never reuses its index, and the value is dropped with the instance.
    ///
    /// Against bevy's `Parallel::borrow_local_mut` (the `thread_local` crate's
    /// `ThreadLocal<RefCell<T>>`, `get_or_default().borrow_mut()`), in the repository's
    /// benches: a guard taken, one change made and dropped, as a call of its own, took
    /// 3.79 ns against bevy's 2.71–3.25 ns (1.17×–1.43× over runs); filling a `Vec` per
    /// thread through rayon's `for_each_init` with 10,000 items, 0.56×–1.16× of bevy's time.
    ///
    /// # Panics
    ///
    /// If the instance is not `per_thread`: a [`Context`](crate::Context) keeps its own
    /// values, and would drop one under a guard that outlived the context's run. As
    /// [`with_mut`](Self::with_mut) otherwise; see [`try_borrow_mut`](Self::try_borrow_mut).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let batches = ThreadLocal::<Vec<u32>>::new().per_thread();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         let mut batch = batches.borrow_mut(); // once for many items
    ///         for item in 0..100 {
    ///             batch.push(item);
    ///         }
    ///     });
    /// });
    /// ```
    #[track_caller]
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        or_fail::<T, _>(self.try_borrow_mut())
    }

    /// As [`borrow_mut`](Self::borrow_mut), or says why it cannot: the value is already
    /// borrowed, or bound by a [`sync_scope`](Self::sync_scope) or a [`scope`](Self::scope)
    /// future's poll that is running, whose end must put the previous value back while the
    /// guard could still be alive ([`AccessError::Borrowed`]); this is its initializer
    /// ([`AccessError::Initializing`]), or the thread is exiting and its value was
    /// destroyed ([`AccessError::Destroyed`]).
    ///
    /// # Panics
    ///
    /// If the instance is not `per_thread`. A panic of the initializer propagates.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let scratch = ThreadLocal::<String>::new().per_thread();
    /// let mut held = scratch.try_borrow_mut().unwrap();
    /// held.push_str("busy");
    /// assert_eq!(scratch.try_borrow_mut().err(), Some(AccessError::Borrowed));
    /// assert_eq!(scratch.try_with(String::len), Err(AccessError::Borrowed));
    /// drop(held);
    /// assert_eq!(scratch.get(), "busy");
    /// ```
    #[track_caller]
    pub fn try_borrow_mut(&self) -> Result<RefMut<'_, T>, AccessError> {
        if !self.per_thread {
            not_per_thread::<T>();
        }
        // Not through `Local::fast`, whose access cannot return a borrow of the entry; the
        // same steps, without the frame's cache, which a `per_thread` instance never uses.
        let entry = match self
            .table
            .get()
            .and_then(|table| table.get(thread::position_and_tag().0))
        {
            Some(thread) if thread.is_joined() => &thread.entry,
            _ => self.own_entry()?,
        };
        let Ok(()) = entry.initialize(|| Ok::<_, Infallible>((self.init)()))?;
        entry.borrow_mut_held().map(RefMut::new)
    }
}

/// `borrow_mut`'s panic for an instance that is not `per_thread`.
#[cold]
#[track_caller]
fn not_per_thread<T>() -> ! {
    panic!(
        "`ThreadLocal<{}>::borrow_mut` needs a `per_thread()` instance: a guard held across \
         calls must borrow the thread's own value, never a context's",
        std::any::type_name::<T>()
    )
}

impl<T, F> ThreadLocal<T, F> {
    /// Calls `f` with this thread's value, built by `init` if there is none yet: the
    /// `thread_local` crate's `get_or(create)`, an initializer chosen at each call instead
    /// of the instance's (which this never calls). For an instance made by
    /// [`without_init`](Self::without_init), it is how a value is made.
    ///
    /// # Panics
    ///
    /// As [`with`](Self::with); see [`try_with_or_init`](Self::try_with_or_init). A panic of
    /// `init` propagates, and nothing is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let greetings = ThreadLocal::without_init();
    /// let name = "ada";
    /// assert_eq!(greetings.with_or_init(|| format!("hello {name}"), |g| g.len()), 9);
    /// assert_eq!(greetings.with_or_init(|| unreachable!(), |g| g.clone()), "hello ada");
    /// ```
    #[doc(alias = "get_or")]
    #[inline]
    #[track_caller]
    pub fn with_or_init<R>(&self, init: impl FnOnce() -> T, f: impl FnOnce(&T) -> R) -> R {
        access::with(self, init, f)
    }

    /// As [`with_or_init`](Self::with_or_init), the error returned instead of a panic; see
    /// [`try_with`](Self::try_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let buffer = ThreadLocal::without_init();
    /// buffer.with_mut_or_init(Vec::<u8>::new, |outer| {
    ///     let inner = buffer.try_with_or_init(Vec::new, |b| b.len());
    ///     assert_eq!(inner, Err(AccessError::Borrowed));
    ///     outer.push(1);
    /// });
    /// assert_eq!(buffer.try_with_or_init(Vec::new, |b| b.len()), Ok(1));
    /// ```
    #[inline]
    pub fn try_with_or_init<R>(
        &self,
        init: impl FnOnce() -> T,
        f: impl FnOnce(&T) -> R,
    ) -> Result<R, AccessError> {
        access::try_with(self, init, f)
    }

    /// Calls `f` with this thread's value, mutably, built by `init` if there is none yet:
    /// the crate's `get_or(create)` on a `RefCell`, then `borrow_mut()`.
    ///
    /// # Panics
    ///
    /// As [`with_mut`](Self::with_mut); see [`try_with_mut_or_init`](Self::try_with_mut_or_init).
    /// A panic of `init` propagates, and nothing is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let spans = ThreadLocal::without_init();
    /// spans.with_mut_or_init(|| Vec::with_capacity(64), |s| s.push("request"));
    /// spans.with_mut_or_init(Vec::new, |s| s.push("query"));
    /// assert_eq!(spans.with_existing(|s| s.map(Vec::len)), Some(2));
    /// ```
    #[doc(alias = "get_or")]
    #[inline]
    #[track_caller]
    pub fn with_mut_or_init<R>(&self, init: impl FnOnce() -> T, f: impl FnOnce(&mut T) -> R) -> R {
        access::with_mut(self, init, f)
    }

    /// As [`with_mut_or_init`](Self::with_mut_or_init), the error returned instead of a
    /// panic; see [`try_with_mut`](Self::try_with_mut).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let total = ThreadLocal::without_init();
    /// total.with_or_init(|| 1u64, |_| {
    ///     assert_eq!(total.try_with_mut_or_init(|| 1, |t| *t += 1), Err(AccessError::Borrowed));
    /// });
    /// assert_eq!(total.try_with_mut_or_init(|| 1, |t| { *t += 1; *t }), Ok(2));
    /// ```
    #[inline]
    pub fn try_with_mut_or_init<R>(
        &self,
        init: impl FnOnce() -> T,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, AccessError> {
        access::try_with_mut(self, init, f)
    }

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
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
    #[doc(alias = "get_or_try")]
    pub fn try_init<E>(&self, init: impl FnOnce() -> Result<T, E>) -> Result<(), E> {
        access::try_init(self, init)
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let value = ThreadLocal::with_init(|| -> u32 { unreachable!("set does not initialize") });
    /// value.set(7);
    /// assert_eq!(value.get(), 7);
    /// ```
    #[track_caller]
    pub fn set(&self, value: T) {
        access::set(self, value);
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let value = ThreadLocal::with_init(|| 1);
    /// assert_eq!(value.take(), None);
    /// value.set(5);
    /// assert_eq!(value.take(), Some(5));
    /// assert_eq!(value.get(), 1);
    /// ```
    #[track_caller]
    pub fn take(&self) -> Option<T> {
        access::take(self)
    }

    /// Does this thread (or the current context) hold a value, initialized or `set`? Only
    /// looks: never runs the initializer, and allocates nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let value: ThreadLocal<u8> = ThreadLocal::new();
    /// assert!(!value.is_initialized());
    /// value.with(|_| {});
    /// assert!(value.is_initialized());
    /// ```
    pub fn is_initialized(&self) -> bool {
        access::is_initialized(self)
    }

    /// Calls `f` with this thread's value if it has one, or `None`: a read that never runs
    /// the initializer, in one lookup (the `thread_local` crate's `get() -> Option<&T>`).
    /// `None` before the first touch, after [`take`](Self::take), while the initializer
    /// runs, and during thread teardown once the value was destroyed.
    ///
    /// # Panics
    ///
    /// If the value is mutably borrowed on this thread; see
    /// [`try_with_existing`](Self::try_with_existing).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let connection = ThreadLocal::with_init(|| String::from("db.local:5432"));
    /// assert_eq!(connection.with_existing(|c| c.cloned()), None); // nothing made
    /// connection.with(|_| ());
    /// assert_eq!(connection.with_existing(|c| c.map(String::len)), Some(13));
    /// ```
    #[doc(alias = "get")]
    #[track_caller]
    pub fn with_existing<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        or_fail::<T, _>(access::with_existing(self, f))
    }

    /// As [`with_existing`](Self::with_existing), with the one error it can meet returned:
    /// [`AccessError::Borrowed`], if the value is mutably borrowed on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let hits: ThreadLocal<u32> = ThreadLocal::new();
    /// hits.with_mut(|_| {
    ///     assert_eq!(hits.try_with_existing(|n| n.copied()), Err(AccessError::Borrowed));
    /// });
    /// assert_eq!(hits.try_with_existing(|n| n.copied()), Ok(Some(0)));
    /// ```
    pub fn try_with_existing<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> Result<R, AccessError> {
        access::with_existing(self, f)
    }

    /// Runs `f` with this thread's value (or the current context's) bound to `value`; the
    /// previous value, or its absence, is back afterwards, also on unwind, and `value` (or
    /// whatever `f` left in its place) is dropped. tokio's `LocalKey::sync_scope`, Java's
    /// `ScopedValue`. The initializer does not run.
    ///
    /// For a future, use [`scope`](Self::scope), which binds during every poll: a closure
    /// that returns a future (`|| async { .. }`) runs here, but its future would run later,
    /// without the binding.
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let user = ThreadLocal::with_init(|| "anonymous");
    /// let seen = user.sync_scope("ada", || user.get());
    /// assert_eq!((seen, user.get()), ("ada", "anonymous"));
    /// ```
    #[track_caller]
    pub fn sync_scope<R>(&self, value: T, f: impl FnOnce() -> R) -> R {
        access::sync_scope(self, value, f)
    }

    /// A future that binds this local to `value` during every poll of `future`, on
    /// whichever thread polls it, and while `future` is dropped: tokio's `LocalKey::scope`.
    /// Between polls the local has its previous value (or none) again, and the value is
    /// kept in the returned [`Scoped`], which can give it back
    /// ([`take_value`](Scoped::take_value)).
    ///
    /// # Panics
    ///
    /// A poll panics as [`sync_scope`](Self::sync_scope) does, and keeps the value for the
    /// next poll.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let user = ThreadLocal::with_init(|| "anonymous");
    /// let task = user.scope("ada", async { user.get() });
    /// # let waker = std::task::Waker::noop();
    /// # let mut cx = std::task::Context::from_waker(&waker);
    /// # let mut task = std::pin::pin!(task);
    /// # assert_eq!(task.as_mut().poll(&mut cx), std::task::Poll::Ready("ada"));
    /// assert_eq!(user.get(), "anonymous");
    /// ```
    pub fn scope<Fut: Future>(&self, value: T, future: Fut) -> Scoped<'_, Self, T, Fut> {
        Scoped::new(self, value, future)
    }

    /// Every value this instance holds for threads: live threads' values and, with
    /// [`retain_on_exit`](Self::retain_on_exit), those of exited threads. The order is
    /// unspecified. Values held by contexts and `fresh` frames belong to them and are not
    /// visited.
    ///
    /// A thread that exits after its value was visited keeps that value, instead of
    /// dropping it, until the instance is next cleared, iterated or dropped, or a new
    /// thread takes its index: a reference returned here may still be alive.
    ///
    /// # Panics
    ///
    /// If the instance was made [`inherit`](Self::inherit): [`Context::inherit`] clones a
    /// thread's value without the instance at hand, so it could not tell whether a
    /// reference returned here (which lives as long as the `&mut` borrow, past the
    /// iterator) is still in use. [`into_iter`](IntoIterator::into_iter) and
    /// [`clear`](Self::clear) lend nothing, and work on every instance.
    ///
    /// [`Context::inherit`]: crate::Context::inherit
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
    #[track_caller]
    pub fn iter_mut(&mut self) -> IterMut<'_, T> {
        if self.inherit.is_some() {
            panic!(
                "`ThreadLocal<{}>::iter_mut` on an `inherit` instance: `Context::inherit` \
                 could not tell whether the references it lends are still in use; use \
                 `into_iter` or `clear`",
                std::any::type_name::<T>()
            );
        }
        let table = self.table.get();
        if let Some(table) = table {
            drop_each(table.start_iter());
        }
        IterMut::new(table)
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
    /// # use local_core as local;
    /// use local::ThreadLocal;
    ///
    /// let mut value = ThreadLocal::with_init(|| 1);
    /// value.set(9);
    /// value.clear();
    /// assert_eq!(value.get(), 1);
    /// ```
    pub fn clear(&mut self) {
        if let Some(table) = self.table.get() {
            drop_each(table.drain());
        }
    }

    /// Moves every value this instance holds for threads out, for `into_iter`.
    pub(crate) fn drain(self) -> Vec<T> {
        self.table
            .get()
            .map(|table| table.drain())
            .unwrap_or_default()
    }
}

impl<'a, T, F> IntoIterator for &'a mut ThreadLocal<T, F> {
    type Item = &'a mut T;
    type IntoIter = IterMut<'a, T>;

    fn into_iter(self) -> IterMut<'a, T> {
        self.iter_mut()
    }
}

impl<T, F> IntoIterator for ThreadLocal<T, F> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::ThreadLocal;
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
        IntoIter::new(self.drain())
    }
}

impl<T, F> Drop for ThreadLocal<T, F> {
    fn drop(&mut self) {
        // Threads that hold a value here keep the table until they exit or sweep it; the
        // values go now, outside every lock.
        if let Some(table) = self.table.get() {
            drop_each(table.close());
        }
    }
}

impl<T: fmt::Debug, F> fmt::Debug for ThreadLocal<T, F> {
    /// Shows this thread's value if it has one and it is not mutably borrowed; never runs
    /// the initializer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ThreadLocal");
        self.peek(|entry| match entry {
            Some(entry) if entry.has_value() => {
                if entry.read(|value| out.field("value", value)).is_err() {
                    out.field("value", &format_args!("<borrowed>"));
                }
            }
            _ => {
                out.field("value", &format_args!("<uninitialized>"));
            }
        });
        out.finish_non_exhaustive()
    }
}
