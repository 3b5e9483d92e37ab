//! The expansion triggers no lint in a strict user crate: this target denies rustc's and
//! clippy's pedantic lints, and CI runs clippy over every target with `-D warnings`.
#![forbid(unsafe_code)]
#![deny(missing_docs, unused, missing_debug_implementations)]
#![deny(clippy::all, clippy::pedantic)]

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
    fn start() -> Self {
        Counter(1)
    }
}

/// A value private to the module, used only through one function.
#[thread_local_struct(per_thread)]
#[derive(Debug)]
struct Buffer {
    bytes: Vec<u8>,
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
