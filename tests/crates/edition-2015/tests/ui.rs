//! The attribute's errors in an edition-2015 crate: each is its message at the user's tokens,
//! as in any other edition. Written with the user's spans, a `compile_error!` reached
//! through `::core` would name a module `core` at this crate's root and report
//! "cannot find `core`" instead.

extern crate trybuild;

/// The cases under `tests/ui/`, built in this crate's edition; `.stderr` reviewed as the
/// main ui suite's are.
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
