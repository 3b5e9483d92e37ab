//! The input as the later stages see it: the user's struct, stripped of the attribute's
//! helper attributes, and what those attributes said.

use proc_macro2::TokenStream;
use syn::{Attribute, Fields, Ident, ItemStruct, Member, Type, Visibility};

use crate::attr::{self, Init, Options};

pub(crate) struct Input {
    /// The struct as it is re-emitted: without `#[init(..)]`.
    pub item: ItemStruct,
    pub options: Options,
    /// In declaration order.
    pub fields: Vec<Field>,
    /// Further `#[thread_local_struct]` attributes on the item: an error, and removed so
    /// that the struct is not expanded twice.
    pub repeated: Vec<Attribute>,
}

pub(crate) struct Field {
    pub member: Member,
    /// `None` in a tuple struct.
    pub ident: Option<Ident>,
    pub vis: Visibility,
    pub ty: Type,
    pub init: Option<Init>,
}

impl Input {
    pub(crate) fn from_syn(mut item: ItemStruct, options: Options, errors: &mut Errors) -> Self {
        let (repeated, attrs) = std::mem::take(&mut item.attrs)
            .into_iter()
            .partition(|attr| {
                let path = attr.path();
                path.segments
                    .last()
                    .is_some_and(|last| last.ident == "thread_local_struct")
            });
        item.attrs = attrs;
        let fields = match &mut item.fields {
            Fields::Named(named) => named.named.iter_mut().collect::<Vec<_>>(),
            Fields::Unnamed(unnamed) => unnamed.unnamed.iter_mut().collect(),
            Fields::Unit => Vec::new(),
        };
        let fields = fields
            .into_iter()
            .enumerate()
            .map(|(index, field)| Field {
                init: attr::take_init(&mut field.attrs, errors),
                member: match &field.ident {
                    Some(ident) => Member::Named(ident.clone()),
                    None => Member::Unnamed(index.into()),
                },
                ident: field.ident.clone(),
                vis: field.vis.clone(),
                ty: field.ty.clone(),
            })
            .collect();
        Input {
            item,
            options,
            fields,
            repeated,
        }
    }
}

/// Every error found, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn to_compile_error(&self) -> TokenStream {
        self.0
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }
}
