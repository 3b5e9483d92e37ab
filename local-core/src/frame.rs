//! The values of one frame (a `Context`, or a `fresh` call's values): a list with a node per local
//! touched in it, and the per-thread caches the fast paths keep of where a local's value
//! is in the frame the thread runs.
//!
//! A frame costs what it holds: one pointer, then one allocation per local touched (a
//! `u64` local: 56 bytes, with its key, its link and how to inherit it). Nodes are appended
//! and never removed until the frame drops, so an `&Entry` found here stays valid, in
//! place, for as long as the frame does, whatever is appended meanwhile: the list is a
//! chain of `OnceCell`s, which give exactly that without `unsafe`.
//!
//! A node knows its value's type as a trait object, so a lookup checks the type too:
//! keys are unique (an instance's is never reused; an attribute struct's is its storage's
//! address), and the check makes a mistake a panic rather than a wrong value.

use std::any::Any;
use std::cell::{Cell, OnceCell};
use std::fmt;
use std::ptr::NonNull;

use crate::entry::Entry;
use crate::error::or_fail;

/// One local's value in a frame.
struct Node<V: ?Sized> {
    key: usize,
    next: OnceCell<Box<Node<dyn Held>>>,
    held: V,
}

/// A value in a frame, with how `Context::inherit` clones it (if the local is inheritable).
struct Value<T> {
    entry: Entry<T>,
    clone: Option<fn(&T) -> T>,
}

/// A [`Value`] whatever its type.
trait Held {
    fn as_any(&self) -> &dyn Any;

    /// Inserts into `into` a clone of the value under `key`, if the local is inheritable,
    /// the value is there, and `into` has none yet.
    fn inherit(&self, key: usize, into: &Values);
}

impl<T: 'static> Held for Value<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn inherit(&self, key: usize, into: &Values) {
        if let Some(clone) = self.clone {
            into.inherit(key, clone, &self.entry);
        }
    }
}

/// The values of a frame.
pub(crate) struct Values {
    head: OnceCell<Box<Node<dyn Held>>>,
}

impl Values {
    pub(crate) const fn new() -> Self {
        Values {
            head: OnceCell::new(),
        }
    }

    fn nodes(&self) -> impl Iterator<Item = &Node<dyn Held>> {
        std::iter::successors(self.head.get(), |node| node.next.get()).map(|node| &**node)
    }

    /// The entry of the local `key`, if the frame has one.
    pub(crate) fn find<T: 'static>(&self, key: usize) -> Option<&Entry<T>> {
        Some(Self::entry(self.nodes().find(|node| node.key == key)?))
    }

    /// The entry of the local `key`, with a new empty one if the frame has none; `clone`
    /// is how `Context::inherit` copies it.
    pub(crate) fn find_or_insert<T: 'static>(
        &self,
        key: usize,
        clone: Option<fn(&T) -> T>,
    ) -> &Entry<T> {
        // The place to append at: the first empty link, unless a node has the key.
        let mut end = &self.head;
        while let Some(node) = end.get() {
            if node.key == key {
                return Self::entry(node);
            }
            end = &node.next;
        }
        let node = Box::new(Node {
            key,
            next: OnceCell::new(),
            held: Value {
                entry: Entry::new(),
                clone,
            },
        });
        // Nothing ran since the walk: `end` is still empty, and takes the node.
        let _ = end.set(node);
        Self::entry(end.get().expect("just appended"))
    }

    /// A node's entry, as the type its key stands for.
    fn entry<T: 'static>(node: &Node<dyn Held>) -> &Entry<T> {
        let value = node.held.as_any().downcast_ref::<Value<T>>();
        &value.expect("a local's key stands for one type").entry
    }

    /// Inserts into `into` clones of this frame's values of inheritable locals.
    pub(crate) fn inherit_into(&self, into: &Values) {
        // A `Clone` that touches another local appends to this list as it is walked: the
        // new node is walked too, and nothing is removed.
        for node in self.nodes() {
            node.held.inherit(node.key, into);
        }
    }

    /// The one way a value is inherited: a clone of `from`'s value, if it has one, as the
    /// local `key`'s value here, unless this frame has one already.
    pub(crate) fn inherit<T: 'static>(&self, key: usize, clone: fn(&T) -> T, from: &Entry<T>) {
        if !from.has_value() || self.find::<T>(key).is_some() {
            return;
        }
        // Mutably borrowed (`Context::inherit` inside `with_mut`): a panic, not a silent
        // fresh value.
        let value = or_fail::<T, _>(from.read(clone));
        self.insert(key, Some(clone), value);
    }

    /// Makes `value` the local `key`'s value here, in a new node.
    pub(crate) fn insert<T: 'static>(&self, key: usize, clone: Option<fn(&T) -> T>, value: T) {
        let entry = self.find_or_insert(key, clone);
        // A node made just now, empty: nothing refuses.
        let _ = entry.swap(&mut Some(value));
    }
}

impl Drop for Values {
    /// Drops every value, the last touched first, as std drops a thread's locals; one that
    /// panics does not stop the others, and the first panic is resumed after the last.
    #[inline]
    fn drop(&mut self) {
        // Most frames hold one value, or none: nothing to reorder or to carry on past.
        if self.head.get().is_none_or(|node| node.next.get().is_none()) {
            return;
        }
        self.drop_many();
    }
}

impl Values {
    #[cold]
    fn drop_many(&mut self) {
        // The list turned around in place, then taken apart from its new head: no node is
        // dropped with the rest of the list behind it, so nothing recurses.
        let mut reversed: Option<Box<Node<dyn Held>>> = None;
        let mut next = self.head.take();
        while let Some(mut node) = next {
            next = node.next.take();
            if let Some(after) = reversed {
                let _ = node.next.set(after);
            }
            reversed = Some(node);
        }
        crate::error::drop_each(std::iter::from_fn(|| {
            let mut node = reversed.take()?;
            reversed = node.next.take();
            Some(node)
        }));
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Values")
            .field("locals", &self.nodes().count())
            .finish()
    }
}

/// Where a thread last found one local's value in a frame: the tag of the entry into the
/// frame, and the entry.
pub(crate) struct Cache<T> {
    tag: Cell<u64>,
    /// Dangling until the first `set`; never read before, since no entry into a frame has
    /// the tag `0`.
    entry: Cell<NonNull<Entry<T>>>,
}

impl<T> Cache<T> {
    pub(crate) const fn new() -> Self {
        Cache {
            tag: Cell::new(0),
            entry: Cell::new(NonNull::dangling()),
        }
    }

    /// The entry cached for the entry into a frame named `tag`, which is current.
    #[inline(always)]
    pub(crate) fn get(&self, tag: u64) -> Option<&Entry<T>> {
        if self.tag.get() != tag {
            return None;
        }
        // SAFETY: set by `set` with an entry of the frame entered under `tag`, which the
        // caller read as current. Tags are unique in the process, and a frame's entries
        // stay in place until the frame drops, which it cannot while it is current.
        Some(unsafe { self.entry.get().as_ref() })
    }

    /// Caches `entry`, of the frame entered under `tag`.
    pub(crate) fn set(&self, tag: u64, entry: &Entry<T>) {
        self.tag.set(tag);
        self.entry.set(NonNull::from(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_in_place_as_nodes_are_appended() {
        let values = Values::new();
        let first: *const Entry<u8> = values.find_or_insert::<u8>(1, None);
        for key in 2..100 {
            values.insert::<u64>(key, None, 0);
        }
        assert!(std::ptr::eq(values.find::<u8>(1).unwrap(), first));
        assert_eq!(values.nodes().count(), 99);
        assert!(values.find::<u64>(100).is_none());
    }

    #[test]
    #[should_panic = "a local's key stands for one type"]
    fn a_key_found_with_another_type_panics() {
        let values = Values::new();
        values.insert::<u8>(1, None, 0);
        values.find::<u16>(1);
    }

    #[test]
    fn inherit_copies_only_inheritable_values() {
        let parent = Values::new();
        parent.insert::<String>(1, Some(String::clone), "kept".into());
        parent.insert::<String>(3, None, "not inheritable".into());
        let child = Values::new();
        parent.inherit_into(&child);
        assert_eq!(
            child.find::<String>(1).unwrap().read(String::clone),
            Ok("kept".into())
        );
        assert!(child.find::<String>(3).is_none());
    }
}
