//! An instance's table on the heap, counted: `Arc`, but allocated without asking `malloc`
//! for more than its own alignment.
//!
//! A `ThreadLocal`'s table carries the padded entries of its first threads, so it needs
//! their 128-byte alignment. `Arc` would pass that alignment to the allocator, which on
//! glibc means `posix_memalign`: it carves the block out of a larger one and gives the rest
//! back to its bins, which made the first touch of an instance markedly dearer. Here the
//! block is asked with `malloc`'s own alignment and the table slid to its alignment inside
//! it, as `buckets.rs` does for buckets; the distance is kept in the header.

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// The alignment `malloc` gives every block.
const MALLOC_ALIGN: usize = 16;

/// The block of an anchor: its header and value, then the value's alignment's worth of
/// room to slide them to it.
pub(crate) struct Counted<X: ?Sized> {
    /// Anchors of this block alive, as `Arc`'s strong count.
    count: AtomicUsize,
    /// From the start of the block to this header.
    slide: usize,
    value: X,
}

/// A counted reference to a value on the heap, as `Arc`: the value is dropped, and its
/// block freed, with the last anchor.
pub(crate) struct Anchor<X: ?Sized> {
    counted: NonNull<Counted<X>>,
    _owns: PhantomData<Counted<X>>,
}

// SAFETY: as `Arc`: anchors on several threads share the value (`Sync`), and whichever
// drops the last drops the value (`Send`).
unsafe impl<X: ?Sized + Send + Sync> Send for Anchor<X> {}
// SAFETY: as above.
unsafe impl<X: ?Sized + Send + Sync> Sync for Anchor<X> {}

/// The block to ask `malloc` for, for a header and value of `layout`.
fn block_layout(layout: Layout) -> Layout {
    if layout.align() <= MALLOC_ALIGN {
        return layout;
    }
    // The block starts on a `MALLOC_ALIGN` boundary, so at most `align - MALLOC_ALIGN` bytes
    // before the next `align` boundary.
    let size = layout
        .size()
        .checked_add(layout.align() - MALLOC_ALIGN)
        .expect("a table fits in memory");
    Layout::from_size_align(size, MALLOC_ALIGN).expect("a valid layout")
}

impl<X> Anchor<X> {
    /// `value` on the heap, with one anchor: this one.
    #[cfg(test)]
    pub(crate) fn new(value: X) -> Self {
        // SAFETY: writing `value` initializes the whole of it.
        unsafe { Anchor::new_with(|place: *mut X| place.write(value)) }
    }

    /// A value built in place by `init`, on the heap, with one anchor: this one. In place,
    /// so that a large table is not copied, and so that `init` may point into it.
    ///
    /// # Safety
    ///
    /// `init` initializes the whole value at the pointer it gets: aligned, valid for
    /// writes, with the block's provenance, and where the value stays until dropped.
    pub(crate) unsafe fn new_with(init: impl FnOnce(*mut X)) -> Self {
        let layout = Layout::new::<Counted<X>>();
        let block_layout = block_layout(layout);
        let block = take_spare(block_layout).unwrap_or_else(|| {
            // SAFETY: the layout has a non-zero size: the header's.
            let block = unsafe { alloc::alloc(block_layout) };
            if block.is_null() {
                alloc::handle_alloc_error(block_layout);
            }
            block
        });
        let align = layout.align();
        // Zero when `align <= MALLOC_ALIGN`; otherwise at most `align - MALLOC_ALIGN`.
        let slide = (align - (block.addr() & (align - 1))) & (align - 1);
        // A panic of `init` frees the block (its value is not dropped: it may be partly
        // built).
        let free = Free(block, block_layout);
        // SAFETY: `block + slide` is aligned for `Counted<X>`, and `block_layout` leaves
        // `size_of::<Counted<X>>()` bytes after it: the header is written whole, the value
        // by `init`, the caller's duty.
        let counted = unsafe {
            let counted = block.add(slide).cast::<Counted<X>>();
            (&raw mut (*counted).count).write(AtomicUsize::new(1));
            (&raw mut (*counted).slide).write(slide);
            init(&raw mut (*counted).value);
            NonNull::new_unchecked(counted)
        };
        std::mem::forget(free);
        Anchor {
            counted,
            _owns: PhantomData,
        }
    }
}

impl<X: ?Sized> Anchor<X> {
    /// Gives up this anchor without dropping its count: [`from_raw`](Self::from_raw) takes
    /// it back. The pointer keeps the block's provenance, for pointers into the value.
    pub(crate) fn into_raw(self) -> NonNull<Counted<X>> {
        let counted = self.counted;
        std::mem::forget(self);
        counted
    }

    /// The anchor given up by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `counted` came from `into_raw` (of an `Anchor<X>`, or of an `Anchor<Y>` and unsized
    /// to `X`), and each call takes back one count.
    pub(crate) unsafe fn from_raw(counted: NonNull<Counted<X>>) -> Self {
        Anchor {
            counted,
            _owns: PhantomData,
        }
    }

    /// One more anchor of the value of `counted`, which an anchor keeps alive.
    ///
    /// # Safety
    ///
    /// `counted` came from [`into_raw`](Self::into_raw), and one of its counts is held for
    /// the duration of this call.
    pub(crate) unsafe fn counted_from_raw(counted: NonNull<Counted<X>>) -> Self {
        // SAFETY: the caller's duty: the block is alive.
        let header = unsafe { counted.as_ref() };
        // No overflow to fear: every count is an anchor somewhere in memory.
        header.count.fetch_add(1, Ordering::Relaxed);
        Anchor {
            counted,
            _owns: PhantomData,
        }
    }

    /// The value of `counted`.
    ///
    /// # Safety
    ///
    /// As [`counted_from_raw`](Self::counted_from_raw), for as long as the reference lives.
    pub(crate) unsafe fn value_of<'a>(counted: NonNull<Counted<X>>) -> &'a X {
        // SAFETY: the caller's duty.
        unsafe { &(*counted.as_ptr()).value }
    }
}

impl<X: ?Sized> Clone for Anchor<X> {
    fn clone(&self) -> Self {
        // SAFETY: `self` holds a count of the block for the duration of the call.
        unsafe { Anchor::counted_from_raw(self.counted) }
    }
}

impl<X: ?Sized> Deref for Anchor<X> {
    type Target = X;

    fn deref(&self) -> &X {
        // SAFETY: `self` holds a count, so the block is alive while `self` is borrowed.
        unsafe { Anchor::value_of(self.counted) }
    }
}

impl<X: ?Sized> Drop for Anchor<X> {
    fn drop(&mut self) {
        // SAFETY: `self` holds a count, so the block is alive.
        let header = unsafe { self.counted.as_ref() };
        // As `Arc`: release our uses of the value before the count drops, and acquire every
        // other anchor's before the last one drops the value. An acquire load rather than
        // `Arc`'s fence, which ThreadSanitizer does not model (`Arc` switches to the same load
        // under it); it runs once per block.
        if header.count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        header.count.load(Ordering::Acquire);
        let layout = Layout::for_value(header);
        let slide = header.slide;
        // SAFETY: the header is `slide` bytes into the block, and `counted` carries the
        // block's provenance (from `new`).
        let block = unsafe { self.counted.cast::<u8>().as_ptr().sub(slide) };
        // Freed after the value, even if dropping it panics.
        let free = Free(block, block_layout(layout));
        // SAFETY: this was the last anchor: nothing uses the value again.
        unsafe { ptr::drop_in_place(self.counted.as_ptr()) };
        free.spare();
    }
}

/// One freed block, kept for the next anchor of the same layout, or null.
///
/// A program that makes and drops instances over and over (a `ThreadLocal` per job, per
/// scope, per batch) would otherwise free a table block and ask `malloc` for the same one
/// again, on the first touch of each instance, by a thread that may have just started: a
/// table carrying its first threads' entries is past glibc's small sizes, so that request
/// takes its slow path. One block is all that is kept; an anchor of another layout that finds
/// it frees it, and the next block freed takes its place.
///
/// While kept, a block's first two words are its layout's size and alignment.
static SPARE: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());

/// The kept block, if it has `layout`.
fn take_spare(layout: Layout) -> Option<*mut u8> {
    if SPARE.load(Ordering::Relaxed).is_null() {
        return None;
    }
    let block = SPARE.swap(ptr::null_mut(), Ordering::Acquire);
    if block.is_null() {
        return None;
    }
    // SAFETY: a kept block begins with its layout (`Free::spare`, whose writes the swap
    // acquired), and it is ours now.
    let kept = unsafe {
        let words = block.cast::<usize>();
        Layout::from_size_align_unchecked(words.read(), words.add(1).read())
    };
    if kept == layout {
        return Some(block);
    }
    // SAFETY: a block from `alloc::alloc` with `kept`, no longer kept by anyone.
    unsafe { alloc::dealloc(block, kept) };
    None
}

/// A block from `alloc::alloc` with this layout, freed on drop.
struct Free(*mut u8, Layout);

impl Free {
    /// Keeps the block for the next anchor ([`SPARE`]) if none is kept, else frees it.
    fn spare(self) {
        let Free(block, layout) = self;
        std::mem::forget(self);
        // SAFETY: the block is ours and at least two words long and aligned for them (a
        // header of two `usize`s began it).
        unsafe {
            let words = block.cast::<usize>();
            words.write(layout.size());
            words.add(1).write(layout.align());
        }
        if SPARE
            .compare_exchange(ptr::null_mut(), block, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: from `alloc::alloc` with `layout`, not kept.
            unsafe { alloc::dealloc(block, layout) };
        }
    }
}

impl Drop for Free {
    fn drop(&mut self) {
        // SAFETY: built by `Anchor::drop` from the block and layout of `Anchor::new`, once,
        // after which nothing uses the block.
        unsafe { alloc::dealloc(self.0, self.1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    #[repr(align(128))]
    struct Padded<'a>(&'a StdAtomicUsize, u8);

    impl Drop for Padded<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    trait Named {
        fn name(&self) -> u8;
    }

    impl Named for Padded<'_> {
        fn name(&self) -> u8 {
            self.1
        }
    }

    #[test]
    fn the_last_anchor_drops_the_value_once_aligned_or_unsized() {
        let drops = StdAtomicUsize::new(0);
        let anchors: Vec<Anchor<Padded<'_>>> =
            (0..16).map(|n| Anchor::new(Padded(&drops, n))).collect();
        for (n, anchor) in anchors.iter().enumerate() {
            assert_eq!(ptr::from_ref::<Padded<'_>>(anchor).addr() % 128, 0);
            assert_eq!(usize::from(anchor.1), n);
        }
        let unsized_anchors: Vec<Anchor<dyn Named + Send + Sync + '_>> = anchors
            .iter()
            .map(|anchor| {
                let counted: NonNull<Counted<dyn Named + Send + Sync>> = anchor.clone().into_raw();
                // SAFETY: from `into_raw`, unsized.
                unsafe { Anchor::from_raw(counted) }
            })
            .collect();
        drop(anchors);
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        for (n, anchor) in unsized_anchors.iter().enumerate() {
            assert_eq!(usize::from(anchor.name()), n);
        }
        let threads = unsized_anchors.to_vec();
        std::thread::scope(|s| {
            for anchor in threads {
                s.spawn(move || drop(anchor));
            }
        });
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(unsized_anchors);
        assert_eq!(drops.load(Ordering::Relaxed), 16);
    }
}
