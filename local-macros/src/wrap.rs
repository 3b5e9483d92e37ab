//! Where generated code meets the user's crate: the `const _` block around it, the one path
//! to the runtime (`::local`, or the `crate = path` the user gave), the lints it allows, and
//! the spans of the tokens it writes.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::Ident;

use crate::attr::QPath;

/// How generated code reaches the runtime: every path into `__private` is made here.
pub(crate) struct Runtime<'a> {
    /// `crate = path`, or `None` for `::local`.
    krate: Option<&'a QPath>,
}

impl<'a> Runtime<'a> {
    pub(crate) fn new(krate: Option<&'a QPath>) -> Self {
        Runtime { krate }
    }

    /// The name the `const _` block gives the facade: one hygienic name, so that the paths
    /// below do not depend on the user's `crate = path` or on what the user's crate defines.
    fn alias(span: Span) -> Ident {
        Ident::new("__local", at(span))
    }

    /// `__local::__private::item`, spanned at `span` for errors.
    pub(crate) fn private(&self, span: Span, item: &str) -> TokenStream {
        let alias = Self::alias(span);
        let item = Ident::new(item, at(span));
        quote_spanned!(at(span)=> #alias::__private::#item)
    }

    /// The block every expansion goes in: it names the facade once, and carries the
    /// struct's `#[cfg(..)]`, since everything in it refers to the struct.
    pub(crate) fn wrap_in_const(&self, carried: &[TokenStream], code: TokenStream) -> TokenStream {
        // A `crate = path` that does not resolve is reported at the user's path.
        let import = match &self.krate {
            Some(path) => {
                let crate_name = path
                    .path
                    .segments
                    .first()
                    .map_or_else(Span::call_site, Ident::span);
                let span = at(crate_name);
                let alias = Self::alias(span);
                let path = &path.tokens;
                quote_spanned!(span=> use #path as #alias;)
            }
            None => {
                let alias = Self::alias(Span::call_site());
                quote_spanned!(Span::mixed_site()=> use ::local as #alias;)
            }
        };
        quote_spanned! {Span::mixed_site()=>
            #(#carried)*
            const _: () = {
                #import
                #code
            };
        }
    }
}

/// The lints that generated items allow, on each item that the user's tokens do not reach:
/// functions a crate may never call (`dead_code`), setters of fields such as `_tracker`
/// (`set__tracker`: `non_snake_case`), and uses of a `#[deprecated]` struct and its fields
/// by the code generated for it.
pub(crate) fn allowed_lints() -> TokenStream {
    quote_spanned!(Span::mixed_site()=> #[allow(dead_code, non_snake_case, deprecated)])
}

/// A span for tokens the macro writes: located at the user's `span`, for errors, but
/// resolved and edition-checked as the macro's own, so that an edition-2015 crate's spans
/// do not turn `::core::..` into a path from the crate root.
pub(crate) fn at(span: Span) -> Span {
    Span::mixed_site().located_at(span)
}
