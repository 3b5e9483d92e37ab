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
//! # Which one to use
//!
//! | you want | use |
//! |---|---|
//! | one value of a struct per thread, declared once | [`#[thread_local_struct]`](thread_local_struct): `Session::with`, `with_mut`, per-field getters and setters |
//! | any number of per-thread values, made at run time (`threading.local()` objects) | [`ThreadLocal<T>`](ThreadLocal) (a `static` too: `new` is `const`) |
//! | other threads reading every thread's value while it runs (sharded counters) | [`SharedThreadLocal<T>`](SharedThreadLocal), read with [`read`](SharedThreadLocal::read); exited threads' values are kept, or folded into a total with [`fold_on_exit`](SharedThreadLocal::fold_on_exit) (counters) |
//! | a pooled worker's job that starts clean | [`local::fresh(\|\| job())`](fresh) |
//! | a resumable set of values (a greenlet), or an async task's own values | [`Context`], [`fresh_async`], [`Context::wrap`] |
//! | one value bound for one call or one future | `Session::sync_scope(v, \|\| ..)`, `Session::scope(v, fut)`, [`ThreadLocal::sync_scope`], [`ThreadLocal::scope`] (tokio's names) |
//! | a child thread or task that starts from the parent's values (of the locals declared `inherit`) | [`Context::inherit`], [`fut.inherit_locals()`](InheritLocals), [`inherit_locals(f)`](inherit_locals) |
//! | Flask's request stack | [`LocalStack<T>`](LocalStack) |
//!
//! A struct with the attribute is `Default` (built by its initializer), so
//! `ThreadLocal::<Session>::new()` gives independent instances of it too.
//!
//! # Contexts: jobs, greenlets and tasks
//!
//! Every local, attribute structs and `ThreadLocal` instances alike, reads the value of the
//! *current context*: the thread's own, unless one of these is running.
//!
//! | use | for | values |
//! |---|---|---|
//! | `local::fresh(\|\| job())` | a pooled worker's job: nothing carried from one job to the next | fresh inside; dropped when it returns; the outer ones are back |
//! | `Context::new()` + `ctx.run(\|\| ..)` | a resumable set of values, like a greenlet: switch between contexts on one thread | kept in the context between runs; dropped with it |
//! | `local::fresh_async(fut)`, `ctx.wrap(fut)` | an async task that moves between worker threads | every poll runs in the task's context |
//! | `Context::inherit()` | a child thread or task that starts from the parent's values | clones of the values of the locals declared `inherit`; every other local fresh |
//!
//! Entering or leaving costs the same however many locals exist: two thread-local writes.
//!
//! **Values that are not `Send`.** `fresh` never leaves its thread, so it gives fresh values
//! to every local. A `Context` (and so a task from `fresh_async`) may move between threads,
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
//! let fresh = local::fresh(|| {
//!     Lc::set_test(3);
//!     Lc::test()
//! });
//! assert_eq!((fresh, Lc::test()), (3, 0));
//! ```
//!
//! # Spawning with inherited locals
//!
//! Only the locals declared `inherit` flow into a child: structs declared
//! `#[thread_local_struct(inherit)]`, and `ThreadLocal`s and `LocalStack`s made with
//! `.inherit()`. Every other local starts fresh in the child, from its initializer. It is
//! opt-in, as Java's `InheritableThreadLocal` is, because inheriting clones, and Rust never
//! clones on its own (Python's `contextvars` and .NET's `AsyncLocal` flow every value).
//!
//! ```
//! use local::thread_local_struct;
//!
//! #[thread_local_struct(inherit)] // flows into children
//! #[derive(Clone)]
//! struct RequestId {
//!     id: u64,
//! }
//!
//! #[thread_local_struct] // does not: fresh in a child
//! struct Scratch {
//!     bytes: Vec<u8>,
//! }
//!
//! RequestId::set_id(42);
//! Scratch::set_bytes(vec![1, 2, 3]);
//! let child = std::thread::spawn(local::inherit_locals(|| (RequestId::id(), Scratch::bytes())));
//! assert_eq!(child.join().unwrap(), (42, vec![]));
//! ```
//!
//! One expression per way of running code elsewhere, whatever the executor; the clones are
//! taken on the spawning thread, and the child's changes never reach the parent.
//!
//! ```text
//! tokio::spawn(async move { handle(request).await }.inherit_locals());
//! tokio::task::spawn_blocking(local::inherit_locals(move || render(page)));
//! std::thread::spawn(local::inherit_locals(move || work()));
//! rayon::spawn(local::inherit_locals(move || crunch()));
//! ```
//!
//! ([`InheritLocals`] and [`inherit_locals`] show each with a runnable example; the
//! repository's `test-suite/tests/inherit.rs` runs all four.)
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
//!
//! # Coming from the `thread_local` crate
//!
//! **A library's own per-thread state is a [`per_thread()`](ThreadLocal::per_thread)
//! instance.** Without it, an instance reads the value of the current [`Context`] or
//! [`fresh`] frame: an application that runs its jobs in `local::fresh` would swap out a
//! library's span stack or buffer pool under it, and drop what the library put there
//! during the job. `per_thread()` gives the crate's semantics, one value per OS thread
//! whatever runs, and it is what lends a guard ([`borrow_mut`](ThreadLocal::borrow_mut)).
//!
//! ```
//! use local::ThreadLocal;
//!
//! struct Registry {
//!     current_spans: ThreadLocal<Vec<u64>>,
//! }
//!
//! let registry = Registry { current_spans: ThreadLocal::new().per_thread() };
//! registry.current_spans.with_mut(|spans| spans.push(1));
//! // An application's job does not swap the library's stack out.
//! local::fresh(|| assert_eq!(registry.current_spans.with(Vec::len), 1));
//! ```
//!
//! `ThreadLocal` keeps the crate's shape and adds drop-on-exit: a thread's value is dropped
//! when the thread exits (the crate keeps it until `clear` or drop, then gives it to the
//! next thread that reuses the id); for totals summed after the workers are gone, use
//! [`retain_on_exit`](ThreadLocal::retain_on_exit). Accesses are closures, so that no
//! reference outlives the thread's own access; a `per_thread` instance also lends a guard.
//!
//! | `thread_local` crate | `local` |
//! |---|---|
//! | `ThreadLocal::new()` (`const`) | [`ThreadLocal::new()`](ThreadLocal::new) (`const`, `T: Default`), [`ThreadLocal::with_init(f)`](ThreadLocal::with_init) (`const`; `f` may borrow), or [`ThreadLocal::without_init()`](ThreadLocal::without_init) (`const`), each with [`.per_thread()`](ThreadLocal::per_thread) for a library's state |
//! | `tl.get_or(f)` → `&T` | [`tl.with_or_init(f, \|v\| ..)`](ThreadLocal::with_or_init), or `ThreadLocal::with_init(f)` and then `tl.with(\|v\| ..)` |
//! | `tl.get_or_default()` | `ThreadLocal::new()`, then `tl.with(\|v\| ..)` |
//! | `tl.get_or_try(f)?` | [`tl.try_init(f)?`](ThreadLocal::try_init), then `tl.with(\|v\| ..)` |
//! | `tl.get()` → `Option<&T>` | [`tl.with_existing(\|v: Option<&T>\| ..)`](ThreadLocal::with_existing): never initializes, one lookup (`try_with` would initialize) |
//! | `ThreadLocal<RefCell<T>>` + `borrow_mut()` | [`tl.with_mut(\|v\| ..)`](ThreadLocal::with_mut): the borrow flag is built in; [`with_mut_or_init`](ThreadLocal::with_mut_or_init) with a per-call initializer |
//! | a `RefMut` held across calls (bevy's `Parallel::borrow_local_mut`, rayon's `for_each_init`) | [`tl.borrow_mut()`](ThreadLocal::borrow_mut) on a `per_thread()` instance: a `!Send` guard |
//! | `tl.iter()` (`T: Sync`), other threads' live values | [`SharedThreadLocal`]: `st.read().iter()` |
//! | `tl.iter_mut()`, `tl.into_iter()`, `tl.clear()` | the same names, over live threads' values and retained ones |
//! | `ThreadLocal::with_capacity(n)` | not needed: buckets are allocated as threads arrive |
//!
#![warn(missing_docs)]

pub use local_core::{
    AccessError, Context, Fold, InheritLocals, IntoIter, IterMut, LocalStack, NoInit, Popped, Read,
    ReadIter, RefMut, Scoped, SharedThreadLocal, ThreadLocal, Wrapped, fresh, fresh_async,
    inherit_locals,
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
/// so the struct must not derive `Default`, and an initializer must not call
/// `Self::default()`, which is the initializer itself: `init = Default::default` (or
/// `Self::default`, `<Self as Default>::default`, ..) is a compile error, and an `init`
/// function or an `#[init(..)]` that reaches `Self::default()` panics on first touch with a
/// message naming the struct, instead of overflowing the stack.
///
/// ```should_panic
/// # use local::thread_local_struct;
/// #[thread_local_struct(init = Session::new)]
/// struct Session {
///     value: u32,
///     hits: u64,
/// }
///
/// impl Session {
///     fn new() -> Self {
///         Session { value: 1, ..Self::default() } // panics: `Session::default()` was called
///     }                                           // while building a `Session`
/// }
/// Session::with(|s| s.hits);
/// ```
///
/// An `#[init(..)]` holds one expression, evaluated before the value exists: it cannot read
/// other fields (`self`); build such a value in an `init` function. Its tokens are passed
/// to the compiler as written, which reports a malformed expression at them.
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
/// | `S::sync_scope(v, \|\| ..) -> R` | run the closure with this thread's (or context's) value bound to `v`, the previous one (or its absence) back afterwards, also on unwind: tokio's `sync_scope` |
/// | `S::scope(v, future)` | a future that binds `v` during every poll of `future`, and while it is dropped: tokio's `scope` |
/// | `S::field() -> T`, `S::set_field(v)` | per named field, with the field's visibility (the getter needs `T: Clone`) |
///
/// ```
/// # use local::thread_local_struct;
/// #[thread_local_struct]
/// #[derive(Clone)]
/// struct Request {
///     #[init(0)]
///     id: u64,
/// }
///
/// let seen = Request::sync_scope(Request { id: 7 }, Request::id);
/// assert_eq!((seen, Request::id()), (7, 0));
/// ```
///
/// The setter of `r#type` is `set_type`. A field's doc comments and `#[deprecated]` are
/// carried onto its getter and setter. Getters are bounded by a plain
/// `FieldType: Clone` (written `for<'a> FieldType: Clone + 'a`, which makes the bound
/// one that is checked where the getter is called: every field is `'static`, so it says
/// nothing more), so a struct with a field that is not `Clone` still compiles and calling
/// that getter is the error, reported at the field's type; read such a field inside `with`.
/// In a `#[repr(packed)]` struct a field cannot be borrowed, so its getter needs
/// `FieldType: Copy` instead.
///
/// # Options
///
/// `#[thread_local_struct(init = path, inherit, per_thread, crate = path)]`,
/// comma-separated: `init` names a `fn() -> Self` (any path, `<Session as Make>::make`
/// too); `inherit` (needs `Clone + Send`) copies the current value into contexts made by
/// [`Context::inherit()`](Context::inherit); `per_thread` keeps a value with its OS thread
/// whatever context or `fresh` frame runs; `crate` names this crate where the user renamed the
/// dependency, as a path (serde's `#[serde(crate = "..")]`):
///
/// ```
/// # extern crate local as my_local;
/// #[my_local::thread_local_struct(crate = my_local)]
/// struct Session {
///     value: u32,
/// }
/// assert_eq!(Session::value(), 0);
/// ```
///
/// # Structs as they are written
///
/// The struct comes back as written, less `#[init(..)]`: doc comments, `#[repr(..)]`, any
/// visibility, other derives and their helper attributes (`#[serde(..)]`) stay. A field
/// under `#[cfg(..)]` that is compiled out has no initializer and no accessors, and
/// `#[cfg_attr(predicate, init(..))]` gives the field that value where the predicate holds
/// and `Default` elsewhere. The generated code names everything by absolute path, with
/// the macro's own edition and hygiene, so it works in any edition from 2015 on, under
/// `#![no_implicit_prelude]`, in a `#![no_std]` crate that declares `extern crate std`,
/// and whatever the crate defines (`type bool = u8`, a trait with an `is_send` method in
/// scope). It triggers none of rustc's or clippy's lints (pedantic and nursery included)
/// in the user's crate, and a `#[deprecated]` struct gets no warnings from it. The
/// generated functions repeat the fields' types, so a lint the user allows with
/// `#[allow(..)]` on the struct or on a field is allowed in them too (a lint that fires on
/// a type, such as `unused_braces` on a const length, would otherwise fire there again).
///
/// # Rejected at compile time
///
/// The attribute on anything but a struct with fields; generic parameters; unknown,
/// repeated or comma-less options; a malformed or repeated `#[init(..)]` (a second one
/// through `cfg_attr` too); `#[init(..)]` together with `init = ..`; an initializer that
/// reads `self`; an `init` that names the generated `Default`; a field without `#[init]`
/// whose type is not `Default`; a field whose type is unsized (`[u8]`, `str`, `dyn
/// Trait`); `#[derive(Default)]`; a field named like a generated function; an `init`
/// function that is not `fn() -> Self`. Each is one error, at the tokens to change.
pub use local_macros::thread_local_struct;

/// Not public API: the one path generated code names runtime items through.
#[doc(hidden)]
pub mod __private {
    pub use local_core::{
        __struct_storage as struct_storage, AccessError, FieldDefault, Scoped, StructLocal,
        enter_default,
    };
}

/// The README's examples, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
