use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ThreadLocal;

/// A stack per thread (and per [`Context`](crate::Context) or [`fresh`](crate::fresh)),
/// like Flask's request-context stack: what is pushed on one thread is never seen on
/// another.
///
/// There is no `with_capacity`. Measured (the `stack_first_touch` bench), a stack sized
/// for 8 items up front makes a thread's first push no faster (263 ns against 272 ns, within
/// the noise: the cost is the thread's first touch of the stack, not the vector); only a
/// stack that grows past 4 items on its first use gains (about 20% for 8 pushes), and
/// request stacks hold one or two.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::LocalStack;
///
/// static REQUESTS: LocalStack<&str> = LocalStack::new();
///
/// let _outer = REQUESTS.push_scoped("/index");
/// {
///     let _inner = REQUESTS.push_scoped("/login");
///     REQUESTS.with_top(|top| assert_eq!(top, Some(&"/login")));
/// } // popped here
/// REQUESTS.with_top(|top| assert_eq!(top, Some(&"/index")));
/// std::thread::spawn(|| assert!(REQUESTS.is_empty())) // another thread's stack
///     .join()
///     .unwrap();
/// ```
pub struct LocalStack<T> {
    stack: ThreadLocal<Vec<Item<T>>>,
    /// The last tag given to a guard.
    tags: AtomicU64,
}

/// A value on a stack, with the tag of the guard that pops it (`0`: no guard).
struct Item<T> {
    tag: u64,
    value: T,
}

impl<T: Clone> Clone for Item<T> {
    /// A copy for an inherited stack carries no guard's tag: the parent's guard pops the
    /// parent's value only.
    fn clone(&self) -> Self {
        Item {
            tag: 0,
            value: self.value.clone(),
        }
    }
}

impl<T: Send + 'static> LocalStack<T> {
    /// An empty stack on every thread. `const`, so it can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack: LocalStack<u32> = LocalStack::new();
    /// assert!(stack.is_empty());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        LocalStack {
            stack: ThreadLocal::new(),
            tags: AtomicU64::new(0),
        }
    }

    /// Makes [`Context::inherit`](crate::Context::inherit) carry this stack: a context it
    /// makes starts from a copy of the current stack (Flask's
    /// `copy_current_request_context`), which it then pushes and pops on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::{Context, LocalStack};
    ///
    /// let stack = LocalStack::new().inherit();
    /// stack.push(1);
    /// let mut child = Context::inherit();
    /// child.run(|| {
    ///     stack.push(2);
    ///     assert_eq!(stack.len(), 2);
    /// });
    /// assert_eq!(stack.len(), 1);
    /// ```
    #[must_use]
    pub const fn inherit(self) -> Self
    where
        T: Clone,
    {
        let mut this = self;
        // A `const fn` cannot drop or move out of a field of a type with a destructor:
        // swap the stack out, and forget the empty placeholder swapped back out.
        #[allow(clippy::mem_replace_with_default)] // `mem::take` is not `const`
        let stack = std::mem::replace(&mut this.stack, ThreadLocal::new());
        std::mem::forget(std::mem::replace(&mut this.stack, stack.inherit()));
        this
    }
}

impl<T> LocalStack<T> {
    /// Pushes `value` on this thread's stack.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::new();
    /// stack.push("a");
    /// assert_eq!(stack.len(), 1);
    /// ```
    #[track_caller]
    pub fn push(&self, value: T) {
        self.stack
            .with_mut(|stack| stack.push(Item { tag: 0, value }));
    }

    /// Pops the top of this thread's stack.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::new();
    /// stack.push("a");
    /// assert_eq!(stack.pop(), Some("a"));
    /// assert_eq!(stack.pop(), None);
    /// ```
    #[track_caller]
    pub fn pop(&self) -> Option<T> {
        self.stack
            .with_mut(|stack| stack.pop().map(|item| item.value))
    }

    /// Calls `f` with the top of this thread's stack, or `None` if it is empty.
    ///
    /// # Panics
    ///
    /// If called from inside a `push` or `pop` of this stack on the same thread (a
    /// value's destructor, say).
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::new();
    /// stack.with_top(|top: Option<&u8>| assert!(top.is_none()));
    /// stack.push(3);
    /// assert_eq!(stack.with_top(|top| top.copied()), Some(3));
    /// ```
    #[track_caller]
    #[doc(alias = "top")]
    #[doc(alias = "peek")]
    pub fn with_top<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        self.stack
            .with(|stack| f(stack.last().map(|item| &item.value)))
    }

    /// The number of values on this thread's stack.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::new();
    /// stack.push(1);
    /// stack.push(2);
    /// assert_eq!(stack.len(), 2);
    /// ```
    #[track_caller]
    pub fn len(&self) -> usize {
        self.stack.with(Vec::len)
    }

    /// Is this thread's stack empty?
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::<u8>::new();
    /// assert!(stack.is_empty());
    /// ```
    #[track_caller]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties this thread's (or the current context's) stack in one call, werkzeug's
    /// `release_local` on a stack; the values are dropped after the stack is empty, so a
    /// destructor may use it.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::new();
    /// stack.push("a");
    /// stack.push("b");
    /// stack.clear();
    /// assert!(stack.is_empty());
    /// ```
    #[track_caller]
    pub fn clear(&self) {
        let values = self.stack.take();
        drop(values);
    }

    /// Pushes `value` and returns a guard that pops it when dropped, Python's
    /// `with ctx:`. The guard is not `Send`: it pops the stack of the thread that pushed.
    /// It pops only its own value, from the top of the current stack: a guard carried out
    /// of the [`Context::run`](crate::Context::run) or [`fresh`](crate::fresh) that pushed
    /// leaves the value there, dropped with that frame.
    ///
    /// # Panics
    ///
    /// If called from inside [`with_top`](Self::with_top) on the same thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use local_core as local;
    /// use local::LocalStack;
    ///
    /// let stack = LocalStack::new();
    /// {
    ///     let _request = stack.push_scoped("/index");
    ///     assert_eq!(stack.len(), 1);
    /// }
    /// assert!(stack.is_empty());
    /// ```
    #[track_caller]
    pub fn push_scoped(&self, value: T) -> Popped<'_, T> {
        let tag = self.tags.fetch_add(1, Ordering::Relaxed) + 1;
        self.stack.with_mut(|stack| stack.push(Item { tag, value }));
        Popped {
            stack: self,
            tag,
            _same_thread: PhantomData,
        }
    }
}

impl<T: Send + 'static> Default for LocalStack<T> {
    fn default() -> Self {
        LocalStack::new()
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
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{LocalStack, Popped};
///
/// let stack = LocalStack::new();
/// let guard: Popped<'_, &str> = stack.push_scoped("/index");
/// drop(guard);
/// assert!(stack.is_empty());
/// ```
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
            Some(item) if item.tag == self.tag => stack.pop(),
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
