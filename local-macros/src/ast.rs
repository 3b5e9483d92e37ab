//! The input as the later stages see it: the user's struct, stripped of the attribute's
//! helper attributes, and what those attributes said.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Member, Type, Visibility};

use crate::attr::{self, FieldAttrs, Options};
use crate::errors::Errors;
use crate::symbol::{CFG, CFG_ATTR, PACKED, REPR, THREAD_LOCAL_STRUCT};

pub(crate) struct Input {
    /// The struct as it is re-emitted: without `#[init(..)]` or a repeated attribute.
    pub item: DeriveInput,
    pub options: Options,
    /// In declaration order.
    pub fields: Vec<Field>,
    /// Further `#[thread_local_struct]` attributes on the item: an error, and removed so
    /// that the struct is not expanded twice.
    pub repeated: Vec<Attribute>,
    /// `#[repr(packed)]`, maybe under `cfg_attr`: no reference to a field may be taken.
    pub packed: bool,
    /// The struct's own `#[cfg(..)]`: what the expansion refers to exists only with it.
    pub cfgs: Vec<Attribute>,
}

pub(crate) struct Field {
    pub member: Member,
    /// `None` in a tuple struct.
    pub ident: Option<Ident>,
    pub vis: Visibility,
    pub ty: Type,
    pub attrs: FieldAttrs,
    /// `= value` after the type: not read by the attribute, so an error.
    pub default: Option<TokenStream>,
}

impl Input {
    /// `item` holds a struct (the caller checked).
    pub(crate) fn from_syn(mut item: DeriveInput, options: Options, errors: &mut Errors) -> Self {
        let (repeated, attrs) = std::mem::take(&mut item.attrs)
            .into_iter()
            .partition(|attr| {
                let path = attr.path();
                path.segments
                    .last()
                    .is_some_and(|last| last.ident == THREAD_LOCAL_STRUCT)
            });
        item.attrs = attrs;
        let packed = item
            .attrs
            .iter()
            .filter(|attr| attr.path() == REPR || attr.path() == CFG_ATTR)
            .any(|attr| mentions_packed(attr.meta.to_token_stream()));
        let cfgs = item
            .attrs
            .iter()
            .filter(|attr| attr.path() == CFG)
            .cloned()
            .collect();
        let fields = match &mut item.data {
            Data::Struct(data) => match &mut data.fields {
                Fields::Named(named) => named.named.iter_mut().collect::<Vec<_>>(),
                Fields::Unnamed(unnamed) => unnamed.unnamed.iter_mut().collect(),
                Fields::Unit => Vec::new(),
            },
            Data::Enum(_) | Data::Union(_) => Vec::new(),
        };
        let fields = fields
            .into_iter()
            .enumerate()
            .map(|(index, field)| Field {
                attrs: attr::field_attrs(&mut field.attrs, errors),
                member: match &field.ident {
                    Some(ident) => Member::Named(ident.clone()),
                    None => Member::Unnamed(index.into()),
                },
                ident: field.ident.clone(),
                vis: field.vis.clone(),
                ty: field.ty.clone(),
                default: field.default.as_ref().map(|(eq, value)| quote!(#eq #value)),
            })
            .collect();
        Input {
            item,
            options,
            fields,
            repeated,
            packed,
            cfgs,
        }
    }

    pub(crate) fn ident(&self) -> &Ident {
        &self.item.ident
    }

    /// The struct's `{ .. }` or `( .. )`, for errors about all of its fields.
    pub(crate) fn fields_tokens(&self) -> Option<TokenStream> {
        match &self.item.data {
            Data::Struct(data) => match &data.fields {
                Fields::Unit => None,
                fields => Some(fields.to_token_stream()),
            },
            Data::Enum(_) | Data::Union(_) => None,
        }
    }
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
