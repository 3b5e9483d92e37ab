//! Binding one value for a future (`scope`) or a call (`sync_scope`), with tokio's names and
//! tokio's semantics: tokio's own `task_local` tests (`tokio/tests/task_local.rs`) ported,
//! for an attribute struct and a `ThreadLocal`, plus the mistakes a user coming from tokio
//! could make. Where tokio's task-local has no value outside its binding, ours has its own
//! (the initializer's): tokio's "the task-local is not available" is ours "the local reads
//! its own value, not the bound one".

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use local::{ThreadLocal, thread_local_struct};
use tokio::sync::oneshot;

fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// tokio's `MyFuture` of `task_local_available_on_abort`: pending forever, says when it was
/// polled, and sends what `read` gives when it is dropped.
struct PendingThenReport<R: Fn() -> u32 + Unpin> {
    polled: Option<oneshot::Sender<()>>,
    dropped: Option<oneshot::Sender<u32>>,
    read: R,
}

impl<R: Fn() -> u32 + Unpin> Future for PendingThenReport<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some(polled) = this.polled.take() {
            let _ = polled.send(());
        }
        Poll::Pending
    }
}

impl<R: Fn() -> u32 + Unpin> Drop for PendingThenReport<R> {
    fn drop(&mut self) {
        let _ = self.dropped.take().unwrap().send((self.read)());
    }
}

/// tokio's `MyFuture` of `task_local_available_on_completion_drop`: ready at once, and
/// sends what `read` gives when it is dropped.
struct ReadyThenReport<R: Fn() -> u32> {
    dropped: Option<oneshot::Sender<u32>>,
    read: R,
}

impl<R: Fn() -> u32> Future for ReadyThenReport<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl<R: Fn() -> u32> Drop for ReadyThenReport<R> {
    fn drop(&mut self) {
        let _ = self.dropped.take().unwrap().send((self.read)());
    }
}

async fn available_on_abort<F: Future<Output = ()> + Send + 'static>(
    bind: impl FnOnce(PendingThenReport<fn() -> u32>) -> F,
    read: fn() -> u32,
) {
    let (polled, on_poll) = oneshot::channel();
    let (dropped, on_drop) = oneshot::channel();
    let task = tokio::spawn(bind(PendingThenReport {
        polled: Some(polled),
        dropped: Some(dropped),
        read,
    }));
    on_poll.await.unwrap();
    task.abort();
    assert_eq!(
        on_drop.await.unwrap(),
        42,
        "the destructor reads the bound value"
    );
    assert!(task.await.unwrap_err().is_cancelled());
}

async fn available_on_completion_drop<F: Future<Output = ()> + Send + 'static>(
    bind: impl FnOnce(ReadyThenReport<fn() -> u32>) -> F,
    read: fn() -> u32,
) {
    let (dropped, on_drop) = oneshot::channel();
    let task = tokio::spawn(bind(ReadyThenReport {
        dropped: Some(dropped),
        read,
    }));
    assert_eq!(
        on_drop.await.unwrap(),
        42,
        "the destructor reads the bound value"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn task_local_available_on_abort() {
    #[thread_local_struct]
    struct Key {
        value: u32,
    }
    available_on_abort(|future| Key::scope(Key { value: 42 }, future), Key::value).await;

    static KEY: ThreadLocal<u32> = ThreadLocal::new();
    available_on_abort(|future| KEY.scope(42, future), || KEY.get()).await;
}

#[tokio::test]
async fn task_local_available_on_completion_drop() {
    #[thread_local_struct]
    struct Key {
        value: u32,
    }
    available_on_completion_drop(|future| Key::scope(Key { value: 42 }, future), Key::value).await;

    static KEY: ThreadLocal<u32> = ThreadLocal::new();
    available_on_completion_drop(|future| KEY.scope(42, future), || KEY.get()).await;
}

#[tokio::test]
async fn take_value() {
    #[thread_local_struct]
    struct Key {
        value: u32,
    }
    let mut task = Box::pin(Key::scope(Key { value: 1 }, async {}));
    assert_eq!(task.as_mut().take_value().map(|key| key.value), Some(1));
    assert!(task.as_mut().take_value().is_none());

    let key = ThreadLocal::<u32>::new();
    let mut task = Box::pin(key.scope(1, async {}));
    assert_eq!(task.as_mut().take_value(), Some(1));
    assert_eq!(task.as_mut().take_value(), None);
}

#[tokio::test]
async fn poll_after_take_value_should_fail() {
    #[thread_local_struct]
    struct Key {
        value: u32,
    }
    let mut task = Box::pin(Key::scope(Key { value: 1 }, async {
        // The binding is gone: the struct's own value.
        assert_eq!(Key::value(), 0);
    }));
    task.as_mut().take_value();
    task.await;

    let key = ThreadLocal::<u32>::new();
    let mut task = Box::pin(key.scope(1, async { assert_eq!(key.get(), 0) }));
    task.as_mut().take_value();
    task.await;
}

/// tokio's `local`: tasks on a multi-threaded runtime, each with its own binding, across
/// an await that may move them to another worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_task_reads_its_own_binding_across_awaits() {
    #[thread_local_struct]
    struct ReqId {
        value: u32,
    }
    let tasks: Vec<_> = (1..=8)
        .map(|id| {
            tokio::spawn(ReqId::scope(ReqId { value: id }, async move {
                assert_eq!(ReqId::value(), id);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                ReqId::with(|req| assert_eq!(req.value, id));
                ReqId::value()
            }))
        })
        .collect();
    for (id, task) in (1..=8).zip(tasks) {
        assert_eq!(task.await.unwrap(), id);
    }
    assert_eq!(
        ReqId::value(),
        0,
        "no binding leaked into the test's own thread"
    );
}

/// A poll refused because the local is borrowed (it runs inside an access to it) panics,
/// and the value is still there for the next poll (tokio keeps it too).
#[test]
fn a_refused_poll_keeps_the_value() {
    let key = ThreadLocal::<u32>::new();
    let mut task = pin!(key.scope(7, async { key.get() }));
    let refused = catch_unwind(AssertUnwindSafe(|| {
        key.with_mut(|_| poll_once(task.as_mut()))
    }));
    assert!(refused.is_err(), "polled inside `with_mut`: refused");
    assert_eq!(poll_once(task.as_mut()), Poll::Ready(7));
    assert_eq!(key.get(), 0);
}

/// A value the inner future takes out of the local is its own: the next polls run with the
/// local as it is, and nothing is put back.
#[test]
fn a_value_the_future_takes_is_not_put_back() {
    let key = ThreadLocal::<u32>::new();
    let mut task = pin!(key.scope(3, async {
        let taken = key.take();
        std::future::ready(()).await;
        (taken, key.get())
    }));
    assert_eq!(poll_once(task.as_mut()), Poll::Ready((Some(3), 0)));
    assert_eq!(key.get(), 0);
}
