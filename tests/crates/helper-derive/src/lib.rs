//! `#[derive(CountHelpers)]`: `Type::HELPERS` is how many `#[helper(..)]` attributes the
//! derive saw on the fields, with `#[helper]` as its helper attribute, as serde's derive
//! has `#[serde]`. No dependencies: it reads the tokens itself.

use proc_macro::{Delimiter, TokenStream, TokenTree};

#[proc_macro_derive(CountHelpers, attributes(helper))]
pub fn count_helpers(item: TokenStream) -> TokenStream {
    let mut name = None;
    let mut after_struct = false;
    let mut fields = None;
    for tree in item {
        match tree {
            TokenTree::Ident(ident) if after_struct && name.is_none() => {
                name = Some(ident.to_string());
            }
            TokenTree::Ident(ident) => after_struct = ident.to_string() == "struct",
            TokenTree::Group(group) if name.is_some() && fields.is_none() => {
                fields = Some(group.stream());
            }
            _ => {}
        }
    }
    let count = fields.map_or(0, count);
    let name = name.unwrap_or_default();
    format!("impl {name} {{ pub const HELPERS: usize = {count}; }}")
        .parse()
        .unwrap()
}

/// `#[helper ..]` attributes, also inside `cfg_attr` (which rustc has expanded by now).
fn count(fields: TokenStream) -> usize {
    let mut count = 0;
    let mut after_pound = false;
    for tree in fields {
        if let TokenTree::Group(group) = &tree
            && after_pound
            && group.delimiter() == Delimiter::Bracket
            && let Some(TokenTree::Ident(ident)) = group.stream().into_iter().next()
            && ident.to_string() == "helper"
        {
            count += 1;
        }
        after_pound = matches!(&tree, TokenTree::Punct(punct) if punct.as_char() == '#');
    }
    count
}
