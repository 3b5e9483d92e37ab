//! Thread indices: the small number a thread's entries sit at in every instance's buckets.
//!
//! A thread takes one on its first touch of any `ThreadLocal` and gives it back at the end
//! of its exit, after every entry under it was emptied; indices are reused smallest-first,
//! so buckets stay as small as the number of threads alive at once. Only threads take
//! indices: contexts keep their values in their own lists.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::buckets::MAX_INDEX;
use crate::sync::{Mutex, lock};

struct Indices {
    /// Given back, smallest first.
    free: BinaryHeap<Reverse<usize>>,
    /// Never given out yet: this and above.
    next: usize,
}

static INDICES: Mutex<Indices> = Mutex::new(Indices {
    free: BinaryHeap::new(),
    next: 0,
});

impl Indices {
    fn allocate(&mut self) -> usize {
        if let Some(Reverse(index)) = self.free.pop() {
            return index;
        }
        let index = self.next;
        assert!(index < MAX_INDEX, "local: too many threads alive at once");
        self.next += 1;
        index
    }
}

/// A thread index no live thread holds.
pub(crate) fn allocate() -> usize {
    lock(&INDICES).allocate()
}

/// Gives `index` back.
///
/// Call only once no entry under `index` holds a value or a marker of its thread: the
/// next thread to take it starts with empty entries everywhere.
pub(crate) fn release(index: usize) {
    lock(&INDICES).free.push(Reverse(index));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_reused_smallest_first() {
        let mut indices = Indices {
            free: BinaryHeap::new(),
            next: 0,
        };
        let taken: Vec<usize> = (0..4).map(|_| indices.allocate()).collect();
        assert_eq!(taken, [0, 1, 2, 3]);
        indices.free.push(Reverse(3));
        indices.free.push(Reverse(1));
        assert_eq!(indices.allocate(), 1);
        assert_eq!(indices.allocate(), 3);
        assert_eq!(indices.allocate(), 4);
    }
}
