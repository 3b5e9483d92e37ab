//! The values of one context or scope: a list with a node per local touched in it.
//!
//! A context costs what its values cost: an empty context is one pointer, and each local
//! touched in it adds one allocation holding the value, its state and a three-word header.
//! Lookups walk the list; the access paths keep, per thread and local, a cache of the last
//! node they found, keyed by the tag of the current entry into the context, so a walk
//! happens once per local and entry, and entering or leaving never depends on the number
//! of locals.
//!
//! Nodes are freed only when the list is dropped, so an `&Entry` found here stays valid for
//! as long as the list does, whatever else is inserted meanwhile.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::entry::Entry;
use crate::error::or_fail;

/// What a list needs to know about the values of one local, whatever their type.
///
/// # Safety
///
/// For every node it is given, the implementation must treat the node as a `Node<T>` of
/// the single type `T` that the local's key stands for.
pub(crate) unsafe trait Kind: Sync + 'static {
    /// Drops the node: its value, then its memory.
    ///
    /// # Safety
    ///
    /// - `node` is a node of this kind, unlinked from its list, and used by no one else.
    unsafe fn drop_node(&self, node: NonNull<Header>);

    /// Inserts into `into` a clone of the node's value, if the local is inheritable and
    /// the node holds a value.
    ///
    /// # Safety
    ///
    /// - `node` is a node of this kind in a list that outlives the call.
    unsafe fn inherit_node(&'static self, node: NonNull<Header>, into: &Values);
}

/// A node's header: the list's link, the local it belongs to, and how to handle it.
#[repr(C)]
pub(crate) struct Header {
    next: Option<NonNull<Header>>,
    key: usize,
    kind: &'static dyn Kind,
}

/// One local's value in a list; `header` first, so that a `NonNull<Header>` of it is a
/// `NonNull<Node<T>>`.
#[repr(C)]
pub(crate) struct Node<T> {
    header: Header,
    entry: Entry<T>,
}

/// The values of a context or scope.
pub(crate) struct Values {
    head: Cell<Option<NonNull<Header>>>,
}

impl Values {
    pub(crate) const fn new() -> Self {
        Values {
            head: Cell::new(None),
        }
    }

    fn nodes(&self) -> impl Iterator<Item = NonNull<Header>> + '_ {
        std::iter::successors(self.head.get(), |node| {
            // SAFETY: nodes in the list are alive until the list is dropped.
            unsafe { node.as_ref() }.next
        })
    }

    fn find_node(&self, key: usize) -> Option<NonNull<Header>> {
        // SAFETY: as in `nodes`.
        self.nodes()
            .find(|node| unsafe { node.as_ref() }.key == key)
    }

    /// The entry of the local `key`, if the list has a node for it.
    ///
    /// # Safety
    ///
    /// - `key` stands for one local, whose nodes all hold `T`.
    pub(crate) unsafe fn find<T>(&self, key: usize) -> Option<&Entry<T>> {
        let node = self.find_node(key)?;
        // SAFETY: the caller's duty: the node is a `Node<T>`; it lives as long as `self`.
        Some(unsafe { &node.cast::<Node<T>>().as_ref().entry })
    }

    /// The entry of the local `key`, with a new empty node for it if there is none.
    ///
    /// # Safety
    ///
    /// - `key` stands for one local, whose nodes all hold `T`;
    /// - `kind` handles nodes of `T`.
    pub(crate) unsafe fn find_or_insert<T>(
        &self,
        key: usize,
        kind: &'static dyn Kind,
    ) -> &Entry<T> {
        // SAFETY: the caller's duty.
        if let Some(entry) = unsafe { self.find(key) } {
            return entry;
        }
        let node = Box::new(Node {
            header: Header {
                next: self.head.get(),
                key,
                kind,
            },
            entry: Entry::new(),
        });
        let node = NonNull::from(Box::leak(node));
        self.head.set(Some(node.cast()));
        // SAFETY: just allocated; it lives as long as `self`.
        unsafe { &node.as_ref().entry }
    }

    /// Does the list hold a node for `key`?
    pub(crate) fn contains(&self, key: usize) -> bool {
        self.find_node(key).is_some()
    }

    /// Inserts into `into` clones of this list's values of inheritable locals.
    pub(crate) fn inherit_into(&self, into: &Values) {
        // Walked from the head as it is now: a `Clone` that touches another local inserts
        // before it, and nothing is freed.
        for node in self.nodes() {
            // SAFETY: the node is in this list, which outlives the call; its kind is the one
            // it was inserted with.
            unsafe {
                let kind = node.as_ref().kind;
                kind.inherit_node(node, into);
            }
        }
    }
}

impl Drop for Values {
    /// Drops every value; one that panics does not stop the others, and the first panic is
    /// resumed after the last value is dropped.
    fn drop(&mut self) {
        let mut panic = None;
        while let Some(node) = self.head.get() {
            // SAFETY: nodes in the list are alive; unlinked before it is dropped.
            let (next, kind) = unsafe { (node.as_ref().next, node.as_ref().kind) };
            self.head.set(next);
            // SAFETY: a node of `kind`, now unlinked and used by no one else.
            let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe { kind.drop_node(node) }));
            if let Err(payload) = result {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Values")
            .field("locals", &self.nodes().count())
            .finish()
    }
}

/// The nodes of a local with value type `T`, inheritable or not.
pub(crate) struct Plain<T>(PhantomData<fn() -> T>);

impl<T: 'static> Plain<T> {
    pub(crate) const KIND: &'static Plain<T> = &Plain(PhantomData);
}

// SAFETY: treats every node as a `Node<T>`.
unsafe impl<T: 'static> Kind for Plain<T> {
    unsafe fn drop_node(&self, node: NonNull<Header>) {
        // SAFETY: the caller's duty; nodes are boxed by `find_or_insert`.
        unsafe { drop_node::<T>(node) }
    }

    unsafe fn inherit_node(&'static self, _: NonNull<Header>, _: &Values) {}
}

/// The nodes of a local with value type `T` that `Context::inherit` clones.
pub(crate) struct Inherited<T>(PhantomData<fn() -> T>);

impl<T: Clone + 'static> Inherited<T> {
    pub(crate) const KIND: &'static Inherited<T> = &Inherited(PhantomData);
}

// SAFETY: treats every node as a `Node<T>`.
unsafe impl<T: Clone + 'static> Kind for Inherited<T> {
    unsafe fn drop_node(&self, node: NonNull<Header>) {
        // SAFETY: the caller's duty; nodes are boxed by `find_or_insert`.
        unsafe { drop_node::<T>(node) }
    }

    unsafe fn inherit_node(&'static self, node: NonNull<Header>, into: &Values) {
        // SAFETY: the caller's duty: a live `Node<T>`.
        unsafe { inherit_node::<T>(node, into, T::clone) }
    }
}

/// [`Kind::drop_node`] for nodes of `T`.
///
/// # Safety
///
/// As [`Kind::drop_node`], for a `Node<T>`.
pub(crate) unsafe fn drop_node<T>(node: NonNull<Header>) {
    // SAFETY: the caller's duty: a boxed `Node<T>` that no one else uses.
    drop(unsafe { Box::from_raw(node.cast::<Node<T>>().as_ptr()) });
}

/// [`Kind::inherit_node`] for nodes of `T`, cloning with `clone`.
///
/// # Safety
///
/// As [`Kind::inherit_node`], for a `Node<T>`.
pub(crate) unsafe fn inherit_node<T>(node: NonNull<Header>, into: &Values, clone: fn(&T) -> T) {
    // SAFETY: the caller's duty: a live `Node<T>` in a list that outlives the call.
    let (key, kind, entry) = unsafe {
        let node = node.cast::<Node<T>>().as_ref();
        (node.header.key, node.header.kind, &node.entry)
    };
    if into.contains(key) {
        return;
    }
    if !entry.is_present() {
        return;
    }
    // Mutably borrowed (`inherit` inside `with_mut`): a panic, not a silent fresh value.
    let value = or_fail::<T, _>(entry.read(clone));
    // SAFETY: the same key and kind as the node cloned, so the same `T`.
    let copy = unsafe { into.find_or_insert::<T>(key, kind) };
    // Empty: `into` had no node for `key`.
    let _ = copy.put(value);
}
