//! Spawning with inherited locals (DESIGN §3): a child task, blocking job, thread or rayon job
//! starts from clones of its parent's inheritable locals — an `#[thread_local_struct(inherit)]`
//! struct, a `ThreadLocal` and a `LocalStack` made with `.inherit()` — while every other local
//! starts fresh, and nothing the child changes reaches the parent. Also werkzeug's asyncio
//! `LocalStack` test, and `Context::inherit()` inside a context, a scope and a task.

use std::panic::{catch_unwind, resume_unwind};
use std::sync::{Arc, mpsc};
use std::thread::{self, ThreadId};
use std::time::Duration;

use local::{Context, InheritLocals, LocalStack, ThreadLocal, thread_local_struct};

/// The user a request runs as: inherited by every child.
#[thread_local_struct(inherit)]
#[derive(Clone)]
struct User {
    #[init(String::from("anonymous"))]
    name: String,
}

/// A per-task counter that is not inherited: every child starts from the initializer.
#[thread_local_struct]
struct Hits {
    #[init(1)]
    count: u32,
}

/// The trace id of the request: an inheritable instance.
static TRACE_ID: ThreadLocal<u64> = ThreadLocal::new().inherit();

/// Flask's request stack: a child pushes onto a copy of its parent's.
static FRAMES: LocalStack<String> = LocalStack::new().inherit();

/// A non-inherited instance, besides the struct above.
static SCRATCH: ThreadLocal<Vec<u8>> = ThreadLocal::new();

/// Joins `handle`, re-raising the thread's own panic.
fn join<T>(handle: thread::JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| resume_unwind(payload))
}

/// What a child saw of every local when it started.
#[derive(Debug, PartialEq)]
struct Seen {
    user: String,
    trace_id: u64,
    frames: usize,
    top: Option<String>,
    hits: u32,
    scratch: Vec<u8>,
    thread: ThreadId,
}

/// The parent's values: every local set away from its initial value.
fn set_up_parent() {
    User::set_name("ada".into());
    TRACE_ID.set(7);
    FRAMES.push("app".into());
    FRAMES.push("request".into());
    Hits::set_count(5);
    SCRATCH.set(vec![1, 2, 3]);
}

/// Changes the parent after the child's context was made: the child must not see this,
/// since the clones are taken when the context is made.
fn change_parent_after_inheriting() {
    User::set_name("carol".into());
    TRACE_ID.set(8);
    FRAMES.push("late".into());
}

/// The child: reports what it found, then changes everything it can.
fn child() -> Seen {
    let seen = Seen {
        user: User::name(),
        trace_id: TRACE_ID.get(),
        frames: FRAMES.len(),
        top: FRAMES.with_top(|top| top.cloned()),
        hits: Hits::count(),
        scratch: SCRATCH.get(),
        thread: thread::current().id(),
    };
    User::set_name("mallory".into());
    TRACE_ID.set(99);
    FRAMES.clear();
    FRAMES.push("child".into());
    Hits::set_count(99);
    SCRATCH.set(vec![9]);
    seen
}

/// The child saw clones of the parent's inheritable values as they were when its context
/// was made, fresh values for the others, on another thread; the parent kept its own.
fn check(seen: &Seen) {
    assert_ne!(
        seen.thread,
        thread::current().id(),
        "the child ran on another thread"
    );
    assert_eq!(
        (seen.user.as_str(), seen.trace_id),
        ("ada", 7),
        "inheritable locals are cloned from the parent, as they were at the call"
    );
    assert_eq!(
        (seen.frames, seen.top.as_deref()),
        (2, Some("request")),
        "the stack is a copy of the parent's"
    );
    assert_eq!(
        (seen.hits, seen.scratch.as_slice()),
        (1, &[][..]),
        "locals that do not inherit start fresh"
    );
    assert_eq!(
        User::name(),
        "carol",
        "the child's changes stay in the child"
    );
    assert_eq!(TRACE_ID.get(), 8);
    assert_eq!(FRAMES.len(), 3);
    assert_eq!(FRAMES.with_top(|top| top.cloned()).as_deref(), Some("late"));
    assert_eq!(Hits::count(), 5);
    assert_eq!(SCRATCH.get(), [1, 2, 3]);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn tokio_spawn_with_inherited_locals() {
    // `block_on` runs its future on this thread (not a worker), so it sees this thread's
    // values: the parent's.
    runtime().block_on(async {
        set_up_parent();
        let task = async {
            tokio::task::yield_now().await; // resumed on whichever worker
            child()
        }
        .inherit_locals();
        change_parent_after_inheriting();
        let seen = tokio::spawn(task).await.unwrap();
        check(&seen);
    });
}

#[test]
fn spawn_blocking_with_inherited_locals() {
    runtime().block_on(async {
        set_up_parent();
        let job = local::inherit_locals(child);
        change_parent_after_inheriting();
        let seen = tokio::task::spawn_blocking(job).await.unwrap();
        check(&seen);
    });
}

#[test]
fn thread_spawn_with_inherited_locals() {
    set_up_parent();
    let job = local::inherit_locals(child);
    change_parent_after_inheriting();
    let seen = join(thread::spawn(job));
    check(&seen);
}

#[test]
fn rayon_spawn_with_inherited_locals() {
    set_up_parent();
    let (sender, receiver) = mpsc::channel();
    let job = local::inherit_locals(move || {
        // A panic in a `rayon::spawn` job aborts the process: send it back instead.
        sender.send(catch_unwind(child)).unwrap();
    });
    change_parent_after_inheriting();
    rayon::spawn(job);
    let seen = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the rayon job ran")
        .unwrap_or_else(|payload| resume_unwind(payload));
    check(&seen);
}

/// werkzeug's `test_local_stack_asyncio` (tests/test_local.py), on tokio's multi-threaded
/// runtime. asyncio gives every task a copy of its parent's context; here the tasks get one
/// with `.inherit_locals()`.
///
/// ```python
/// def test_local_stack_asyncio():
///     ls = local.LocalStack(_cv_stack)
///     ls.push(1)
///
///     async def task():
///         ls.push(1)
///         assert len(ls._storage.get()) == 2
///
///     async def main():
///         futures = [asyncio.ensure_future(task()) for _ in range(3)]
///         await asyncio.gather(*futures)
///
///     asyncio.run(main())
/// ```
#[test]
fn werkzeug_local_stack_asyncio() {
    static STACK: LocalStack<u32> = LocalStack::new().inherit();

    runtime().block_on(async {
        STACK.push(1);
        // All three push before any of them looks, so a stack shared between the tasks (or
        // with a worker thread's own) would show more than 2.
        let all_pushed = Arc::new(tokio::sync::Barrier::new(3));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let all_pushed = Arc::clone(&all_pushed);
                tokio::spawn(
                    async move {
                        STACK.push(1);
                        all_pushed.wait().await;
                        tokio::task::yield_now().await;
                        STACK.len()
                    }
                    .inherit_locals(),
                )
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 2);
        }
        assert_eq!(STACK.len(), 1, "the parent's stack is untouched");
        assert_eq!(STACK.pop(), Some(1));
    });
}

#[test]
fn inherit_inside_a_context_copies_that_contexts_values_not_the_threads() {
    set_up_parent();

    let mut request = Context::new();
    let mut child = request.run(|| {
        User::set_name("bob".into());
        TRACE_ID.set(42);
        FRAMES.push("in context".into());
        Context::inherit()
    });
    let seen = child.run(|| {
        (
            User::name(),
            TRACE_ID.get(),
            FRAMES.len(),
            FRAMES.with_top(|top| top.cloned()),
        )
    });
    assert_eq!(
        seen,
        ("bob".into(), 42, 1, Some("in context".into())),
        "the context's values, not the thread's `ada`, 7 and two frames"
    );

    // A scope's values are its own too: one that never touched a local passes on that
    // local's initial value, not the thread's.
    let mut from_scope = local::fresh(|| {
        TRACE_ID.set(43);
        Context::inherit()
    });
    assert_eq!(
        from_scope.run(|| (User::name(), TRACE_ID.get(), FRAMES.len())),
        ("anonymous".into(), 43, 0)
    );

    // A task that spawns a subtask passes on the task's values.
    let seen = runtime().block_on(local::fresh_async(async {
        User::set_name("dora".into());
        tokio::task::yield_now().await;
        tokio::spawn(async { User::name() }.inherit_locals())
            .await
            .unwrap()
    }));
    assert_eq!(seen, "dora");

    // None of it reached the thread.
    assert_eq!(
        (User::name(), TRACE_ID.get(), FRAMES.len()),
        ("ada".into(), 7, 2)
    );
}

/// Binding an inheritable struct with `S::sync_scope` / `S::scope` and spawning a child
/// inside: the child must start from the bound value. This is the middleware pattern: bind
/// the user for a handler, which spawns a subtask with `.inherit_locals()`.
#[test]
fn inherit_inside_a_struct_binding_carries_the_bound_value() {
    #[thread_local_struct(inherit)]
    #[derive(Clone)]
    struct Caller {
        #[init(String::from("anonymous"))]
        name: String,
    }

    let bound = || Caller { name: "ada".into() };
    // Fresh threads: the scope is the thread's first touch of `Caller`.
    let seen = join(thread::spawn(move || {
        let mut child = Caller::sync_scope(bound(), Context::inherit);
        child.run(Caller::name)
    }));
    assert_eq!(seen, "ada", "Caller::scope");

    let seen = join(thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(Caller::scope(bound(), async {
            tokio::spawn(async { Caller::name() }.inherit_locals())
                .await
                .unwrap()
        }))
    }));
    assert_eq!(seen, "ada", "Caller::scope");

    // Touched before the scope, it works: the struct is registered by then.
    let seen = join(thread::spawn(move || {
        let _ = Caller::name();
        let mut child = Caller::sync_scope(bound(), Context::inherit);
        child.run(Caller::name)
    }));
    assert_eq!(seen, "ada", "Caller::scope after a touch");
}

/// `push_scoped`'s guard "pops only its own value", and a guard carried out of the frame
/// that pushed leaves that frame's stack alone. A guard carried *into* an inherited child
/// (`ctx.run(|| drop(guard))`) should leave the child's copy alone as well.
#[test]
fn a_parents_guard_dropped_inside_an_inherited_child_leaves_the_childs_copy() {
    let stack = LocalStack::new().inherit();
    let guard = stack.push_scoped("request");
    let mut child = Context::inherit();
    let child_len = child.run(|| {
        drop(guard);
        stack.len()
    });
    assert_eq!(
        child_len, 1,
        "the child's inherited copy is not the guard's value"
    );
}
