//! Per-thread entries of one instance, indexed by thread index, in buckets of doubling
//! size that never move (the `thread_local` crate's layout): bucket `b` holds the entries
//! of indices `2^b - 1 ..= 2^(b+1) - 2`, allocated on first use, freed with the instance.

use std::alloc::{self, Layout};
use std::ptr::{self, NonNull};

use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// Buckets per instance: enough for every index below [`MAX_INDEX`].
pub(crate) const BUCKETS: usize = usize::BITS as usize;

/// Thread indices stay below this, so the last bucket is never allocated: that is where
/// [`Position::NONE`] points.
pub(crate) const MAX_INDEX: usize = (1 << (BUCKETS - 1)) - 1;

/// Where a thread index's entry is: its bucket and its place in the bucket. Cached per
/// thread, so that the fast path neither recomputes it nor checks for "no index":
/// [`Position::NONE`] names the last bucket, which is never allocated, and so reads as "no
/// entry" like any bucket not allocated yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    bucket: usize,
    offset: usize,
}

impl Position {
    pub(crate) const NONE: Position = Position {
        bucket: BUCKETS - 1,
        offset: 0,
    };

    /// The position of thread index `index` (below [`MAX_INDEX`]).
    pub(crate) const fn of(index: usize) -> Position {
        assert!(index < MAX_INDEX);
        let n = index + 1;
        let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
        Position {
            bucket,
            offset: n - (1 << bucket),
        }
    }

    /// The thread index at this position: the inverse of [`of`](Self::of).
    pub(crate) const fn index(self) -> usize {
        (1 << self.bucket) + self.offset - 1
    }
}

/// Buckets an owner may keep in place of allocating them ([`Buckets::lend`]), and their
/// entries: the first few threads' entries then come with the table.
pub(crate) const FIRST_BUCKETS: usize = 4;
pub(crate) const FIRST_ENTRIES: usize = (1 << FIRST_BUCKETS) - 1;

const fn bucket_len(bucket: usize) -> usize {
    1 << bucket
}

/// An entry padded to its own cache lines: the entries of neighbouring threads sit side by
/// side in a bucket, and each thread writes its entry's state on every access.
///
/// 128 bytes on x86-64 and aarch64, where the adjacent-line prefetcher (or the line size)
/// makes 64 too few, and 64 elsewhere (crossbeam-utils' `CachePadded` makes the same
/// choice). A `u64` entry therefore takes 128 bytes per thread: threads are few. Contexts,
/// which come in millions, keep their values elsewhere, unpadded (`context/values.rs`).
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
pub(crate) struct CachePadded<T>(pub(crate) T);

/// One instance's buckets of `E`.
pub(crate) struct Buckets<E> {
    buckets: [AtomicPtr<E>; BUCKETS],
    /// Buckets below this point into entries their owner keeps ([`lend`](Self::lend)):
    /// not freed here.
    lent: usize,
    /// Buckets below this may be allocated, none above: walks stop here instead of
    /// checking every bucket.
    allocated: AtomicUsize,
}

impl<E> Buckets<E> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Buckets {
            buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
            lent: 0,
            allocated: AtomicUsize::new(0),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Buckets {
            buckets: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            lent: 0,
            allocated: AtomicUsize::new(0),
        }
    }

    /// The entry at `position`, if its bucket exists; never for [`Position::NONE`].
    #[inline(always)]
    pub(crate) fn get(&self, position: Position) -> Option<&E> {
        // `% BUCKETS` is free (`bucket < BUCKETS`) and spares a bounds check.
        let entries =
            NonNull::new(self.buckets[position.bucket % BUCKETS].load(Ordering::Acquire))?;
        // SAFETY: an allocated bucket `b` holds `bucket_len(b)` initialized entries, and
        // `offset < bucket_len(b)` by `Position::of`; buckets live as long as `self`.
        Some(unsafe { entries.add(position.offset).as_ref() })
    }

    /// The entry at `position`, allocating its bucket with `new` entries if needed.
    pub(crate) fn get_or_insert(&self, position: Position, new: impl Fn() -> E) -> &E {
        if let Some(entry) = self.get(position) {
            return entry;
        }
        let bucket = position.bucket;
        let fresh = allocate_bucket(bucket, new);
        let entries = match self.buckets[bucket].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                self.allocated.fetch_max(bucket + 1, Ordering::AcqRel);
                fresh
            }
            Err(installed) => {
                // SAFETY: `fresh` was allocated just above for this bucket and never
                // shared: another thread installed its own first.
                unsafe { deallocate_bucket(fresh, bucket) };
                installed
            }
        };
        // SAFETY: as in `get`.
        unsafe { &*entries.add(position.offset) }
    }

    /// Makes the first `buckets` buckets (of new buckets) those of `entries`, which the
    /// caller keeps and drops.
    ///
    /// # Safety
    ///
    /// `entries` points at `2^buckets - 1` initialized entries, valid for as long as `self`
    /// is used, and used only through `self` meanwhile.
    pub(crate) unsafe fn lend(&mut self, entries: *mut E, buckets: usize) {
        debug_assert_eq!(self.allocated(), 0, "lent before any other use");
        for bucket in 0..buckets {
            // SAFETY: the caller's duty: bucket `b` starts at entry `2^b - 1`, below
            // `2^buckets - 1`.
            let start = unsafe { entries.add(bucket_len(bucket) - 1) };
            self.buckets[bucket].store(start, Ordering::Relaxed);
        }
        self.lent = buckets;
        self.allocated.store(buckets, Ordering::Relaxed);
    }

    /// Frees every bucket that is not lent, as new: the lent ones stay, to be used again.
    /// Every allocated bucket is below `allocated`: `get_or_insert` raises it right after
    /// installing one, and `&mut self` means none is being installed.
    pub(crate) fn reset(&mut self) {
        for bucket in self.lent..self.allocated() {
            let entries = self.buckets[bucket].with_mut(std::mem::take);
            if !entries.is_null() {
                // SAFETY: installed by `get_or_insert` from `allocate_bucket(bucket, ..)`,
                // and no longer in the table; `&mut self` is the last reference to it.
                unsafe { deallocate_bucket(entries, bucket) };
            }
        }
        self.allocated.store(self.lent, Ordering::Relaxed);
    }

    /// The buckets a walk needs to visit: `0..allocated()`. One allocated meanwhile may be
    /// missed, as a thread that starts during the walk may.
    pub(crate) fn allocated(&self) -> usize {
        self.allocated.load(Ordering::Acquire)
    }

    /// Bucket `bucket`'s entries, if it is allocated.
    pub(crate) fn bucket(&self, bucket: usize) -> Option<&[E]> {
        let entries = NonNull::new(self.buckets.get(bucket)?.load(Ordering::Acquire))?;
        // SAFETY: an allocated bucket holds `bucket_len(bucket)` initialized entries, and
        // lives as long as `self`.
        Some(unsafe { std::slice::from_raw_parts(entries.as_ptr(), bucket_len(bucket)) })
    }

    /// Every allocated entry, with its thread index.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &E)> {
        (0..self.allocated()).flat_map(move |bucket| {
            let entries = self.buckets[bucket].load(Ordering::Acquire);
            let len = if entries.is_null() {
                0
            } else {
                bucket_len(bucket)
            };
            (0..len).map(move |offset| {
                let position = Position { bucket, offset };
                // SAFETY: as in `get`.
                (position.index(), unsafe { &*entries.add(offset) })
            })
        })
    }
}

impl<E> Drop for Buckets<E> {
    fn drop(&mut self) {
        // Lent buckets are their owner's to drop.
        self.reset();
    }
}

/// Helps `AtomicPtr` read the same under std and loom.
trait WithMut<T> {
    fn with_mut<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R;
}

#[cfg(not(loom))]
impl<T> WithMut<*mut T> for AtomicPtr<T> {
    fn with_mut<R>(&mut self, f: impl FnOnce(&mut *mut T) -> R) -> R {
        f(self.get_mut())
    }
}

#[cfg(loom)]
impl<T> WithMut<*mut T> for AtomicPtr<T> {
    fn with_mut<R>(&mut self, f: impl FnOnce(&mut *mut T) -> R) -> R {
        AtomicPtr::with_mut(self, f)
    }
}

/// The alignment `malloc` gives every block. A larger one (the padded entries' 128) goes
/// through `posix_memalign`, which on glibc carves the block out of a larger one and gives
/// the rest back to its bins: on a thread's first touch of an instance, which may allocate
/// a bucket, that made the touch about a fifth slower. So buckets of such entries are
/// aligned by hand: one block of this alignment with room to slide the entries to theirs,
/// the distance slid stored in the word before the first entry.
const MALLOC_ALIGN: usize = 16;

/// The block [`allocate_bucket`] asks for when `E` needs more than [`MALLOC_ALIGN`];
/// `None` when a boxed slice will do.
fn padded_layout<E>(bucket: usize) -> Option<Layout> {
    let align = align_of::<E>();
    if align <= MALLOC_ALIGN {
        return None;
    }
    let entries = Layout::array::<E>(bucket_len(bucket)).expect("a bucket fits in memory");
    // `align` bytes of slack: the entries start 16 to `align` bytes in (a whole `align` when
    // the block is aligned already), so there is always room for the distance before them.
    let size = entries
        .size()
        .checked_add(align)
        .expect("a bucket fits in memory");
    Some(Layout::from_size_align(size, MALLOC_ALIGN).expect("a valid layout"))
}

/// A bucket of `bucket_len(bucket)` entries, each from `new`; freed by [`deallocate_bucket`].
/// `new` must not panic (the bucket would leak).
fn allocate_bucket<E>(bucket: usize, new: impl Fn() -> E) -> *mut E {
    let Some(layout) = padded_layout::<E>(bucket) else {
        let entries: Box<[E]> = (0..bucket_len(bucket)).map(|_| new()).collect();
        return Box::into_raw(entries).cast::<E>();
    };
    // SAFETY: `layout` has a non-zero size (at least `align`).
    let block = unsafe { alloc::alloc(layout) };
    if block.is_null() {
        alloc::handle_alloc_error(layout);
    }
    let align = align_of::<E>();
    // In `MALLOC_ALIGN..=align`, a multiple of `MALLOC_ALIGN`: the block is aligned to it,
    // and `align`, a power of two, is a multiple of it.
    let slide = align - (block.addr() & (align - 1));
    // SAFETY: the block has `align >= slide` bytes of slack before the entries'
    // `size_of::<[E; len]>()`, so the entries and the word before them (`slide` is at least
    // a word) are inside it; `block + slide` is aligned for `E`, hence for that word.
    unsafe {
        let entries = block.add(slide).cast::<E>();
        entries.cast::<usize>().sub(1).write(slide);
        for offset in 0..bucket_len(bucket) {
            entries.add(offset).write(new());
        }
        entries
    }
}

/// # Safety
///
/// - `entries` came from [`allocate_bucket`] with the same `bucket`;
/// - nothing uses it afterwards.
unsafe fn deallocate_bucket<E>(entries: *mut E, bucket: usize) {
    let len = bucket_len(bucket);
    let Some(layout) = padded_layout::<E>(bucket) else {
        let entries = ptr::slice_from_raw_parts_mut(entries, len);
        // SAFETY: the caller's duty: a boxed slice of that length, not used again.
        drop(unsafe { Box::from_raw(entries) });
        return;
    };
    // SAFETY: the caller's duty: `allocate_bucket` wrote, with this `layout`, the distance
    // from the block's start in the word before `entries`.
    let block = unsafe {
        entries
            .cast::<u8>()
            .sub(entries.cast::<usize>().sub(1).read())
    };
    // Freed after the entries, even if dropping one of them panics.
    let _free = Free(block, layout);
    // SAFETY: the caller's duty: `len` entries, not used again.
    unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(entries, len)) };
}

/// A block from `alloc::alloc` with this layout, freed on drop.
struct Free(*mut u8, Layout);

impl Drop for Free {
    fn drop(&mut self) {
        // SAFETY: built by `deallocate_bucket` from `allocate_bucket`'s block and layout,
        // once, after which nothing uses the block.
        unsafe { alloc::dealloc(self.0, self.1) };
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lent_buckets_are_read_in_place_and_left_to_their_owner() {
        const LENT: usize = 3;
        let mut first: Vec<u32> = (0..(1 << LENT) - 1).collect();
        let mut buckets = Buckets::<u32>::new();
        // SAFETY: 7 entries for 3 buckets, outliving `buckets`, used only through it.
        unsafe { buckets.lend(first.as_mut_ptr(), LENT) };
        assert_eq!(buckets.allocated(), LENT);
        for (index, lent) in first.iter().enumerate() {
            let entry = buckets.get(Position::of(index)).expect("lent");
            assert!(ptr::eq(entry, lent));
        }
        assert_eq!(buckets.get(Position::of(7)), None);
        assert_eq!(*buckets.get_or_insert(Position::of(7), || 70), 70);
        let all: Vec<u32> = buckets.iter().map(|(_, entry)| *entry).collect();
        assert_eq!(all[..7], [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(all[7..], [70; 8]);
        // Frees bucket 3 only; the lent entries are still the vector's.
        drop(buckets);
        assert_eq!(first.iter().sum::<u32>(), 21);
    }

    #[test]
    fn positions_and_indices_are_inverses() {
        let samples = (0..4096).chain([MAX_INDEX - 1, MAX_INDEX / 2, (1 << 40) - 1]);
        for index in samples {
            let position = Position::of(index);
            assert_eq!(position.index(), index);
            assert!(position.offset < bucket_len(position.bucket));
            assert_ne!(position, Position::NONE);
        }
        assert_eq!(
            Position::of(0),
            Position {
                bucket: 0,
                offset: 0
            }
        );
        assert_eq!(
            Position::of(2),
            Position {
                bucket: 1,
                offset: 1
            }
        );
        assert_eq!(
            Position::of(3),
            Position {
                bucket: 2,
                offset: 0
            }
        );
    }

    #[test]
    fn buckets_are_allocated_on_first_use_and_never_for_none() {
        let buckets = Buckets::<u32>::new();
        assert!(buckets.get(Position::of(5)).is_none());
        assert!(buckets.get(Position::NONE).is_none());
        assert_eq!(*buckets.get_or_insert(Position::of(5), || 7), 7);
        let indices: Vec<usize> = buckets.iter().map(|(index, _)| index).collect();
        assert_eq!(indices, [3, 4, 5, 6]);
    }

    #[test]
    fn padded_entries_are_aligned_and_dropped_once() {
        use std::cell::Cell;

        struct Counted<'a>(&'a Cell<usize>);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }

        let drops = Cell::new(0);
        let buckets = Buckets::<CachePadded<Counted<'_>>>::new();
        for index in 0..40 {
            let entry = buckets.get_or_insert(Position::of(index), || CachePadded(Counted(&drops)));
            assert_eq!(
                ptr::from_ref(entry).addr() % align_of::<CachePadded<u8>>(),
                0
            );
        }
        // Indices 0..40 fill buckets 0..=5: 1 + 2 + 4 + 8 + 16 + 32 entries.
        let entries = buckets.iter().count();
        assert_eq!(entries, 63);
        drop(buckets);
        assert_eq!(drops.get(), entries);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::Arc;
    use loom::thread;

    /// Two threads allocate the same bucket at once: one installs its own, the other frees
    /// its own and uses the installed one; both reach the same entry.
    #[test]
    fn racing_allocations_install_one_bucket() {
        loom::model(|| {
            let buckets = Arc::new(Buckets::<usize>::new());
            let other = thread::spawn({
                let buckets = Arc::clone(&buckets);
                move || ptr::from_ref(buckets.get_or_insert(Position::of(1), || 7)).addr()
            });
            let here = ptr::from_ref(buckets.get_or_insert(Position::of(1), || 7)).addr();
            assert_eq!(here, other.join().unwrap());
            assert_eq!(buckets.get(Position::of(1)).copied(), Some(7));
        });
    }
}
