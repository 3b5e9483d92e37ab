//! The synchronization primitives of the core, from std or, under `--cfg loom`, from loom,
//! so that the cross-thread protocols can be model-checked (crossbeam-epoch's `primitive`
//! module does the same).
//!
//! Locks here guard data, never user code: every critical section moves values in or out,
//! and the values are dropped, cloned or built after it ends. So a poisoned lock (a panic
//! while it was held can only be an allocation failure) still guards consistent data, and
//! [`lock`] ignores the poison.

#[cfg(loom)]
#[allow(unused_imports)] // not every protocol is built under loom
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(loom))]
#[allow(unused_imports)] // `Arc` is for the loom models
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

/// Locks `mutex`, whether or not a panic poisoned it (see the module docs).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(loom)]
    return mutex.lock().unwrap_or_else(|poison| poison.into_inner());
    #[cfg(not(loom))]
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Padded so that no other thread's hot bytes share its cache lines: neighbouring threads'
/// entries sit side by side in a bucket, and each thread writes its entry's state on every
/// access. The padding follows the value, so two neighbours' values are at least `PAD`
/// bytes apart: 128 on x86-64 and aarch64, where the adjacent-line prefetcher (or the line
/// size) makes 64 too few, and 64 elsewhere (crossbeam-utils' `CachePadded` makes the same
/// choice). Padded by size, not by alignment: an over-aligned bucket costs the allocator
/// an aligned allocation (`posix_memalign`), which was most of a first touch's extra cost.
#[repr(C)]
pub(crate) struct CachePadded<T>(pub(crate) T, [u8; PAD]);

pub(crate) const PAD: usize = if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
    128
} else {
    64
};

impl<T> CachePadded<T> {
    pub(crate) const fn new(value: T) -> Self {
        CachePadded(value, [0; PAD])
    }
}
