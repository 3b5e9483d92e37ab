//! The expansion function, fed malformed input, never panics.
//!
//! Each input is a pair of strings, the attribute's arguments and the item, lexed with
//! `proc_macro2` (strings that do not lex are skipped, identical token streams fed once) and
//! given to `crate::expand::thread_local_struct` inside `catch_unwind`. Every category
//! reports all the inputs that panicked, with the panic's message and location, and all the
//! outputs that broke a rule:
//! - a rejected input yields `compile_error!`, and the user's item comes back: unchanged if
//!   it is not a struct;
//! - an accepted input yields no `compile_error!`, the storage and the generated functions,
//!   and tokens that parse as Rust items, unless the user's own tokens are not Rust: the
//!   macro trusts rustc's parse of the item and keeps types and expressions as written, so
//!   an item that is not Rust (which rustc never hands to an attribute), an `#[init(..)]`
//!   that is not an expression, or an `init` path whose types are not types comes back
//!   as it was, for rustc to report at those tokens.
//!
//! The random inputs come from a fixed-seed generator, so every run feeds the same ones.

use std::collections::HashSet;

use proc_macro2::TokenStream;

use crate::expand::thread_local_struct;

mod expansion;
mod generate;
mod harness;
mod init;
mod items;
mod options;
mod oracle;
mod snapshot;
mod tokens;
mod variants;

use harness::{feed, run, shorten};
use init::init_attr_cases;
use items::{empty_cases, item_kind_cases, struct_cases};
use options::{args_cases, random_args_cases};
use oracle::{args_verdict, item_rejected};
use variants::{mutation_cases, random_item_cases, truncated_cases};

/// Inputs, as `(args, item)` exactly as a generator writes them, that panic the macro today.
/// They are reported, not failed on, until the macro is fixed; a listed input that stops
/// panicking fails the suite, so that it is removed from here.
pub(super) const KNOWN_PANICS: &[(&str, &str)] = &[];

/// A struct the macro accepts, with no `#[init]` and no field named like a generated function.
pub(super) const VALID: &str = "pub struct S { a: u32, b: String }";

/// What the output must be, for one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// Accepted: a full expansion, without `compile_error!`.
    Valid,
    /// Rejected: `compile_error!` in the output.
    Invalid,
    /// Either, as long as the macro does not panic and an accepted input expands to Rust.
    Any,
}

use Expect::{Any, Invalid};

pub(super) struct Case {
    pub(super) args: String,
    pub(super) item: String,
    pub(super) expect: Expect,
}

pub(super) fn case(args: impl Into<String>, item: impl Into<String>, expect: Expect) -> Case {
    Case {
        args: args.into(),
        item: item.into(),
        expect,
    }
}

#[test]
fn a_valid_struct_expands_to_its_storage_and_functions() {
    let output = thread_local_struct(TokenStream::new(), VALID.parse().expect("lexes")).to_string();
    assert!(output.contains("struct_storage"), "{output}");
    assert!(output.contains("fn with"), "{output}");
    assert!(output.contains("fn set_a"), "{output}");
    assert!(!output.contains("compile_error"), "{output}");
}

#[test]
fn an_enum_is_rejected_and_re_emitted() {
    let item: TokenStream = "enum E { A, B }".parse().expect("lexes");
    let output = thread_local_struct(TokenStream::new(), item.clone()).to_string();
    assert!(output.contains("compile_error"), "{output}");
    assert!(output.contains("enum E { A , B }"), "{output}");
    assert!(output.contains(&item.to_string()), "{output}");
}

#[test]
fn the_harness_reports_a_panic_and_a_wrong_output() {
    fn expansion(_: TokenStream, item: TokenStream) -> TokenStream {
        assert!(
            item.to_string() != "boom",
            "the expansion failed on purpose"
        );
        item
    }
    let report = feed(
        vec![
            case("", "boom", Any),
            case("", "not a struct", Invalid),
            case("", "( does not lex", Invalid),
            case("", "boom", Any),
        ],
        expansion,
    );
    assert_eq!((report.fed, report.skipped, report.duplicates), (2, 1, 1));
    assert_eq!(report.panics.len(), 1, "{}", report.failures());
    assert!(
        report.panics[0].contains("the expansion failed on purpose")
            && report.panics[0].contains("tests/mod.rs:"),
        "{}",
        report.panics[0]
    );
    assert_eq!(report.wrong.len(), 1, "{}", report.failures());
}

#[test]
fn the_oracle_agrees_with_the_labels() {
    for case in args_cases() {
        let Ok(args) = case.args.parse::<TokenStream>() else {
            continue;
        };
        let verdict = args_verdict(&args);
        if case.item == VALID && case.expect != Any && verdict != Any {
            assert_eq!(verdict, case.expect, "args `{}`", shorten(&case.args));
        }
    }
    assert!(!item_rejected(&VALID.parse().expect("lexes")));
}

#[test]
fn empty_input() {
    run("empty", empty_cases(), 10);
}

#[test]
fn truncated_structs() {
    run("truncated", truncated_cases(), 200);
}

#[test]
fn garbage_in_the_options() {
    run("options", args_cases(), 80);
}

#[test]
fn garbage_in_init() {
    run("#[init]", init_attr_cases(), 150);
}

#[test]
fn every_item_kind() {
    run("item kinds", item_kind_cases(), 50);
}

#[test]
fn unusual_structs() {
    run("structs", struct_cases(), 90);
}

#[test]
fn random_items() {
    run("random items", random_item_cases(), 300);
}

#[test]
fn random_options() {
    run("random options", random_args_cases(), 300);
}

#[test]
fn mutated_structs() {
    run("mutations", mutation_cases(), 250);
}

/// Every category together: the suite feeds several hundred distinct inputs.
#[test]
fn several_hundred_inputs() {
    let all = [
        empty_cases(),
        truncated_cases(),
        args_cases(),
        init_attr_cases(),
        item_kind_cases(),
        struct_cases(),
        random_item_cases(),
        random_args_cases(),
        mutation_cases(),
    ];
    let mut distinct = HashSet::new();
    for case in all.iter().flatten() {
        if let (Ok(args), Ok(item)) = (
            case.args.parse::<TokenStream>(),
            case.item.parse::<TokenStream>(),
        ) {
            distinct.insert((args.to_string(), item.to_string()));
        }
    }
    let count = distinct.len();
    println!("{count} distinct inputs in all");
    assert!(count >= 200, "only {count} distinct inputs");
    assert!(count >= 1500, "only {count} distinct inputs");
}
