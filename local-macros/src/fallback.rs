//! The output for input with errors: the errors, the user's item, and stubs of everything
//! the expansion would have generated, so that code using them reports nothing more than
//! the one mistake, and the rest of the crate (and an IDE) keeps working.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::{Data, DeriveInput};

use crate::ast::Input;
use crate::attr::Options;
use crate::errors::Errors;
use crate::functions::{self, Target};
use crate::valid::Findings;
use crate::wrap::{Runtime, allowed_lints};

/// A struct with errors: the struct (without `#[init(..)]`), its `Default` and its
/// functions, as stubs.
pub(crate) fn expand(input: &Input, findings: &Findings, errors: &Errors) -> TokenStream {
    let item = &input.item;
    let runtime = Runtime::new(input.options.krate.as_ref());
    let functions = functions::render(
        &Target {
            ident: &item.ident,
            generics: &item.generics,
            vis: &item.vis,
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
        default_stub(item)
    };
    let stubs = runtime.wrap_in_const(&input.cfgs, quote!(#default #functions));
    with_errors(errors, quote!(#item #stubs))
}

/// An enum or a union: the item as written, and stubs of the functions code may already
/// call on it.
pub(crate) fn not_a_struct(
    mut errors: Errors,
    item: TokenStream,
    derive: &DeriveInput,
    options: &Options,
) -> TokenStream {
    let keyword = match &derive.data {
        Data::Enum(data) => data.enum_token.span,
        Data::Union(data) => data.union_token.span,
        Data::Struct(data) => data.struct_token.span,
    };
    errors.push(syn::Error::new(keyword, NOT_A_STRUCT));
    let runtime = Runtime::new(options.krate.as_ref());
    let functions = functions::render(
        &Target {
            ident: &derive.ident,
            generics: &derive.generics,
            vis: &derive.vis,
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

fn default_stub(item: &DeriveInput) -> TokenStream {
    let ident = &item.ident;
    let (impl_generics, type_generics, where_clause) = item.generics.split_for_impl();
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
