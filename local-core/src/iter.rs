use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;

use crate::table::{Cursor, Table};

/// The iterator of [`ThreadLocal::iter_mut`](crate::ThreadLocal::iter_mut): every value the instance holds for threads.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{IterMut, ThreadLocal};
///
/// let mut hits: ThreadLocal<u32> = ThreadLocal::new();
/// hits.set(3);
/// let values: IterMut<'_, u32> = hits.iter_mut();
/// assert_eq!(values.map(|n| *n).sum::<u32>(), 3);
/// ```
pub struct IterMut<'a, T> {
    table: Option<&'a Table<T>>,
    cursor: Cursor,
    _values: PhantomData<&'a mut T>,
}

impl<'a, T> IterMut<'a, T> {
    /// Borrows `table` for `'a`: called with the `&'a mut ThreadLocal` that owns it, after
    /// `Table::start_iter`.
    pub(crate) fn new(table: Option<&'a Table<T>>) -> Self {
        IterMut {
            table,
            cursor: Cursor::START,
            _values: PhantomData,
        }
    }
}

impl<'a, T> Iterator for IterMut<'a, T> {
    type Item = &'a mut T;

    fn next(&mut self) -> Option<&'a mut T> {
        // SAFETY: `new` is given the table of a `&'a mut ThreadLocal`, held for `'a`, the
        // lifetime of every reference returned, after `start_iter`; only an access to the
        // instance, which ends `'a`, ends the iteration. The cursor only moves forward.
        let (value, next) = unsafe { self.table?.next_mut(self.cursor) }?;
        self.cursor = next;
        Some(value)
    }
}

impl<T> FusedIterator for IterMut<'_, T> {}

impl<T> fmt::Debug for IterMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterMut")
            .field("at", &self.cursor)
            .finish_non_exhaustive()
    }
}

/// The iterator of [`ThreadLocal`](crate::ThreadLocal)'s `into_iter`: every value it held for threads, live
/// threads' and retained ones, in unspecified order.
///
/// # Examples
///
/// ```
/// # use local_core as local;
/// use local::{IntoIter, ThreadLocal};
///
/// let totals = ThreadLocal::<u32>::new();
/// totals.set(4);
/// let values: IntoIter<u32> = totals.into_iter();
/// assert_eq!(values.collect::<Vec<_>>(), [4]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    values: std::vec::IntoIter<T>,
}

impl<T> IntoIter<T> {
    /// Over `values`, taken out of an instance.
    pub(crate) fn new(values: Vec<T>) -> Self {
        IntoIter {
            values: values.into_iter(),
        }
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.values.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}
impl<T> FusedIterator for IntoIter<T> {}
