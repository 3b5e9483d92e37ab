//! What this thread reads right now: its own values, or those of the context or scope it
//! runs. One `thread_local!` without a destructor holds it all, so that the fast path reads
//! it with plain loads at fixed offsets, and so that it stays readable through the whole
//! of the thread's teardown.

use std::cell::Cell;
use std::ptr;

use crate::buckets::Position;
use crate::context::Values;
use crate::exit::ThreadState;
use crate::sync::{AtomicU64, Ordering};

/// Tags are handed out to threads in blocks of this many, so that taking one is a
/// thread-local increment and the shared counter is touched once per million entries.
const TAG_BLOCK: u64 = 1 << 20;

/// The next block of tags; block 0 is never handed out, so no tag is 0.
static TAG_BLOCKS: AtomicU64 = AtomicU64::new(1);

struct Current {
    /// The values of the context or scope this thread runs, or null: its own values.
    context: Cell<*const Values>,
    /// Names one entry into a context or scope, for caches of where a local's value is in
    /// it: unique in the process, so a cache never matches a frame it was not made in.
    /// `0` while the thread's own values are current.
    tag: Cell<u64>,
    /// The context may move between threads: it holds only `Send` values.
    movable: Cell<bool>,
    /// The thread's position in every instance's buckets; [`Position::NONE`] before the
    /// thread takes an index and once it has given it back.
    position: Cell<Position>,
    next_tag: Cell<u64>,
    tag_end: Cell<u64>,
    /// The thread's state while its exit runs: where values created during teardown are
    /// registered, since the `thread_local!` that owns the state is being destroyed.
    exiting: Cell<*const ThreadState>,
}

thread_local! {
    static CURRENT: Current = const {
        Current {
            context: Cell::new(ptr::null()),
            tag: Cell::new(0),
            movable: Cell::new(false),
            position: Cell::new(Position::NONE),
            next_tag: Cell::new(0),
            tag_end: Cell::new(0),
            exiting: Cell::new(ptr::null()),
        }
    };
}

/// `b`, which is most often true: a thread's own values are read more often than a
/// context's, so the fast paths lay out that case straight through (std's `likely` is not
/// stable; the cold call is the usual stand-in, and disappears once inlined).
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

/// The tag of the current context or scope entry, or `0` outside them.
#[inline(always)]
pub(crate) fn tag() -> u64 {
    CURRENT.with(|current| current.tag.get())
}

/// The thread's own position and the current tag, in one thread-local access.
#[inline(always)]
pub(crate) fn position_and_tag() -> (Position, u64) {
    CURRENT.with(|current| (current.position.get(), current.tag.get()))
}

#[inline]
pub(crate) fn position() -> Position {
    CURRENT.with(|current| current.position.get())
}

pub(crate) fn set_position(position: Position) {
    CURRENT.with(|current| current.position.set(position));
}

pub(crate) fn exiting() -> *const ThreadState {
    CURRENT.with(|current| current.exiting.get())
}

pub(crate) fn set_exiting(state: *const ThreadState) {
    CURRENT.with(|current| current.exiting.set(state));
}

/// The context or scope this thread runs.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    /// Valid while the frame is current: the context is borrowed by `run` or `poll`, or
    /// the scope's values are on the stack of the `scope` call.
    pub(crate) values: *const Values,
    pub(crate) tag: u64,
    pub(crate) movable: bool,
}

/// The current frame, or `None` while the thread's own values are current.
#[inline]
pub(crate) fn frame() -> Option<Frame> {
    CURRENT.with(|current| {
        let values = current.context.get();
        (!values.is_null()).then(|| Frame {
            values,
            tag: current.tag.get(),
            movable: current.movable.get(),
        })
    })
}

/// Makes `values` current, under a fresh tag, until the guard drops (also on unwind).
///
/// `values` must stay valid, and not move, until the guard drops.
#[inline]
pub(crate) fn enter(values: *const Values, movable: bool) -> Entered {
    CURRENT.with(|current| {
        let tag = current.next_tag.get();
        let tag = if tag == current.tag_end.get() {
            take_tag_block(current)
        } else {
            tag
        };
        current.next_tag.set(tag + 1);
        Entered {
            context: current.context.replace(values),
            tag: current.tag.replace(tag),
            movable: current.movable.replace(movable),
        }
    })
}

/// A new block of tags for this thread, once every `TAG_BLOCK` entries: its first tag.
#[cold]
fn take_tag_block(current: &Current) -> u64 {
    let block = TAG_BLOCKS.fetch_add(1, Ordering::Relaxed);
    current.tag_end.set((block + 1) * TAG_BLOCK);
    block * TAG_BLOCK
}

/// Makes the frame that was current before [`enter`] current again.
pub(crate) struct Entered {
    context: *const Values,
    tag: u64,
    movable: bool,
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| {
            current.context.set(self.context);
            current.tag.set(self.tag);
            current.movable.set(self.movable);
        });
    }
}
