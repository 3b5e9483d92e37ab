//! The runtime of [`local`](https://docs.rs/local): per-instance thread-local storage whose
//! values are dropped when their thread exits, contexts that give every local fresh values
//! at once, and the storage behind `#[thread_local_struct]`.
//!
//! ```
//! # use local_core as local;
//! use local::ThreadLocal;
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
//! Read in this order; each file opens with the protocol it keeps (who touches what, who
//! may free what, and when).
//!
//! - `entry.rs`: one value's cell, a `RefCell` whose state (an enum) also says whether a
//!   value is there and whose it is. Every `unsafe` access to a value is there.
//! - `thread.rs`: this thread: its index (a small number, reused smallest-first once the
//!   thread is gone), the frame it runs, the instances it holds values in, and its exit,
//!   which destroys those values as std destroys thread-locals, then gives the index back.
//! - `table.rs`: an instance's values for threads, one padded entry per index in buckets
//!   of doubling size (the `thread_local` crate's layout), in an `Arc` shared with the
//!   lists of the threads that hold a value in it, and the lock that orders the exits and
//!   the instance's `&mut` methods.
//! - `frame.rs`: a context's or a `fresh` call's values, a list of nodes, one per local
//!   touched.
//! - `access.rs`: `with`, `with_mut`, `set`, `take`, binding, written once over where a
//!   local keeps its entry; `thread_local.rs` (`ThreadLocal`) and `attribute.rs` (the
//!   storage of `#[thread_local_struct]`, a `thread_local!` slot of its own) say where.
//! - `shared.rs`, `shared_slot.rs`, `reclaim.rs`: `SharedThreadLocal`, whose readers read
//!   other threads' values while they run, and the deferred freeing that needs.
//!
//! Reaching this thread's value is one thread-local read (the index's bucket and place, and
//! the current frame's tag), the table's and the bucket's pointers, and one comparison: no
//! lock, no allocation, no atomic read-modify-write. Inside a frame, each local caches, per
//! thread, where it found its value for the current tag, so an access there is the same
//! plus one comparison.
//!
//! # Verification
//!
//! Every `unsafe` block carries a `// SAFETY:` comment (`clippy::undocumented_unsafe_blocks`
//! is denied), every `unsafe fn` a `# Safety` list, and the crate's tests pass under Miri,
//! ThreadSanitizer and AddressSanitizer, and on a target without native thread-locals.
#![warn(missing_docs)]

mod sync;

#[cfg(not(loom))]
mod access;
#[cfg(not(loom))]
mod attribute;
#[cfg(not(loom))]
mod binding;
#[cfg(not(loom))]
mod context;
#[cfg(not(loom))]
mod diagnostics;
#[cfg(not(loom))]
mod entry;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod frame;
#[cfg(not(loom))]
mod guard;
#[cfg(not(loom))]
mod iter;
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
mod thread;
#[cfg(not(loom))]
mod thread_local;

#[cfg(not(loom))]
pub use attribute::{StructLocal, StructSlot};
#[cfg(not(loom))]
pub use binding::Scoped;
#[cfg(not(loom))]
pub use context::{Context, InheritLocals, Wrapped, fresh, fresh_async, inherit_locals};
#[cfg(not(loom))]
#[doc(hidden)]
pub use diagnostics::FieldDefault;
#[cfg(not(loom))]
pub use error::AccessError;
#[cfg(not(loom))]
pub use guard::RefMut;
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
pub use shared::{Fold, Read, ReadIter, SharedThreadLocal};
#[cfg(not(loom))]
pub use thread_local::{NoInit, ThreadLocal};
