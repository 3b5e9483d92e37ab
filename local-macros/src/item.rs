//! The user's item, read the way syn reads a `DeriveInput`, from syn's parsing
//! infrastructure and this crate's `grammar`, so that every part the macro writes back
//! keeps the tokens it was written with: the attributes, the visibility, the generics and
//! each field.

use proc_macro2::{Punct, Spacing, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, Lifetime, Token, braced, parenthesized, token};

use crate::attr::{Attribute, outer_attrs};
use crate::grammar::{self, Type};
use crate::written::{Written, between};

/// A struct, enum or union, as `DeriveInput::parse` accepts it.
pub(crate) struct Item {
    pub attrs: Vec<Written<Attribute>>,
    pub vis: Written<()>,
    /// `struct`, `enum` or `union`.
    pub keyword: Ident,
    pub ident: Ident,
    pub generics: Generics,
    /// `None` for an enum or a union, which is written back as it came.
    pub fields: Option<Fields>,
}

/// A struct's fields, and the tokens around them.
pub(crate) struct Fields {
    pub style: Style,
    pub fields: Vec<Field>,
    /// The `;` after a tuple or unit struct.
    pub semi: TokenStream,
}

pub(crate) enum Style {
    /// `{ .. }`, with the span of the braces.
    Named(Span),
    /// `( .. )`, with the span of the parentheses.
    Tuple(Span),
    Unit,
}

/// One field, as `Field::parse_named` or `Field::parse_unnamed` accepts it.
pub(crate) struct Field {
    pub attrs: Vec<Written<Attribute>>,
    pub vis: Written<()>,
    /// `None` in a tuple struct.
    pub ident: Option<Ident>,
    pub ty: Written<Type>,
    /// `= value` after the type.
    pub default: Option<TokenStream>,
    /// Everything after the attributes: `pub name: Type`.
    pub declaration: TokenStream,
    /// The comma after the field, if any.
    pub comma: TokenStream,
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = outer_attrs(input)?;
        let vis = Written::parse_with(input, grammar::visibility)?;
        let lookahead = input.lookahead1();
        let keyword = if lookahead.peek(Token![struct]) {
            Ident::new("struct", input.parse::<Token![struct]>()?.span)
        } else if lookahead.peek(Token![enum]) {
            Ident::new("enum", input.parse::<Token![enum]>()?.span)
        } else if lookahead.peek(Token![union]) {
            Ident::new("union", input.parse::<Token![union]>()?.span)
        } else {
            return Err(lookahead.error());
        };
        let ident = input.parse()?;
        let mut generics: Generics = input.parse()?;
        let fields = if keyword == "struct" {
            let (where_clause, fields) = struct_fields(input)?;
            generics.where_clause = where_clause;
            Some(fields)
        } else {
            generics.where_clause = optional_where_clause(input)?;
            // Only checked: an enum or a union is written back as it came.
            let content;
            braced!(content in input);
            if keyword == "enum" {
                content.parse_terminated(variant, Token![,])?;
            } else {
                field_list(&content, named_field)?;
            }
            None
        };
        Ok(Item {
            attrs,
            vis,
            keyword,
            ident,
            generics,
            fields,
        })
    }
}

fn optional_where_clause(input: ParseStream) -> syn::Result<Option<Written<bool>>> {
    if input.peek(Token![where]) {
        Written::parse_with(input, grammar::where_clause).map(Some)
    } else {
        Ok(None)
    }
}

/// What follows a struct's generics: a `where` clause (after the fields, in a tuple struct)
/// and the fields, in the order and with the errors of syn's `DeriveInput::parse`.
fn struct_fields(input: ParseStream) -> syn::Result<(Option<Written<bool>>, Fields)> {
    let mut lookahead = input.lookahead1();
    let mut where_clause = None;
    if lookahead.peek(Token![where]) {
        where_clause = optional_where_clause(input)?;
        lookahead = input.lookahead1();
    }
    let (style, fields) = if where_clause.is_none() && lookahead.peek(token::Paren) {
        let content;
        let parens = parenthesized!(content in input);
        let fields = field_list(&content, unnamed_field)?;
        lookahead = input.lookahead1();
        if lookahead.peek(Token![where]) {
            where_clause = optional_where_clause(input)?;
            lookahead = input.lookahead1();
        }
        (Style::Tuple(parens.span.join()), fields)
    } else if lookahead.peek(token::Brace) {
        let content;
        let braces = braced!(content in input);
        let fields = Fields {
            style: Style::Named(braces.span.join()),
            fields: field_list(&content, named_field)?,
            semi: TokenStream::new(),
        };
        return Ok((where_clause, fields));
    } else {
        (Style::Unit, Vec::new())
    };
    // A tuple or unit struct ends with a `;`.
    if !lookahead.peek(Token![;]) {
        return Err(lookahead.error());
    }
    let semi = Written::parse_with(input, |input| input.parse::<Token![;]>())?.tokens;
    Ok((
        where_clause,
        Fields {
            style,
            fields,
            semi,
        },
    ))
}

/// The fields inside the braces or parentheses, separated by commas.
fn field_list<'a>(
    content: ParseStream<'a>,
    field: fn(ParseStream<'a>) -> syn::Result<Field>,
) -> syn::Result<Vec<Field>> {
    let comma = |input: ParseStream| Written::parse_with(input, |input| input.parse::<Token![,]>());
    let mut fields = Vec::new();
    while !content.is_empty() {
        let mut read = field(content)?;
        if content.is_empty() {
            fields.push(read);
            break;
        }
        read.comma = comma(content)?.tokens;
        fields.push(read);
    }
    Ok(fields)
}

/// `Field::parse_named` as syn builds it for this crate, without its `full` feature (which
/// reads `_` fields, which rustc refuses before any attribute runs).
fn named_field(input: ParseStream) -> syn::Result<Field> {
    let attrs = outer_attrs(input)?;
    let begin = input.cursor();
    let vis = Written::parse_with(input, grammar::visibility)?;
    let ident: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let ty = Written::parse_with(input, grammar::ty)?;
    let default = if input.peek(Token![=]) {
        let default = Written::parse_with(input, |input| {
            input.parse::<Token![=]>()?;
            grammar::expr(input)
        })?;
        Some(default.tokens)
    } else {
        None
    };
    Ok(Field {
        attrs,
        vis,
        ident: Some(ident),
        ty,
        default,
        declaration: between(begin, input.cursor()),
        comma: TokenStream::new(),
    })
}

/// `Field::parse_unnamed`, with its error for a default value.
fn unnamed_field(input: ParseStream) -> syn::Result<Field> {
    let attrs = outer_attrs(input)?;
    let begin = input.cursor();
    let vis = Written::parse_with(input, grammar::visibility)?;
    let ty = Written::parse_with(input, grammar::ty)?;
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let expr_start = input.cursor();
        grammar::expr(input)?;
        let expr_end = input.cursor();
        return Err(syn::Error::new_range(
            expr_start..expr_end,
            "field default value is only supported in structs with named fields",
        ));
    }
    Ok(Field {
        attrs,
        vis,
        ident: None,
        ty,
        default: None,
        declaration: between(begin, input.cursor()),
        comma: TokenStream::new(),
    })
}

/// One of an enum's variants, as `Variant::parse` checks it: attributes, a visibility
/// (which rustc refuses later), a name, fields, and a discriminant.
fn variant(input: ParseStream) -> syn::Result<()> {
    outer_attrs(input)?;
    grammar::visibility(input)?;
    input.parse::<Ident>()?;
    if input.peek(token::Brace) {
        let content;
        braced!(content in input);
        field_list(&content, named_field)?;
    } else if input.peek(token::Paren) {
        let content;
        parenthesized!(content in input);
        field_list(&content, unnamed_field)?;
    }
    if input.parse::<Option<Token![=]>>()?.is_some() {
        // syn, without its `full` feature, takes as a discriminant what its expressions
        // read, or else any tokens up to the next comma.
        let ahead = input.fork();
        match grammar::expr(&ahead) {
            Ok(()) => input.advance_to(&ahead),
            Err(error) => {
                if input.is_empty() || input.peek(Token![,]) {
                    return Err(error);
                }
                while !(input.is_empty() || input.peek(Token![,])) {
                    input.parse::<proc_macro2::TokenTree>()?;
                }
            }
        }
    }
    Ok(())
}

/// A struct's generic parameters and `where` clause. The macro rejects them, but writes
/// them back on the struct, and on the stubs it writes for an item with errors, which
/// declare the parameters without their defaults.
#[derive(Default)]
pub(crate) struct Generics {
    /// `<` and `>`, when there are parameters.
    lt: TokenStream,
    gt: TokenStream,
    pub params: Vec<Param>,
    /// Whether the clause has predicates, and its tokens.
    where_clause: Option<Written<bool>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    Lifetime,
    Type,
    Const,
}

/// One generic parameter.
pub(crate) struct Param {
    pub kind: ParamKind,
    /// As written, with its default.
    written: TokenStream,
    /// Without its default, as an `impl<..>` declares it.
    declared: TokenStream,
    /// How a type names it: `'a`, `T` or `N`.
    name: TokenStream,
    /// The comma after it, if any.
    comma: TokenStream,
}

impl Parse for Generics {
    /// `Generics::parse`: the parameters, without the `where` clause, which comes later.
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(Token![<]) {
            return Ok(Generics::default());
        }
        let lt = Written::parse_with(input, |input| input.parse::<Token![<]>())?.tokens;
        let mut params = Vec::new();
        while !input.peek(Token![>]) {
            let mut param = param(input)?;
            let last = input.peek(Token![>]);
            if !last {
                param.comma =
                    Written::parse_with(input, |input| input.parse::<Token![,]>())?.tokens;
            }
            params.push(param);
            if last {
                break;
            }
        }
        let gt = Written::parse_with(input, |input| input.parse::<Token![>]>())?.tokens;
        Ok(Generics {
            lt,
            gt,
            params,
            where_clause: None,
        })
    }
}

/// One parameter, as `Generics::parse` reads it.
fn param(input: ParseStream) -> syn::Result<Param> {
    let begin = input.cursor();
    outer_attrs(input)?;
    let lookahead = input.lookahead1();
    let (kind, name, default) = if lookahead.peek(Lifetime) {
        let lifetime = input.fork().call(Lifetime::parse_any)?;
        grammar::lifetime_param(input)?;
        let mut apostrophe = Punct::new('\'', Spacing::Joint);
        apostrophe.set_span(lifetime.apostrophe);
        let ident = lifetime.ident;
        (ParamKind::Lifetime, quote!(#apostrophe #ident), None)
    } else if lookahead.peek(Ident) {
        let (ident, default) = grammar::type_param(input)?;
        (ParamKind::Type, ident.into_token_stream(), default)
    } else if lookahead.peek(Token![const]) {
        let (ident, default) = grammar::const_param(input)?;
        (ParamKind::Const, ident.into_token_stream(), default)
    } else if input.peek(Token![_]) {
        let ident = input.call(Ident::parse_any)?;
        (ParamKind::Type, ident.into_token_stream(), None)
    } else {
        return Err(lookahead.error());
    };
    let written = between(begin, input.cursor());
    let declared = match default {
        Some(default) => between(begin, default),
        None => written.clone(),
    };
    Ok(Param {
        kind,
        written,
        declared,
        name,
        comma: TokenStream::new(),
    })
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

    pub(crate) fn has_where_clause(&self) -> bool {
        self.where_clause.is_some()
    }

    /// The `where` clause as written, or nothing for a bare `where`, as syn writes it.
    pub(crate) fn where_clause(&self) -> TokenStream {
        match &self.where_clause {
            Some(clause) if clause.node => clause.tokens.clone(),
            _ => TokenStream::new(),
        }
    }

    /// `<..>` with each parameter in the given form, lifetimes first, as syn writes
    /// generics whatever order they were written in.
    fn write(&self, form: impl Fn(&Param) -> &TokenStream) -> TokenStream {
        if self.params.is_empty() {
            return TokenStream::new();
        }
        let (lifetimes, others): (Vec<&Param>, Vec<&Param>) = self
            .params
            .iter()
            .partition(|param| param.kind == ParamKind::Lifetime);
        let mut tokens = self.lt.clone();
        let mut after_comma = true;
        for param in lifetimes {
            tokens.extend(form(param).clone());
            tokens.extend(param.comma.clone());
            after_comma = !param.comma.is_empty();
        }
        for param in others {
            if !after_comma {
                tokens.extend(quote!(,));
                after_comma = true;
            }
            tokens.extend(form(param).clone());
            tokens.extend(param.comma.clone());
        }
        tokens.extend(self.gt.clone());
        tokens
    }
}

/// The parameters as the struct declares them, defaults included.
impl ToTokens for Generics {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.write(|param| &param.written));
    }
}
