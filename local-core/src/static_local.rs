use std::fmt;
use std::marker::PhantomData;
use std::ptr;
use std::thread::LocalKey;

use crate::AccessError;
use crate::identity::{self, Membership};
use crate::table::{EMPTY, Entry, INITIALIZING, Local, Table, or_fail};

/// The storage of one `#[thread_local_struct]`.
///
/// The thread's own value lives in a `std::thread_local!` of the struct's own ([`slot`]),
/// so that the access outside contexts is what a hand-written `thread_local!` costs: one
/// flag (is a context current?) and the slot's borrow state, both at fixed thread-local
/// offsets. Inside a context or a scope, values are in a table indexed by identity, as for
/// `ThreadLocal`.
///
/// Every field is a reference, a function pointer or a flag, so the `static` is constant:
/// the compiler folds `per_thread` and the table's address into each access. The slot's
/// key is named by the expansion at each call site ([`StaticAccess`]), where its
/// thread-local access is inlined as a hand-written `thread_local!`'s is.
///
/// Not public API: the attribute's expansion is its only user. Every method takes
/// `&'static self`, so the registry's pointer to the table can never dangle.
///
/// [`slot`]: StaticOptions::slot
#[doc(hidden)]
pub struct StaticLocal<T: 'static> {
    table: &'static StaticTable<T>,
    slot: &'static LocalKey<StaticSlot<T>>,
    init: fn() -> T,
    /// A proof that `T: Send`, or `None`: decided by the expansion for its concrete type.
    is_send: fn() -> Option<SendProof<T>>,
    /// Read with the thread's own identity, whatever context runs.
    per_thread: bool,
    /// Copied into contexts made by `Context::inherit`.
    inherit: Option<fn(&T) -> T>,
}

// SAFETY: a `StaticLocal` is never dropped and has no `&mut` or iterating methods, so a
// value is only ever touched by the owner of its identity. A thread's values are created,
// borrowed and taken in that thread's calls and dropped by its own exit path. A context,
// which may move between threads, is refused values whose type is not `Send` (`admit`,
// from `is_send`), and a scope never leaves its thread. So `T` need be neither `Send` nor
// `Sync`: a struct holding an `Rc` works per thread, as `std::thread_local!` allows.
unsafe impl<T> Sync for StaticLocal<T> {}

/// The values of an attribute struct in contexts and scopes.
#[doc(hidden)]
pub struct StaticTable<T>(Table<T>);

// SAFETY: as for `StaticLocal`, whose table this is.
unsafe impl<T> Sync for StaticTable<T> {}

impl<T> StaticTable<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StaticTable(Table::new())
    }
}

impl<T> fmt::Debug for StaticTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTable").finish_non_exhaustive()
    }
}

/// The value of an attribute struct for the thread's own identity, in a `thread_local!`
/// with a `const` initializer and no destructor: a plain thread-local, always accessible.
/// The value is dropped by the thread's exit path, as table entries are.
#[doc(hidden)]
pub struct StaticSlot<T>(Entry<T>);

impl<T> StaticSlot<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StaticSlot(Entry::empty())
    }
}

impl<T> fmt::Debug for StaticSlot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticSlot").finish_non_exhaustive()
    }
}

/// How the expansion configures a [`StaticLocal`].
#[doc(hidden)]
#[derive(Debug)]
pub struct StaticOptions<T: 'static> {
    /// The struct's table, a `static` of the expansion.
    pub table: &'static StaticTable<T>,
    /// The struct's slot, a `std::thread_local!` of the expansion.
    pub slot: &'static LocalKey<StaticSlot<T>>,
    /// A proof that `T: Send`, or `None`: decided by the expansion for its concrete type.
    pub is_send: fn() -> Option<SendProof<T>>,
    /// `#[thread_local_struct(per_thread)]`: one value per OS thread, whatever context runs.
    pub per_thread: bool,
    /// `#[thread_local_struct(inherit)]`: `Context::inherit()` copies the value with it.
    pub inherit: Option<fn(&T) -> T>,
}

impl<T> StaticLocal<T> {
    /// Storage whose threads each start from `init()`.
    pub const fn new(init: fn() -> T, options: StaticOptions<T>) -> Self {
        StaticLocal {
            table: options.table,
            slot: options.slot,
            init,
            is_send: options.is_send,
            per_thread: options.per_thread,
            inherit: options.inherit,
        }
    }
}

impl<T: 'static> StaticLocal<T> {
    /// An access through the key stored in the storage. The expansion passes the key at
    /// each call site instead ([`StaticAccess::new`]), where the compiler inlines its
    /// thread-local access, as it does for a hand-written `thread_local!`.
    #[inline]
    fn access(&'static self) -> StaticAccess<T> {
        StaticAccess::new(self, self.slot)
    }

    #[inline]
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        self.access().with(f)
    }

    #[inline]
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.access().try_with(f)
    }

    #[inline]
    #[track_caller]
    pub fn with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        self.access().with_mut(f)
    }

    #[inline]
    pub fn try_with_mut<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        self.access().try_with_mut(f)
    }

    #[track_caller]
    pub fn set(&'static self, value: T) {
        self.access().set(value);
    }

    #[track_caller]
    pub fn replace(&'static self, value: T) -> T {
        self.access().replace(value)
    }

    #[track_caller]
    pub fn take(&'static self) -> Option<T> {
        self.access().take()
    }

    pub fn is_initialized(&'static self) -> bool {
        self.access().is_initialized()
    }
}

/// One access to a [`StaticLocal`], as the expansion makes it: the storage and the key of
/// its slot, named at the call site so that the slot's thread-local access is inlined
/// there.
#[doc(hidden)]
pub struct StaticAccess<T: 'static> {
    local: &'static StaticLocal<T>,
    key: &'static LocalKey<StaticSlot<T>>,
}

impl<T> Clone for StaticAccess<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for StaticAccess<T> {}

impl<T> fmt::Debug for StaticAccess<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticAccess").finish_non_exhaustive()
    }
}

impl<T> std::ops::Deref for StaticAccess<T> {
    type Target = StaticLocal<T>;

    #[inline(always)]
    fn deref(&self) -> &StaticLocal<T> {
        self.local
    }
}

impl<T: 'static> StaticAccess<T> {
    /// `key` must be the slot declared with `local` (the expansion declares both).
    #[inline(always)]
    pub const fn new(
        local: &'static StaticLocal<T>,
        key: &'static LocalKey<StaticSlot<T>>,
    ) -> Self {
        StaticAccess { local, key }
    }

    /// This thread's slot.
    #[inline(always)]
    fn slot_entry(&self) -> &Entry<T> {
        let entry = self.key.with(|slot| ptr::from_ref(&slot.0));
        // SAFETY: a thread-local with a `const` initializer and no destructor is never
        // destroyed: it lives as long as this thread, and the reference stays on it (the
        // `Local` methods use it during one access).
        unsafe { &*entry }
    }

    #[inline]
    #[track_caller]
    pub fn with<R>(self, f: impl FnOnce(&T) -> R) -> R {
        or_fail::<T, _>(self.try_with(f))
    }

    /// The fast path: this thread's entry (the slot, or the table's inside a context),
    /// present and not mutably borrowed. Everything else (the first touch, a conflicting
    /// borrow, an error) is out of line, taking `self` by value, so that a loop around an
    /// access keeps nothing in memory for it.
    #[inline]
    pub fn try_with<R>(self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        if let Some(entry) = Local::entry(&self)
            && entry.readable()
        {
            return entry.read(f);
        }
        self.try_with_cold(f)
    }

    #[cold]
    #[inline(never)]
    fn try_with_cold<R>(self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        Local::try_with(&self, f)
    }

    #[inline]
    #[track_caller]
    pub fn with_mut<R>(self, f: impl FnOnce(&mut T) -> R) -> R {
        or_fail::<T, _>(self.try_with_mut(f))
    }

    /// The fast path, as for [`try_with`](Self::try_with).
    #[inline]
    pub fn try_with_mut<R>(self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        if let Some(entry) = Local::entry(&self)
            && entry.writable()
        {
            return entry.write(f);
        }
        self.try_with_mut_cold(f)
    }

    #[cold]
    #[inline(never)]
    fn try_with_mut_cold<R>(self, f: impl FnOnce(&mut T) -> R) -> Result<R, AccessError> {
        Local::try_with_mut(&self, f)
    }

    #[track_caller]
    pub fn set(self, value: T) {
        Local::set(&self, value);
    }

    #[track_caller]
    pub fn replace(self, value: T) -> T {
        self.with_mut(|old| std::mem::replace(old, value))
    }

    #[track_caller]
    pub fn take(self) -> Option<T> {
        Local::take(&self)
    }

    pub fn is_initialized(self) -> bool {
        Local::is_initialized(&self)
    }

    /// Runs `f` with this local bound to `value`; the previous value (or its absence) is
    /// back afterwards, also on unwind.
    #[track_caller]
    pub fn scope<R>(self, value: T, f: impl FnOnce() -> R) -> R {
        let _restore = Bound::bind(self, value);
        f()
    }

    /// A future that binds this local to `value` during every poll of `future`.
    pub fn scope_async<F: std::future::Future>(self, value: T, future: F) -> ScopedFuture<T, F> {
        ScopedFuture {
            access: self,
            value: Some(value),
            future: Box::pin(future),
        }
    }
}

/// Restores the value a [`StaticAccess::scope`] replaced.
struct Bound<T: 'static> {
    access: StaticAccess<T>,
    previous: Option<T>,
}

impl<T: 'static> Bound<T> {
    #[track_caller]
    fn bind(access: StaticAccess<T>, value: T) -> Self {
        let previous = access.take();
        access.set(value);
        Bound { access, previous }
    }

    fn unbind(mut self) -> T {
        let bound = self.access.take();
        if let Some(previous) = self.previous.take() {
            self.access.set(previous);
        }
        std::mem::forget(self);
        bound.expect("the bound value is there until the end of its scope")
    }
}

impl<T: 'static> Drop for Bound<T> {
    fn drop(&mut self) {
        let bound = self.access.take();
        if let Some(previous) = self.previous.take() {
            self.access.set(previous);
        }
        drop(bound);
    }
}

/// The future of [`StaticAccess::scope_async`].
#[doc(hidden)]
pub struct ScopedFuture<T: 'static, F> {
    access: StaticAccess<T>,
    value: Option<T>,
    future: std::pin::Pin<Box<F>>,
}

impl<T: 'static, F> Unpin for ScopedFuture<T, F> {}

impl<T: 'static, F: std::future::Future> std::future::Future for ScopedFuture<T, F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.get_mut();
        let value = this
            .value
            .take()
            .expect("`ScopedFuture` polled after it completed");
        let bound = Bound::bind(this.access, value);
        let poll = this.future.as_mut().poll(cx);
        this.value = Some(bound.unbind());
        poll
    }
}

impl<T: 'static, F> fmt::Debug for ScopedFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedFuture").finish_non_exhaustive()
    }
}

impl<T: 'static> Local for StaticAccess<T> {
    type Value = T;

    #[inline(always)]
    fn table(&self) -> &Table<T> {
        &self.table.0
    }

    /// The slot outside contexts (and always for `per_thread`), the table inside.
    #[inline(always)]
    fn entry(&self) -> Option<&Entry<T>> {
        if self.uses_slot() {
            Some(self.slot_entry())
        } else {
            self.table().entry_at(identity::slot(false))
        }
    }

    #[cold]
    fn own_entry(&self) -> Result<(usize, &Entry<T>), AccessError> {
        if !self.uses_slot() {
            return self.own_table_entry();
        }
        // Outside contexts, the current identity is the thread's own.
        let id = self.identity_or_register()?;
        let entry = self.slot_entry();
        if entry.state.get() == INITIALIZING {
            return Err(AccessError::Initializing);
        }
        Ok((id, entry))
    }

    fn membership_for(&self, entry: &Entry<T>) -> Membership {
        if ptr::eq(entry, self.slot_entry()) {
            self.local.slot_membership()
        } else {
            self.membership()
        }
    }

    fn init(&self) -> T {
        (self.init)()
    }

    #[inline(always)]
    fn slot(&self) -> identity::Slot {
        identity::slot(self.per_thread)
    }

    fn identity_or_register(&self) -> Result<usize, AccessError> {
        if self.per_thread {
            identity::root_or_register()
        } else {
            identity::current_or_register()
        }
    }

    fn admit(&self) -> Result<(), AccessError> {
        if !self.per_thread && identity::current_is_movable() && (self.is_send)().is_none() {
            return Err(AccessError::NotSend);
        }
        Ok(())
    }

    fn membership(&self) -> Membership {
        unsafe fn release<T: 'static>(local: *const (), id: usize) {
            // SAFETY: `local` is a `&'static StaticLocal<T>` (see `membership_with`).
            let local = unsafe { &*local.cast::<StaticLocal<T>>() };
            local.table.0.release(id);
        }
        self.local.membership_with(release::<T>)
    }
}

impl<T: 'static> StaticLocal<T> {
    /// Does this thread read the slot (rather than the table)?
    #[inline(always)]
    fn uses_slot(&self) -> bool {
        identity::slot_usable(self.per_thread)
    }

    /// This thread's slot.
    #[inline(always)]
    fn slot_entry(&self) -> &Entry<T> {
        let entry = self.slot.with(|slot| ptr::from_ref(&slot.0));
        // SAFETY: a thread-local with a `const` initializer and no destructor is never
        // destroyed: it lives as long as this thread, and the reference stays on it (the
        // `Local` methods use it during one access).
        unsafe { &*entry }
    }

    /// The membership that drops this thread's slot value when its own identity ends: on
    /// this thread, by its exit path (`ThreadIdentity::drop`).
    fn slot_membership(&'static self) -> Membership {
        unsafe fn release<T: 'static>(local: *const (), _id: usize) {
            // SAFETY: `local` is a `&'static StaticLocal<T>` (see `membership_with`).
            let local = unsafe { &*local.cast::<StaticLocal<T>>() };
            let entry = local.slot_entry();
            entry.registered.set(false);
            match entry.state.get() {
                // SAFETY: present and unborrowed; the thread's own identity ends on this
                // thread, outside any access.
                0 => drop(unsafe { entry.take_value() }),
                state => debug_assert!(state == EMPTY, "identity ended during an access"),
            }
        }
        self.membership_with(release::<T>)
    }

    fn membership_with(&'static self, release: unsafe fn(*const (), usize)) -> Membership {
        unsafe fn inherit<T: 'static>(local: *const (), _from: usize, to: usize) {
            // SAFETY: `local` is a `&'static StaticLocal<T>` (see below).
            let local: &'static StaticLocal<T> = unsafe { &*local.cast::<StaticLocal<T>>() };
            if let Some(clone) = local.inherit {
                local.copy_into(to, clone);
            }
        }
        // Nothing is counted: the storage lives for `'static`.
        unsafe fn forget(_: *const ()) {}
        let local = std::ptr::from_ref::<StaticLocal<T>>(self).cast::<()>();
        // SAFETY: the storage is `'static`, so holding its address needs no count;
        // `release` and `inherit` are called by the identity's owner (`Table::release`,
        // the slot's release, `copy_into`).
        let membership = unsafe { Membership::new(local, release, forget) };
        if self.inherit.is_some() {
            // SAFETY: as above; the storage lives for the rest of the program.
            unsafe { membership.with_inherit(inherit::<T>) }
        } else {
            membership
        }
    }
}

impl<T: 'static> StaticLocal<T> {
    /// Gives the new identity `to` a clone of this thread's current value, if it has one.
    fn copy_into(&'static self, to: usize, clone: fn(&T) -> T) {
        let access = self.access();
        // `to` is a context: it may only hold `Send` values (the expansion requires
        // `inherit` structs to be `Send`; this is what makes that sound).
        if (self.is_send)().is_none() || !Local::is_initialized(&access) {
            return;
        }
        let value = or_fail::<T, _>(Local::try_with(&access, clone));
        Local::store_new(&access, to, value);
    }
}

impl<T> fmt::Debug for StaticLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticLocal").finish_non_exhaustive()
    }
}

/// Evidence that `T: Send`: only [`SendProbe::__local_send_proof`] makes one, where
/// `T: Send` holds. The storage trusts it to let values into contexts, which may move
/// between threads; a `bool` there would let safe code claim any type is `Send`.
///
/// The probe gives one for a type that is `Send`:
///
/// ```
/// use local_core::SendProbe;
/// assert!(SendProbe::<u8>::__local_send_proof(SendProbe::NEW).is_some());
/// ```
///
/// Neither the probe nor the constructor gives one for a type that is not `Send`:
///
/// ```compile_fail
/// use local_core::SendProbe;
/// let _ = SendProbe::<std::rc::Rc<u8>>::__local_send_proof(SendProbe::NEW);
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

/// Tells whether a concrete type is `Send`, for the expansion:
/// `SendProbe::<T>::NEW.__local_send_proof()`, with [`ProbeNotSend`] imported `as _`.
///
/// Both candidates take the probe by value, so method lookup settles at its first step,
/// where an inherent method beats a trait method: the inherent one when `T: Send`, and
/// otherwise [`ProbeNotSend`]'s. A user's trait in scope, even one with a blanket impl
/// and a method of the same name taking `&self`, would only match at the autoref step,
/// which is never reached; the name is one no one writes by accident.
#[doc(hidden)]
#[derive(Debug)]
pub struct SendProbe<T>(PhantomData<fn() -> T>);

impl<T> Clone for SendProbe<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendProbe<T> {}

impl<T> SendProbe<T> {
    pub const NEW: Self = SendProbe(PhantomData);
}

impl<T: Send> SendProbe<T> {
    /// `T` is `Send`: the proof.
    #[inline]
    #[must_use]
    pub fn __local_send_proof(self) -> Option<SendProof<T>> {
        Some(SendProof(PhantomData))
    }
}

/// The fallback of [`SendProbe`]: `T` is not known to be `Send`.
#[doc(hidden)]
pub trait ProbeNotSend<T> {
    fn __local_send_proof(self) -> Option<SendProof<T>>;
}

impl<T> ProbeNotSend<T> for SendProbe<T> {
    #[inline]
    fn __local_send_proof(self) -> Option<SendProof<T>> {
        None
    }
}
