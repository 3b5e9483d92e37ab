//! The input, read once into the one model that the later stages use: the item as rustc
//! parsed it, stripped of the attribute's helper attributes, and what those said.
//!
//! syn's parsing infrastructure reads what the attribute looks at (attributes, visibility,
//! names, the struct's shape); a field's type, a generic parameter and a `where` clause are
//! kept as the tokens written (`tokens::run`), and rustc checks them where they are written
//! back. An enum or a union is read up to its generics, for the stubs that keep its one
//! error to one.

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token, token};

use crate::attr::{self, FieldAttrs, Options};
use crate::errors::Errors;
use crate::symbol::{ALLOW, CFG, CFG_ATTR, PACKED, REPR, THREAD_LOCAL_STRUCT};
use crate::tokens::{
    Attribute, between, is_punct, is_unsized, outer_attrs, run, span_of, type_ends, visibility,
};

pub(crate) struct Input {
    /// The item as it is re-emitted: without `#[init(..)]` or a repeated attribute.
    pub item: TokenStream,
    /// `struct`, `enum` or `union`.
    pub keyword: Ident,
    /// The item's attributes, without a repeated one.
    pub attrs: Vec<Attribute>,
    pub vis: TokenStream,
    pub ident: Ident,
    pub generics: Generics,
    /// The span of the `{ .. }` or `( .. )` around the fields, for errors about all of
    /// them; `None` for a unit struct, an enum or a union.
    pub fields_span: Option<Span>,
    pub options: Options,
    /// In declaration order.
    pub fields: Vec<Field>,
    /// Further `#[thread_local_struct]` attributes on the item: an error, and removed so
    /// that the struct is not expanded twice.
    pub repeated: Vec<Attribute>,
    /// `#[repr(packed)]`, maybe under `cfg_attr`: no reference to a field may be taken.
    pub packed: bool,
    /// The item's own `#[cfg(..)]` and `#[allow(..)]` attributes, carried by the block
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
    /// As written.
    pub ty: TokenStream,
    /// Where errors about the type point.
    pub ty_span: Span,
    /// The type is unsized as written (`[u8]`, `str`, `dyn Trait`).
    pub is_unsized: bool,
    pub attrs: FieldAttrs,
    /// `= value` after the type: not read by the attribute, so an error.
    pub default: Option<TokenStream>,
}

/// The item's generic parameters and `where` clause. The macro rejects them, but writes
/// them back on the item, and on the stubs it writes for an item with errors, which
/// declare the parameters without their defaults.
pub(crate) struct Generics {
    /// `<..>` as written, defaults included.
    written: TokenStream,
    pub params: Vec<Param>,
    /// As written, or nothing.
    pub where_clause: TokenStream,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    Lifetime,
    Type,
    Const,
}

pub(crate) struct Param {
    pub kind: ParamKind,
    /// Without its default, as an `impl<..>` declares it.
    declared: TokenStream,
    /// How a type names it: `'a`, `T` or `N`.
    name: TokenStream,
}

impl Input {
    /// Reads the item the attribute is on; `options` are the attribute's own. Errors in
    /// the helper attributes go to `errors`, an item that is not read to the `Err`.
    pub(crate) fn read(
        item: TokenStream,
        options: Options,
        errors: &mut Errors,
    ) -> syn::Result<Self> {
        (|input: ParseStream| parse(input, options, errors)).parse2(item)
    }

    pub(crate) fn is_struct(&self) -> bool {
        self.keyword == "struct"
    }
}

fn parse(input: ParseStream, options: Options, errors: &mut Errors) -> syn::Result<Input> {
    let (repeated, attrs): (Vec<_>, Vec<_>) = outer_attrs(input)?.into_iter().partition(|attr| {
        let segments = &attr.meta.path.segments;
        segments
            .last()
            .is_some_and(|last| *last == THREAD_LOCAL_STRUCT)
    });
    let begin = input.cursor();
    let vis = visibility(input)?;
    let keyword = input.step(|cursor| match cursor.ident() {
        Some((keyword, rest)) if ["struct", "enum", "union"].iter().any(|k| keyword == k) => {
            Ok((keyword, rest))
        }
        _ => Err(cursor.error("expected `struct`, `enum` or `union`")),
    })?;
    let ident: Ident = input.parse()?;
    let mut generics = generics(input)?;
    let mut fields = Vec::new();
    let mut fields_span = None;
    let mut item: TokenStream = attrs.iter().map(|attr| attr.tokens.clone()).collect();
    if keyword == "struct" {
        generics.where_clause = where_clause(input)?;
        item.extend(between(begin, input.cursor()));
        let named = input.peek(token::Brace);
        if named || input.peek(token::Paren) {
            let (delimiter, span, content) = input.step(|cursor| match cursor.token_tree() {
                Some((TokenTree::Group(group), rest)) if group.delimiter() != Delimiter::None => {
                    Ok(((group.delimiter(), group.span(), group.stream()), rest))
                }
                _ => Err(cursor.error("expected fields")),
            })?;
            let reader = |input: ParseStream| field_list(input, named, &mut fields, errors);
            let mut body = Group::new(delimiter, reader.parse2(content)?);
            body.set_span(span);
            item.extend([TokenTree::Group(body)]);
            fields_span = Some(span);
        }
        let tail = input.cursor();
        if !named {
            if generics.where_clause.is_empty() {
                generics.where_clause = where_clause(input)?;
            }
            input.parse::<Token![;]>()?;
        }
        item.extend(between(tail, input.cursor()));
    } else {
        item.extend(between(begin, input.cursor()));
        item.extend(input.parse::<TokenStream>()?);
    }
    let packed = attrs
        .iter()
        .filter(|attr| attr.meta.path == REPR || attr.meta.path == CFG_ATTR)
        .any(|attr| mentions_packed(attr.tokens.clone()));
    let carried = attrs
        .iter()
        .filter(|attr| attr.meta.path == CFG || attr.meta.path == ALLOW)
        .map(|attr| attr.tokens.clone())
        .collect();
    Ok(Input {
        item,
        keyword,
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
    })
}

/// The fields inside the braces or parentheses, separated by commas; returns them as
/// re-emitted.
fn field_list(
    input: ParseStream,
    named: bool,
    fields: &mut Vec<Field>,
    errors: &mut Errors,
) -> syn::Result<TokenStream> {
    let mut written = TokenStream::new();
    while !input.is_empty() {
        let attrs = outer_attrs(input)?;
        let begin = input.cursor();
        let vis = visibility(input)?;
        let ident = if named {
            let ident: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(ident)
        } else {
            None
        };
        let ty = run(input, type_ends())?;
        if ty.is_empty() {
            return Err(input.error("expected a type"));
        }
        let default = if input.peek(Token![=]) {
            let begin = input.cursor();
            input.parse::<Token![=]>()?;
            run(input, |tree| is_punct(tree, ','))?;
            Some(between(begin, input.cursor()))
        } else {
            None
        };
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        let (attrs, kept) = attr::field_attrs(attrs, errors);
        written.extend(kept);
        written.extend(between(begin, input.cursor()));
        fields.push(Field {
            member: match &ident {
                Some(ident) => ident.to_token_stream(),
                None => Literal::usize_unsuffixed(fields.len()).into_token_stream(),
            },
            ident,
            vis,
            ty_span: span_of(&ty),
            is_unsized: is_unsized(&ty),
            ty,
            attrs,
            default,
        });
    }
    Ok(written)
}

/// `<..>`: each parameter is read up to its top-level comma, and its default, after a
/// top-level `=`, is left out of its declaration.
fn generics(input: ParseStream) -> syn::Result<Generics> {
    let begin = input.cursor();
    let mut params = Vec::new();
    if input.parse::<Option<Token![<]>>()?.is_some() {
        while !input.peek(Token![>]) {
            let begin = input.cursor();
            outer_attrs(input)?;
            let trees: Vec<TokenTree> =
                run(input, |tree| is_punct(tree, ',') || is_punct(tree, '='))?
                    .into_iter()
                    .collect();
            let declared = between(begin, input.cursor());
            if input.parse::<Option<Token![=]>>()?.is_some() {
                run(input, |tree| is_punct(tree, ','))?;
            }
            let (kind, name) = match trees.first() {
                Some(tree) if is_punct(tree, '\'') => {
                    (ParamKind::Lifetime, &trees[..trees.len().min(2)])
                }
                Some(TokenTree::Ident(ident)) if ident == "const" => {
                    (ParamKind::Const, trees.get(1..2).unwrap_or_default())
                }
                _ => (ParamKind::Type, trees.get(..1).unwrap_or_default()),
            };
            params.push(Param {
                kind,
                declared,
                name: name.iter().cloned().collect(),
            });
            if !input.peek(Token![>]) {
                input.parse::<Token![,]>()?;
            }
        }
        input.parse::<Token![>]>()?;
    }
    Ok(Generics {
        written: between(begin, input.cursor()),
        params,
        where_clause: TokenStream::new(),
    })
}

/// `where ..` up to the fields' braces or the `;`.
fn where_clause(input: ParseStream) -> syn::Result<TokenStream> {
    let begin = input.cursor();
    if input.parse::<Option<Token![where]>>()?.is_some() {
        run(input, |tree| {
            is_punct(tree, ';')
                || matches!(tree, TokenTree::Group(group) if group.delimiter() == Delimiter::Brace)
        })?;
    }
    Ok(between(begin, input.cursor()))
}

impl Generics {
    /// The parameters without their defaults, as `impl<..>` declares them.
    pub(crate) fn impl_generics(&self) -> TokenStream {
        self.write(|param| &param.declared)
    }

    /// The parameters' names, as the struct's type takes them.
    pub(crate) fn type_generics(&self) -> TokenStream {
        self.write(|param| &param.name)
    }

    fn write(&self, form: impl Fn(&Param) -> &TokenStream) -> TokenStream {
        if self.params.is_empty() {
            return TokenStream::new();
        }
        let params = self.params.iter().map(form);
        quote!(<#(#params),*>)
    }
}

/// The parameters as the item declares them, defaults included.
impl ToTokens for Generics {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.written.clone());
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
