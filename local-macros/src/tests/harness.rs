//! Feeding inputs to the expansion: panics caught with their message and location, and
//! the rules every output follows.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proc_macro2::{TokenStream, TokenTree};
use syn::Token;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

use super::{Case, Expect, KNOWN_PANICS};
use crate::expand::thread_local_struct;
use Expect::{Invalid, Valid};

thread_local! {
    /// Set while this thread runs the expansion: its panics are recorded, not printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The last recorded panic: message and location.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic hook that records the message and `file:line:col` of panics on threads that are
/// catching, and leaves every other panic (a failing assertion) to the previous hook.
pub(super) fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let location = info
                    .location()
                    .map_or_else(|| "an unknown location".to_owned(), ToString::to_string);
                let message = payload_message(info.payload());
                CAUGHT.with(|caught| {
                    *caught.borrow_mut() = Some(format!("panicked at {location}: {message}"));
                });
            } else {
                previous(info);
            }
        }));
    });
}

pub(super) fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

pub(super) type Expansion = fn(TokenStream, TokenStream) -> TokenStream;

/// Runs `expand`, turning a panic into its message and location.
pub(super) fn expand_catching(
    expand: Expansion,
    args: TokenStream,
    item: TokenStream,
) -> Result<TokenStream, String> {
    install_hook();
    CATCHING.with(|catching| catching.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| expand(args, item)));
    CATCHING.with(|catching| catching.set(false));
    result.map_err(|payload| {
        CAUGHT
            .with(|caught| caught.borrow_mut().take())
            .unwrap_or_else(|| format!("panicked: {}", payload_message(&*payload)))
    })
}

#[derive(Default)]
pub(super) struct Report {
    /// Inputs given to the expansion.
    pub(super) fed: usize,
    /// Inputs that did not lex.
    pub(super) skipped: usize,
    /// Inputs whose tokens were already fed.
    pub(super) duplicates: usize,
    /// Inputs expanded without `compile_error!`.
    pub(super) accepted: usize,
    /// Inputs that panicked, described.
    pub(super) panics: Vec<String>,
    /// Listed in [`KNOWN_PANICS`], and panicked.
    pub(super) known_panics: usize,
    /// Listed in [`KNOWN_PANICS`], and did not panic.
    pub(super) fixed: Vec<String>,
    /// Outputs that broke a rule, described.
    pub(super) wrong: Vec<String>,
}

impl Report {
    pub(super) fn failures(&self) -> String {
        let mut text = String::new();
        for (title, list) in [
            ("panicked", &self.panics),
            ("wrong output", &self.wrong),
            (
                "listed in KNOWN_PANICS but no longer panic: remove them",
                &self.fixed,
            ),
        ] {
            if !list.is_empty() {
                text.push_str(&format!("\n{} input(s) {title}:\n", list.len()));
                for entry in list {
                    text.push_str(&format!("  - {entry}\n"));
                }
            }
        }
        text
    }
}

/// Feeds every case to `expand`, collecting what went wrong.
pub(super) fn feed(cases: Vec<Case>, expand: Expansion) -> Report {
    let mut report = Report::default();
    let mut seen = HashSet::new();
    for case in cases {
        let (Ok(args), Ok(item)) = (
            case.args.parse::<TokenStream>(),
            case.item.parse::<TokenStream>(),
        ) else {
            report.skipped += 1;
            continue;
        };
        if !seen.insert((args.to_string(), item.to_string())) {
            report.duplicates += 1;
            continue;
        }
        report.fed += 1;
        let known = KNOWN_PANICS.contains(&(case.args.as_str(), case.item.as_str()));
        match expand_catching(expand, args.clone(), item.clone()) {
            Err(panic) if known => {
                report.known_panics += 1;
                eprintln!("known panic, still to fix: {} -> {panic}", describe(&case));
            }
            Err(panic) => report
                .panics
                .push(format!("{} -> {panic}", describe(&case))),
            Ok(output) => {
                if !output.to_string().contains("compile_error") {
                    report.accepted += 1;
                }
                if known {
                    report.fixed.push(describe(&case));
                }
                if let Err(why) = check(case.expect, &args, &item, output) {
                    report.wrong.push(format!("{} -> {why}", describe(&case)));
                }
            }
        }
    }
    report
}

/// Feeds a category to the macro, fails on any panic or wrong output, and returns the
/// number of inputs fed, which must be at least `minimum`.
pub(super) fn run(category: &str, cases: Vec<Case>, minimum: usize) -> usize {
    let report = feed(cases, thread_local_struct);
    println!(
        "{category}: {} inputs fed, {} accepted ({} did not lex, {} duplicates skipped, \
         {} known panics)",
        report.fed, report.accepted, report.skipped, report.duplicates, report.known_panics
    );
    let failures = report.failures();
    assert!(failures.is_empty(), "{category}:{failures}");
    assert!(
        report.fed >= minimum,
        "{category}: only {} inputs fed, expected at least {minimum}",
        report.fed
    );
    report.fed
}

/// The input, short enough to read in a failure list.
pub(super) fn describe(case: &Case) -> String {
    format!(
        "args `{}`, item `{}` (expected {:?})",
        shorten(&case.args),
        shorten(&case.item),
        case.expect
    )
}

pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 240;
    let text = text.escape_debug().to_string();
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}… ({} chars)", &text[..end], text.chars().count()),
        None => text,
    }
}

/// The rules an output follows, whatever the input: `compile_error!` with the user's item,
/// or an expansion that parses.
pub(super) fn check(
    expect: Expect,
    args: &TokenStream,
    item: &TokenStream,
    output: TokenStream,
) -> Result<(), String> {
    let text = output.to_string();
    let rejected = text.contains("compile_error");
    match (expect, rejected) {
        (Valid, true) => return Err(format!("rejected: {}", shorten(&text))),
        (Invalid, false) => return Err(format!("accepted: {}", shorten(&text))),
        _ => {}
    }
    if !rejected {
        if !text.contains("struct_storage") || !text.contains("fn with") {
            return Err(format!("no storage or no `with`: {}", shorten(&text)));
        }
        match syn::parse2::<syn::File>(output) {
            Err(error) if !rustc_rejects(args, item) => {
                return Err(format!(
                    "accepted, but the expansion is not Rust ({error}): {}",
                    shorten(&text)
                ));
            }
            _ => {}
        }
        return Ok(());
    }
    // Rejected: the user's item is still there; a struct by its name, since its helper
    // attributes are taken off.
    let mut trees = item.clone().into_iter();
    let keyword =
        trees.position(|tree| matches!(&tree, TokenTree::Ident(ident) if ident == "struct"));
    let back = match keyword.and_then(|_| trees.next()) {
        Some(name) => text.contains(&format!("struct {name}")),
        None => text.contains(&item.to_string()),
    };
    if !back {
        return Err(format!("the item is not re-emitted: {}", shorten(&text)));
    }
    Ok(())
}

/// Tokens that rustc rejects before the attribute runs, or where the expansion writes them
/// back, at the user's tokens: the macro trusts rustc's parse and keeps types and
/// expressions as written. An item that is not Rust (rustc parses the item before any
/// attribute sees it), an `#[init(..)]` that is not an expression, or options that are not
/// attribute arguments (an `init` path whose types are not types).
fn rustc_rejects(args: &TokenStream, item: &TokenStream) -> bool {
    let options = |input: syn::parse::ParseStream| {
        Punctuated::<syn::Meta, Token![,]>::parse_terminated(input)
    };
    if options.parse2(args.clone()).is_err() {
        return true;
    }
    let Ok(item) = syn::parse2::<syn::Item>(item.clone()) else {
        return true;
    };
    let syn::Item::Struct(item) = item else {
        return false;
    };
    item.fields
        .iter()
        .flat_map(|field| &field.attrs)
        .any(|attr| {
            attr.path().is_ident("init")
                && matches!(&attr.meta, syn::Meta::List(list)
                if syn::parse2::<syn::Expr>(list.tokens.clone()).is_err())
        })
}
