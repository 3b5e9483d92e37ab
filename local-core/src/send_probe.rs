//! Telling, for the concrete type of an attribute struct, whether it is `Send`: the
//! expansion asks, and the storage trusts the answer to let values into contexts, which
//! may move between threads.
//!
//! Stable Rust has no `T: Send` test, so the expansion asks method resolution: on
//! `SendProbe::<T>::NEW.__local_send_proof()`, the inherent method (defined where
//! `T: Send`) wins over the fallback trait's, which answers `None`. Both take `self` by
//! value, so resolution stops at the first step, before it autorefs: a user's trait in
//! scope with a `&self` method of that name (or a blanket `is_send`) is never considered.

use std::fmt;
use std::marker::PhantomData;

/// Evidence that `T: Send`: only [`SendProbe`]'s inherent method makes one, where
/// `T: Send` holds. A `bool` there would let safe code claim any type is `Send`.
///
/// Neither the probe nor the constructor gives one for a type that is not `Send`:
///
/// ```compile_fail
/// let _ = local_core::SendProbe::<std::rc::Rc<u8>>::__local_send_proof(
///     local_core::SendProbe::NEW,
/// );
/// ```
///
/// ```compile_fail
/// let _ = local_core::SendProof::<std::rc::Rc<u8>>(std::marker::PhantomData);
/// ```
#[doc(hidden)]
pub struct SendProof<T>(PhantomData<fn() -> T>);

impl<T> fmt::Debug for SendProof<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendProof").finish()
    }
}

/// The question, for one type: see the module docs.
#[doc(hidden)]
pub struct SendProbe<T>(PhantomData<fn() -> T>);

impl<T> SendProbe<T> {
    pub const NEW: Self = SendProbe(PhantomData);
}

impl<T> Clone for SendProbe<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendProbe<T> {}

impl<T> fmt::Debug for SendProbe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendProbe").finish()
    }
}

impl<T: Send> SendProbe<T> {
    /// `T` is `Send`: the proof.
    #[inline]
    pub fn __local_send_proof(self) -> Option<SendProof<T>> {
        Some(SendProof(PhantomData))
    }
}

/// The answer for a type that is not `Send`, found only when the inherent method is not.
#[doc(hidden)]
pub trait SendProbeFallback<T>: Sized {
    #[inline]
    fn __local_send_proof(self) -> Option<SendProof<T>> {
        None
    }
}

impl<T> SendProbeFallback<T> for SendProbe<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unused_imports)] // one of the two is used per type
    use super::SendProbeFallback as _;

    /// A user's trait in scope that would capture an autoref probe: never picked.
    #[allow(dead_code)]
    trait IsSend {
        fn is_send(&self) -> bool {
            true
        }
        fn __local_send_proof(&self) -> u8 {
            0
        }
    }
    impl<T: ?Sized> IsSend for T {}

    #[test]
    fn the_probe_answers_for_concrete_types_whatever_traits_are_in_scope() {
        assert!(SendProbe::<u8>::NEW.__local_send_proof().is_some());
        assert!(SendProbe::<String>::NEW.__local_send_proof().is_some());
        assert!(
            SendProbe::<std::rc::Rc<u8>>::NEW
                .__local_send_proof()
                .is_none()
        );
        assert!(SendProbe::<*const u8>::NEW.__local_send_proof().is_none());
    }
}
