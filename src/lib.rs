//! `local` gives every thread its own value of a struct, built once on that thread by the
//! struct's initializer and dropped when the thread exits: Python's `threading.local`
//! subclass with an `__init__`, for Rust.
//!
//! ```
//! use local::thread_local_struct;
//! use std::thread;
//!
//! #[thread_local_struct]
//! #[derive(Debug, Clone)]
//! pub struct Session {
//!     #[init(1000)]
//!     value: u32,
//!     #[init(format!("{:?}", thread::current().id()))]
//!     owner: String, // evaluated on the thread that touches it first
//!     hits: u64,     // no #[init]: Default::default()
//! }
//!
//! Session::with_mut(|s| s.hits += 1);
//! assert_eq!((Session::value(), Session::hits()), (1000, 1));
//! thread::spawn(|| {
//!     // Another thread starts from its own, freshly built value.
//!     assert_eq!(Session::hits(), 0);
//!     assert_eq!(Session::owner(), format!("{:?}", thread::current().id()));
//! })
//! .join()
//! .unwrap();
//! assert_eq!(Session::hits(), 1);
//! ```
//!
//! # What there is
//!
//! - [`#[thread_local_struct]`](thread_local_struct): one value of the struct per thread,
//!   reached through generated functions (`Session::with`, `Session::with_mut`, per-field
//!   getters and setters, ...).
//! - [`ThreadLocal<T>`](ThreadLocal): any number of independent per-thread values, created
//!   at run time, like `threading.local()` objects. A struct with the attribute is
//!   `Default` (built by its initializer), so `ThreadLocal::<Session>::new()` gives
//!   instances of it too.
//!
//! - [`scope`], [`Context`], [`scope_async`]: fresh values for every local at once, for a
//!   job, a greenlet-like context or an async task (below).
//! - [`LocalStack<T>`](LocalStack): a per-thread, per-context stack, Flask's request stack.
//!
//! # Contexts: jobs, greenlets and tasks
//!
//! Every local, attribute structs and `ThreadLocal` instances alike, reads the value of the
//! *current context*: the thread's own, unless one of these is running.
//!
//! | use | for | values |
//! |---|---|---|
//! | `local::scope(\|\| job())` | a pooled worker's job: nothing carried from one job to the next | fresh inside; dropped when it returns; the outer ones are back |
//! | `Context::new()` + `ctx.run(\|\| ..)` | a resumable set of values, like a greenlet: switch between contexts on one thread | kept in the context between runs; dropped with it |
//! | `local::scope_async(fut)`, `ctx.wrap(fut)` | an async task that moves between worker threads | every poll runs in the task's context |
//! | `Context::inherit()` | a child thread or task that starts from the parent's values | clones of the `#[thread_local_struct(inherit)]` values |
//!
//! Entering or leaving costs the same however many locals exist: two thread-local writes.
//!
//! **Values that are not `Send`.** A scope never leaves its thread, so it gives fresh values
//! to every local. A `Context` (and so a task from `scope_async`) may move between threads,
//! so it holds only `Send` values: `ThreadLocal<T>` requires `T: Send`, and touching inside a
//! context a `#[thread_local_struct]` whose fields are not `Send` panics with a message that
//! names it (`try_with` returns [`AccessError::NotSend`]). A struct declared
//! `#[thread_local_struct(per_thread)]` is outside every context: it keeps its OS thread's
//! value whatever runs, which suits a per-thread connection or buffer pool, `Send` or not.
//!
//! ```
//! use local::{Context, thread_local_struct};
//!
//! #[thread_local_struct]
//! struct Lc {
//!     test: u32,
//! }
//!
//! let (mut gr1, mut gr2) = (Context::new(), Context::new());
//! gr1.run(|| Lc::set_test(1));
//! gr2.run(|| Lc::set_test(2));
//! assert_eq!((gr1.run(Lc::test), gr2.run(Lc::test), Lc::test()), (1, 2, 0));
//!
//! let fresh = local::scope(|| {
//!     Lc::set_test(3);
//!     Lc::test()
//! });
//! assert_eq!((fresh, Lc::test()), (3, 0));
//! ```
//!
//! # Guarantees
//!
//! - The initializer runs exactly once per thread and value, lazily, on that thread; a
//!   thread that never touches the value never runs it. If it panics, nothing is stored and
//!   the next touch runs it again.
//! - Another thread's writes are never visible, and a new thread never sees a value left by
//!   an exited one (unlike the `thread_local` crate, which hands it on).
//! - A thread's value is dropped when the thread exits, exactly once, with std's rules for
//!   thread-local destructors (the main thread's values may not be dropped at process exit).
//! - Borrows follow `RefCell`: `with` inside `with` is fine; a mutable access inside any
//!   access, or `set`/`replace`/`take` during a borrow, panics with a message that names the
//!   type. The `try_with*` functions return an [`AccessError`] instead, as they do when an
//!   initializer touches its own value or a thread-local destructor runs after this
//!   library's.
//! - A struct whose fields are not `Send` (an `Rc`) works as a per-thread value.
#![warn(missing_docs)]

pub use local_core::{
    AccessError, Context, IntoIter, IterMut, LocalStack, Popped, ThreadLocal, Wrapped, scope,
    scope_async,
};

/// Gives every thread its own value of the struct, built on that thread by the struct's
/// initializer and dropped when the thread exits.
///
/// # Initializers
///
/// Either `#[init(expr)]` on fields, the others getting `Default::default()`:
///
/// ```
/// # use local::thread_local_struct;
/// #[thread_local_struct]
/// struct Connection {
///     #[init(String::from("db.local:5432"))]
///     address: String,
///     queries: u64, // Default::default()
/// }
/// assert_eq!(Connection::address(), "db.local:5432");
/// ```
///
/// or one function for the whole struct, Python's `__init__` (side effects allowed):
///
/// ```
/// # use local::thread_local_struct;
/// #[thread_local_struct(init = Session::new)]
/// struct Session {
///     value: u32,
/// }
///
/// impl Session {
///     fn new() -> Self {
///         println!("init on {:?}", std::thread::current().name());
///         Session { value: 1000 }
///     }
/// }
/// assert_eq!(Session::value(), 1000);
/// ```
///
/// The two forms are exclusive. The attribute implements `Default` with the initializer,
/// so the struct must not derive `Default`, and an `init` function must not call
/// `Self::default()`, which would call it back forever.
///
/// # Generated functions
///
/// With the struct's visibility, for a struct `S`:
///
/// | function | meaning |
/// |---|---|
/// | `S::with(\|s: &S\| ..) -> R` | read this thread's value, initializing it on first touch |
/// | `S::with_mut(\|s: &mut S\| ..) -> R` | change it |
/// | `S::try_with(..)`, `S::try_with_mut(..)` | the same, returning `Result<R, AccessError>` instead of panicking |
/// | `S::get() -> S` | a clone of this thread's value (needs `S: Clone`) |
/// | `S::set(v)` | replace this thread's value without running the initializer |
/// | `S::replace(v) -> S` | replace it, initializing first if needed, and return the old one |
/// | `S::take() -> Option<S>` | remove this thread's value; the next touch initializes again |
/// | `S::is_initialized() -> bool` | does this thread hold a value? |
/// | `S::field() -> T`, `S::set_field(v)` | per named field, with the field's visibility (the getter needs `T: Clone`) |
///
/// The setter of `r#type` is `set_type`. Getters that need `Clone` do not stop a struct
/// with a non-`Clone` field from compiling; calling one is the error.
///
/// # Options
///
/// `#[thread_local_struct(init = path, inherit, per_thread)]`, comma-separated:
/// `inherit` (needs `Clone + Send`) copies the current value into contexts made by
/// [`Context::inherit()`](Context::inherit), and `per_thread` keeps a value with its OS
/// thread whatever context or scope runs.
///
/// # Rejected at compile time
///
/// The attribute on anything but a struct with fields; generic parameters; unknown or
/// repeated options; a malformed or repeated `#[init(..)]`; `#[init]` together with
/// `init = ..`; a field without `#[init]` whose type is not `Default`; `#[derive(Default)]`;
/// a field named like a generated function; an `init` function that is not
/// `fn() -> Self`. Each error points at the tokens to change.
pub use local_macros::thread_local_struct;

/// Not public API: the one path generated code names runtime items through.
#[doc(hidden)]
pub mod __private {
    pub use local_core::{
        __struct_storage as struct_storage, AccessError, FieldDefault, enter_default,
    };
}

/// The README's examples, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
