//! The guard of an attribute struct's generated `Default`, which runs the struct's
//! initializer: an initializer that calls `Self::default()` would call itself forever.

use std::cell::Cell;
use std::thread::LocalKey;

/// Marks the struct's generated `Default` as running on this thread until the guard drops,
/// and panics, naming the struct, if it already was: the initializer called
/// `Self::default()`. `building` is a flag of the struct's own, declared by the expansion.
///
/// Not public API: the expansion's `Default::default` calls it first.
#[doc(hidden)]
#[inline]
#[track_caller]
pub fn enter_default(building: &'static LocalKey<Cell<bool>>, name: &'static str) -> DefaultGuard {
    match building.try_with(|building| building.replace(true)) {
        Ok(false) => DefaultGuard(Some(building)),
        Ok(true) => panic!(
            "`{name}::default()` was called while building a `{name}`: `#[thread_local_struct]` \
             implements `Default` with the struct's initializer, so an initializer (`init = ..` \
             or a field's `#[init(..)]`) that calls `Self::default()` would call itself forever; \
             build the value without `Default`"
        ),
        // During thread teardown the flag may be gone: build unguarded rather than fail.
        Err(_) => DefaultGuard(None),
    }
}

/// Ends what [`enter_default`] marked, also on unwind.
#[doc(hidden)]
#[derive(Debug)]
#[must_use]
pub struct DefaultGuard(Option<&'static LocalKey<Cell<bool>>>);

impl Drop for DefaultGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(building) = self.0 {
            let _ = building.try_with(|building| building.set(false));
        }
    }
}
