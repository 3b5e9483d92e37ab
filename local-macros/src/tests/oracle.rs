//! What an input is expected to give, for generated inputs that no one labelled.

use std::collections::HashSet;

use proc_macro2::{TokenStream, TokenTree};

use super::{Case, Expect, case};
use Expect::{Any, Invalid, Valid};

pub(super) fn is_punct(tree: &TokenTree, ch: char) -> bool {
    matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ch)
}

/// The options' grammar, written again: `init = path`, `inherit`, `per_thread`,
/// `crate = path`, separated by commas, a trailing one allowed, none twice, not `inherit`
/// with `per_thread`. `Any` when a `<` could hide a comma inside generic arguments, and
/// when an `init` path ends in `default`, which may name the generated `Default`.
pub(super) fn args_verdict(args: &TokenStream) -> Expect {
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
            "init" | "crate" => {
                let path = (segment.len() >= 3 && is_punct(&segment[1], '='))
                    .then(|| syn::parse2::<syn::Path>(segment[2..].iter().cloned().collect()));
                let names_default = |path: &syn::Path| {
                    path.segments
                        .last()
                        .is_some_and(|last| last.ident == "default")
                };
                if name == "init" && matches!(&path, Some(Ok(path)) if names_default(path)) {
                    return Any;
                }
                matches!(path, Some(Ok(_)))
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
/// clause, no fields or a field default value. What is not Rust never reaches the
/// attribute, since rustc parses the item first: the macro, which trusts that parse, may
/// take such tokens for a struct.
pub(super) fn item_rejected(item: &TokenStream) -> bool {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(item)) => {
            !item.generics.params.is_empty()
                || item.generics.where_clause.is_some()
                || item.fields.is_empty()
                || item.fields.iter().any(|field| field.default.is_some())
        }
        Ok(_) => true,
        Err(_) => false,
    }
}

/// For an input no one has looked at: `Invalid` when the args or the item are certainly
/// rejected, `Any` otherwise.
pub(super) fn oracle(args: &str, item: &str) -> Expect {
    let (Ok(args), Ok(item)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>()) else {
        return Any; // skipped anyway
    };
    if args_verdict(&args) == Invalid || item_rejected(&item) {
        Invalid
    } else {
        Any
    }
}

pub(super) fn oracle_case(args: impl Into<String>, item: impl Into<String>) -> Case {
    let (args, item) = (args.into(), item.into());
    let expect = oracle(&args, &item);
    case(args, item, expect)
}
