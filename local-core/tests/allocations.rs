//! What allocates and what does not, counted per thread by a global allocator of its own
//! (a test file of its own, so that no other test shares it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use local_core::{Context, ThreadLocal};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call goes to `System`; counting touches a `const` thread-local without a
// destructor, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's duty, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's duty, passed on.
        unsafe { System.dealloc(block, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn asking_whether_a_value_is_there_allocates_nothing() {
    // On a thread that never touched any instance, and in a context: no table is made and
    // the thread is not registered, for an answer that is "no".
    std::thread::spawn(|| {
        let local: ThreadLocal<u64> = ThreadLocal::new();
        assert_eq!(allocations(|| assert!(!local.is_initialized())), 0);
        let mut context = Context::new();
        assert_eq!(
            allocations(|| context.run(|| assert!(!local.is_initialized()))),
            0
        );
        // Once the table exists, a context that holds no value of it still gets no entry.
        local.set(1);
        assert!(local.is_initialized());
        assert_eq!(
            allocations(|| context.run(|| assert!(!local.is_initialized()))),
            0
        );
        context.run(|| local.set(2));
        assert!(context.run(|| local.is_initialized()));
    })
    .join()
    .unwrap();
}
