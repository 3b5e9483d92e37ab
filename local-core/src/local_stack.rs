use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ThreadLocal;

/// A stack per thread (and per [`Context`](crate::Context) or [`scope`](crate::scope)),
/// like Flask's request-context stack: what is pushed on one thread is never seen on
/// another.
///
/// # Examples
///
/// ```
/// use local_core::LocalStack;
///
/// let requests = LocalStack::new();
/// let _outer = requests.push_scoped("/index");
/// {
///     let _inner = requests.push_scoped("/login");
///     requests.with_top(|top| assert_eq!(top, Some(&"/login")));
/// } // popped here
/// requests.with_top(|top| assert_eq!(top, Some(&"/index")));
/// std::thread::scope(|s| {
///     s.spawn(|| assert!(requests.is_empty())); // another thread's stack
/// });
/// ```
pub struct LocalStack<T> {
    /// Each value with the tag of the guard that pops it (`0`: no guard).
    stack: ThreadLocal<Vec<(u64, T)>>,
    /// The last tag given to a guard.
    tags: AtomicU64,
}

impl<T: Send + 'static> LocalStack<T> {
    /// An empty stack on every thread.
    #[must_use]
    pub fn new() -> Self {
        LocalStack {
            stack: ThreadLocal::new(),
            tags: AtomicU64::new(0),
        }
    }
}

impl<T: Send + 'static> Default for LocalStack<T> {
    fn default() -> Self {
        LocalStack::new()
    }
}

impl<T> LocalStack<T> {
    /// Pushes `value` on this thread's stack.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    #[track_caller]
    pub fn push(&self, value: T) {
        self.stack.with_mut(|stack| stack.push((0, value)));
    }

    /// Pops the top of this thread's stack.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    #[track_caller]
    pub fn pop(&self) -> Option<T> {
        self.stack
            .with_mut(|stack| stack.pop().map(|(_, value)| value))
    }

    /// Calls `f` with the top of this thread's stack, or `None` if it is empty.
    pub fn with_top<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        self.stack
            .with(|stack| f(stack.last().map(|(_, value)| value)))
    }

    /// The number of values on this thread's stack.
    pub fn len(&self) -> usize {
        self.stack.with(Vec::len)
    }

    /// Is this thread's stack empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pushes `value` and returns a guard that pops it when dropped, Python's
    /// `with ctx:`. The guard is not `Send`: it pops the stack of the thread that pushed.
    /// It pops only its own value, from the top of the current stack: a guard carried out
    /// of the [`Context::run`](crate::Context::run) or [`scope`](crate::scope) that pushed
    /// leaves the value there, dropped with that context or scope.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    #[track_caller]
    pub fn push_scoped(&self, value: T) -> Popped<'_, T> {
        let tag = self.tags.fetch_add(1, Ordering::Relaxed) + 1;
        self.stack.with_mut(|stack| stack.push((tag, value)));
        Popped {
            stack: self,
            tag,
            _same_thread: PhantomData,
        }
    }
}

impl<T> fmt::Debug for LocalStack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStack")
            .field("len", &self.stack.try_with(Vec::len).ok())
            .finish_non_exhaustive()
    }
}

/// Pops its [`LocalStack`] when dropped: from [`LocalStack::push_scoped`].
#[must_use = "the value is popped as soon as the guard is dropped"]
pub struct Popped<'a, T> {
    stack: &'a LocalStack<T>,
    tag: u64,
    // Not `Send`: it must pop the stack it pushed on, this thread's.
    _same_thread: PhantomData<*const ()>,
}

impl<T> Drop for Popped<'_, T> {
    fn drop(&mut self) {
        let popped = self.stack.stack.try_with_mut(|stack| match stack.last() {
            Some((tag, _)) if *tag == self.tag => stack.pop(),
            _ => None,
        });
        // Dropped outside its borrow, so that its destructor may use the stack.
        drop(popped);
    }
}

impl<T> fmt::Debug for Popped<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Popped").finish_non_exhaustive()
    }
}
