//! A thread's index and the instances it holds values in, and the end of it all: the
//! thread's exit, which destroys those values as std destroys thread-locals.
//!
//! std's rules, which this follows (its own tests `circular` and `dtors_in_dtors_in_dtors`):
//! while a thread's values are being destroyed, a destructor can still reach every local
//! whose value is alive, and store into one; only a local whose value was already destroyed
//! refuses, with `AccessError::Destroyed`. A value created during teardown is destroyed too,
//! before the thread is gone. The loop is std's `destructors/list.rs`: take one, release
//! every borrow and lock, run it, repeat until none is left.
//!
//! The state is a `thread_local!` with a destructor, so std runs the exit on every platform,
//! native TLS or its OS-key fallback. Values of attribute structs are not here: each lives
//! in a `thread_local!` of its own, which std destroys by the same rules.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use crate::AccessError;
use crate::anchor::{Anchor, Recycle};
use crate::buckets::Position;
use crate::context::Values;
use crate::current;
use crate::thread_id;

/// An instance as a thread's exit and `Context::inherit` see it, whatever its value type.
pub(crate) trait Member: Recycle + Send + Sync {
    /// The thread at `index` is exiting: destroy its value. Moves the value out under the
    /// instance's lock and drops it after.
    fn destroy(&self, index: usize);

    /// The thread at `index` is gone: its entry becomes empty for the index's next thread.
    fn forget(&self, index: usize);

    /// The instance was dropped: a thread need not keep it in its list.
    fn is_dropped(&self) -> bool;

    /// Clones the value of the thread at `index`, if it has one, into `values`.
    fn inherit(&self, index: usize, values: &Values);
}

/// An attribute struct declared `inherit`, whose value this thread holds.
pub(crate) trait InheritFromThread {
    /// Clones this thread's value, if it has one, into `values`.
    fn inherit(&'static self, values: &Values);
}

struct Joined {
    member: Anchor<dyn Member>,
    /// The instance opted into `Context::inherit`.
    inherit: bool,
}

/// Members kept in place before any spill to the heap.
const INLINE_MEMBERS: usize = 4;

/// A thread's members: the first few in place, so that a thread's first touch of an
/// instance allocates nothing of its own (a new thread's first allocation, which sets up
/// its allocator cache, costs more than the rest of the touch).
struct Members {
    inline: [Option<Joined>; INLINE_MEMBERS],
    more: Vec<Joined>,
    /// Members in all: `inline` is filled first, in order.
    len: usize,
}

impl Members {
    const fn new() -> Self {
        Members {
            inline: [const { None }; INLINE_MEMBERS],
            more: Vec::new(),
            len: 0,
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Joined> {
        self.inline.iter().flatten().chain(&self.more)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, joined: Joined) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(joined),
            None => self.more.push(joined),
        }
        self.len += 1;
    }

    /// Keeps the members `keep` says to, in their order. Out of line: its temporaries would
    /// otherwise make every first touch's stack frame hundreds of bytes deeper, each line of
    /// which a new thread writes for the first time.
    #[cold]
    #[inline(never)]
    fn retain(&mut self, keep: impl Fn(&Joined) -> bool) {
        let all = std::mem::replace(self, Members::new());
        for joined in all.into_iter().filter(|joined| keep(joined)) {
            self.push(joined);
        }
    }
}

impl IntoIterator for Members {
    type Item = Joined;
    type IntoIter = std::iter::Chain<
        std::iter::Flatten<std::array::IntoIter<Option<Joined>, INLINE_MEMBERS>>,
        std::vec::IntoIter<Joined>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.inline.into_iter().flatten().chain(self.more)
    }
}

pub(crate) struct ThreadState {
    /// Taken on the thread's first touch of an instance, given back at the end of its exit.
    index: Cell<Option<usize>>,
    /// The instances that hold an entry of this thread.
    members: RefCell<Members>,
    /// `members.len()` after the last sweep of dropped instances.
    swept: Cell<usize>,
    /// Attribute structs declared `inherit` that hold a value of this thread.
    inheritable: RefCell<Vec<&'static dyn InheritFromThread>>,
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState {
            index: Cell::new(None),
            members: RefCell::new(Members::new()),
            swept: Cell::new(0),
            inheritable: RefCell::new(Vec::new()),
        }
    };
}

/// Runs `f` on this thread's state: the live one, or the one whose exit is running.
fn with_state<R>(f: impl FnOnce(&ThreadState) -> R) -> Result<R, AccessError> {
    let state = match THREAD.try_with(ptr::from_ref) {
        Ok(state) => state,
        Err(_) => current::exiting(),
    };
    if state.is_null() {
        return Err(AccessError::Destroyed);
    }
    // SAFETY: either the live state, which std destroys only in this thread's teardown,
    // one destructor at a time: not while `f` runs on this thread's stack (if this is
    // itself inside another destructor, the state's own runs after that one returns); or
    // the one `ThreadState::drop` is dropping, set by it as `exiting` and cleared before it
    // returns, while this runs on the same thread, inside it.
    Ok(f(unsafe { &*state }))
}

/// This thread's position in every instance's buckets, taking an index on first use.
#[inline]
pub(crate) fn position() -> Result<Position, AccessError> {
    let position = current::position();
    if position != Position::NONE {
        return Ok(position);
    }
    register()
}

#[cold]
fn register() -> Result<Position, AccessError> {
    let position = with_state(|state| {
        let index = match state.index.get() {
            Some(index) => index,
            None => {
                let index = thread_id::allocate();
                state.index.set(Some(index));
                index
            }
        };
        Position::of(index)
    })?;
    current::set_position(position);
    Ok(position)
}

/// Records that `member` holds an entry of this thread, for its exit. Refused once the
/// exit is over: the thread can hold no more values.
pub(crate) fn join(member: Anchor<dyn Member>, inherit: bool) -> Result<(), AccessError> {
    with_state(|state| {
        let mut members = state.members.borrow_mut();
        // A thread that outlives many instances would keep a reference to each: sweep the
        // dropped ones whenever the list has doubled since the last sweep.
        if members.len() >= 2 * state.swept.get().max(4) {
            members.retain(|joined| !joined.member.is_dropped());
            state.swept.set(members.len());
        }
        members.push(Joined { member, inherit });
    })
}

/// Records that this thread holds a value of an `inherit` attribute struct.
pub(crate) fn join_inheritable(local: &'static dyn InheritFromThread) {
    // During teardown nothing inherits any more: no need to record.
    let _ = THREAD.try_with(|state| state.inheritable.borrow_mut().push(local));
}

/// Clones this thread's own values of every inheritable local into `values`.
pub(crate) fn inherit_into(values: &Values) {
    // A snapshot first: a `Clone` may touch a local this thread never did, which joins it
    // to the lists.
    let Ok((index, members, structs)) = THREAD.try_with(|state| {
        let members: Vec<_> = state
            .members
            .borrow()
            .iter()
            .filter(|joined| joined.inherit)
            .map(|joined| joined.member.clone())
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
            member.inherit(index, values);
        }
    }
    for local in structs {
        local.inherit(values);
    }
}

/// Rounds of a thread's teardown: values created during the last are refused. std's own
/// lists have no bound, POSIX asks for at least 4 (`PTHREAD_DESTRUCTOR_ITERATIONS`).
const TEARDOWN_ROUNDS: usize = 8;

impl Drop for ThreadState {
    fn drop(&mut self) {
        let Some(index) = self.index.get() else {
            return;
        };
        // Only shared references from here on: destructors reach this state through
        // `current::exiting` to register values they create.
        let state: &ThreadState = self;
        // Set again even if cached: on std's OS-key fallback, `CURRENT` may have been
        // destroyed and recreated before this destructor runs.
        current::set_position(Position::of(index));
        current::set_exiting(state);

        // Rounds: each destroys the values of the instances listed when it starts. A value
        // created meanwhile, in an instance not destroyed yet, joins the list for the next
        // round; in the last round nothing may join (such an access gets `Destroyed`), so
        // teardown ends even if every destructor creates a value somewhere new.
        let mut destroyed = Members::new();
        let mut panic = None;
        for round in 1..=TEARDOWN_ROUNDS {
            if round == TEARDOWN_ROUNDS {
                current::set_exiting(ptr::null());
            }
            let members = std::mem::replace(&mut *state.members.borrow_mut(), Members::new());
            if members.is_empty() {
                break;
            }
            // Last joined first, as std destroys thread-locals: a value made after another
            // may use it in its destructor (a buffer flushing into a sink opened first).
            let Members { inline, more, .. } = members;
            for joined in more
                .into_iter()
                .rev()
                .chain(inline.into_iter().rev().flatten())
            {
                let result = panic::catch_unwind(AssertUnwindSafe(|| joined.member.destroy(index)));
                if let Err(payload) = result {
                    panic.get_or_insert(payload);
                }
                destroyed.push(joined);
            }
        }

        // From here on the thread holds no more values: accesses are `Destroyed`.
        current::set_exiting(ptr::null());
        current::set_position(Position::NONE);
        for joined in destroyed.iter() {
            joined.member.forget(index);
        }
        thread_id::release(index);
        drop(destroyed);
        if let Some(payload) = panic {
            // std aborts on a panic out of a thread-local destructor ("thread local
            // panicked on drop"), now that every other value was destroyed.
            panic::resume_unwind(payload);
        }
    }
}
