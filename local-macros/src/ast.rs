//! The input as the later stages see it: the user's struct, stripped of the attribute's
//! helper attributes, and what those attributes said.

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::Ident;

use crate::attr::{self, Attribute, FieldAttrs, Options};
use crate::errors::Errors;
use crate::item::{self, Generics, Item, Style};
use crate::symbol::{ALLOW, CFG, CFG_ATTR, PACKED, REPR, THREAD_LOCAL_STRUCT};
use crate::valid::is_unsized;
use crate::written::Written;

pub(crate) struct Input {
    /// The struct as it is re-emitted: without `#[init(..)]` or a repeated attribute.
    pub item: TokenStream,
    /// The struct's attributes, without a repeated one.
    pub attrs: Vec<Written<Attribute>>,
    pub vis: TokenStream,
    pub ident: Ident,
    pub generics: Generics,
    /// The span of the `{ .. }` or `( .. )` around the fields, for errors about all of
    /// them; `None` for a unit struct.
    pub fields_span: Option<Span>,
    pub options: Options,
    /// In declaration order.
    pub fields: Vec<Field>,
    /// Further `#[thread_local_struct]` attributes on the item: an error, and removed so
    /// that the struct is not expanded twice.
    pub repeated: Vec<Written<Attribute>>,
    /// `#[repr(packed)]`, maybe under `cfg_attr`: no reference to a field may be taken.
    pub packed: bool,
    /// The struct's own `#[cfg(..)]` and `#[allow(..)]` attributes, carried by the block
    /// around the expansion: what it refers to exists only with the `cfg`s, and a lint the
    /// user allowed on the struct stays allowed in the code written for it (the copies of
    /// the field types in the generated functions).
    pub carried: Vec<TokenStream>,
}

pub(crate) struct Field {
    /// The field's name, or its index in a tuple struct.
    pub member: TokenStream,
    /// `None` in a tuple struct.
    pub ident: Option<Ident>,
    pub vis: TokenStream,
    pub ty: TokenStream,
    /// Where errors about the type point.
    pub ty_span: Span,
    /// The type is unsized as written (`[u8]`, `str`, `dyn Trait`).
    pub is_unsized: bool,
    pub attrs: FieldAttrs,
    /// `= value` after the type: not read by the attribute, so an error.
    pub default: Option<TokenStream>,
}

impl Input {
    /// The struct `item`, whose `fields` the caller took out of it.
    pub(crate) fn new(
        item: Item,
        fields: item::Fields,
        options: Options,
        errors: &mut Errors,
    ) -> Self {
        let Item {
            attrs,
            vis,
            keyword,
            ident,
            generics,
            ..
        } = item;
        let (repeated, attrs): (Vec<_>, Vec<_>) = attrs.into_iter().partition(|attr| {
            let path = &attr.node.meta.path;
            path.segments
                .last()
                .is_some_and(|last| last.ident == THREAD_LOCAL_STRUCT)
        });
        let packed = attrs
            .iter()
            .filter(|attr| attr.node.meta.path == REPR || attr.node.meta.path == CFG_ATTR)
            .any(|attr| mentions_packed(attr.tokens.clone()));
        let carried = attrs
            .iter()
            .filter(|attr| attr.node.meta.path == CFG || attr.node.meta.path == ALLOW)
            .map(|attr| attr.tokens.clone())
            .collect();

        let item::Fields {
            style,
            fields,
            semi,
        } = fields;
        let mut written = TokenStream::new();
        let fields = fields
            .into_iter()
            .enumerate()
            .map(|(index, field)| {
                let (field, tokens) = Field::read(index, field, errors);
                written.extend(tokens);
                field
            })
            .collect();
        let where_clause = generics.where_clause();
        let (body, fields_span) = match style {
            Style::Named(span) => {
                let braces = delimited(Delimiter::Brace, span, written);
                (quote!(#where_clause #braces), Some(span))
            }
            Style::Tuple(span) => {
                let parens = delimited(Delimiter::Parenthesis, span, written);
                (quote!(#parens #where_clause #semi), Some(span))
            }
            Style::Unit => (quote!(#where_clause #semi), None),
        };
        let vis = vis.tokens;
        let item = quote!(#(#attrs)* #vis #keyword #ident #generics #body);
        Input {
            item,
            attrs,
            vis,
            ident,
            generics,
            fields_span,
            options,
            fields,
            repeated,
            packed,
            carried,
        }
    }
}

impl Field {
    /// The field at `index`, and its tokens as re-emitted: its remaining attributes, then the
    /// field as written.
    fn read(index: usize, field: item::Field, errors: &mut Errors) -> (Self, TokenStream) {
        let (attrs, mut tokens) = attr::field_attrs(field.attrs, errors);
        tokens.extend(field.declaration);
        tokens.extend(field.comma);
        let read = Field {
            member: match &field.ident {
                Some(ident) => ident.to_token_stream(),
                None => Literal::usize_unsuffixed(index).into_token_stream(),
            },
            ident: field.ident,
            vis: field.vis.tokens,
            ty_span: field.ty.span(),
            is_unsized: is_unsized(&field.ty.node),
            ty: field.ty.tokens,
            attrs,
            default: field.default,
        };
        (read, tokens)
    }
}

/// The fields' braces or parentheses, around the fields as re-emitted, spanned as the
/// user's were.
fn delimited(delimiter: Delimiter, span: Span, fields: TokenStream) -> Group {
    let mut group = Group::new(delimiter, fields);
    group.set_span(span);
    group
}

/// `repr(.., packed ..)` anywhere in an attribute's tokens, `cfg_attr` included.
fn mentions_packed(tokens: TokenStream) -> bool {
    let mut after_repr = false;
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => {
            after_repr = ident == REPR;
            false
        }
        TokenTree::Group(group) => {
            let inside = group.stream();
            let packed = after_repr
                && inside
                    .clone()
                    .into_iter()
                    .any(|tree| matches!(&tree, TokenTree::Ident(ident) if ident == PACKED));
            after_repr = false;
            packed || mentions_packed(inside)
        }
        TokenTree::Punct(_) | TokenTree::Literal(_) => {
            after_repr = false;
            false
        }
    })
}
