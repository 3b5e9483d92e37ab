//! The runtime of [`local`](https://docs.rs/local): per-instance thread-local storage whose
//! values are dropped when their thread exits.
//!
//! ```
//! use local_core::ThreadLocal;
//!
//! let visits: ThreadLocal<u32> = ThreadLocal::new();
//! visits.with_mut(|n| *n += 1);
//! std::thread::scope(|s| {
//!     s.spawn(|| assert_eq!(visits.get(), 0)); // each thread has its own value
//! });
//! assert_eq!(visits.get(), 1);
//! ```
//!
//! # How it works
//!
//! Each thread, on its first touch of any instance, takes an *identity*: a small index,
//! recycled smallest-first when the thread exits. Every [`ThreadLocal`] keeps a table of
//! entries indexed by identity, in buckets of doubling size that never move, as the
//! `thread_local` crate does. Reaching this thread's value is one thread-local read (the
//! identity's bucket and index, cached), one bucket load and one borrow-count check: no
//! lock, no allocation, no atomic read-modify-write. Entries are 128-byte aligned, so two
//! threads never write the same cache line.
//!
//! A `#[thread_local_struct]` keeps the thread's own value in a `std::thread_local!` slot
//! declared by its expansion, read like a hand-written `thread_local!` (one flag says
//! whether a context runs); the values of contexts and scopes are in a table as above.
//!
//! When a thread exits, a thread-local destructor goes through the instances that thread
//! holds entries in (a registry filled at each first touch) and drops its value in each
//! (or keeps it, with [`ThreadLocal::retain_on_exit`]); only then is the identity's index
//! free for another thread, which therefore never sees the old value. That exit path takes
//! the instance's lock, as do the `&mut self` methods and `Drop`, because
//! `std::thread::scope` can return while its threads are still running their thread-local
//! destructors. A value that an [`IterMut`] borrow may still point at is never dropped by
//! an exiting thread: it is kept until the instance is next cleared, iterated or dropped.
//!
//! Contexts and scopes are identities too: entering one makes it this thread's current
//! identity (two thread-local writes, whatever the number of locals), and ending it
//! releases its values like a thread's exit. `per_thread` storage reads the thread's own
//! identity instead. A `Context` may move between threads, so a value that is not `Send`
//! is never created in one.
//!
//! # Verification
//!
//! Every `unsafe` block carries a `// SAFETY:` comment (`clippy::undocumented_unsafe_blocks`
//! is denied), and the crate's tests pass under Miri. The cross-thread paths (the registry
//! and the exit path against `&mut self` methods and `Drop`) are synchronized by two mutexes
//! and one compare-and-swap, which loom cannot reach through `std::thread_local!`; they are
//! stress-tested instead: thousands of short threads with drop counters, values dropped
//! concurrently with exiting threads, and the `std::thread::scope` destructor race.
#![warn(missing_docs)]

mod context;
mod diagnostics;
mod error;
mod identity;
mod local_stack;
mod recursion;
mod static_local;
mod struct_storage;
mod table;
mod thread_local;

pub use context::{Context, Wrapped, scope, scope_async};
#[doc(hidden)]
pub use diagnostics::{FieldClone, FieldDefault};
pub use error::AccessError;
pub use local_stack::{LocalStack, Popped};
#[doc(hidden)]
pub use recursion::{DefaultGuard, enter_default};
#[doc(hidden)]
pub use static_local::{
    ProbeNotSend, ScopedFuture, SendProbe, SendProof, StaticAccess, StaticLocal, StaticOptions,
    StaticSlot, StaticTable,
};
pub use thread_local::{IntoIter, IterMut, ThreadLocal};
