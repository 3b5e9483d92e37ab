//! `local` gives each thread its own value of a type, built on that thread by an
//! initializer and dropped when the thread exits: Python's `threading.local`, for Rust.
//!
//! ```
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
//! See [`ThreadLocal`] for the guarantees: one value per thread, dropped exactly once,
//! never handed to a later thread.
#![warn(missing_docs)]

pub use local_core::{AccessError, IntoIter, IterMut, ThreadLocal};
pub use local_macros::thread_local_struct;

/// Not public API: the one path generated code names runtime items through.
#[doc(hidden)]
pub mod __private {
    pub use local_core::{AccessError, StaticLocal};
}
