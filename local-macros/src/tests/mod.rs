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
//!   and tokens that parse as Rust items.
//!
//! The random inputs come from a fixed-seed generator, so every run feeds the same ones.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proc_macro2::{Group, TokenStream, TokenTree};

use crate::expand::thread_local_struct;

/// Inputs, as `(args, item)` exactly as a generator writes them, that panic the macro today.
/// They are reported, not failed on, until the macro is fixed; a listed input that stops
/// panicking fails the suite, so that it is removed from here.
const KNOWN_PANICS: &[(&str, &str)] = &[];

/// A struct the macro accepts, with no `#[init]` and no field named like a generated function.
const VALID: &str = "pub struct S { a: u32, b: String }";

/// What the output must be, for one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Accepted: a full expansion, without `compile_error!`.
    Valid,
    /// Rejected: `compile_error!` in the output.
    Invalid,
    /// Either, as long as the macro does not panic and an accepted input expands to Rust.
    Any,
}

use Expect::{Any, Invalid, Valid};

struct Case {
    args: String,
    item: String,
    expect: Expect,
}

fn case(args: impl Into<String>, item: impl Into<String>, expect: Expect) -> Case {
    Case {
        args: args.into(),
        item: item.into(),
        expect,
    }
}

// ---------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------

thread_local! {
    /// Set while this thread runs the expansion: its panics are recorded, not printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The last recorded panic: message and location.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic hook that records the message and `file:line:col` of panics on threads that are
/// catching, and leaves every other panic (a failing assertion) to the previous hook.
fn install_hook() {
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

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

type Expansion = fn(TokenStream, TokenStream) -> TokenStream;

/// Runs `expand`, turning a panic into its message and location.
fn expand_catching(
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
struct Report {
    /// Inputs given to the expansion.
    fed: usize,
    /// Inputs that did not lex.
    skipped: usize,
    /// Inputs whose tokens were already fed.
    duplicates: usize,
    /// Inputs expanded without `compile_error!`.
    accepted: usize,
    /// Inputs that panicked, described.
    panics: Vec<String>,
    /// Listed in [`KNOWN_PANICS`], and panicked.
    known_panics: usize,
    /// Listed in [`KNOWN_PANICS`], and did not panic.
    fixed: Vec<String>,
    /// Outputs that broke a rule, described.
    wrong: Vec<String>,
}

impl Report {
    fn failures(&self) -> String {
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
fn feed(cases: Vec<Case>, expand: Expansion) -> Report {
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
        match expand_catching(expand, args, item.clone()) {
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
                if let Err(why) = check(case.expect, &item, output) {
                    report.wrong.push(format!("{} -> {why}", describe(&case)));
                }
            }
        }
    }
    report
}

/// Feeds a category to the macro, fails on any panic or wrong output, and returns the
/// number of inputs fed, which must be at least `minimum`.
fn run(category: &str, cases: Vec<Case>, minimum: usize) -> usize {
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
fn describe(case: &Case) -> String {
    format!(
        "args `{}`, item `{}` (expected {:?})",
        shorten(&case.args),
        shorten(&case.item),
        case.expect
    )
}

fn shorten(text: &str) -> String {
    const MAX: usize = 240;
    let text = text.escape_debug().to_string();
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}… ({} chars)", &text[..end], text.chars().count()),
        None => text,
    }
}

/// The rules an output follows, whatever the input.
fn check(expect: Expect, item: &TokenStream, output: TokenStream) -> Result<(), String> {
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
        if let Err(error) = syn::parse2::<syn::File>(output)
            && !has_underscore_field(item)
        {
            return Err(format!(
                "accepted, but the expansion is not Rust ({error}): {}",
                shorten(&text)
            ));
        }
        return Ok(());
    }
    // Rejected: the user's item is still there.
    match syn::parse2::<syn::ItemStruct>(item.clone()) {
        Ok(item) => {
            let name = format!("struct {}", item.ident);
            if !text.contains(&name) {
                return Err(format!("the struct is not re-emitted: {}", shorten(&text)));
            }
        }
        Err(_) => {
            if !text.contains(&item.to_string()) {
                return Err(format!("the item is not re-emitted: {}", shorten(&text)));
            }
        }
    }
    Ok(())
}

/// A field named `_`: syn parses it (unnamed fields), rustc refuses it before any attribute
/// runs ("expected identifier, found reserved identifier `_`", rustc 1.95), so the macro never
/// sees one from source. It accepts one, and generates `fn _()`, which is not Rust: that is
/// the one output allowed not to parse.
fn has_underscore_field(item: &TokenStream) -> bool {
    syn::parse2::<syn::ItemStruct>(item.clone()).is_ok_and(|item| {
        item.fields
            .iter()
            .any(|field| field.ident.as_ref().is_some_and(|ident| ident == "_"))
    })
}

// ---------------------------------------------------------------------------------------
// What an input is expected to give, for generated inputs
// ---------------------------------------------------------------------------------------

fn is_punct(tree: &TokenTree, ch: char) -> bool {
    matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ch)
}

/// The options' grammar, written again: `init = path`, `inherit`, `per_thread`, separated by
/// commas, a trailing one allowed, none twice, not `inherit` with `per_thread`. `Any` when a
/// `<` could hide a comma inside generic arguments.
fn args_verdict(args: &TokenStream) -> Expect {
    let trees: Vec<TokenTree> = args.clone().into_iter().collect();
    if trees.is_empty() {
        return Valid;
    }
    if trees.iter().any(|tree| is_punct(tree, '<')) {
        return Any;
    }
    let mut segments: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tree in trees {
        if is_punct(&tree, ',') {
            segments.push(Vec::new());
        } else if let Some(last) = segments.last_mut() {
            last.push(tree);
        }
    }
    if segments.len() > 1 && segments.last().is_some_and(Vec::is_empty) {
        segments.pop();
    }
    let mut seen = HashSet::new();
    for segment in &segments {
        let Some(TokenTree::Ident(name)) = segment.first() else {
            return Invalid;
        };
        let name = name.to_string();
        let well_formed = match name.as_str() {
            "inherit" | "per_thread" => segment.len() == 1,
            "init" => {
                segment.len() >= 3
                    && is_punct(&segment[1], '=')
                    && syn::parse2::<syn::Path>(segment[2..].iter().cloned().collect()).is_ok()
            }
            _ => false,
        };
        if !well_formed || !seen.insert(name) {
            return Invalid;
        }
    }
    if seen.contains("inherit") && seen.contains("per_thread") {
        Invalid
    } else {
        Valid
    }
}

/// An item that is certainly rejected: not a struct, or a struct with generics, a `where`
/// clause, no fields or a field default value.
fn item_rejected(item: &TokenStream) -> bool {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(item)) => {
            !item.generics.params.is_empty()
                || item.generics.where_clause.is_some()
                || item.fields.is_empty()
                || item.fields.iter().any(|field| field.default.is_some())
        }
        _ => true,
    }
}

/// For an input no one has looked at: `Invalid` when the args or the item are certainly
/// rejected, `Any` otherwise.
fn oracle(args: &str, item: &str) -> Expect {
    let (Ok(args), Ok(item)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>()) else {
        return Any; // skipped anyway
    };
    if args_verdict(&args) == Invalid || item_rejected(&item) {
        Invalid
    } else {
        Any
    }
}

fn oracle_case(args: impl Into<String>, item: impl Into<String>) -> Case {
    let (args, item) = (args.into(), item.into());
    let expect = oracle(&args, &item);
    case(args, item, expect)
}

// ---------------------------------------------------------------------------------------
// A small deterministic generator
// ---------------------------------------------------------------------------------------

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`; `n` > 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const IDENTS: &[&str] = &[
    "struct",
    "pub",
    "init",
    "inherit",
    "per_thread",
    "enum",
    "fn",
    "impl",
    "where",
    "crate",
    "self",
    "Self",
    "super",
    "r#type",
    "r#struct",
    "a",
    "b",
    "S",
    "u32",
    "String",
    "get",
    "with",
    "set_a",
    "derive",
    "Default",
    "thread_local_struct",
    "_",
    "été",
    "union",
    "let",
    "return",
    "mod",
    "type",
    "const",
    "static",
    "use",
    "extern",
    "unsafe",
    "in",
    "for",
    "as",
    "dyn",
    "async",
    "cfg",
    "doc",
    "Vec",
];
const PUNCTS: &[&str] = &[
    "#", "#", "=", "=", ",", ",", "::", "<", ">", ":", ";", "!", "&", "-", ".", "..", "=>", "->",
    "|", "||", "?", "@", "$", "*", "+", "/", "'", "~", "^", "%",
];
const LITERALS: &[&str] = &[
    "0",
    "1u8",
    "1.5",
    "1e10",
    "0xff",
    "\"s\"",
    "'c'",
    "b'x'",
    "b\"bytes\"",
    "r\"raw\"",
    "r#\"raw\"#",
    "c\"cstr\"",
    "\"\"",
    "'\\n'",
    "5usize",
];
const LIFETIMES: &[&str] = &["'a", "'static", "'_"];
const DELIMITERS: &[(&str, &str)] = &[("(", ")"), ("[", "]"), ("{", "}")];
const MAX_DEPTH: usize = 4;

/// Random token trees as source text, nested at most [`MAX_DEPTH`] deep.
fn random_tokens(rng: &mut Rng, depth: usize) -> String {
    let len = if depth == 0 {
        1 + rng.below(14)
    } else {
        rng.below(7)
    };
    let mut out = String::new();
    for _ in 0..len {
        let piece = match rng.below(13) {
            0..=3 => (*rng.pick(IDENTS)).to_owned(),
            4..=7 => (*rng.pick(PUNCTS)).to_owned(),
            8 => (*rng.pick(LITERALS)).to_owned(),
            9 => (*rng.pick(LIFETIMES)).to_owned(),
            _ if depth < MAX_DEPTH => {
                let (open, close) = *rng.pick(DELIMITERS);
                format!("{open}{}{close}", random_tokens(rng, depth + 1))
            }
            _ => (*rng.pick(IDENTS)).to_owned(),
        };
        // Mostly spaced; sometimes glued, for joint punctuation and suffixes.
        if !out.is_empty() && rng.below(5) != 0 {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    out
}

/// Deletes, duplicates or swaps one token tree, at the top level or inside a group.
fn mutate(tokens: TokenStream, rng: &mut Rng) -> TokenStream {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    let groups: Vec<usize> = (0..trees.len())
        .filter(|&index| matches!(trees[index], TokenTree::Group(_)))
        .collect();
    if !groups.is_empty() && rng.below(2) == 0 {
        let index = *rng.pick(&groups);
        if let TokenTree::Group(group) = &trees[index] {
            let mut inner = Group::new(group.delimiter(), mutate(group.stream(), rng));
            inner.set_span(group.span());
            trees[index] = TokenTree::Group(inner);
        }
    } else if !trees.is_empty() {
        let index = rng.below(trees.len());
        match rng.below(3) {
            0 => {
                trees.remove(index);
            }
            1 => {
                let copy = trees[index].clone();
                trees.insert(index, copy);
            }
            _ => {
                let other = rng.below(trees.len());
                trees.swap(index, other);
            }
        }
    }
    trees.into_iter().collect()
}

/// The number of token trees in `stream`, groups counted once and their contents too.
fn token_count(stream: &TokenStream) -> usize {
    stream
        .clone()
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => 1 + token_count(&group.stream()),
            _ => 1,
        })
        .sum()
}

/// The first `*left` token trees of `stream` in reading order (a group counted by its
/// opening delimiter), with the groups the cut falls in closed.
fn cut(stream: TokenStream, left: &mut usize) -> TokenStream {
    let mut kept = Vec::new();
    for tree in stream {
        if *left == 0 {
            break;
        }
        *left -= 1;
        kept.push(match tree {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), cut(group.stream(), left));
                inner.set_span(group.span());
                TokenTree::Group(inner)
            }
            other => other,
        });
    }
    kept.into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// The inputs
// ---------------------------------------------------------------------------------------

fn empty_cases() -> Vec<Case> {
    vec![
        case("", "", Invalid),
        case("inherit", "", Invalid),
        case("init = S::new", "", Invalid),
        case("init =", "", Invalid),
        case("", VALID, Valid),
        case("", "/// only a doc comment", Invalid),
        case("", "#[init(1)]", Invalid),
        case("", "#[derive(Debug)]", Invalid),
        case("", ";", Invalid),
        case("", "{}", Invalid),
        case("", "()", Invalid),
        case("", "pub", Invalid),
        case("", "struct", Invalid),
    ]
}

/// Valid inputs, each the whole of what the truncations cut.
fn valid_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "",
            r#"#[derive(Debug, Clone)]
            pub struct Session {
                #[init(1000)]
                value: u32,
                #[init(format!("{:?}", std::thread::current().id()))]
                owner: String,          // evaluated on the thread that touches it first
                hits: u64,              // no #[init]: Default::default()
            }"#,
        ),
        ("init = Session::new", "pub struct Session { value: u32 }"),
        ("", "pub(crate) struct Counter(#[init(7)] pub u64, String);"),
        (
            "inherit",
            r#"/// Docs.
            #[cfg_attr(test, derive(Debug))]
            pub(in crate::a) struct r#Raw {
                pub r#type: Vec<Option<&'static str>>,
                #[init(|| 1)] f: fn() -> u8,
            }"#,
        ),
        (
            "per_thread",
            "struct Unicode { été: [u8; 4], #[init({ let v = vec![1, 2]; v })] v: Vec<i32>, }",
        ),
    ]
}

fn truncated_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (args, source) in valid_sources() {
        let full: TokenStream = source.parse().expect("a valid source lexes");
        let full_text = full.to_string();
        let expect = |item: &str| match item.parse::<TokenStream>() {
            Ok(tokens) if tokens.to_string() == full_text => Valid,
            _ => Invalid,
        };
        // Every prefix of the source text (those that do not lex are skipped).
        for (end, _) in source.char_indices().chain([(source.len(), ' ')]) {
            let prefix = &source[..end];
            cases.push(case(args, prefix, expect(prefix)));
        }
        // Every prefix of the top-level token trees.
        let trees: Vec<TokenTree> = full.clone().into_iter().collect();
        for end in 0..=trees.len() {
            let prefix: TokenStream = trees[..end].iter().cloned().collect();
            let prefix = prefix.to_string();
            let expect = expect(&prefix);
            cases.push(case(args, prefix, expect));
        }
        // Cut after every token in reading order, inside groups too, closing the groups
        // the cut falls in: truncated attributes, generics, fields and initializers.
        for end in 0..=token_count(&full) {
            let item = cut(full.clone(), &mut { end }).to_string();
            let expect = match expect(&item) {
                Valid => Valid,
                _ => oracle(args, &item),
            };
            cases.push(case(args, item, expect));
        }
    }
    // Prefixes of valid options.
    let options = "init = crate::S::new, inherit,";
    for (end, _) in options.char_indices().chain([(options.len(), ' ')]) {
        cases.push(oracle_case(&options[..end], VALID));
    }
    cases
}

fn args_cases() -> Vec<Case> {
    let nested = format!("{}inherit{}", "(".repeat(64), ")".repeat(64));
    let mut labelled: Vec<(String, Expect)> = [
        // Accepted.
        ("", Valid),
        ("inherit", Valid),
        ("per_thread", Valid),
        ("inherit,", Valid),
        ("init = S::new", Valid),
        ("init=S::new", Valid),
        ("init = crate::S::new", Valid),
        ("init = ::s::S::new", Valid),
        ("init = Self::new", Valid),
        ("init = S::<u8>::new", Valid),
        ("init = S::r#new", Valid),
        ("init = été::новый", Valid),
        ("init = S::new, inherit", Valid),
        ("init = S::new, per_thread,", Valid),
        ("per_thread, init = S::new", Valid),
        // Paths the macro may take, leaving the type check to the compiler.
        ("init = self", Any),
        ("init = crate", Any),
        ("init = Fn() -> S", Any),
        ("r#inherit", Any),
        // Rejected.
        ("init", Invalid),
        ("init =", Invalid),
        ("init = 5", Invalid),
        ("init = ||", Invalid),
        ("init = || S::default()", Invalid),
        ("init = a::b::", Invalid),
        ("init = S::new()", Invalid),
        ("init = \"S::new\"", Invalid),
        ("init = &S::new", Invalid),
        ("init = <S as Default>::default", Invalid),
        ("init = _", Invalid),
        ("init = 'a", Invalid),
        ("init = 1.0", Invalid),
        ("init = S::new as fn() -> S", Invalid),
        ("init = S::new S::new", Invalid),
        ("init == S::new", Invalid),
        ("init => S::new", Invalid),
        ("init: S::new", Invalid),
        ("init(S::new)", Invalid),
        ("init[S::new]", Invalid),
        ("init S::new", Invalid),
        ("init = S::new; inherit", Invalid),
        ("init = S::new,, inherit", Invalid),
        ("init = a, init = b", Invalid),
        ("INIT = S::new", Invalid),
        ("inherit = 1", Invalid),
        ("inherit = true", Invalid),
        ("inherit(x)", Invalid),
        ("inherit;", Invalid),
        ("inherit, inherit", Invalid),
        ("inherit, per_thread", Invalid),
        ("per_thread, inherit,", Invalid),
        ("per_thread(x)", Invalid),
        ("per_thread = \"yes\"", Invalid),
        ("per_thread, per_thread", Invalid),
        ("per_thread::x", Invalid),
        ("self::inherit", Invalid),
        ("::inherit", Invalid),
        ("Inherit", Invalid),
        (",", Invalid),
        (",,", Invalid),
        (", inherit", Invalid),
        ("inherit,,", Invalid),
        ("::", Invalid),
        ("#", Invalid),
        ("#[inherit]", Invalid),
        ("\"str\"", Invalid),
        ("'a", Invalid),
        ("1", Invalid),
        ("-1", Invalid),
        ("=", Invalid),
        ("= S::new", Invalid),
        ("(inherit)", Invalid),
        ("[inherit]", Invalid),
        ("{inherit}", Invalid),
        ("inherit (per_thread [init {}])", Invalid),
        ("été", Invalid),
        ("inherit, 東京", Invalid),
        ("struct", Invalid),
        ("_", Invalid),
        ("$crate", Invalid),
        ("init = S::new /* a comment */ ,, ", Invalid),
    ]
    .into_iter()
    .map(|(args, expect)| (args.to_owned(), expect))
    .collect();
    labelled.extend([
        (nested, Invalid),
        (
            format!("init = S::new, {}", "(".repeat(32) + &")".repeat(32)),
            Invalid,
        ),
        ("inherit, ".repeat(500), Invalid),
        (format!("init = {}new", "a::".repeat(2000)), Valid),
        (format!("init = {}", "x".repeat(10_000)), Valid),
        ("x".repeat(10_000), Invalid),
        (
            format!("init = S::new, {}", "inherit ".repeat(1000)),
            Invalid,
        ),
    ]);
    let mut cases: Vec<Case> = labelled
        .into_iter()
        .map(|(args, expect)| case(args, VALID, expect))
        .collect();
    // Options that are fine alone, wrong with this struct.
    cases.extend([
        case("init = S::new", "struct S { #[init(1)] a: u32 }", Invalid),
        case("init = S::new", "struct S(#[init(1)] u32);", Invalid),
        case("inherit, per_thread", "struct S { a: u32 }", Invalid),
        case("init = S::new", "enum S { A }", Invalid),
        case("bogus", "enum S { A }", Invalid),
    ]);
    cases
}

fn init_attr_cases() -> Vec<Case> {
    let deep = |depth: usize| format!("#[init({}1{})]", "(".repeat(depth), ")".repeat(depth));
    let mut labelled: Vec<(String, Expect)> = [
        // Rejected.
        ("#[init]", Invalid),
        ("#[init()]", Invalid),
        ("#[init( )]", Invalid),
        ("#[init = 1]", Invalid),
        ("#[init = \"1\"]", Invalid),
        ("#[init(,)]", Invalid),
        ("#[init(1,)]", Invalid),
        ("#[init(1, 2)]", Invalid),
        ("#[init(1 2)]", Invalid),
        ("#[init(1;)]", Invalid),
        ("#[init(1)] #[init(2)]", Invalid),
        ("#[init(1)] #[init(1)]", Invalid),
        ("#[init(1)] #[init]", Invalid),
        ("#[init] #[init(1)]", Invalid),
        ("#[init()] #[init()]", Invalid),
        ("#[init(1)] #[doc = \"x\"] #[init(2)]", Invalid),
        ("#[init(struct)]", Invalid),
        ("#[init(fn)]", Invalid),
        ("#[init(=)]", Invalid),
        ("#[init(#)]", Invalid),
        ("#[init(::)]", Invalid),
        ("#[init(a::b::)]", Invalid),
        ("#[init(1) + 1]", Invalid),
        ("#[init(1),]", Invalid),
        ("#[init(1)] #", Invalid),
        ("#![init(1)]", Invalid),
        ("#[init(1)] pub(crate", Invalid),
        ("#[init(#[init(1)])]", Invalid),
        // Accepted: an expression, the compiler checks its type.
        ("#[init(1)]", Valid),
        ("#[init((((1))))]", Valid),
        ("#[init(return)]", Valid),
        ("#[init(break)]", Valid),
        ("#[init(loop {})]", Valid),
        ("#[init(|| 1)]", Valid),
        ("#[init({ 1 })]", Valid),
        ("#[init(unsafe { 1 })]", Valid),
        ("#[init('a: { 1 })]", Valid),
        ("#[init(async {})]", Valid),
        ("#[init(x)]", Valid),
        ("#[init(S::with(|s| s.b))]", Valid),
        ("#[init(Self::default().b)]", Valid),
        ("#[init(format!(\"{}\", 1))]", Valid),
        ("#[init(1 + 2 * 3)]", Valid),
        ("#[init([0; 4])]", Valid),
        ("#[init((1,))]", Valid),
        ("#[init(-1)]", Valid),
        ("#[init(!0)]", Valid),
        ("#[init(if true { 1 } else { 2 })]", Valid),
        ("#[init(match 1 { _ => 1 })]", Valid),
        ("#[init(\"1\")]", Valid),
        ("#[init(1)] #[cfg(test)]", Valid),
        ("#[cfg(test)] #[init(1)]", Valid),
        ("#[doc = \"x\"] #[init(1)]", Valid),
        ("/// doc\n#[init(1)]", Valid),
        // Brackets or braces are not `#[init(expr)]`.
        ("#[init[1]]", Invalid),
        ("#[init{1}]", Invalid),
        // Not `#[init]` to this macro; the compiler's to report.
        ("#[init(let x = 1)]", Any),
        ("#[init::x(1)]", Any),
        ("#[self::init(1)]", Any),
        ("#[r#init(1)]", Any),
        ("#[Init(1)]", Any),
    ]
    .into_iter()
    .map(|(attr, expect)| (attr.to_owned(), expect))
    .collect();
    labelled.extend([(deep(32), Valid), (deep(8), Valid)]);
    let mut cases: Vec<Case> = labelled
        .iter()
        .map(|(attr, expect)| case("", format!("struct S {{ {attr} a: u32, b: u8 }}"), *expect))
        .collect();
    // On the second field, and on a tuple struct's field.
    cases.extend(labelled.iter().map(|(attr, expect)| {
        case(
            "",
            format!("pub struct S {{ a: u32, {attr} pub b: u8, }}"),
            *expect,
        )
    }));
    cases.extend(
        labelled
            .iter()
            .map(|(attr, expect)| case("", format!("struct S({attr} u32, u8);"), *expect)),
    );
    cases.extend([
        case("", "struct S { #[init(1)] a: u32 = 1 }", Invalid),
        case("", "#[init(1)] struct S { a: u32 }", Any),
        case("", "struct S { #[init(1)] }", Invalid),
        case("", "struct S { #[init(1)] , a: u32 }", Invalid),
        case("", "enum E { #[init(1)] A }", Invalid),
    ]);
    cases
}

fn item_kind_cases() -> Vec<Case> {
    [
        "enum E { A, B(u32), C { x: u8 } }",
        "pub enum E {}",
        "union U { a: u32, b: f32 }",
        "fn f() {}",
        "pub async fn f() -> u32 { 1 }",
        "unsafe extern \"C\" fn f() {}",
        "trait T {}",
        "pub unsafe trait T: Send { fn f(&self); }",
        "trait A = B + C;",
        "auto trait A {}",
        "impl S {}",
        "impl<T> Tr for S<T> where T: Copy {}",
        "unsafe impl Send for S {}",
        "mod m;",
        "mod m { struct S { a: u32 } }",
        "type T = u8;",
        "type T<'a> where Self: 'a = &'a u8;",
        "static S: u8 = 0;",
        "static mut S: u8 = 0;",
        "const C: u8 = 0;",
        "const _: () = ();",
        "use a::b;",
        "pub use a::{b, c as d, *};",
        "extern crate alloc;",
        "extern crate std as other;",
        "macro_rules! m { () => {} }",
        "m! { struct S { a: u32 } }",
        "m!(struct S { a: u32 });",
        "extern \"C\" { fn f(); }",
        "unsafe extern \"C\" { safe fn f(); }",
        "extern { static X: u8; }",
        "struct A { a: u32 } struct B { b: u32 }",
        "struct S { a: u32 };",
        "struct S { a: u32 } fn f() {}",
        "#[derive(Debug)] enum E { A }",
        "/// Docs.\nenum E { A }",
        "impl Trait for .. {}",
        "let x = 1;",
        "1 + 1",
        "S { a: 1 }",
        "struct S { a: u32 } extra",
        "pub(crate)",
        "#[thread_local_struct]",
        "struct S = u32;",
        "structure S { a: u32 }",
        "Struct S { a: u32 }",
        "struct 1 { a: u32 }",
        "struct S { a }",
        "struct S { a: }",
        "struct S { : u32 }",
        "struct S { a: u32 b: u32 }",
        "struct S { a: u32,, }",
        "struct S [a: u32]",
        "struct S (a: u32);",
        "struct S(u32)",
        "struct S(u32) {}",
        "struct S { a: u32 } = 1",
        "pub pub struct S { a: u32 }",
        "struct S { self: u32 }",
        "struct S { a: u32, a: u32 = }",
    ]
    .into_iter()
    .map(|item| oracle_checked(item, Invalid))
    .collect()
}

/// A hand-labelled case whose label the oracle does not contradict.
fn oracle_checked(item: &str, expect: Expect) -> Case {
    let verdict = oracle("", item);
    assert!(
        verdict == Any || verdict == expect,
        "the oracle says {verdict:?} for `{item}`, labelled {expect:?}"
    );
    case("", item, expect)
}

fn struct_cases() -> Vec<Case> {
    let many_fields: String = (0..300).map(|index| format!("f{index}: u32, ")).collect();
    let mut cases = vec![
        // Generics and `where` clauses.
        case("", "struct S<T> { a: T }", Invalid),
        case("", "struct S<'a> { a: &'a u8 }", Invalid),
        case("", "struct S<const N: usize> { a: [u8; N] }", Invalid),
        case("", "struct S<T = u8> { a: T }", Invalid),
        case("", "struct S<T: Default, U> { a: T, b: U }", Invalid),
        case("", "struct S<T>(T);", Invalid),
        case("", "struct S<T> where T: Copy { a: T }", Invalid),
        case("", "struct S where u8: Copy { a: u8 }", Invalid),
        case("", "struct S(u8) where u8: Copy;", Invalid),
        case("", "struct S where { a: u8 }", Invalid),
        case(
            "inherit",
            "struct S<'a, T: 'a> where T: Clone { a: &'a T }",
            Invalid,
        ),
        // No fields.
        case("", "struct S;", Invalid),
        case("", "pub struct S;", Invalid),
        case("", "struct S {}", Invalid),
        case("", "struct S();", Invalid),
        case("init = S::new", "struct S {}", Invalid),
        case("", "#[cfg(test)] struct S {}", Invalid),
        // Tuple structs.
        case("", "struct S(u32);", Valid),
        case("", "pub struct S(pub u32, pub(crate) String);", Valid),
        case("init = S::new", "struct S(u32);", Valid),
        // Fields named like generated functions.
        case("", "struct S { get: u32 }", Invalid),
        case("", "struct S { with: u32 }", Invalid),
        case("", "struct S { with_mut: u32 }", Invalid),
        case("", "struct S { try_with: u32 }", Invalid),
        case("", "struct S { try_with_mut: u32 }", Invalid),
        case("", "struct S { set: u32 }", Invalid),
        case("", "struct S { replace: u32 }", Invalid),
        case("", "struct S { take: u32 }", Invalid),
        case("", "struct S { is_initialized: bool }", Invalid),
        case("", "struct S { default: u32 }", Invalid),
        case("", "struct S { r#get: u32 }", Invalid),
        case("", "struct S { x: u32, set_x: u32 }", Invalid),
        case("", "struct S { set_x: u32, x: u32 }", Invalid),
        case("", "struct S { x: u32, r#set_x: u32 }", Invalid),
        case("", "struct S { r#type: u32, set_type: u32 }", Invalid),
        case(
            "",
            "struct S { a: u32, get: u32, with: u32, set_a: u8 }",
            Invalid,
        ),
        case("", "struct S { set_x: u32 }", Valid),
        case("", "struct S { getter: u32, with_: u32, sett: u8 }", Valid),
        // Raw identifiers and unusual names.
        case("", "struct S { r#type: u32 }", Valid),
        case("", "struct S { r#struct: u32, r#fn: u8 }", Valid),
        case("", "struct r#S { a: u32 }", Valid),
        case("", "struct S { _tracker: u32, __x: u8 }", Valid),
        case("", "struct S { été: u32, 東京: u8 }", Valid),
        case("", "struct Été { a: u32 }", Valid),
        case("", "struct S { _: u32 }", Any),
        case("", "struct S { _: struct { a: u32 } }", Any),
        // `Default`, derived or not.
        case("", "#[derive(Default)] struct S { a: u32 }", Invalid),
        case(
            "",
            "#[derive(Debug, Default, Clone)] struct S { a: u32 }",
            Invalid,
        ),
        case(
            "",
            "#[derive(core::default::Default)] struct S { a: u32 }",
            Invalid,
        ),
        case(
            "",
            "#[derive(Debug)] #[derive(Default)] struct S { a: u32 }",
            Invalid,
        ),
        case("", "#[derive(Default)] struct S(u32);", Invalid),
        case(
            "",
            "#[derive(Debug, Clone, PartialEq)] struct S { a: u32 }",
            Valid,
        ),
        case("", "#[derive(DefaultLike)] struct S { a: u32 }", Valid),
        case("", "#[derive] struct S { a: u32 }", Any),
        case("", "#[derive = \"Default\"] struct S { a: u32 }", Any),
        case("", "#[derive(Default = 1)] struct S { a: u32 }", Any),
        case("", "#[derive(,,)] struct S { a: u32 }", Any),
        case("", "#[derive(1)] struct S { a: u32 }", Any),
        case("", "#[derive(::)] struct S { a: u32 }", Any),
        case("", "#[derive(Debug Clone)] struct S { a: u32 }", Any),
        // The attribute twice.
        case("", "#[thread_local_struct] struct S { a: u32 }", Invalid),
        case(
            "",
            "#[local::thread_local_struct(inherit)] struct S { a: u32 }",
            Invalid,
        ),
        // Doc comments, `cfg`, other attributes.
        case(
            "",
            "/// Docs.\n/** More. */ struct S { /// A field.\n a: u32 }",
            Valid,
        ),
        case(
            "",
            "#[doc = \"x\"] struct S { #[doc = \"y\"] a: u32 }",
            Valid,
        ),
        case("", "#[cfg(test)] struct S { a: u32 }", Valid),
        case("", "struct S { #[cfg(test)] a: u32, b: u8 }", Valid),
        case(
            "",
            "#[cfg_attr(test, derive(Debug))] struct S { a: u32 }",
            Valid,
        ),
        case("", "#[repr(C)] #[must_use] struct S { a: u32 }", Valid),
        case(
            "",
            "#[allow(dead_code)] struct S { #[allow(unused)] a: u32 }",
            Valid,
        ),
        case(
            "",
            "#[cfg_attr(test, derive(Default))] struct S { a: u32 }",
            Any,
        ),
        // Visibility.
        case("", "pub struct S { pub a: u32 }", Valid),
        case("", "pub(crate) struct S { pub(crate) a: u32 }", Valid),
        case("", "pub(super) struct S { pub(super) a: u32 }", Valid),
        case("", "pub(self) struct S { pub(self) a: u32 }", Valid),
        case(
            "",
            "pub(in crate::a) struct S { pub(in crate::a) a: u32 }",
            Valid,
        ),
        case("", "pub(in a::b) struct S { a: u32 }", Any),
        case("", "pub(crate) struct S(pub(crate) u32);", Valid),
        case("", "crate struct S { a: u32 }", Invalid),
        // Field default values.
        case("", "struct S { x: u32 = 5 }", Invalid),
        case("", "struct S { a: u32, x: u32 = 5, }", Invalid),
        case("", "struct S { #[init(1)] x: u32 = 5 }", Invalid),
        case("", "struct S { x: u32 = }", Invalid),
        case("", "struct S { x: u32 = 5 5 }", Invalid),
        case("", "struct S(u32 = 5);", Invalid),
        case("init = S::new", "struct S { x: u32 = 5 }", Invalid),
        // Field types.
        case(
            "",
            "struct S { a: Vec<Option<(u8, &'static str)>>, b: fn(u8) -> u8 }",
            Valid,
        ),
        case(
            "",
            "struct S { a: [u8; 3], b: (), c: *const u8, d: Box<dyn Fn()> }",
            Valid,
        ),
        case(
            "",
            "struct S { a: std::rc::Rc<std::cell::Cell<u8>> }",
            Valid,
        ),
        case("", "struct S { a: impl Sized }", Any),
        case("", "struct S { a: Self }", Valid),
        case("", "struct S<> { a: u32 }", Valid),
        case("", "struct S { a: _ }", Any),
        case("", "struct S { a: ! }", Valid),
        case("", "struct S { a: m!() }", Valid),
        case("", "struct S { a: <u8 as Tr>::Assoc }", Valid),
        case("", "struct S { a: for<'a> fn(&'a u8) }", Valid),
        // Many fields, many errors.
        case("", format!("struct S {{ {many_fields} }}"), Valid),
        case(
            "bogus",
            "#[derive(Default)] struct S<T> where T: Copy { get: T, x: u32 = 1, #[init] y: u8 }",
            Invalid,
        ),
    ];
    for (vis, name) in [("", "a"), ("pub ", "b"), ("pub(crate) ", "c")] {
        cases.push(case(
            "",
            format!("{vis}struct S {{ {vis}{name}: u32, {vis}set_{name}: u8 }}"),
            Invalid,
        ));
    }
    cases
}

fn random_item_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0001);
    let mut cases = Vec::new();
    for _ in 0..250 {
        cases.push(oracle_case("", random_tokens(&mut rng, 0)));
    }
    for _ in 0..150 {
        let body = random_tokens(&mut rng, 1);
        cases.push(oracle_case("", format!("struct S {{ {body} }}")));
    }
    for _ in 0..80 {
        let attr = random_tokens(&mut rng, 1);
        cases.push(oracle_case(
            "",
            format!("struct S {{ #[init({attr})] a: u32 }}"),
        ));
    }
    for _ in 0..80 {
        let attr = random_tokens(&mut rng, 1);
        cases.push(oracle_case("", format!("#[{attr}] struct S {{ a: u32 }}")));
    }
    for _ in 0..80 {
        let prefix = random_tokens(&mut rng, 2);
        cases.push(oracle_case("", format!("{prefix} struct S {{ a: u32 }}")));
    }
    cases
}

fn random_args_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0002);
    let mut cases = Vec::new();
    let mut push = |args: String| {
        let expect = args
            .parse::<TokenStream>()
            .map_or(Any, |args| args_verdict(&args));
        cases.push(case(args, VALID, expect));
    };
    for _ in 0..250 {
        push(random_tokens(&mut rng, 0));
    }
    for _ in 0..100 {
        push(format!("init = {}", random_tokens(&mut rng, 1)));
    }
    for _ in 0..60 {
        let option = *rng.pick(&["inherit", "per_thread", "init = S::new"]);
        push(format!("{option}, {}", random_tokens(&mut rng, 1)));
    }
    // Random args and a random item together.
    for _ in 0..60 {
        let args = random_tokens(&mut rng, 0);
        cases.push(oracle_case(args, random_tokens(&mut rng, 0)));
    }
    cases
}

fn mutation_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0003);
    let mut sources = valid_sources();
    sources.extend([
        ("init = S::new, inherit", VALID),
        (
            "",
            "#[derive(Clone)] pub(crate) struct S { #[init(vec![1, 2])] pub a: Vec<u8>, b: u8 }",
        ),
    ]);
    let sources: Vec<(TokenStream, TokenStream)> = sources
        .into_iter()
        .map(|(args, item)| {
            (
                args.parse().expect("valid args lex"),
                item.parse().expect("a valid item lexes"),
            )
        })
        .collect();
    let mut cases = Vec::new();
    for _ in 0..400 {
        let (args, item) = rng.pick(&sources).clone();
        let (mut args, mut item) = (args, item);
        for _ in 0..1 + rng.below(3) {
            if rng.below(5) == 0 {
                args = mutate(args, &mut rng);
            } else {
                item = mutate(item, &mut rng);
            }
        }
        cases.push(oracle_case(args.to_string(), item.to_string()));
    }
    cases
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

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
            && report.panics[0].contains("tests.rs:"),
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
