//! The output for input with errors: the errors, the user's item, and stubs of everything
//! the expansion would have generated, so that code using them reports nothing more than
//! the one mistake, and the rest of the crate (and an IDE) keeps working.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::ast::Input;
use crate::attr::Options;
use crate::errors::Errors;
use crate::functions::{self, Target};
use crate::item::{Generics, Item};
use crate::valid::Findings;
use crate::wrap::{Runtime, allowed_lints};

/// A struct with errors: the struct (without `#[init(..)]`), its `Default` and its
/// functions, as stubs.
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
    // `Default` needs `Self: Sized`; a derived one is already there.
    let default = if findings.derives_default || findings.unsized_field {
        TokenStream::new()
    } else {
        default_stub(&input.ident, &input.generics)
    };
    let stubs = runtime.wrap_in_const(&input.carried, quote!(#default #functions));
    with_errors(errors, quote!(#item #stubs))
}

/// An enum or a union: the item as written, and stubs of the functions code may already
/// call on it.
pub(crate) fn not_a_struct(
    mut errors: Errors,
    item: TokenStream,
    parsed: &Item,
    options: &Options,
) -> TokenStream {
    errors.push(syn::Error::new(parsed.keyword.span(), NOT_A_STRUCT));
    let runtime = Runtime::new(options.krate.as_ref());
    let functions = functions::render(
        &Target {
            ident: &parsed.ident,
            generics: &parsed.generics,
            vis: &parsed.vis.tokens,
            fields: &[],
            clashes: &[],
            packed: false,
            unsized_field: false,
            runtime: &runtime,
        },
        true,
    );
    let stubs = runtime.wrap_in_const(&[], functions);
    with_errors(&errors, quote!(#item #stubs))
}

/// An item that is not a struct, enum or union, or does not parse: the tokens as written.
pub(crate) fn unparsed(errors: &Errors, item: TokenStream) -> TokenStream {
    with_errors(errors, item)
}

const NOT_A_STRUCT: &str =
    "`#[thread_local_struct]` goes on a struct: each thread gets its own value of the struct";

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
    let where_clause = generics.where_clause();
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

fn with_errors(errors: &Errors, tokens: TokenStream) -> TokenStream {
    let mut output = errors.to_compile_error();
    output.extend(tokens);
    output
}
