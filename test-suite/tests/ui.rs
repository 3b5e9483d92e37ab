//! Compile-time behaviour of `#[thread_local_struct]`: every misuse listed in DESIGN §1 is
//! rejected with one error at the user's tokens (`tests/ui/`), and inputs that could break a
//! careless expansion still compile and run (`tests/pass/`).

/// Runs every case through rustc and compares its diagnostics with the case's `.stderr`.
///
/// The `.stderr` files are reviewed by a person, as a user would read the message; they are
/// regenerated only on purpose, when a message was improved, with
/// `TRYBUILD=overwrite cargo test --test ui`, and the diff is reviewed again.
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
