use std::error::Error;
use std::fmt;

/// Why a `try_with`/`try_with_mut` call could not reach this thread's value.
///
/// The panicking twins (`with`, `with_mut`, `set`, ...) panic with this error's message,
/// prefixed by the name of the value's type.
///
/// # Examples
///
/// ```
/// use local_core::{AccessError, ThreadLocal};
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
    /// The thread is exiting and has already destroyed its values: this happens when a
    /// thread-local destructor runs after this library's own.
    Destroyed,
    /// The value is already borrowed on this thread in a way that conflicts: a mutable
    /// access inside any access, or a shared access inside a mutable one.
    Borrowed,
    /// The value's initializer, running on this thread, touched the value it is building.
    Initializing,
    /// The value is not `Send`, and this thread runs a [`Context`](crate::Context), which
    /// may move between threads: such values live in [`scope`](crate::scope)s, or in
    /// locals declared `per_thread`.
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
                 code in `local::scope`, or declare the struct `per_thread`"
            }
        })
    }
}

impl Error for AccessError {}
