//! The storage of one `#[thread_local_struct]`, declared by `__struct_storage!`.
//!
//! The thread's own value lives in a `std::thread_local!` of the struct's own (a
//! [`StructSlot`]), so that the access outside contexts is what a hand-written
//! `thread_local!` costs, plus one thread-local flag (does a context run?), and so that std
//! destroys it at thread exit by its own rules on every platform, native TLS or not. The
//! slot has drop glue exactly when the struct has: a struct without a destructor costs no
//! registration, as with `thread_local!`.
//!
//! Inside a context or a scope, values are in the frame's list, and the slot caches where
//! this thread last found the struct's value in the current frame.

use std::fmt;
use std::future::Future;
use std::ptr::{self, NonNull};
use std::thread::LocalKey;

use crate::AccessError;
use crate::binding::{Bind, Bound, Scoped};
use crate::context::{Header, InlineRoom, Kind, Values, drop_inline, drop_node, inherit};
use crate::current;
use crate::entry::{Entry, Status};
use crate::error::or_fail;
use crate::exit::{self, InheritFromThread};
use crate::send_probe::SendProof;
use crate::table::Cache;

/// The thread's own value of one attribute struct, and its cache of the current frame's.
#[doc(hidden)]
pub struct StructSlot<T> {
    own: Entry<T>,
    cache: Cache<T>,
    /// The thread's state lists this struct for `Context::inherit`.
    joined: std::cell::Cell<bool>,
}

impl<T> StructSlot<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StructSlot {
            own: Entry::new(),
            cache: Cache::new(),
            joined: std::cell::Cell::new(false),
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
/// Its address is the struct's key in contexts, so every method takes `&'static self`.
#[doc(hidden)]
pub struct StructLocal<T: 'static> {
    slot: &'static LocalKey<StructSlot<T>>,
    init: fn() -> T,
    /// A proof that `T: Send`, or `None`: decided by the expansion for its concrete type.
    send: fn() -> Option<SendProof<T>>,
    /// `per_thread`: one value per OS thread, whatever context runs.
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
        // SAFETY: a thread-local lives, at the same address, until std's destructor for it
        // runs at thread exit; std runs destructors one at a time, outside any call into
        // this library, so not during the call this reference is used in.
        Some(unsafe { &*slot })
    }

    /// The entry the current thread or frame reads, when it is there already.
    #[inline(always)]
    fn current_entry<'t>(&'static self) -> Option<&'t Entry<T>> {
        let tag = if self.per_thread { 0 } else { current::tag() };
        let slot = self.slot()?;
        if current::likely(tag == 0) {
            Some(&slot.own)
        } else {
            slot.cache.get(tag)
        }
    }

    /// The fast path of an access: `access` on the current entry when `ready` says it can
    /// start now, or `access` given back for the slow path.
    ///
    /// The thread's own entry and a context's are kept on paths of their own rather than
    /// merged into one `&Entry`: the own entry is a thread-local, which the compiler then
    /// reaches at its fixed offset, as std's `thread_local!` is, instead of computing its
    /// address first.
    #[inline(always)]
    fn on_current<R, A: FnOnce(&Entry<T>) -> R>(
        &'static self,
        ready: impl Fn(&Entry<T>) -> bool,
        access: A,
    ) -> Result<R, A> {
        let tag = if self.per_thread { 0 } else { current::tag() };
        if let Some(slot) = self.slot() {
            if current::likely(tag == 0) {
                if ready(&slot.own) {
                    return Ok(access(&slot.own));
                }
            } else if let Some(entry) = slot.cache.get(tag)
                && ready(entry)
            {
                return Ok(access(entry));
            }
        }
        Err(access)
    }

    /// Calls `f` with the entry the current thread or frame reads, creating a frame's node
    /// if needed; does not initialize. A struct that is not `Send` is refused in a frame
    /// that may move between threads.
    #[cold]
    fn locate<R>(
        &'static self,
        f: impl FnOnce(&Entry<T>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError> {
        let slot = self.slot();
        let frame = if self.per_thread {
            None
        } else {
            current::frame()
        };
        match frame {
            None => {
                let slot = slot.ok_or(AccessError::Destroyed)?;
                if self.inherit.is_some() && !slot.joined.get() {
                    exit::join_inheritable(self);
                    slot.joined.set(true);
                }
                f(&slot.own)
            }
            Some(frame) => {
                if frame.movable && (self.send)().is_none() {
                    return Err(AccessError::NotSend);
                }
                // SAFETY: the current frame's values are valid while it is current.
                let values = unsafe { &*frame.values };
                // SAFETY: the key of this storage, whose nodes hold `T`; `self` handles
                // them.
                let entry = unsafe { values.find_or_insert::<T>(self.key(), self) };
                if let Some(slot) = slot {
                    slot.cache.set(frame.tag, entry);
                }
                f(entry)
            }
        }
    }

    fn fill(&'static self, entry: &Entry<T>) -> Result<(), AccessError> {
        match entry.status() {
            Status::Empty => entry.initialize(self.init),
            _ => Ok(()),
        }
    }

    /// As [`try_with`](Self::try_with), with the error a panic. Its slow path is a call
    /// of its own that returns the result itself, so that the fast path needs no stack
    /// frame and the call can be a tail call.
    #[inline]
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.on_current(Entry::is_readable, |entry| entry.read(f)) {
            Ok(result) => or_fail::<T, _>(result),
            Err(access) => self.cold(access),
        }
    }

    /// The fast path: the entry is there and readable. Everything else (the first touch, a
    /// conflicting borrow, an error) is out of line.
    #[inline]
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        match self.on_current(Entry::is_readable, |entry| entry.read(f)) {
            Ok(result) => result,
            Err(access) => self.try_cold(access),
        }
    }

    /// As [`with`](Self::with), mutably.
    #[inline]
    #[track_caller]
    pub fn with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        match self.on_current(Entry::is_writable, |entry| entry.write(f)) {
            Ok(result) => or_fail::<T, _>(result),
            Err(access) => self.cold(access),
        }
    }

    /// The fast path, as for [`try_with`](Self::try_with).
    #[inline]
    pub fn try_with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        match self.on_current(Entry::is_writable, |entry| entry.write(f)) {
            Ok(result) => result,
            Err(access) => self.try_cold(access),
        }
    }

    /// The slow path of an access: finds or makes the entry, initializes it, and runs
    /// `access` on it.
    #[inline(always)]
    fn filled<R>(
        &'static self,
        access: impl FnOnce(&Entry<T>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError> {
        self.locate(|entry| {
            self.fill(entry)?;
            access(entry)
        })
    }

    #[cold]
    #[inline(never)]
    fn try_cold<R>(
        &'static self,
        access: impl FnOnce(&Entry<T>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError> {
        self.filled(access)
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn cold<R>(&'static self, access: impl FnOnce(&Entry<T>) -> Result<R, AccessError>) -> R {
        or_fail::<T, _>(self.filled(access))
    }

    #[track_caller]
    pub fn set(&'static self, value: T) {
        // Dropped after the entry is consistent again, so that its destructor may use it.
        let old = or_fail::<T, _>(self.locate(|entry| entry.put(value)));
        drop(old);
    }

    #[track_caller]
    pub fn replace(&'static self, value: T) -> T {
        self.with_mut(|old| std::mem::replace(old, value))
    }

    #[track_caller]
    pub fn take(&'static self) -> Option<T> {
        match self.locate(Entry::take) {
            // Nothing to take: such a value is never created in this frame.
            Err(AccessError::NotSend) => None,
            result => or_fail::<T, _>(result),
        }
    }

    pub fn is_initialized(&'static self) -> bool {
        match self.current_entry() {
            Some(entry) => entry.is_present(),
            None => self.locate(|entry| Ok(entry.is_present())).unwrap_or(false),
        }
    }

    /// Runs `f` with this local bound to `value`; the previous value (or its absence) is
    /// back afterwards, also on unwind.
    #[track_caller]
    pub fn scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let bound = or_fail::<T, _>(self.bind(value));
        let result = f();
        drop(bound);
        result
    }

    /// A future that binds this local to `value` during every poll of `future`.
    pub fn scope_async<F: Future>(
        &'static self,
        value: T,
        future: F,
    ) -> Scoped<'static, Self, T, F> {
        Scoped::new(self, value, future)
    }
}

impl<T: 'static> Bind<'static, T> for StructLocal<T> {
    fn bind(&'static self, value: T) -> Result<Bound<T>, AccessError> {
        // An `inherit` struct's first value on a thread must be listed for
        // `Context::inherit`, which `locate` does.
        if let Some(entry) = self.current_entry().filter(|_| self.inherit.is_none()) {
            // SAFETY: this thread's slot (alive for the call) or a node of the current
            // frame; the guard is dropped within the caller's call.
            return unsafe { Bound::bind(entry, value) };
        }
        let mut value = Some(value);
        self.locate(|entry| {
            // SAFETY: as above.
            unsafe { Bound::bind(entry, value.take().expect("called once")) }
        })
    }
}

// SAFETY: every node given to it was inserted under this storage's key, as a `Node<T>`.
unsafe impl<T: 'static> Kind for StructLocal<T> {
    unsafe fn drop_node(&self, node: NonNull<Header>) {
        // SAFETY: the caller's duty, for a `Node<T>`.
        unsafe { drop_node::<T>(node) }
    }

    unsafe fn drop_inline(&self, entry: NonNull<InlineRoom>) {
        // SAFETY: the caller's duty, for an `Entry<T>`.
        unsafe { drop_inline::<T>(entry) }
    }

    unsafe fn inherit(&'static self, from: &Values, key: usize, into: &Values) {
        // `into` is a `Context`, which may move between threads: `Send` values only.
        if let (Some(clone), Some(_)) = (self.inherit, (self.send)()) {
            // SAFETY: the caller's duty: `key` is this storage's.
            unsafe { inherit::<T>(from, key, self, into, clone) }
        }
    }
}

impl<T: 'static> InheritFromThread for StructLocal<T> {
    fn inherit(&'static self, values: &Values) {
        let (Some(clone), Some(_)) = (self.inherit, (self.send)()) else {
            return;
        };
        let Some(slot) = self.slot() else { return };
        if !slot.own.is_present() || values.contains(self.key()) {
            return;
        }
        // Mutably borrowed (`inherit` inside `with_mut`): a panic, not a silent fresh value.
        let value = or_fail::<T, _>(slot.own.read(clone));
        // SAFETY: this storage's key and kind, for a value of `T`; `T: Send` is proven.
        let entry = unsafe { values.find_or_insert::<T>(self.key(), self) };
        // Empty: `values` had no node for the key.
        let _ = entry.put(value);
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
