use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::AccessError;
use crate::identity::Membership;
use crate::table::{Local, Table, or_fail};

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
/// Thread-local destructors run after the thread's closure returns: `JoinHandle::join`
/// waits for them, but the end of `std::thread::scope` does not. Right after a scope, a
/// worker's value may still be there for [`iter_mut`]; with [`retain_on_exit`] it is there
/// either way, which is why accumulators use it.
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
/// Values must be `Send`, as with the `thread_local` crate: the instance may be dropped, and
/// a [`Context`](crate::Context) holding values may run, on another thread. For values that
/// are not `Send`, declare a struct with `#[thread_local_struct]` instead.
///
/// ```compile_fail
/// use local_core::ThreadLocal;
///
/// let local = ThreadLocal::with_init(|| std::rc::Rc::new(0));
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
    table: Arc<Table<T>>,
    init: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T: Send + Default + 'static> ThreadLocal<T> {
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

impl<T: Send + Default + 'static> Default for ThreadLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send> ThreadLocal<T> {
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
            table: Arc::new(Table::new()),
            init: Box::new(init),
        }
    }
}

impl<T> ThreadLocal<T> {
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
        self.table.lock().keep = true;
        self
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
        or_fail::<T, _>(self.try_with(f))
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
        Local::try_with(self, f)
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
        or_fail::<T, _>(self.try_with_mut(f))
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
        Local::try_with_mut(self, f)
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
        Local::set(self, value);
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
        Local::take(self)
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
        Local::is_initialized(self)
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
        IterMut {
            values: self.table.pin_values().into_iter(),
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
        self.table.drain(drop);
    }
}

impl<T> Local for ThreadLocal<T> {
    type Value = T;

    #[inline(always)]
    fn table(&self) -> &Table<T> {
        &self.table
    }

    fn init(&self) -> T {
        (self.init)()
    }

    /// A counted reference to the table: it outlives the `ThreadLocal` until every
    /// identity holding an entry has released it.
    fn membership(&self) -> Membership {
        unsafe fn release<T>(table: *const (), id: usize) {
            // SAFETY: `table` is a counted `Arc<Table<T>>` (see below).
            unsafe { &*table.cast::<Table<T>>() }.release(id);
        }
        unsafe fn forget<T>(table: *const ()) {
            // SAFETY: gives back the count taken by `Arc::into_raw` below.
            unsafe { Arc::decrement_strong_count(table.cast::<Table<T>>()) }
        }
        let table = Arc::into_raw(Arc::clone(&self.table)).cast::<()>();
        // SAFETY: `table` carries the count taken just above, which `forget` gives back;
        // `release` only touches the table under its lock and runs on `id`'s own thread
        // (`Table::release`).
        unsafe { Membership::new(table, release::<T>, forget::<T>) }
    }
}

impl<T> Drop for ThreadLocal<T> {
    fn drop(&mut self) {
        let members = self.table.drain(drop);
        crate::identity::leave(members, Arc::as_ptr(&self.table).cast());
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
        self.table.drain(|value| values.push(value));
        IntoIter {
            values: values.into_iter(),
        }
    }
}
