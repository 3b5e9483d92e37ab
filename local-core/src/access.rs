//! The accesses every local offers, written once over where a local keeps its entries:
//! `ThreadLocal` (its table, `thread_local.rs`) and an attribute struct's storage (its
//! `thread_local!` slot, `attribute.rs`) each say how to find the entry the current thread
//! or frame reads ([`Local`]), and the rest is here.
//!
//! Each access has a fast path, inlined into the caller: the entry is there and can be
//! borrowed as asked, which costs a few loads and one comparison. Everything else (the
//! first touch, registering the thread, a frame's first touch, an error) is one call out of
//! line, which returns the caller's result itself, so that the fast path needs no stack
//! frame of its own and the slow path is a tail call.

use crate::AccessError;
use crate::entry::Entry;
use crate::error::or_fail;

/// Where a local keeps the entry the current thread or frame reads: implemented on a
/// reference to the local (`&ThreadLocal`, `&'static StructLocal`), which is `Copy`.
pub(crate) trait Local: Copy {
    type Value;

    /// The fast path: `access` on that entry if it exists already and `ready` says so, or
    /// `access` given back. With `owned`, the thread's own entry must also be one its exit
    /// knows of, since `access` may put a value in where there was none (a binding).
    fn fast<R, A: FnOnce(&Entry<Self::Value>) -> R>(
        self,
        ready: impl Fn(&Entry<Self::Value>) -> bool,
        owned: bool,
        access: A,
    ) -> Result<R, A>;

    /// The slow path: `f` on that entry, made if needed (and the thread registered for its
    /// exit, or a node added to the frame). Initializes nothing.
    fn locate<R>(
        self,
        f: impl FnOnce(&Entry<Self::Value>) -> Result<R, AccessError>,
    ) -> Result<R, AccessError>;

    /// `f` on that entry if it exists; makes nothing, registers nothing.
    fn peek<R>(self, f: impl FnOnce(Option<&Entry<Self::Value>>) -> R) -> R;
}

/// `with`'s and `with_mut`'s slow path: the entry, initialized by `init` if empty, then
/// `access` on it.
fn filled<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    access: impl FnOnce(&Entry<L::Value>) -> Result<R, AccessError>,
) -> Result<R, AccessError> {
    local.locate(|entry| {
        let Ok(()) = entry.initialize(|| Ok::<_, std::convert::Infallible>(init()))?;
        access(entry)
    })
}

#[cold]
#[inline(never)]
fn try_cold<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    access: impl FnOnce(&Entry<L::Value>) -> Result<R, AccessError>,
) -> Result<R, AccessError> {
    filled(local, init, access)
}

#[cold]
#[inline(never)]
#[track_caller]
fn cold<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    access: impl FnOnce(&Entry<L::Value>) -> Result<R, AccessError>,
) -> R {
    or_fail::<L::Value, _>(filled(local, init, access))
}

/// `f` with the value, initialized by `init` if needed; see `ThreadLocal::try_with`.
#[inline]
pub(crate) fn try_with<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    f: impl FnOnce(&L::Value) -> R,
) -> Result<R, AccessError> {
    match local.fast(Entry::is_readable, false, |entry| entry.read(f)) {
        Ok(result) => result,
        Err(read) => try_cold(local, init, read),
    }
}

/// As [`try_with`], the error a panic naming the value's type.
#[inline]
#[track_caller]
pub(crate) fn with<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    f: impl FnOnce(&L::Value) -> R,
) -> R {
    match local.fast(Entry::is_readable, false, |entry| entry.read(f)) {
        Ok(result) => or_fail::<L::Value, _>(result),
        Err(read) => cold(local, init, read),
    }
}

/// `f` with the value, mutably; see `ThreadLocal::try_with_mut`.
#[inline]
pub(crate) fn try_with_mut<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    f: impl FnOnce(&mut L::Value) -> R,
) -> Result<R, AccessError> {
    match local.fast(Entry::is_writable, false, |entry| entry.write(f)) {
        Ok(result) => result,
        Err(write) => try_cold(local, init, write),
    }
}

/// As [`try_with_mut`], the error a panic naming the value's type.
#[inline]
#[track_caller]
pub(crate) fn with_mut<L: Local, R>(
    local: L,
    init: impl FnOnce() -> L::Value,
    f: impl FnOnce(&mut L::Value) -> R,
) -> R {
    match local.fast(Entry::is_writable, false, |entry| entry.write(f)) {
        Ok(result) => or_fail::<L::Value, _>(result),
        Err(write) => cold(local, init, write),
    }
}

/// Builds the value with a fallible `init` unless there is one: the `thread_local` crate's
/// `get_or_try`.
#[track_caller]
pub(crate) fn try_init<L: Local, E>(
    local: L,
    init: impl FnOnce() -> Result<L::Value, E>,
) -> Result<(), E> {
    if let Ok(true) = local.fast(|_| true, false, Entry::has_value) {
        return Ok(());
    }
    or_fail::<L::Value, _>(local.locate(|entry| entry.initialize(init)))
}

/// Puts `value` in, without the initializer; the old value is dropped once the entry is
/// consistent again, so that its destructor may use the local.
#[track_caller]
pub(crate) fn set<L: Local>(local: L, value: L::Value) {
    let mut value = Some(value);
    or_fail::<L::Value, _>(local.locate(|entry| entry.swap(&mut value)));
    drop(value);
}

/// Takes the value out; the next access initializes again.
#[track_caller]
pub(crate) fn take<L: Local>(local: L) -> Option<L::Value> {
    let mut taken = None;
    match local.locate(|entry| entry.swap(&mut taken)) {
        // Nothing to take: such a value is never made in this frame.
        Err(AccessError::NotSend) => {}
        result => or_fail::<L::Value, _>(result),
    }
    taken
}

/// `f` with the value if the current thread or frame holds one, else `None`: never
/// initializes, never makes anything, and reads through the fast path's cache in a frame.
pub(crate) fn with_existing<L: Local, R>(
    local: L,
    f: impl FnOnce(Option<&L::Value>) -> R,
) -> Result<R, AccessError> {
    let mut f = Some(f);
    let mut read = |entry: Option<&Entry<L::Value>>| {
        let f = f.take().expect("read once");
        match entry {
            Some(entry) if entry.has_value() => entry.read(|value| f(Some(value))),
            _ => Ok(f(None)),
        }
    };
    if let Ok(result) = local.fast(|_| true, false, |entry| read(Some(entry))) {
        return result;
    }
    local.peek(read)
}

/// Does the current thread or frame hold a value? Looks only.
pub(crate) fn is_initialized<L: Local>(local: L) -> bool {
    local.peek(|entry| entry.is_some_and(Entry::has_value))
}

/// Runs `f` with `value` bound: swapped into the current entry, and what the entry held
/// swapped back afterwards, also on unwind (tokio's `sync_scope`). The bound value, or
/// what `f` left in its place, is dropped after the previous value is back.
#[inline]
#[track_caller]
pub(crate) fn sync_scope<L: Local, R>(local: L, value: L::Value, f: impl FnOnce() -> R) -> R {
    let mut value = Some(value);
    let result = bindable(local, |entry| bound(entry, &mut value, f));
    or_fail::<L::Value, _>(result)
}

/// `access` on the entry a binding swaps its value into: through the fast path if it is
/// there and free, else the slow one, a call of its own, so that `access` is inlined into
/// the fast path only.
#[inline(always)]
pub(crate) fn bindable<L: Local, R>(
    local: L,
    access: impl FnOnce(&Entry<L::Value>) -> Result<R, AccessError>,
) -> Result<R, AccessError> {
    match local.fast(Entry::can_swap, true, access) {
        Ok(result) => result,
        Err(access) => bindable_cold(local, access),
    }
}

#[cold]
#[inline(never)]
fn bindable_cold<L: Local, R>(
    local: L,
    access: impl FnOnce(&Entry<L::Value>) -> Result<R, AccessError>,
) -> Result<R, AccessError> {
    local.locate(access)
}

/// `f` with `value` swapped into `entry`; afterwards `value` holds what `f` left there.
/// Refused, with `value` untouched, if the entry cannot take it now.
#[inline]
pub(crate) fn bound<T, R>(
    entry: &Entry<T>,
    value: &mut Option<T>,
    f: impl FnOnce() -> R,
) -> Result<R, AccessError> {
    entry.swap(value)?;
    entry.bind(true);
    // `value` now holds the previous value, which the guard swaps back.
    let restore = Restore { entry, value };
    let result = f();
    drop(restore);
    Ok(result)
}

/// Swaps back what a binding displaced, also on unwind.
struct Restore<'a, T> {
    entry: &'a Entry<T>,
    value: &'a mut Option<T>,
}

impl<T> Drop for Restore<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Cannot be refused: the borrows `f` took ended with it (a guard, which could
        // outlive it, is refused while the binding runs), and the entry is still the one
        // that held the binding (a frame `f` entered has been left).
        self.entry.bind(false);
        let _ = self.entry.swap(self.value);
    }
}
