//! The guard of an attribute struct's generated `Default`, which runs the struct's
//! initializer: an initializer that calls `Self::default()` would call itself forever.

use std::any::TypeId;
use std::cell::RefCell;

thread_local! {
    /// The attribute structs whose `Default` runs on this thread, innermost last.
    static BUILDING: RefCell<Vec<TypeId>> = const { RefCell::new(Vec::new()) };
}

/// Marks `T`'s generated `Default` as running on this thread until the guard drops, and
/// panics, naming the struct, if it already was: the initializer called `Self::default()`.
///
/// Not public API: the expansion's `Default::default` calls it first.
#[doc(hidden)]
#[track_caller]
pub fn enter_default<T: 'static>(name: &'static str) -> DefaultGuard {
    let id = TypeId::of::<T>();
    // During thread teardown the list may be gone: build unguarded rather than fail.
    let entered = BUILDING.try_with(|building| {
        let mut building = building.borrow_mut();
        if building.contains(&id) {
            return Err(());
        }
        building.push(id);
        Ok(())
    });
    match entered {
        Ok(Ok(())) => DefaultGuard(Some(id)),
        Ok(Err(())) => panic!(
            "`{name}::default()` was called while building a `{name}`: `#[thread_local_struct]` \
             implements `Default` with the struct's initializer, so an initializer (`init = ..` \
             or a field's `#[init(..)]`) that calls `Self::default()` would call itself forever; \
             build the value without `Default`"
        ),
        Err(_) => DefaultGuard(None),
    }
}

/// Ends what [`enter_default`] marked, also on unwind.
#[doc(hidden)]
#[derive(Debug)]
#[must_use]
pub struct DefaultGuard(Option<TypeId>);

impl Drop for DefaultGuard {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            let _ = BUILDING.try_with(|building| {
                let mut building = building.borrow_mut();
                if let Some(at) = building.iter().rposition(|entered| *entered == id) {
                    building.remove(at);
                }
            });
        }
    }
}
