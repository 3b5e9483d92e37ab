//! The output for input with errors: the errors, the user's item, and stubs of everything
//! the expansion would have generated, so that code using them reports nothing more than
//! the one mistake, and the rest of the crate (and an IDE) keeps working.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::ast::{Generics, Input};
use crate::errors::Errors;
use crate::functions::{self, Target};
use crate::valid::{Findings, NOT_A_STRUCT};
use crate::wrap::{Runtime, allowed_lints};

/// An item with errors: the item (without `#[init(..)]`), and stubs of the struct's
/// `Default` and functions, which code may already call, on an enum or a union too.
pub(crate) fn expand(input: &Input, findings: &Findings, errors: &Errors) -> TokenStream {
    let item = &input.item;
    let runtime = Runtime::new(input.options.krate.as_ref());
    let functions = functions::render(
        &Target {
            ident: &input.ident,
            generics: &input.generics,
            vis: &input.vis,
            fields: &input.fields,
            clashes: &findings.clashes,
            packed: input.packed,
            unsized_field: findings.unsized_field,
            runtime: &runtime,
        },
        true,
    );
    // `Default` needs `Self: Sized`; a derived one is already there, and an enum may
    // derive one.
    let default = if findings.derives_default || findings.unsized_field || !input.is_struct() {
        TokenStream::new()
    } else {
        default_stub(&input.ident, &input.generics)
    };
    let stubs = runtime.wrap_in_const(&input.carried, quote!(#default #functions));
    with_errors(errors, quote!(#item #stubs))
}

/// Keywords that start an item other than a struct, enum or union.
const ITEM_KEYWORDS: &[&str] = &[
    "fn",
    "trait",
    "impl",
    "mod",
    "type",
    "static",
    "use",
    "extern",
    "macro_rules",
];

/// For an item that syn could not read as a struct, enum or union: the "goes on a struct"
/// error at its keyword, if it is another kind of item (`fn`, `trait`, `impl`..). A
/// malformed struct gets syn's error instead (`None`).
pub(crate) fn not_an_adt(item: &TokenStream) -> Option<syn::Error> {
    let mut constant = None;
    let mut after_pound = false;
    for tree in item.clone() {
        match &tree {
            // An attribute's brackets, a visibility's parentheses.
            TokenTree::Group(_) if after_pound => {}
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if matches!(name.as_str(), "struct" | "enum" | "union") {
                    return None;
                }
                if ITEM_KEYWORDS.contains(&name.as_str()) {
                    return Some(syn::Error::new(ident.span(), NOT_A_STRUCT));
                }
                if name == "const" && constant.is_none() {
                    constant = Some(ident.span());
                }
            }
            _ => {}
        }
        after_pound = matches!(&tree, TokenTree::Punct(punct) if punct.as_char() == '#');
    }
    constant.map(|span| syn::Error::new(span, NOT_A_STRUCT))
}

fn default_stub(ident: &Ident, generics: &Generics) -> TokenStream {
    let impl_generics = generics.impl_generics();
    let type_generics = generics.type_generics();
    let where_clause = &generics.where_clause;
    let allowed = allowed_lints();
    quote_spanned! {Span::mixed_site()=>
        #[automatically_derived]
        #allowed
        impl #impl_generics ::core::default::Default for #ident #type_generics #where_clause {
            fn default() -> Self {
                ::core::unreachable!()
            }
        }
    }
}

/// The errors, and the tokens: the item as written, for an item that was not read.
pub(crate) fn with_errors(errors: &Errors, tokens: TokenStream) -> TokenStream {
    let mut output = errors.to_compile_error();
    output.extend(tokens);
    output
}
