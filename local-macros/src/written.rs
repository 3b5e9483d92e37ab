//! Syntax read from the user's tokens and written back as the user wrote it. The readers
//! (`grammar`, `attr`, `item`) build no syntax tree that could be turned back into tokens,
//! so a part that the macro re-emits keeps the token trees it was read from, beside what
//! the macro learnt of it.

use proc_macro2::{Delimiter, Span, TokenStream};
use quote::ToTokens;
use syn::buffer::Cursor;
use syn::parse::ParseStream;

/// What was read of a part of the input, and the tokens it was read from.
pub(crate) struct Written<T> {
    pub node: T,
    pub tokens: TokenStream,
}

impl<T> Written<T> {
    /// Runs `parser`, keeping the tokens it consumed.
    pub(crate) fn parse_with(
        input: ParseStream,
        parser: impl FnOnce(ParseStream) -> syn::Result<T>,
    ) -> syn::Result<Self> {
        let begin = input.cursor();
        let node = parser(input)?;
        Ok(Written {
            node,
            tokens: between(begin, input.cursor()),
        })
    }

    /// The same tokens, for a part of the node that they all belong to: the path of a
    /// `QPath` with no `<T as Trait>::` before it.
    pub(crate) fn map<U>(self, part: impl FnOnce(T) -> U) -> Written<U> {
        Written {
            node: part(self.node),
            tokens: self.tokens,
        }
    }

    /// The span that syn's `Spanned` gives the node: its first token's, joined to its last
    /// one's where the compiler can join spans (a nightly compiler; a stable one cannot).
    pub(crate) fn span(&self) -> Span {
        let mut spans = self.tokens.clone().into_iter().map(|tree| tree.span());
        let Some(first) = spans.next() else {
            return Span::call_site();
        };
        spans
            .last()
            .and_then(|last| first.join(last))
            .unwrap_or(first)
    }
}

impl<T> ToTokens for Written<T> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.tokens.clone());
    }
}

/// The token trees from `begin` up to `end`, two cursors of one buffer, `begin` first.
pub(crate) fn between(begin: Cursor, end: Cursor) -> TokenStream {
    let mut tokens = TokenStream::new();
    let mut cursor = begin;
    while cursor < end {
        let Some((tree, next)) = cursor.token_tree() else {
            break;
        };
        if next > end {
            // The parser sees through invisible groups (a `$ty` that a `macro_rules!` passes
            // on), so a node may end inside one: its tokens are taken from inside it.
            match cursor.group(Delimiter::None) {
                Some((inside, _, _)) => {
                    cursor = inside;
                    continue;
                }
                None => break,
            }
        }
        tokens.extend([tree]);
        cursor = next;
    }
    tokens
}
