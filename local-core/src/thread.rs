//! This thread as the storage sees it: its index, the frame (a context, or `fresh`) it runs,
//! the instances it holds values in, and its exit.
//!
//! **Index.** A thread takes an index on its first touch of an instance, the smallest one
//! free; every instance keeps the thread's value at the index's [`Position`] in its buckets
//! (`table.rs`). The index is given back at the very end of the thread's exit, once every
//! entry under it is empty again, so a thread that takes it next starts from nothing.
//!
//! **Exit.** The thread's [`ThreadState`] lists the instances it holds values in. Its
//! destructor destroys those values as std destroys thread-locals (std's own tests
//! `circular` and `dtors_in_dtors_in_dtors`, and its `destructors/list.rs`): one at a time,
//! with no borrow or lock of this library held while a value's destructor runs, so that a
//! destructor can use every local whose value is still alive and store into one; only a
//! local whose value was already destroyed refuses, with `AccessError::Destroyed`. A value
//! created during teardown is destroyed too, in a later round, and the rounds are bounded.
//! A value still borrowed at the exit (the thread called `process::exit` from inside an
//! access) is left alone, and so is the index: it is never given back.
//!
//! **Frames.** [`CURRENT`] says whether the thread runs its own values or a frame's, under
//! which tag (a number unique in the process, taken at each entry into a frame), and at
//! which position the thread's entries are. It is one `thread_local!` without a
//! destructor, read by every fast path, and readable through the whole of the teardown.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::panic;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::AccessError;
use crate::error::each;
use crate::frame::Values;

/// Buckets per instance: enough for every index below [`MAX_INDEX`].
pub(crate) const BUCKETS: usize = usize::BITS as usize;

/// Indices stay below this, so the last bucket is never allocated: [`Position::NONE`]
/// points there.
const MAX_INDEX: usize = (1 << (BUCKETS - 1)) - 1;

/// Where an index's entry is in an instance's buckets: bucket `b` holds the entries of
/// indices `2^b - 1 ..= 2^(b+1) - 2` (the `thread_local` crate's layout). Cached per
/// thread, so that the fast path neither recomputes it nor checks for "no index":
/// [`Position::NONE`] names a bucket that is never allocated, and so reads as "no entry".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) bucket: usize,
    pub(crate) offset: usize,
}

impl Position {
    pub(crate) const NONE: Position = Position {
        bucket: BUCKETS - 1,
        offset: 0,
    };

    /// The position of `index`.
    pub(crate) const fn of(index: usize) -> Position {
        assert!(index < MAX_INDEX);
        let n = index + 1;
        let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
        Position {
            bucket,
            offset: n - (1 << bucket),
        }
    }

    /// The index at this position: the inverse of [`of`](Self::of).
    pub(crate) const fn index(self) -> usize {
        (1 << self.bucket) + self.offset - 1
    }

    /// The number of entries in bucket `bucket`.
    pub(crate) const fn bucket_len(bucket: usize) -> usize {
        1 << bucket
    }
}

struct Indices {
    /// Given back, smallest first.
    free: BinaryHeap<Reverse<usize>>,
    /// Never given out yet: this and above.
    next: usize,
}

impl Indices {
    fn take(&mut self) -> usize {
        if let Some(Reverse(index)) = self.free.pop() {
            return index;
        }
        let index = self.next;
        assert!(index < MAX_INDEX, "local: too many threads alive at once");
        self.next += 1;
        index
    }
}

static INDICES: Mutex<Indices> = Mutex::new(Indices {
    free: BinaryHeap::new(),
    next: 0,
});

fn indices() -> std::sync::MutexGuard<'static, Indices> {
    // The critical sections cannot panic but on allocation failure, and leave the heap
    // valid at every step.
    INDICES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An instance as a thread's exit and `Context::inherit` see it, whatever its value type.
pub(crate) trait Member: Send + Sync {
    /// The thread at `index` is exiting: destroy its value, moved out under the instance's
    /// lock and dropped after it. `false` if the value was borrowed and left in place.
    fn destroy(&self, index: usize) -> bool;

    /// The thread at `index` is gone: its entry is empty for the index's next thread.
    fn forget(&self, index: usize);

    /// The instance was dropped: a thread need not keep it in its list.
    fn is_dropped(&self) -> bool;

    /// Clones the value of the thread at `index`, if it has one and the instance is
    /// inheritable, into `into`.
    fn inherit(&self, index: usize, into: &Values);
}

/// An attribute struct declared `inherit`, whose value this thread holds in its slot.
pub(crate) trait InheritFromThread {
    /// Clones this thread's value, if it has one, into `into`.
    fn inherit(&'static self, into: &Values);
}

struct Joined {
    member: Arc<dyn Member>,
    /// The instance is inheritable.
    inherit: bool,
}

/// The instances a thread holds values in, and what its exit needs.
pub(crate) struct ThreadState {
    /// Taken on the thread's first touch of an instance, given back at the end of its exit.
    index: Cell<Option<usize>>,
    members: RefCell<Vec<Joined>>,
    /// `members.len()` after the last sweep of dropped instances.
    swept: Cell<usize>,
    /// Attribute structs declared `inherit` that hold a value of this thread.
    inheritable: RefCell<Vec<&'static dyn InheritFromThread>>,
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState {
            index: Cell::new(None),
            members: RefCell::new(Vec::new()),
            swept: Cell::new(0),
            inheritable: RefCell::new(Vec::new()),
        }
    };
}

/// What the thread reads now.
struct Current {
    /// The thread's position in every instance's buckets; [`Position::NONE`] before it takes
    /// an index and once it gave it back.
    position: Cell<Position>,
    /// The values of the frame the thread runs, or null: its own values.
    frame: Cell<*const Values>,
    /// The tag of the current entry into that frame; `0` outside frames.
    tag: Cell<u64>,
    /// The frame may move between threads: it holds only `Send` values.
    movable: Cell<bool>,
    /// The thread's next tag, and the end of its block of tags.
    next_tag: Cell<u64>,
    tag_end: Cell<u64>,
    /// The thread's state while its exit runs: where values created during teardown are
    /// listed, since the `thread_local!` that owns it is being destroyed.
    exiting: Cell<*const ThreadState>,
}

thread_local! {
    static CURRENT: Current = const {
        Current {
            position: Cell::new(Position::NONE),
            frame: Cell::new(ptr::null()),
            tag: Cell::new(0),
            movable: Cell::new(false),
            next_tag: Cell::new(0),
            tag_end: Cell::new(0),
            exiting: Cell::new(ptr::null()),
        }
    };
}

/// Tags are handed to threads in blocks of this many: taking one is a thread-local
/// increment, and the shared counter is touched once per million entries into frames.
const TAG_BLOCK: u64 = 1 << 20;

/// The next block of tags; block 0 is never handed out, so no tag is 0.
static TAG_BLOCKS: AtomicU64 = AtomicU64::new(1);

/// `b`, which is most often true: the fast paths lay the thread's own values out straight
/// through (std's `likely` is not stable; a cold call is the usual stand-in).
#[inline(always)]
pub(crate) fn likely(b: bool) -> bool {
    if !b {
        cold();
    }
    b
}

#[cold]
#[inline]
fn cold() {}

/// The thread's position and the current tag, for the fast path.
#[inline(always)]
pub(crate) fn position_and_tag() -> (Position, u64) {
    CURRENT.with(|current| (current.position.get(), current.tag.get()))
}

/// The current tag, `0` outside frames.
#[inline(always)]
pub(crate) fn tag() -> u64 {
    CURRENT.with(|current| current.tag.get())
}

/// The frame the thread runs, for the slow paths.
#[derive(Clone, Copy)]
pub(crate) struct Frame<'a> {
    pub(crate) values: &'a Values,
    pub(crate) tag: u64,
    pub(crate) movable: bool,
}

/// Calls `f` with the frame the thread runs, or `None` while it runs its own values.
pub(crate) fn with_frame<R>(f: impl FnOnce(Option<Frame<'_>>) -> R) -> R {
    let (values, tag, movable) = CURRENT.with(|current| {
        (
            current.frame.get(),
            current.tag.get(),
            current.movable.get(),
        )
    });
    // SAFETY: a non-null frame was set by `enter` from a reference that outlives its
    // `Entered` guard, and is put back by the guard's drop. Guards live in the frames of
    // `Context::run`, a wrapped future's `poll` and `drop`, and `fresh`, and are dropped in
    // the reverse order of their making: the frame current now stays current, in place and
    // alive, until this call returns.
    let values = unsafe { values.as_ref() };
    f(values.map(|values| Frame {
        values,
        tag,
        movable,
    }))
}

/// Makes `values` the current frame, under a fresh tag, until the guard drops.
///
/// `values` must stay valid, and in place, until the guard drops; the guard must drop on
/// this thread, in the reverse order of the guards made after it (it is `!Send`).
#[inline]
pub(crate) fn enter(values: &Values, movable: bool) -> Entered {
    CURRENT.with(|current| {
        let mut tag = current.next_tag.get();
        if tag == current.tag_end.get() {
            tag = take_tag_block(current);
        }
        current.next_tag.set(tag + 1);
        Entered {
            frame: current.frame.replace(values),
            tag: current.tag.replace(tag),
            movable: current.movable.replace(movable),
            _not_send: std::marker::PhantomData,
        }
    })
}

#[cold]
fn take_tag_block(current: &Current) -> u64 {
    let block = TAG_BLOCKS.fetch_add(1, Ordering::Relaxed);
    current.tag_end.set((block + 1) * TAG_BLOCK);
    block * TAG_BLOCK
}

/// Makes the frame current before [`enter`] current again.
pub(crate) struct Entered {
    frame: *const Values,
    tag: u64,
    movable: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| {
            current.frame.set(self.frame);
            current.tag.set(self.tag);
            current.movable.set(self.movable);
        });
    }
}

/// Runs `f` on this thread's state: the live one, or the one whose exit is running.
fn with_state<R>(f: impl FnOnce(&ThreadState) -> R) -> Result<R, AccessError> {
    let state = match THREAD.try_with(ptr::from_ref) {
        Ok(state) => state,
        Err(_) => CURRENT.with(|current| current.exiting.get()),
    };
    // SAFETY: either the live state, which std destroys only in this thread's teardown and
    // one destructor at a time, so not while `f` runs on this thread's stack; or the one
    // whose `Drop` is running, which sets `exiting` to itself and clears it before it
    // returns, while this runs on the same thread, inside it. Only shared references to the
    // state exist meanwhile (`Drop` reborrows itself as shared).
    let state = unsafe { state.as_ref() }.ok_or(AccessError::Destroyed)?;
    Ok(f(state))
}

/// This thread's position, taking an index on first use.
#[inline]
pub(crate) fn position() -> Result<Position, AccessError> {
    let position = CURRENT.with(|current| current.position.get());
    if position != Position::NONE {
        return Ok(position);
    }
    register()
}

#[cold]
fn register() -> Result<Position, AccessError> {
    let index = with_state(|state| match state.index.get() {
        Some(index) => index,
        None => {
            let index = indices().take();
            state.index.set(Some(index));
            index
        }
    })?;
    let position = Position::of(index);
    CURRENT.with(|current| current.position.set(position));
    Ok(position)
}

/// Lists `member` for this thread's exit (and, if `inherit`, for `Context::inherit`).
/// Refused once the exit is over: the thread can hold no more values.
pub(crate) fn join(member: Arc<dyn Member>, inherit: bool) -> Result<(), AccessError> {
    let swept = with_state(|state| {
        let mut members = state.members.borrow_mut();
        // A thread that outlives many instances would keep each: sweep the dropped ones
        // whenever the list has doubled since the last sweep.
        let mut swept = Vec::new();
        if members.len() >= 2 * state.swept.get().max(4) {
            let (dropped, kept) = std::mem::take(&mut *members)
                .into_iter()
                .partition(|joined| joined.member.is_dropped());
            *members = kept;
            swept = dropped;
            state.swept.set(members.len());
        }
        members.push(Joined { member, inherit });
        swept
    })?;
    // After the list's borrow: the last reference to a table may go here, and with it a
    // value its instance could not drop (one a leaked guard held), whose destructor may
    // touch locals of this thread.
    drop(swept);
    Ok(())
}

/// Lists an `inherit` attribute struct whose value this thread holds.
pub(crate) fn join_inheritable(local: &'static dyn InheritFromThread) {
    // During teardown nothing inherits any more: no need to list.
    let _ = THREAD.try_with(|state| state.inheritable.borrow_mut().push(local));
}

/// Clones this thread's own values of every inheritable local into `into`.
pub(crate) fn inherit_into(into: &Values) {
    // A snapshot first: a `Clone` may touch a local this thread never did, which lists it.
    let Ok((index, members, structs)) = THREAD.try_with(|state| {
        let members: Vec<Arc<dyn Member>> = state
            .members
            .borrow()
            .iter()
            .filter(|joined| joined.inherit)
            .map(|joined| Arc::clone(&joined.member))
            .collect();
        (
            state.index.get(),
            members,
            state.inheritable.borrow().clone(),
        )
    }) else {
        return;
    };
    if let Some(index) = index {
        for member in members {
            member.inherit(index, into);
        }
    }
    for local in structs {
        local.inherit(into);
    }
}

/// Rounds of a thread's teardown: a value created during the last one is refused. std's
/// own lists have no bound; POSIX asks for at least 4 (`PTHREAD_DESTRUCTOR_ITERATIONS`).
const TEARDOWN_ROUNDS: usize = 8;

impl Drop for ThreadState {
    fn drop(&mut self) {
        let Some(index) = self.index.get() else {
            return;
        };
        // Shared references only from here on: destructors reach the state through
        // `exiting` to list values they create.
        let state: &ThreadState = self;
        // Set again even if cached: on std's OS-key fallback, `CURRENT` may have been
        // destroyed and made anew before this destructor runs.
        CURRENT.with(|current| {
            current.position.set(Position::of(index));
            current.exiting.set(state);
        });

        // Each round destroys the values of the instances listed when it starts, the last
        // listed first, as std does (a value made after another may use it as it drops).
        // In the last round nothing may be listed, so teardown ends even if every
        // destructor creates a value somewhere new.
        let mut destroyed = Vec::new();
        let mut borrowed = false;
        let mut panic = None;
        for round in 1..=TEARDOWN_ROUNDS {
            if round == TEARDOWN_ROUNDS {
                CURRENT.with(|current| current.exiting.set(ptr::null()));
            }
            let members = std::mem::take(&mut *state.members.borrow_mut());
            if members.is_empty() {
                break;
            }
            let panicked = each(members.into_iter().rev(), |joined| {
                // Kept for `forget` before the value's destructor runs, which may panic.
                destroyed.push(joined.member);
                borrowed |= !destroyed.last().is_some_and(|member| member.destroy(index));
            });
            panic = panic.or(panicked);
        }

        // The thread holds no more values: accesses from here on are `Destroyed`.
        CURRENT.with(|current| {
            current.exiting.set(ptr::null());
            current.position.set(Position::NONE);
        });
        // A value left borrowed is still under this index: the index is never reused.
        if !borrowed {
            for member in &destroyed {
                member.forget(index);
            }
            indices().free.push(Reverse(index));
        }
        // The last reference to an instance's table may go here; its values were drained.
        drop(destroyed);
        if let Some(payload) = panic {
            // std aborts on a panic out of a thread-local destructor ("thread local panicked
            // on drop"), now that every other value was destroyed.
            panic::resume_unwind(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_reused_smallest_first() {
        let mut indices = Indices {
            free: BinaryHeap::new(),
            next: 0,
        };
        let taken: Vec<usize> = (0..4).map(|_| indices.take()).collect();
        assert_eq!(taken, [0, 1, 2, 3]);
        indices.free.push(Reverse(3));
        indices.free.push(Reverse(1));
        assert_eq!(indices.take(), 1);
        assert_eq!(indices.take(), 3);
        assert_eq!(indices.take(), 4);
    }

    #[test]
    fn positions_and_indices_are_inverses() {
        let samples = (0..4096).chain([MAX_INDEX - 1, MAX_INDEX / 2, (1 << 40) - 1]);
        for index in samples {
            let position = Position::of(index);
            assert_eq!(position.index(), index);
            assert!(position.offset < Position::bucket_len(position.bucket));
            assert_ne!(position, Position::NONE);
        }
        assert_eq!(
            Position::of(0),
            Position {
                bucket: 0,
                offset: 0
            }
        );
        assert_eq!(
            Position::of(2),
            Position {
                bucket: 1,
                offset: 1
            }
        );
        assert_eq!(
            Position::of(3),
            Position {
                bucket: 2,
                offset: 0
            }
        );
    }
}
