//! The operations the benches time, shared by `access.rs` (criterion) and `paired.rs`
//! (interleaved), so that both measure the same code: ours and each peer, inlined into a
//! loop (`#[inline(always)]`) or as calls of their own (`#[inline(never)]`).

use std::cell::RefCell;
use std::hint::black_box;

use local::{Context, ThreadLocal, thread_local_struct};

/// Ours: one attribute struct, touched by the access benches.
#[thread_local_struct]
pub struct Counter {
    pub n: u64,
}

/// The peer: the same struct, by hand, in a `RefCell` in std's `thread_local!`.
pub struct Counter2 {
    pub n: u64,
}

thread_local! {
    static C: RefCell<Counter2> = const { RefCell::new(Counter2 { n: 0 }) };
}

#[inline(always)]
pub fn ours_attribute() -> u64 {
    Counter::with_mut(|c| {
        c.n += 1;
        c.n
    })
}

#[inline(always)]
pub fn std_thread_local() -> u64 {
    C.with_borrow_mut(|c| {
        c.n += 1;
        c.n
    })
}

#[inline(always)]
pub fn ours_thread_local(local: &ThreadLocal<u64>) -> u64 {
    local.with_mut(|n| {
        *n += 1;
        *n
    })
}

#[inline(always)]
pub fn thread_local_crate(local: &thread_local::ThreadLocal<RefCell<u64>>) -> u64 {
    let mut n = local.get_or(|| RefCell::new(0)).borrow_mut();
    *n += 1;
    *n
}

/// Each access in a function of its own that is never inlined: code outside a hot loop,
/// where nothing is hoisted out of the access.
#[inline(never)]
pub fn ours_attribute_call() -> u64 {
    ours_attribute()
}

#[inline(never)]
pub fn std_thread_local_call() -> u64 {
    std_thread_local()
}

#[inline(never)]
pub fn ours_thread_local_call(local: &ThreadLocal<u64>) -> u64 {
    ours_thread_local(local)
}

#[inline(never)]
pub fn thread_local_crate_call(local: &thread_local::ThreadLocal<RefCell<u64>>) -> u64 {
    thread_local_crate(local)
}

tokio::task_local! {
    static TASK: u64;
}

// A context is made once per task or request, in code far from any hot loop; and tokio's
// `sync_scope` + `get`, inlined into a benchmark's loop, folds to a handful of
// instructions that a real task never sees. So both sides of the context and binding bars
// run as calls of their own (`#[inline(never)]`), as DESIGN's separate-call bar does.

/// tokio's task-local: bind a value for a call and read it, the peer of a context's life.
#[inline(never)]
pub fn tokio_sync_scope() -> u64 {
    TASK.sync_scope(black_box(1), || TASK.get())
}

/// A context made, entered, one attribute struct touched in it, and dropped.
#[inline(never)]
pub fn context_with_attribute() -> u64 {
    let mut ctx = Context::new();
    ctx.run(ours_attribute)
}

/// The same with a `ThreadLocal`.
#[inline(never)]
pub fn context_with_thread_local(local: &ThreadLocal<u64>) -> u64 {
    let mut ctx = Context::new();
    ctx.run(|| ours_thread_local(local))
}

/// A pooled worker's job: a scope, one attribute struct touched in it.
#[inline(never)]
pub fn scope_with_attribute() -> u64 {
    local::fresh(ours_attribute)
}

/// An attribute struct bound to a value for a call, and read in it.
#[inline(never)]
pub fn bind_attribute() -> u64 {
    Counter::sync_scope(Counter { n: black_box(1) }, || Counter::with(|c| c.n))
}

/// The same with a `ThreadLocal`.
#[inline(never)]
pub fn bind_thread_local(local: &ThreadLocal<u64>) -> u64 {
    local.sync_scope(black_box(1), || local.with(|n| *n))
}

/// A guard taken, one change made through it, and dropped: a `per_thread` instance's
/// `borrow_mut`.
#[inline(never)]
pub fn ours_guard_call(local: &ThreadLocal<u64>) -> u64 {
    let mut n = local.borrow_mut();
    *n += 1;
    *n
}

/// The same as bevy's `Parallel::borrow_local_mut` does it:
/// `ThreadLocal<RefCell<T>>::get_or_default().borrow_mut()`.
#[inline(never)]
pub fn bevy_guard_call(local: &thread_local::ThreadLocal<RefCell<u64>>) -> u64 {
    let mut n = local.get_or_default().borrow_mut();
    *n += 1;
    *n
}
