//! The expansion triggers no lint in a strict user crate: this target denies rustc's
//! allow-by-default lints that such a crate turns on and clippy's pedantic and nursery
//! groups, and CI runs clippy over every target with `-D warnings`.
#![forbid(unsafe_code)]
#![deny(missing_docs, unused, missing_debug_implementations)]
#![deny(unused_lifetimes, unreachable_pub, unused_qualifications, deprecated)]
#![deny(rust_2018_idioms, single_use_lifetimes, trivial_casts, unused_results)]
#![deny(clippy::all, clippy::pedantic, clippy::nursery)]

use local::thread_local_struct;

/// A per-thread session, with every kind of field name the accessors must handle.
#[thread_local_struct]
#[derive(Debug, Clone)]
pub struct Session {
    /// The current value.
    #[init(1000)]
    pub value: u32,
    /// A raw identifier: its setter is `set_type`.
    pub r#type: String,
    /// A leading underscore: its setter is `set__tracker`.
    _tracker: u8,
    /// Named like a crate.
    pub core: u8,
    /// Private: its accessors are private too.
    hits: u64,
}

/// Built by a function instead of field initializers.
#[thread_local_struct(init = Counter::start, inherit)]
#[derive(Debug, Clone)]
pub struct Counter(pub u64);

impl Counter {
    const fn start() -> Self {
        Self(1)
    }
}

/// A value private to the module, used only through one function.
#[thread_local_struct(per_thread)]
#[derive(Debug)]
struct Buffer {
    bytes: Vec<u8>,
}

/// Deprecated: the code generated for it must not warn.
#[thread_local_struct(inherit)]
#[deprecated(note = "use `Session`")]
#[derive(Debug, Clone)]
pub struct Legacy {
    /// Deprecated too: its accessors carry the deprecation to their callers.
    #[deprecated(note = "gone soon")]
    pub old: u32,
    /// Compiled out.
    #[cfg(any())]
    pub absent: u32,
    /// Initialized under `cfg_attr`.
    #[cfg_attr(all(), init(3))]
    pub present: u32,
}

/// Packed: getters copy.
#[thread_local_struct]
#[repr(C, packed)]
#[derive(Debug)]
pub struct Packed {
    /// A byte.
    pub small: u8,
    /// Four bytes, unaligned.
    pub wide: u32,
}

#[test]
#[allow(deprecated)]
fn strict_crate_uses_the_deprecated_and_packed_structs() {
    assert_eq!(Legacy::present(), 3);
    assert_eq!(Legacy::old(), 0);
    Packed::set_wide(4);
    assert_eq!(Packed::wide() + u32::from(Packed::small()), 4);
    assert_eq!(Legacy::sync_scope(Legacy::get(), Legacy::present), 3);
}

#[test]
fn strict_crate_uses_the_generated_functions() {
    Session::with_mut(|s| s.hits += 1);
    Session::set_type("t".to_owned());
    Session::set__tracker(1);
    assert_eq!(Session::value(), 1000);
    assert_eq!(Session::get().hits, 1);
    assert_eq!(Counter::get().0, 1);
    Buffer::with_mut(|b| b.bytes.push(1));
}
