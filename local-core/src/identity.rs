//! Identities: the index a thread uses in every `ThreadLocal`'s table, and what happens to
//! a thread's values when its identity ends.
//!
//! An identity is allocated on a thread's first touch of any local and released when the
//! thread exits. Indices are recycled smallest-first, so tables stay as small as the number
//! of identities alive at once. Before an index is recycled, every instance that holds an
//! entry under it has been told to release that entry (see [`Membership`]), so a new
//! identity never finds an old one's value.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::AccessError;

/// `CURRENT` and `ROOT` before this thread has touched any local.
const UNSET: usize = usize::MAX;
/// `CURRENT` and `ROOT` once this thread's identity has been released (thread-local
/// destructors).
const DESTROYED: usize = usize::MAX - 1;
/// Every index below this is a live identity.
pub(crate) const LIMIT: usize = DESTROYED;
/// Tables have this many buckets; bucket `b` holds the entries of identities
/// `(1 << b) - 1 ..= (1 << (b + 1)) - 2`.
pub(crate) const BUCKETS: usize = usize::BITS as usize;
/// Identities stay below this, so that the last bucket is never allocated: it is where
/// [`Slot::NONE`] points.
const MAX_IDENTITIES: usize = (1 << (BUCKETS - 1)) - 1;

/// Where an identity's entry is in every table: its bucket and its index in the bucket.
/// Kept for the current and the root identity in a thread-local, so that the fast path
/// neither recomputes it nor checks for "no identity": [`Slot::NONE`] names the last
/// bucket, which no table allocates, and so reads as "no entry" like an empty bucket.
#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) bucket: usize,
    pub(crate) index: usize,
}

impl Slot {
    pub(crate) const NONE: Slot = Slot {
        bucket: BUCKETS - 1,
        index: 0,
    };

    /// Identity `id`'s slot, or [`Slot::NONE`] for `UNSET` and `DESTROYED`.
    #[inline]
    pub(crate) const fn of(id: usize) -> Slot {
        if id >= MAX_IDENTITIES {
            return Slot::NONE;
        }
        let n = id + 1;
        let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
        Slot {
            bucket,
            index: n - (1 << bucket),
        }
    }
}

thread_local! {
    /// The identity whose values this thread reads: its own, or that of the context it
    /// runs. No destructor, so reading it is a plain thread-local load and never fails,
    /// even during thread teardown.
    static CURRENT: Cell<usize> = const { Cell::new(UNSET) };
    /// The thread's own identity, read by `per_thread` locals whatever context runs.
    static ROOT: Cell<usize> = const { Cell::new(UNSET) };
    /// `CURRENT` belongs to a `Context`, which may move between threads: it must not hold
    /// values that are not `Send`.
    static MOVABLE: Cell<bool> = const { Cell::new(false) };
    /// Owns this thread's identity; its destructor releases it when the thread exits.
    static THREAD: ThreadIdentity = const { ThreadIdentity { id: Cell::new(UNSET) } };
    /// The slots of `CURRENT` (`[0]`) and `ROOT` (`[1]`), updated with them: one
    /// thread-local, so that choosing between them is an index, not a second key.
    static SLOTS: [Cell<Slot>; 2] = const { [Cell::new(Slot::NONE), Cell::new(Slot::NONE)] };
    /// When attribute structs leave the thread-local slot that holds the thread's own
    /// value: [`IN_CONTEXT`] (they read their table instead), [`EXITING`] (the thread's
    /// identity is being released: every access fails, as with the table).
    static SLOT_MODE: Cell<u8> = const { Cell::new(0) };
}

/// A context or a scope is current.
const IN_CONTEXT: u8 = 1;
/// The thread's identity is released or being released.
const EXITING: u8 = 2;

/// May an attribute struct use its thread-local slot? Not inside a context (unless it is
/// `per_thread`), nor once the thread's exit path has begun.
#[inline(always)]
pub(crate) fn slot_usable(per_thread: bool) -> bool {
    let mode = SLOT_MODE.get();
    if per_thread {
        mode & EXITING == 0
    } else {
        mode == 0
    }
}

/// The slot of the current identity, or of the root one with `root`; [`Slot::NONE`] when
/// there is none.
#[inline(always)]
pub(crate) fn slot(root: bool) -> Slot {
    SLOTS.with(|slots| slots[usize::from(root)].get())
}

fn set_current(id: usize) -> usize {
    SLOTS.with(|slots| slots[0].set(Slot::of(id)));
    CURRENT.replace(id)
}

fn set_root(id: usize) {
    SLOTS.with(|slots| slots[1].set(Slot::of(id)));
    ROOT.set(id);
}

/// The current identity, or a value `>= LIMIT` when there is none yet or no more.
#[inline(always)]
pub(crate) fn current() -> usize {
    CURRENT.with(Cell::get)
}

/// The thread's own identity, or a value `>= LIMIT` when there is none yet or no more.
#[inline(always)]
pub(crate) fn root() -> usize {
    ROOT.with(Cell::get)
}

/// Does the current identity belong to a context that may move between threads?
pub(crate) fn current_is_movable() -> bool {
    MOVABLE.with(Cell::get)
}

/// The current identity, allocating one for this thread on its first touch.
#[cold]
pub(crate) fn current_or_register() -> Result<usize, AccessError> {
    match current() {
        DESTROYED => Err(AccessError::Destroyed),
        // No context runs (its identity would be current): the thread's own is, even when
        // a `per_thread` local registered it earlier, inside a context.
        UNSET => {
            let id = root_or_register()?;
            set_current(id);
            Ok(id)
        }
        id => Ok(id),
    }
}

/// The thread's own identity, allocated on its first touch of any local.
#[cold]
pub(crate) fn root_or_register() -> Result<usize, AccessError> {
    match root() {
        DESTROYED => Err(AccessError::Destroyed),
        UNSET => THREAD
            .try_with(|thread| {
                let id = registry().allocate();
                thread.id.set(id);
                set_root(id);
                // Inside a context, `CURRENT` is the context's and stays so; otherwise
                // `current_or_register` makes it the thread's own.
                id
            })
            .map_err(|_| AccessError::Destroyed),
        id => Ok(id),
    }
}

/// A new identity, for a context or a scope; released with [`release`].
pub(crate) fn allocate() -> usize {
    registry().allocate()
}

/// Makes `id` the current identity until the guard drops (also on unwind).
pub(crate) fn enter(id: usize, movable: bool) -> Entered {
    Entered {
        current: set_current(id),
        movable: MOVABLE.replace(movable),
        slot_mode: SLOT_MODE.replace(SLOT_MODE.get() | IN_CONTEXT),
    }
}

/// Restores the identity that was current before [`enter`].
pub(crate) struct Entered {
    current: usize,
    movable: bool,
    slot_mode: u8,
}

impl Drop for Entered {
    fn drop(&mut self) {
        set_current(self.current);
        MOVABLE.set(self.movable);
        SLOT_MODE.set(self.slot_mode);
    }
}

struct ThreadIdentity {
    id: Cell<usize>,
}

impl Drop for ThreadIdentity {
    fn drop(&mut self) {
        // From here on, touching a local on this thread is `AccessError::Destroyed`.
        set_current(DESTROYED);
        set_root(DESTROYED);
        SLOT_MODE.set(SLOT_MODE.get() | EXITING);
        let id = self.id.get();
        if id != UNSET {
            release(id);
        }
    }
}

/// Ends identity `id`: every instance it holds an entry in drops (or keeps, if it retains
/// exited values) that entry, then the index becomes free for reuse.
pub(crate) fn release(id: usize) {
    let members = std::mem::take(&mut registry().members[id]);
    for member in members {
        // SAFETY: `member` was registered for identity `id` (see `Membership::new`), and
        // `id` is ending now, exactly once, by its owner: its thread, or whoever ends the
        // context or scope it belongs to.
        unsafe { (member.release)(member.shared, id) };
    }
    registry().free.push(Reverse(id));
}

/// Records that identity `id` holds an entry in the instance behind `member`, so that
/// `release(id)` reaches it.
pub(crate) fn join(id: usize, member: Membership) {
    registry().members[id].push(member);
}

/// Forgets instance `shared` in the memberships of `ids`: the instance is being dropped.
pub(crate) fn leave(ids: impl IntoIterator<Item = usize>, shared: *const ()) {
    let mut removed = Vec::new();
    {
        let mut registry = registry();
        for id in ids {
            let members = &mut registry.members[id];
            if let Some(at) = members.iter().position(|m| m.shared == shared) {
                removed.push(members.swap_remove(at));
            }
        }
    }
    // Dropped outside the registry lock: the last reference frees the instance's table.
    drop(removed);
}

/// One identity's entry in one instance, as the registry sees it: enough to release the
/// entry without knowing the value's type, and a counted reference that keeps the
/// instance's table alive until the entry has been released.
pub(crate) struct Membership {
    shared: *const (),
    release: unsafe fn(*const (), usize),
    forget: unsafe fn(*const ()),
    /// Copies the value of one identity into another: for `inherit` locals.
    inherit: Option<unsafe fn(*const (), usize, usize)>,
}

impl Membership {
    /// # Safety
    ///
    /// `shared` must carry one counted reference to the instance, which `forget(shared)`
    /// gives back; `release(shared, id)` must be sound to call once, by the owner of
    /// identity `id` (see [`release`]), while that reference is held.
    pub(crate) unsafe fn new(
        shared: *const (),
        release: unsafe fn(*const (), usize),
        forget: unsafe fn(*const ()),
    ) -> Self {
        Membership {
            shared,
            release,
            forget,
            inherit: None,
        }
    }

    /// # Safety
    ///
    /// `shared` must stay valid for the rest of the program, and `inherit(shared, from, to)`
    /// must be sound to call on the thread that currently runs identity `from`, with `to` a
    /// new identity that no one else uses yet.
    pub(crate) unsafe fn with_inherit(self, inherit: unsafe fn(*const (), usize, usize)) -> Self {
        Membership {
            inherit: Some(inherit),
            ..self
        }
    }
}

/// Seeds the new identity `to` with clones of the values that identity `from`, current on
/// this thread, holds in `inherit` locals.
pub(crate) fn inherit(from: usize, to: usize) {
    let hooks: Vec<_> = registry().members[from]
        .iter()
        .filter_map(|member| Some((member.shared, member.inherit?)))
        .collect();
    // Outside the registry lock: cloning runs user code, which may touch other locals.
    for (shared, hook) in hooks {
        // SAFETY: registered through `with_inherit`, whose `shared` lives forever; `from`
        // is current on this thread and `to` is new (see `Context::inherit`).
        unsafe { hook(shared, from, to) };
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // SAFETY: `new`'s contract: we hold one counted reference, given back exactly once.
        unsafe { (self.forget)(self.shared) }
    }
}

// SAFETY: a membership is only a counted pointer to an instance table, with functions that
// the identity's owner calls (`release`, `inherit`). Moving it between threads, inside the
// registry, touches no value. A thread's identity is released on that thread; a context's
// may be released elsewhere, which is why contexts hold only `Send` values.
unsafe impl Send for Membership {}

struct Registry {
    /// Released indices, smallest first.
    free: BinaryHeap<Reverse<usize>>,
    /// For each index in use or free: the instances its identity holds entries in.
    members: Vec<Vec<Membership>>,
}

impl Registry {
    fn allocate(&mut self) -> usize {
        match self.free.pop() {
            Some(Reverse(id)) => id,
            None => {
                let id = self.members.len();
                assert!(id < MAX_IDENTITIES, "local: too many threads alive at once");
                self.members.push(Vec::new());
                id
            }
        }
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    free: BinaryHeap::new(),
    members: Vec::new(),
});

/// The registry's critical sections run no user code, so a poisoned lock (a panic on
/// allocation failure) leaves it consistent.
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}
