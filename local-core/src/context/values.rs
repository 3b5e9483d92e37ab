//! The values of one context or scope: the first local touched in it in the frame itself,
//! when its entry is small, then a list with a node per local.
//!
//! A context costs what its values cost: 64 bytes, a small value (a `u64`, a `String`)
//! included; each further local adds one allocation holding the value, its state and a
//! three-word header. Lookups check the inline entry, then walk the list; the access paths
//! keep, per thread and local, a cache of the entry they found, keyed by the tag of the
//! current entry into the frame, so a lookup happens once per local and entry, and entering
//! or leaving never depends on the number of locals.
//!
//! Entries are freed only when the frame is dropped, so an `&Entry` found here stays valid
//! for as long as the frame does and does not move (a frame is borrowed while it runs),
//! whatever else is inserted meanwhile.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::marker::PhantomData;
use std::mem::{MaybeUninit, align_of, size_of};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::entry::Entry;
use crate::error::or_fail;

/// What a frame needs to know about the values of one local, whatever their type.
///
/// # Safety
///
/// For every node or entry it is given, the implementation must treat it as holding the
/// single type `T` that the local's key stands for.
pub(crate) unsafe trait Kind: Sync + 'static {
    /// Drops a list node: its value, then its memory.
    ///
    /// # Safety
    ///
    /// - `node` is a node of this kind, unlinked from its list, and used by no one else.
    unsafe fn drop_node(&self, node: NonNull<Header>);

    /// Drops, in place, the entry in a frame's inline room.
    ///
    /// # Safety
    ///
    /// - `entry` is an entry of this kind, initialized, and used by no one else.
    unsafe fn drop_inline(&self, entry: NonNull<InlineRoom>);

    /// Inserts into `into` a clone of `from`'s value under `key`, if the local is
    /// inheritable and `from` holds one.
    ///
    /// # Safety
    ///
    /// - `key` is this kind's local's key, so `from` holds it as this kind's type.
    unsafe fn inherit(&'static self, from: &Values, key: usize, into: &Values);
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

/// Room for one entry inside the frame, for small values.
pub(crate) type InlineRoom = [usize; 4];

/// The values of a context or scope.
pub(crate) struct Values {
    head: Cell<Option<NonNull<Header>>>,
    /// The local whose entry is in `inline`, or `0` (no key is `0`).
    inline_key: Cell<usize>,
    inline_kind: Cell<Option<&'static dyn Kind>>,
    /// The inline entry's value type has drop glue: most small ones do not.
    inline_needs_drop: Cell<bool>,
    inline: UnsafeCell<MaybeUninit<InlineRoom>>,
}

/// Does an entry of `T` fit in a frame's inline room?
const fn fits_inline<T>() -> bool {
    size_of::<Entry<T>>() <= size_of::<InlineRoom>()
        && align_of::<Entry<T>>() <= align_of::<InlineRoom>()
}

impl Values {
    pub(crate) const fn new() -> Self {
        Values {
            head: Cell::new(None),
            inline_key: Cell::new(0),
            inline_kind: Cell::new(None),
            inline_needs_drop: Cell::new(false),
            inline: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The inline room, as an entry of `T` (only ever used as one that fits).
    fn inline_entry<T>(&self) -> NonNull<Entry<T>> {
        NonNull::new(self.inline.get())
            .expect("a cell's contents are never null")
            .cast()
    }

    fn nodes(&self) -> impl Iterator<Item = NonNull<Header>> + '_ {
        std::iter::successors(self.head.get(), |node| {
            // SAFETY: nodes in the list are alive until the list is dropped.
            unsafe { node.as_ref() }.next
        })
    }

    #[inline]
    fn find_node(&self, key: usize) -> Option<NonNull<Header>> {
        // SAFETY: as in `nodes`.
        self.nodes()
            .find(|node| unsafe { node.as_ref() }.key == key)
    }

    /// The entry of the local `key`, if the frame has one.
    ///
    /// # Safety
    ///
    /// - `key` stands for one local, whose entries all hold `T`.
    pub(crate) unsafe fn find<T>(&self, key: usize) -> Option<&Entry<T>> {
        if self.inline_key.get() == key {
            // SAFETY: the room holds an initialized entry of the local `key`, of `T` by the
            // caller's duty; it lives, in place, as long as `self` is not moved or dropped,
            // which `&self` ensures for the returned lifetime.
            return Some(unsafe { self.inline_entry::<T>().as_ref() });
        }
        let node = self.find_node(key)?;
        // SAFETY: the caller's duty: the node is a `Node<T>`; it lives as long as `self`.
        Some(unsafe { &node.cast::<Node<T>>().as_ref().entry })
    }

    /// The entry of the local `key`, with a new empty one for it if there is none: in the
    /// inline room if it is free and the entry fits, in a new node otherwise.
    ///
    /// # Safety
    ///
    /// - `key` stands for one local, whose entries all hold `T`;
    /// - `kind` handles entries of `T`.
    pub(crate) unsafe fn find_or_insert<T>(
        &self,
        key: usize,
        kind: &'static dyn Kind,
    ) -> &Entry<T> {
        debug_assert_ne!(key, 0, "no local has the key 0");
        // SAFETY: the caller's duty.
        if let Some(entry) = unsafe { self.find(key) } {
            return entry;
        }
        if fits_inline::<T>() && self.inline_key.get() == 0 {
            let entry = self.inline_entry::<T>();
            // SAFETY: the room is free, and an `Entry<T>` fits in its size and alignment.
            unsafe { entry.as_ptr().write(Entry::new()) };
            self.inline_key.set(key);
            self.inline_kind.set(Some(kind));
            self.inline_needs_drop
                .set(std::mem::needs_drop::<Entry<T>>());
            // SAFETY: just initialized; in place while `self` is borrowed.
            return unsafe { entry.as_ref() };
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

    /// Does the frame hold an entry for `key`?
    pub(crate) fn contains(&self, key: usize) -> bool {
        self.inline_key.get() == key || self.find_node(key).is_some()
    }

    /// Inserts into `into` clones of this frame's values of inheritable locals.
    pub(crate) fn inherit_into(&self, into: &Values) {
        if let Some(kind) = self.inline_kind.get() {
            // SAFETY: the inline entry's own key and kind.
            unsafe { kind.inherit(self, self.inline_key.get(), into) };
        }
        // Walked from the head as it is now: a `Clone` that touches another local inserts
        // before it, and nothing is freed.
        for node in self.nodes() {
            // SAFETY: the node is in this list, which outlives the call; its key and kind
            // are the ones it was inserted with.
            unsafe {
                let header = node.as_ref();
                header.kind.inherit(self, header.key, into);
            }
        }
    }
}

impl Drop for Values {
    /// Drops every value; one that panics does not stop the others, and the first panic is
    /// resumed after the last value is dropped.
    #[inline]
    fn drop(&mut self) {
        // Most frames end holding one small value without drop glue, or none.
        if self.head.get().is_none() && !self.inline_needs_drop.get() {
            return;
        }
        self.drop_values();
    }
}

impl Values {
    #[cold]
    fn drop_values(&mut self) {
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
        if let (Some(kind), Some(entry)) =
            (self.inline_kind.take(), NonNull::new(self.inline.get()))
            && self.inline_needs_drop.get()
        {
            self.inline_key.set(0);
            // SAFETY: the inline entry, of `kind`, initialized; no one else uses it now.
            let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                kind.drop_inline(entry.cast())
            }));
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
        let inline = usize::from(self.inline_key.get() != 0);
        f.debug_struct("Values")
            .field("locals", &(inline + self.nodes().count()))
            .finish()
    }
}

/// The nodes of a local with value type `T`, inheritable or not.
pub(crate) struct Plain<T>(PhantomData<fn() -> T>);

impl<T: 'static> Plain<T> {
    pub(crate) const KIND: &'static Plain<T> = &Plain(PhantomData);
}

// SAFETY: treats every node and entry as holding `T`.
unsafe impl<T: 'static> Kind for Plain<T> {
    unsafe fn drop_node(&self, node: NonNull<Header>) {
        // SAFETY: the caller's duty; nodes are boxed by `find_or_insert`.
        unsafe { drop_node::<T>(node) }
    }

    unsafe fn drop_inline(&self, entry: NonNull<InlineRoom>) {
        // SAFETY: the caller's duty.
        unsafe { drop_inline::<T>(entry) }
    }

    unsafe fn inherit(&'static self, _: &Values, _: usize, _: &Values) {}
}

/// The nodes of a local with value type `T` that `Context::inherit` clones.
pub(crate) struct Inherited<T>(PhantomData<fn() -> T>);

impl<T: Clone + 'static> Inherited<T> {
    pub(crate) const KIND: &'static Inherited<T> = &Inherited(PhantomData);
}

// SAFETY: treats every node and entry as holding `T`.
unsafe impl<T: Clone + 'static> Kind for Inherited<T> {
    unsafe fn drop_node(&self, node: NonNull<Header>) {
        // SAFETY: the caller's duty; nodes are boxed by `find_or_insert`.
        unsafe { drop_node::<T>(node) }
    }

    unsafe fn drop_inline(&self, entry: NonNull<InlineRoom>) {
        // SAFETY: the caller's duty.
        unsafe { drop_inline::<T>(entry) }
    }

    unsafe fn inherit(&'static self, from: &Values, key: usize, into: &Values) {
        // SAFETY: the caller's duty.
        unsafe { inherit::<T>(from, key, self, into, T::clone) }
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

/// [`Kind::drop_inline`] for entries of `T`.
///
/// # Safety
///
/// As [`Kind::drop_inline`], for an `Entry<T>`.
pub(crate) unsafe fn drop_inline<T>(entry: NonNull<InlineRoom>) {
    // SAFETY: the caller's duty: an initialized `Entry<T>` that no one else uses.
    unsafe { entry.cast::<Entry<T>>().drop_in_place() };
}

/// [`Kind::inherit`] for entries of `T`, cloning with `clone`.
///
/// # Safety
///
/// As [`Kind::inherit`]: `key` stands for a local whose entries hold `T`, handled by
/// `kind`.
pub(crate) unsafe fn inherit<T>(
    from: &Values,
    key: usize,
    kind: &'static dyn Kind,
    into: &Values,
    clone: fn(&T) -> T,
) {
    if into.contains(key) {
        return;
    }
    // SAFETY: the caller's duty.
    let Some(entry) = (unsafe { from.find::<T>(key) }) else {
        return;
    };
    if !entry.is_present() {
        return;
    }
    // Mutably borrowed (`inherit` inside `with_mut`): a panic, not a silent fresh value.
    let value = or_fail::<T, _>(entry.read(clone));
    // SAFETY: the same key and kind, so the same `T`.
    let copy = unsafe { into.find_or_insert::<T>(key, kind) };
    // Empty: `into` had no entry for `key`.
    let _ = copy.put(value);
}
