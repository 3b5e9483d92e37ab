use std::any::{Any, type_name};
use std::error::Error;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Why a `try_with`/`try_with_mut` call could not reach this thread's value.
///
/// The panicking twins (`with`, `with_mut`, `set`, ...) panic with this error's message,
/// prefixed by the name of the value's type.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{AccessError, ThreadLocal};
///
/// let counter: ThreadLocal<u32> = ThreadLocal::new();
/// counter.with(|_| {
///     // A mutable borrow inside a shared one is refused, like `RefCell`.
///     assert_eq!(counter.try_with_mut(|n| *n += 1), Err(AccessError::Borrowed));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessError {
    /// The thread is exiting and this local's value on it was already destroyed, as with
    /// std's `thread_local!` (a destructor that runs during teardown can reach every local
    /// whose value is still alive).
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    /// use std::sync::Mutex;
    ///
    /// static LOCAL: ThreadLocal<Probe> = ThreadLocal::new();
    /// static SEEN: Mutex<Option<Result<(), AccessError>>> = Mutex::new(None);
    ///
    /// #[derive(Default)]
    /// struct Probe;
    /// impl Drop for Probe {
    ///     fn drop(&mut self) {
    ///         // Dropped at thread exit: its own value is the one being destroyed.
    ///         *SEEN.lock().unwrap() = Some(LOCAL.try_with(|_| ()));
    ///     }
    /// }
    ///
    /// std::thread::spawn(|| LOCAL.with(|_| ())).join().unwrap();
    /// assert_eq!(*SEEN.lock().unwrap(), Some(Err(AccessError::Destroyed)));
    /// ```
    Destroyed,
    /// The value is already borrowed on this thread in a way that conflicts: a mutable
    /// access inside any access, or a shared access inside a mutable one.
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// let local: ThreadLocal<u8> = ThreadLocal::new();
    /// local.with_mut(|_| assert_eq!(local.try_with(|_| ()), Err(AccessError::Borrowed)));
    /// ```
    Borrowed,
    /// The value's initializer, running on this thread, touched the value it is building.
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{AccessError, ThreadLocal};
    ///
    /// static LOCAL: ThreadLocal<u8> = ThreadLocal::with_init(init);
    ///
    /// fn init() -> u8 {
    ///     assert_eq!(LOCAL.try_with(|_| ()), Err(AccessError::Initializing));
    ///     1
    /// }
    /// assert_eq!(LOCAL.get(), 1);
    /// ```
    Initializing,
    /// The value is not `Send`, and this thread runs a [`Context`](crate::Context), which
    /// may move between threads: such values live in [`fresh`](crate::fresh) frames, or in
    /// locals declared `per_thread`. Only `#[thread_local_struct]` values can be `!Send`.
    NotSend,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessError::Destroyed => {
                "this thread's value was already destroyed: the thread is exiting"
            }
            AccessError::Borrowed => "this thread's value is already borrowed",
            AccessError::Initializing => "this thread's value was touched by its own initializer",
            AccessError::NotSend => {
                "the value is not `Send`, and a `Context` may move between threads: run this \
                 code in `local::fresh`, or declare the struct `per_thread`"
            }
        })
    }
}

impl Error for AccessError {}

/// The panic of the `with*` functions and setters, naming the value's type, reported at
/// their caller.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn fail<T>(error: AccessError) -> ! {
    panic!("cannot access thread-local `{}`: {error}", type_name::<T>())
}

/// The value, or the panic of [`fail`] (a closure passed to `unwrap_or_else` would lose
/// `#[track_caller]`).
#[inline]
#[track_caller]
pub(crate) fn or_fail<T, R>(result: Result<R, AccessError>) -> R {
    match result {
        Ok(value) => value,
        Err(error) => fail::<T>(error),
    }
}

/// Calls `f` on each item; one that panics does not stop the others. Returns the first
/// panic, for the caller to resume once it is done.
#[must_use]
pub(crate) fn each<I: IntoIterator>(
    items: I,
    mut f: impl FnMut(I::Item),
) -> Option<Box<dyn Any + Send>> {
    let mut panic = None;
    for item in items {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(item))) {
            panic.get_or_insert(payload);
        }
    }
    panic
}

/// Drops each value; one whose destructor panics does not stop the others, and the first
/// panic is resumed after the last value is dropped.
pub(crate) fn drop_each<I: IntoIterator>(values: I) {
    if let Some(payload) = each(values, drop) {
        resume_unwind(payload);
    }
}
