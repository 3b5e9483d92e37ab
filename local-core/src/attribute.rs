//! The storage of one `#[thread_local_struct]`, declared by `__struct_storage!`.
//!
//! The thread's own value lives in a `std::thread_local!` of the struct's own (a
//! [`StructSlot`]): an access outside frames costs what a hand-written `thread_local!`
//! costs, plus one thread-local load (does a frame run?), and std destroys the value at
//! thread exit by its own rules, on every platform, native TLS or not. Inside a frame, the
//! value is in the frame's list, and the slot caches where this thread last found it. The
//! accesses themselves are `access.rs`'s, shared with `ThreadLocal`.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::ptr;
use std::thread::LocalKey;

use crate::AccessError;
use crate::access::{self, Local};
use crate::binding::Scoped;
use crate::entry::Entry;
use crate::frame::{Cache, Values};
use crate::send_probe::SendProof;
use crate::thread::{self, InheritFromThread};

/// The thread's own value of one attribute struct, and its cache of the current frame's.
#[doc(hidden)]
pub struct StructSlot<T> {
    own: Entry<T>,
    cache: Cache<T>,
    /// The thread's state lists this struct for `Context::inherit`.
    joined: Cell<bool>,
}

impl<T> StructSlot<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StructSlot {
            own: Entry::new(),
            cache: Cache::new(),
            joined: Cell::new(false),
        }
    }
}

impl<T> fmt::Debug for StructSlot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructSlot").finish_non_exhaustive()
    }
}

/// The storage of one attribute struct: a `static` of the expansion. Not public API.
///
/// Its address is the struct's key in frames, so every method takes `&'static self`.
#[doc(hidden)]
pub struct StructLocal<T: 'static> {
    slot: &'static LocalKey<StructSlot<T>>,
    init: fn() -> T,
    /// A proof that `T: Send`, or `None`: decided by the expansion for its concrete type.
    send: fn() -> Option<SendProof<T>>,
    /// `per_thread`: one value per OS thread, whatever frame runs.
    per_thread: bool,
    /// `inherit`: how `Context::inherit` clones a value.
    inherit: Option<fn(&T) -> T>,
}

impl<T: 'static> StructLocal<T> {
    pub const fn new(
        slot: &'static LocalKey<StructSlot<T>>,
        init: fn() -> T,
        send: fn() -> Option<SendProof<T>>,
        per_thread: bool,
        inherit: Option<fn(&T) -> T>,
    ) -> Self {
        StructLocal {
            slot,
            init,
            send,
            per_thread,
            inherit,
        }
    }

    fn key(&'static self) -> usize {
        ptr::from_ref(self).addr()
    }

    /// This thread's slot, or `None` once std destroyed it (thread teardown). `'t` is the
    /// current call into this storage, which the reference must not outlive.
    #[inline(always)]
    fn slot<'t>(&'static self) -> Option<&'t StructSlot<T>> {
        let slot = self.slot.try_with(ptr::from_ref).ok()?;
        // SAFETY: a thread-local lives, in place, until std's destructor for it runs at
        // thread exit; std runs those one at a time and never inside a call into this
        // library on the same thread, so not during the call the reference is used in.
        Some(unsafe { &*slot })
    }

    /// How `Context::inherit` clones a value: only one that may move between threads.
    fn clone_fn(&'static self) -> Option<fn(&T) -> T> {
        self.inherit.filter(|_| (self.send)().is_some())
    }
}

/// Implemented on the `'static` reference: the storage's address is its key.
impl<T: 'static> Local for &'static StructLocal<T> {
    type Value = T;

    /// The thread's own entry is a thread-local, which the compiler reaches at its fixed
    /// offset, as std's `thread_local!` does; a frame's is the one the slot caches. Either
    /// way `access` is called once, as in `ThreadLocal`'s, so the compiler inlines it here:
    /// with a call in each branch, it merged the two into one call out of line, and a
    /// binding's result went through memory, at twice tokio's time.
    #[inline(always)]
    fn fast<R, A: FnOnce(&Entry<T>) -> R>(
        self,
        ready: impl Fn(&Entry<T>) -> bool,
        owned: bool,
        access: A,
    ) -> Result<R, A> {
        let tag = if self.per_thread { 0 } else { thread::tag() };
        let Some(slot) = self.slot() else {
            return Err(access);
        };
        let entry = if thread::likely(tag == 0) {
            // An `inherit` struct's thread must list it before it holds a value.
            if owned && self.inherit.is_some() && !slot.joined.get() {
                return Err(access);
            }
            &slot.own
        } else {
            match slot.cache.get(tag) {
                Some(entry) => entry,
                None => return Err(access),
            }
        };
        if ready(entry) {
            Ok(access(entry))
        } else {
            Err(access)
        }
    }

    fn locate<R>(
        self,
        f: impl FnOnce(&Entry<T>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError> {
        let this = self;
        let slot = this.slot();
        thread::with_frame(|frame| match frame.filter(|_| !this.per_thread) {
            None => {
                let slot = slot.ok_or(AccessError::Destroyed)?;
                if this.inherit.is_some() && !slot.joined.get() {
                    thread::join_inheritable(this);
                    slot.joined.set(true);
                }
                f(&slot.own)
            }
            Some(frame) => {
                // A frame that may move between threads holds only `Send` values.
                if frame.movable && (this.send)().is_none() {
                    return Err(AccessError::NotSend);
                }
                let entry = frame.values.find_or_insert(this.key(), this.clone_fn());
                if let Some(slot) = slot {
                    slot.cache.set(frame.tag, entry);
                }
                f(entry)
            }
        })
    }

    fn peek<R>(self, f: impl FnOnce(Option<&Entry<T>>) -> R) -> R {
        let this = self;
        thread::with_frame(|frame| match frame.filter(|_| !this.per_thread) {
            None => f(this.slot().map(|slot| &slot.own)),
            Some(frame) => f(frame.values.find(this.key())),
        })
    }
}

impl<T: 'static> StructLocal<T> {
    #[inline]
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        access::with(self, self.init, f)
    }

    #[inline]
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        access::try_with(self, self.init, f)
    }

    #[inline]
    #[track_caller]
    pub fn with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        access::with_mut(self, self.init, f)
    }

    #[inline]
    pub fn try_with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        access::try_with_mut(self, self.init, f)
    }

    #[track_caller]
    pub fn set(&'static self, value: T) {
        access::set(self, value);
    }

    #[track_caller]
    pub fn replace(&'static self, value: T) -> T {
        self.with_mut(|old| std::mem::replace(old, value))
    }

    #[track_caller]
    pub fn take(&'static self) -> Option<T> {
        access::take(self)
    }

    pub fn is_initialized(&'static self) -> bool {
        access::is_initialized(self)
    }

    /// Runs `f` with this local bound to `value`; the previous value (or its absence) is
    /// back afterwards, also on unwind.
    #[track_caller]
    #[inline]
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        access::sync_scope(self, value, f)
    }

    /// A future that binds this local to `value` during every poll of `future`.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> Scoped<'static, Self, T, F> {
        Scoped::new(self, value, future)
    }
}

impl<T: 'static> InheritFromThread for StructLocal<T> {
    fn inherit(&'static self, into: &Values) {
        if let (Some(clone), Some(slot)) = (self.clone_fn(), self.slot()) {
            into.inherit(self.key(), clone, &slot.own);
        }
    }
}

impl<T> fmt::Debug for StructLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructLocal")
            .field("per_thread", &self.per_thread)
            .field("inherit", &self.inherit.is_some())
            .finish_non_exhaustive()
    }
}
