//! An instance's table on the heap, counted: `Arc`, but allocated without asking `malloc`
//! for more than its own alignment.
//!
//! A `ThreadLocal`'s table carries the padded entries of its first threads, so it needs
//! their 128-byte alignment. `Arc` would pass that alignment to the allocator, which on
//! glibc means `posix_memalign`: it carves the block out of a larger one and gives the rest
//! back to its bins, which made the first touch of an instance markedly dearer. Here the
//! block is asked with `malloc`'s own alignment and the table slid to its alignment inside
//! it, as `buckets.rs` does for buckets; the distance is kept in the header.
//!
//! And the last anchor of a value that can be emptied for reuse ([`Recycle`]) keeps it,
//! block and all, for the next anchor of the same type ([`SPARE`]): a table carries its
//! first threads' padded entries, and building one writes some thirty cache lines, which
//! each new instance's first touch would otherwise pay for.

use std::alloc::{self, Layout};
use std::any::TypeId;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// The alignment `malloc` gives every block.
const MALLOC_ALIGN: usize = 16;

/// The block of an anchor: its header and value, then the value's alignment's worth of
/// room to slide them to it. `repr(C)`: the header is at the same offsets whatever the
/// value, for [`take_spare`], which reads it before it knows the value's type.
#[repr(C)]
pub(crate) struct Counted<X: ?Sized> {
    /// Anchors of this block alive, as `Arc`'s strong count.
    count: AtomicUsize,
    /// From the start of the block to this header.
    slide: usize,
    /// Set while the block is kept in [`SPARE`], by the last anchor, which kept it.
    kept: Cell<Option<Kept>>,
    value: X,
}

/// What a value does when its last anchor drops.
pub(crate) trait Recycle {
    /// Empties the value, as new, for the next anchor of its type, which will find it in
    /// [`SPARE`]; or returns `None` (the default) to have it dropped. Called with the last
    /// anchor, instead of dropping the value, when nothing is kept yet. If it unwinds, the
    /// value is dropped after all, so it leaves the value valid at every step.
    fn recycle(&mut self) -> Option<Kept> {
        None
    }
}

/// What [`SPARE`] knows of the value it keeps.
#[derive(Clone, Copy)]
pub(crate) struct Kept {
    /// `TypeId::of` the value's type.
    value_type: TypeId,
    /// Drops the value and frees the block, given the header.
    discard: unsafe fn(NonNull<u8>),
}

impl Kept {
    /// Says that the value kept is of type `X`, named `value_type`.
    ///
    /// # Safety
    ///
    /// `X` is the type of the value that returns this from [`Recycle::recycle`], and
    /// `value_type` is `TypeId::of::<X>()`.
    pub(crate) unsafe fn of<X>(value_type: TypeId) -> Kept {
        Kept {
            value_type,
            discard: discard::<X>,
        }
    }
}

/// Drops a kept value and frees its block.
///
/// # Safety
///
/// `counted` is the header of a block that was kept in [`SPARE`] for a value of type `X`,
/// taken out of it, and used by no one else.
unsafe fn discard<X>(counted: NonNull<u8>) {
    // The caller's duty makes it a block as `Retire` wants: no anchor left, and a valid
    // value, since `recycle` returned.
    drop(Retire(counted.cast::<Counted<X>>()));
}

/// A counted reference to a value on the heap, as `Arc`: the value is dropped, and its
/// block freed, with the last anchor (or kept for reuse, see [`Recycle`]).
pub(crate) struct Anchor<X: ?Sized + Recycle> {
    counted: NonNull<Counted<X>>,
    _owns: PhantomData<Counted<X>>,
}

// SAFETY: as `Arc`: anchors on several threads share the value (`Sync`), and whichever
// drops the last drops or recycles the value (`Send`). The header's `kept` is only touched
// by the last anchor, before it keeps the block, and by whoever takes the block from
// `SPARE` after: the exchanges on `SPARE` order the two.
unsafe impl<X: ?Sized + Recycle + Send + Sync> Send for Anchor<X> {}
// SAFETY: as above.
unsafe impl<X: ?Sized + Recycle + Send + Sync> Sync for Anchor<X> {}

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

impl<X: Recycle> Anchor<X> {
    /// `value` on the heap, with one anchor: this one.
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
        // SAFETY: the layout has a non-zero size: the header's.
        let block = unsafe { alloc::alloc(block_layout) };
        if block.is_null() {
            alloc::handle_alloc_error(block_layout);
        }
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
            (&raw mut (*counted).kept).write(Cell::new(None));
            init(&raw mut (*counted).value);
            NonNull::new_unchecked(counted)
        };
        std::mem::forget(free);
        Anchor {
            counted,
            _owns: PhantomData,
        }
    }

    /// The value kept in [`SPARE`] if it is of type `X` (`value_type`), readied by
    /// `reuse`; else a value built by `init`, as [`new_with`](Self::new_with). A kept value
    /// of another type is dropped.
    ///
    /// # Safety
    ///
    /// As `new_with`, for `init`; and `value_type` is `TypeId::of::<X>()` (which `X`, not
    /// always `'static`, cannot say here).
    pub(crate) unsafe fn reuse_or_new_with(
        value_type: TypeId,
        reuse: impl FnOnce(&mut X),
        init: impl FnOnce(*mut X),
    ) -> Self {
        if let Some(counted) = take_spare(value_type) {
            let counted = counted.cast::<Counted<X>>();
            // SAFETY: the kept block holds a live, recycled `Counted` of the type whose id is
            // `value_type`, `X` by the caller's duty, with no anchor left: it is ours.
            unsafe {
                (*counted.as_ptr()).count.store(1, Ordering::Relaxed);
                reuse(&mut (*counted.as_ptr()).value);
            }
            return Anchor {
                counted,
                _owns: PhantomData,
            };
        }
        // SAFETY: the caller's duty.
        unsafe { Anchor::new_with(init) }
    }
}

impl<X: ?Sized + Recycle> Anchor<X> {
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

impl<X: ?Sized + Recycle> Clone for Anchor<X> {
    fn clone(&self) -> Self {
        // SAFETY: `self` holds a count of the block for the duration of the call.
        unsafe { Anchor::counted_from_raw(self.counted) }
    }
}

impl<X: ?Sized + Recycle> Deref for Anchor<X> {
    type Target = X;

    fn deref(&self) -> &X {
        // SAFETY: `self` holds a count, so the block is alive while `self` is borrowed.
        unsafe { Anchor::value_of(self.counted) }
    }
}

impl<X: ?Sized + Recycle> Drop for Anchor<X> {
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
        // Drops the value and frees the block unless it is kept, also if `recycle` unwinds.
        let retire = Retire(self.counted);
        if !SPARE.load(Ordering::Relaxed).is_null() {
            return;
        }
        let counted = self.counted.as_ptr();
        // SAFETY: this was the last anchor: the block is ours alone.
        let Some(kept) = (unsafe { (*counted).value.recycle() }) else {
            return;
        };
        // SAFETY: as above.
        unsafe { (*counted).kept.set(Some(kept)) };
        if SPARE
            .compare_exchange(
                ptr::null_mut(),
                counted.cast::<u8>(),
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            std::mem::forget(retire);
        }
    }
}

/// A block whose last anchor is gone, with a valid value: drops the value, then frees the
/// block. Made only for such a block, by the last anchor or from one taken out of `SPARE`.
struct Retire<X: ?Sized>(NonNull<Counted<X>>);

impl<X: ?Sized> Drop for Retire<X> {
    fn drop(&mut self) {
        // SAFETY: made by the last anchor, or from a block taken out of `SPARE`: nothing
        // else uses the block. The header is `slide` bytes into it, and carries its
        // provenance (from `new_with`).
        unsafe {
            let header = self.0.as_ref();
            let block = self.0.cast::<u8>().as_ptr().sub(header.slide);
            // Freed after the value, even if dropping it panics.
            let _free = Free(block, block_layout(Layout::for_value(header)));
            ptr::drop_in_place(self.0.as_ptr());
        }
    }
}

/// The header of the one value whose last anchor kept it ([`Recycle`]), or null; the
/// header's `kept` says what the value is.
///
/// A program that makes and drops instances over and over (a `ThreadLocal` per job, per
/// scope, per batch) would otherwise free a table and build the same again on the first
/// touch of each instance, by a thread that may have just started: a table carrying its
/// first threads' entries is past glibc's small sizes, and building it writes every one of
/// them. One value is all that is kept: an anchor of another type that finds it drops it,
/// and the next value recycled takes its place.
static SPARE: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());

/// The kept value's header, if `value_type` is its type's; a value of another type is
/// dropped.
fn take_spare(value_type: TypeId) -> Option<NonNull<u8>> {
    let counted = NonNull::new(SPARE.swap(ptr::null_mut(), Ordering::Acquire))?;
    // SAFETY: a kept header's `kept` was set before the exchange that kept it, which the
    // swap acquired, and the block is ours now. `kept` is at the same place in every
    // `Counted` (before the value, whose alignment follows it).
    let kept = unsafe { counted.cast::<Counted<()>>().as_ref() }
        .kept
        .take()
        .expect("a kept block says what it keeps");
    if kept.value_type == value_type {
        return Some(counted);
    }
    // SAFETY: `discard` is the kept value's own (`Kept::of`), and the block is ours.
    unsafe { (kept.discard)(counted) };
    None
}

/// A block from `alloc::alloc` with this layout, freed on drop.
struct Free(*mut u8, Layout);

impl Drop for Free {
    fn drop(&mut self) {
        // SAFETY: built from the block and layout of `Anchor::new_with`, once, after which
        // nothing uses the block.
        unsafe { alloc::dealloc(self.0, self.1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    #[repr(align(128))]
    struct Padded<'a>(&'a StdAtomicUsize, u8);

    impl Recycle for Padded<'_> {}

    impl Drop for Padded<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    trait Named: Recycle {
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

    /// Values made, and dropped, of [`Reusable`].
    static MADE: StdAtomicUsize = StdAtomicUsize::new(0);
    static DROPPED: StdAtomicUsize = StdAtomicUsize::new(0);

    /// Recycled, it says so; `reuse` then says it was.
    struct Reusable(&'static str);

    impl Reusable {
        fn new() -> Self {
            MADE.fetch_add(1, Ordering::Relaxed);
            Reusable("new")
        }
    }

    impl Recycle for Reusable {
        fn recycle(&mut self) -> Option<Kept> {
            self.0 = "recycled";
            // SAFETY: `Self`'s id.
            Some(unsafe { Kept::of::<Self>(TypeId::of::<Self>()) })
        }
    }

    impl Drop for Reusable {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl Named for Reusable {
        fn name(&self) -> u8 {
            0
        }
    }

    /// Never kept.
    struct Other;

    impl Recycle for Other {}

    fn reuse_or_new<X: Recycle + 'static>(
        reuse: impl FnOnce(&mut X),
        new: impl FnOnce() -> X,
    ) -> Anchor<X> {
        // SAFETY: `X`'s id; the write initializes the value.
        unsafe {
            Anchor::reuse_or_new_with(TypeId::of::<X>(), reuse, |place: *mut X| {
                place.write(new());
            })
        }
    }

    fn reuse_or_new_reusable() -> Anchor<Reusable> {
        reuse_or_new(
            |reused: &mut Reusable| {
                assert_eq!(reused.0, "recycled");
                reused.0 = "reused";
            },
            Reusable::new,
        )
    }

    #[test]
    fn the_last_anchor_keeps_a_recyclable_value_for_the_next_anchor_of_its_type() {
        // Other tests keep their own tables meanwhile, so a round may find the slot taken
        // or the value gone: some rounds, not all, must reuse.
        let (mut reused, mut dropped_for_another_type) = (0, 0);
        for round in 0..100 {
            let anchor = Anchor::new(Reusable::new());
            if round % 2 == 0 {
                drop(anchor);
            } else {
                // Recycled through the anchor of a thread's list, unsized.
                let counted: NonNull<Counted<dyn Named + Send + Sync>> = anchor.into_raw();
                // SAFETY: from `into_raw`, unsized.
                drop(unsafe { Anchor::<dyn Named + Send + Sync>::from_raw(counted) });
            }
            let dropped = DROPPED.load(Ordering::Relaxed);
            if round % 3 == 0 {
                // Another type's anchor finds it and drops it.
                reuse_or_new(|_| unreachable!("never kept"), || Other);
                dropped_for_another_type += usize::from(DROPPED.load(Ordering::Relaxed) > dropped);
            } else {
                let next = reuse_or_new_reusable();
                reused += usize::from(next.0 == "reused");
            }
        }
        assert!(reused > 0, "no round reused the value kept");
        assert!(
            dropped_for_another_type > 0,
            "no round dropped it for another type"
        );
        // Every value made is dropped once, but the one that may still be kept.
        if let Some(kept) = take_spare(TypeId::of::<Reusable>()) {
            drop(Retire(kept.cast::<Counted<Reusable>>()));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while DROPPED.load(Ordering::Relaxed) < MADE.load(Ordering::Relaxed) {
            assert!(
                std::time::Instant::now() < deadline,
                "a value was never dropped"
            );
            std::thread::yield_now();
        }
        assert_eq!(
            DROPPED.load(Ordering::Relaxed),
            MADE.load(Ordering::Relaxed)
        );
    }

    /// Panics when recycled.
    struct Unrecyclable<'a>(&'a StdAtomicUsize);

    impl Recycle for Unrecyclable<'_> {
        fn recycle(&mut self) -> Option<Kept> {
            panic!("cannot be emptied");
        }
    }

    impl Drop for Unrecyclable<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_value_whose_recycling_unwinds_is_dropped_once() {
        let drops = StdAtomicUsize::new(0);
        let mut unwound = 0;
        for round in 1..=100 {
            let anchor = Anchor::new(Unrecyclable(&drops));
            // Recycling is tried only if nothing is kept: another test's value may be.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(anchor)));
            unwound += usize::from(result.is_err());
            assert_eq!(drops.load(Ordering::Relaxed), round);
            if unwound > 0 {
                break;
            }
        }
        assert!(unwound > 0, "recycling never ran");
    }
}
