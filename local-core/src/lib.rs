//! The runtime of [`local`](https://docs.rs/local): per-instance thread-local storage whose
//! values are dropped when their thread exits, contexts that give every local fresh values
//! at once, and the storage behind `#[thread_local_struct]`.
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
//! **Threads.** Each thread, on its first touch of a [`ThreadLocal`], takes an *index*: a
//! small number, reused smallest-first once the thread is gone (`thread_id.rs`). Every
//! instance keeps its threads' values in buckets of doubling size indexed by it, as the
//! `thread_local` crate does (`buckets.rs`, `table.rs`). Reaching this thread's value is
//! one thread-local read (the index's bucket and place, cached, with the current frame's
//! tag), one bucket load and one borrow-count check: no lock, no allocation, no atomic
//! read-modify-write. Thread entries are padded to their own cache lines.
//!
//! A `#[thread_local_struct]` keeps the thread's own value in a `std::thread_local!` of
//! its own, declared by its expansion (`attribute.rs`): an access is a hand-written
//! `thread_local!`'s plus one flag, and std destroys it at thread exit.
//!
//! **Exit.** A thread's state (`exit.rs`) lists the instances it holds values in; its
//! destructor destroys them as std destroys thread-locals: one at a time, with no lock held
//! while a destructor runs, so a destructor can use every local still alive and store into
//! one (that value is destroyed too). Only then is the index given back, so a new thread
//! never sees an old value. The exit takes each instance's lock to move the value out, as
//! `&mut self` methods and `Drop` do, because `std::thread::scope` can return while its
//! threads are still running their thread-local destructors.
//!
//! **Contexts.** A [`Context`] or [`scope`] keeps its own values, one node per local
//! touched in it (`context/`): a context costs what it holds, and creating, entering and
//! dropping one takes no lock. Entering one makes it current on the thread under a fresh
//! tag (a few thread-local writes, whatever the number of locals); each local caches, per
//! thread, where it found its value for the current tag, so an access inside a context is
//! the fast path plus one comparison.
//!
//! # Verification
//!
//! Every `unsafe` block carries a `// SAFETY:` comment (`clippy::undocumented_unsafe_blocks`
//! is denied), every `unsafe fn` a `# Safety` list, and the crate's tests pass under Miri,
//! ThreadSanitizer and AddressSanitizer, and on a target without native thread-locals.
#![warn(missing_docs)]

mod sync;

#[cfg(not(loom))]
mod anchor;
#[cfg(not(loom))]
mod attribute;
#[cfg(not(loom))]
mod binding;
mod buckets;
#[cfg(not(loom))]
mod context;
#[cfg(not(loom))]
mod current;
#[cfg(not(loom))]
mod diagnostics;
#[cfg(not(loom))]
mod entry;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod exit;
#[cfg(not(loom))]
mod iter;
#[cfg(not(loom))]
mod lazy_table;
#[cfg(not(loom))]
mod local_stack;
mod reclaim;
#[cfg(not(loom))]
mod recursion;
#[cfg(not(loom))]
mod send_probe;
#[cfg(not(loom))]
mod shared;
mod shared_slot;
#[cfg(not(loom))]
mod struct_storage;
#[cfg(not(loom))]
mod table;
#[cfg(not(loom))]
mod thread_id;
#[cfg(not(loom))]
mod thread_local;

#[cfg(not(loom))]
pub use attribute::{StructLocal, StructSlot};
#[cfg(not(loom))]
pub use binding::Scoped;
#[cfg(not(loom))]
pub use context::{Context, InheritLocals, Wrapped, inherit_locals, scope, scope_async};
#[cfg(not(loom))]
#[doc(hidden)]
pub use diagnostics::FieldDefault;
#[cfg(not(loom))]
pub use error::AccessError;
#[cfg(not(loom))]
pub use iter::{IntoIter, IterMut};
#[cfg(not(loom))]
pub use local_stack::{LocalStack, Popped};
#[cfg(not(loom))]
#[doc(hidden)]
pub use recursion::{DefaultGuard, enter_default};
#[cfg(not(loom))]
#[doc(hidden)]
pub use send_probe::{SendProbe, SendProbeFallback, SendProof};
#[cfg(not(loom))]
pub use shared::{Read, ReadIter, SharedThreadLocal};
#[cfg(not(loom))]
pub use thread_local::ThreadLocal;
