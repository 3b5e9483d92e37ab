//! Every error found in one input, reported together: one message per mistake.

use std::fmt::Display;

use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};

/// One error: syn's, or the macro's own about some of the user's tokens.
pub(crate) enum Error {
    Syn(syn::Error),
    /// From the first of the tokens to the last.
    Spanned {
        start: Span,
        end: Span,
        message: String,
    },
}

impl Error {
    /// An error underlining `tokens`, from the first to the last. Stable Rust cannot join
    /// two spans into one, so it is written as syn writes such an error: the
    /// `compile_error!` call starts at the first token and ends at the last, and rustc
    /// underlines the call.
    pub(crate) fn spanned(tokens: impl ToTokens, message: impl Display) -> Self {
        let mut trees = tokens.into_token_stream().into_iter();
        let start = trees
            .next()
            .map_or_else(Span::call_site, |tree| tree.span());
        let end = trees.last().map_or(start, |tree| tree.span());
        Error::range(start, end, message)
    }

    /// An error underlining the tokens from the one at `start` to the one at `end`.
    pub(crate) fn range(start: Span, end: Span, message: impl Display) -> Self {
        Error::Spanned {
            start,
            end,
            message: message.to_string(),
        }
    }

    /// `::std::compile_error! { "message" }`, spanned at the user's tokens so that rustc
    /// reports it there and nowhere else. Not `::core`, which syn writes: with the user's
    /// spans the path resolves in the user's edition, and in edition 2015 `::core` names a
    /// module `core` at the crate root, so the message would be lost behind "cannot find
    /// `core`". `::std` resolves in every edition: to the crate root's `extern crate std`
    /// in 2015 (implicit, or the user's own in a `no_std` crate, which the runtime needs),
    /// to the extern prelude's `std` after.
    fn to_compile_error(&self) -> TokenStream {
        match self {
            Error::Syn(error) => through_std(error.to_compile_error()),
            Error::Spanned {
                start,
                end,
                message,
            } => {
                let mut message = Literal::string(message);
                message.set_span(*end);
                let mut braces = Group::new(Delimiter::Brace, TokenTree::Literal(message).into());
                braces.set_span(*end);
                let mut tokens = quote_spanned!(*start=> ::std::compile_error!);
                tokens.extend([TokenTree::Group(braces)]);
                tokens
            }
        }
    }
}

/// syn's `::core::compile_error! { .. }` invocations, one after another, through `::std`.
fn through_std(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "core" => {
                TokenTree::Ident(Ident::new("std", ident.span()))
            }
            tree => tree,
        })
        .collect()
}

impl From<syn::Error> for Error {
    fn from(error: syn::Error) -> Self {
        Error::Syn(error)
    }
}

#[derive(Default)]
pub(crate) struct Errors(Vec<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: impl Into<Error>) {
        self.0.push(error.into());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn to_compile_error(&self) -> TokenStream {
        self.0.iter().map(Error::to_compile_error).collect()
    }
}
