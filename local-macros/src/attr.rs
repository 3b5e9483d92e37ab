//! The attribute's own syntax: its options, and `#[init(..)]` on fields (also inside
//! `#[cfg_attr(..)]`), read without parsing the initial values as Rust expressions.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, ExprPath, Ident, MacroDelimiter, Meta, Path, Token};

use crate::errors::Errors;
use crate::symbol::{CFG, CFG_ATTR, CRATE, DEPRECATED, DOC, INHERIT, INIT, PER_THREAD, Symbol};

/// `#[thread_local_struct(init = path, inherit, per_thread, crate = path)]`.
#[derive(Default)]
pub(crate) struct Options {
    /// `init = path`: a `fn() -> Self` building each thread's value.
    pub init: Option<InitFn>,
    /// `inherit`: seeded into contexts made by `Context::inherit()`; needs `Clone`.
    pub inherit: Option<Ident>,
    /// `per_thread`: the value belongs to the OS thread, whatever context runs.
    pub per_thread: Option<Ident>,
    /// `crate = path`: where the user's crate sees the facade, when renamed.
    pub krate: Option<Path>,
}

pub(crate) struct InitFn {
    /// The `init` keyword, where a wrong signature is "expected".
    pub keyword: Ident,
    pub path: ExprPath,
}

const OPTIONS: &str =
    "expected `init = path::to::function`, `inherit`, `per_thread` or `crate = path::to::local`";

pub(crate) fn options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        let Some(name) = meta.path.get_ident().cloned() else {
            return Err(meta.error(format_args!("unknown option: {OPTIONS}")));
        };
        let duplicate = || syn::Error::new(name.span(), format_args!("`{name}` is given twice"));
        if name == INIT {
            if options.init.is_some() {
                return Err(duplicate());
            }
            let path = option_path(&meta, INIT, "Self::new", "a `fn() -> Self`")?;
            options.init = Some(InitFn {
                keyword: name.clone(),
                path,
            });
        } else if name == CRATE {
            if options.krate.is_some() {
                return Err(duplicate());
            }
            let path = option_path(&meta, CRATE, "::my_local", "the `local` crate")?;
            if let Some(qself) = &path.qself {
                return Err(syn::Error::new(
                    qself.lt_token.span,
                    "`crate` names the `local` crate as a path, such as `crate = ::my_local`",
                ));
            }
            options.krate = Some(path.path);
        } else if name == INHERIT || name == PER_THREAD {
            let input = meta.input;
            if input.peek(Token![=])
                || input.peek(syn::token::Paren)
                || input.peek(syn::token::Bracket)
                || input.peek(syn::token::Brace)
            {
                return Err(meta.error(format_args!(
                    "`{name}` takes no value: write `#[thread_local_struct({name})]`"
                )));
            }
            expect_comma(input)?;
            let slot = if name == INHERIT {
                &mut options.inherit
            } else {
                &mut options.per_thread
            };
            if slot.replace(name.clone()).is_some() {
                return Err(duplicate());
            }
        } else {
            return Err(syn::Error::new(
                name.span(),
                format_args!("unknown option `{name}`: {OPTIONS}"),
            ));
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    options
}

/// The path after `init =` or `crate =`.
fn option_path(
    meta: &syn::meta::ParseNestedMeta<'_>,
    option: Symbol,
    example: &str,
    what: &str,
) -> syn::Result<ExprPath> {
    let keyword = meta.path.span();
    let value = meta.value().map_err(|_| {
        syn::Error::new(
            keyword,
            format_args!("`{option}` names {what}: write `{option} = {example}`"),
        )
    })?;
    if value.peek(syn::LitStr) {
        return Err(value.error(format_args!(
            "remove the quotes: `{option}` takes the path itself, `{option} = {example}`"
        )));
    }
    let path = value.parse::<ExprPath>().map_err(|error| {
        let message = if option == INIT {
            "expected the path of a `fn() -> Self`, such as `Self::new`; for an expression, \
             put `#[init(..)]` on the fields"
                .to_owned()
        } else {
            format!("expected the path of {what}, such as `{example}`")
        };
        syn::Error::new(error.span(), message)
    })?;
    if option == INIT && value.peek(syn::token::Paren) {
        return Err(value.error(
            "write the function's path without calling it: `init = Self::new`; it is called \
             once on each thread",
        ));
    }
    expect_comma(value)?;
    Ok(path)
}

/// After an option: the end, or a comma and the next one. Anything else (`per_thread;
/// inherit`) is a missing comma, said where it is missing.
fn expect_comma(input: ParseStream) -> syn::Result<()> {
    if input.is_empty() || input.peek(Token![,]) {
        return Ok(());
    }
    Err(input.error(
        "expected `,`: options are separated by commas, \
         `#[thread_local_struct(init = Self::new, inherit)]`",
    ))
}

impl Symbol {
    fn path_of(self, attr: &Attribute) -> bool {
        attr.path() == self
    }
}

/// A field's `#[init(expr)]`, or `#[cfg_attr(predicate, init(expr))]`.
pub(crate) struct Init {
    /// The attribute (or `init(..)` inside `cfg_attr`), for errors about its presence.
    pub spanned: TokenStream,
    /// The expression's tokens, as written: rustc parses them where they are emitted.
    pub tokens: TokenStream,
    /// `Some` for an initializer given through `cfg_attr`: when it applies.
    pub predicate: Option<TokenStream>,
}

/// What the attribute reads from, or carries along with, one field's attributes.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub init: Option<Init>,
    /// Predicates of the field's `#[cfg(..)]`: the field, and so its accessors and its place
    /// in the initializer, exist where all of them hold.
    pub cfgs: Vec<TokenStream>,
    /// `#[doc]`, copied onto the field's getter and setter.
    pub docs: Vec<Attribute>,
    /// `#[deprecated]`, copied onto them too.
    pub deprecated: Vec<Attribute>,
}

/// Removes `#[init(..)]` from `attrs` (and from the `#[cfg_attr(..)]` that carry one) and
/// returns what the attributes say; every other attribute stays, for the re-emitted struct.
pub(crate) fn field_attrs(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> FieldAttrs {
    let mut found = FieldAttrs::default();
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if INIT.path_of(&attr) {
            let init = init(&attr.meta, attr.to_token_stream(), None);
            add_init(&mut found, init, errors);
            continue;
        }
        if CFG.path_of(&attr) {
            if let Meta::List(list) = &attr.meta {
                found.cfgs.push(list.tokens.clone());
            }
        } else if DOC.path_of(&attr) {
            found.docs.push(attr.clone());
        } else if DEPRECATED.path_of(&attr) {
            found.deprecated.push(attr.clone());
        } else if CFG_ATTR.path_of(&attr)
            && let Some(rewritten) = cfg_attr(&attr, &mut found, errors)
        {
            kept.extend(rewritten);
            continue;
        }
        kept.push(attr);
    }
    *attrs = kept;
    found
}

fn add_init(found: &mut FieldAttrs, init: syn::Result<Init>, errors: &mut Errors) {
    match init {
        Err(error) => errors.push(error),
        Ok(init) if found.init.is_some() => {
            let conditional = init.predicate.is_some()
                || found
                    .init
                    .as_ref()
                    .is_some_and(|first| first.predicate.is_some());
            let message = if conditional {
                "a second `#[init(..)]` on this field, through `cfg_attr`: give one, and \
                 choose inside it, `#[init(if cfg!(test) { 1 } else { 2 })]`"
            } else {
                "a second `#[init(..)]` on this field: give one initial value"
            };
            errors.push(syn::Error::new_spanned(&init.spanned, message));
        }
        Ok(init) => found.init = Some(init),
    }
}

/// `#[cfg_attr(predicate, attrs..)]` holding an `init(..)`, possibly nested: reads the
/// initializer and returns the attribute without it (`None` when it holds none, so that it
/// is kept as written, malformed or not).
fn cfg_attr(
    attr: &Attribute,
    found: &mut FieldAttrs,
    errors: &mut Errors,
) -> Option<Vec<Attribute>> {
    let Meta::List(list) = &attr.meta else {
        return None;
    };
    let (predicate, metas) = split_cfg_attr(list.tokens.clone())?;
    if !metas.iter().any(holds_init) {
        return None;
    }
    let mut rest = Vec::new();
    read_cfg_attr(&predicate, metas, found, &mut rest, errors);
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let pound = attr.pound_token;
    let style = attr.style;
    let bracket = attr.bracket_token;
    let cfg_attr = &list.path;
    let meta: Meta = syn::parse2(quote!(#cfg_attr(#predicate, #(#rest),*))).ok()?;
    Some(vec![Attribute {
        pound_token: pound,
        style,
        bracket_token: bracket,
        meta,
    }])
}

fn split_cfg_attr(tokens: TokenStream) -> Option<(Meta, Punctuated<Meta, Token![,]>)> {
    let parser = |input: ParseStream| {
        let predicate: Meta = input.parse()?;
        input.parse::<Token![,]>()?;
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        Ok((predicate, metas))
    };
    parser.parse2(tokens).ok()
}

fn holds_init(meta: &Meta) -> bool {
    if meta.path() == INIT {
        return true;
    }
    match meta {
        Meta::List(list) if list.path == CFG_ATTR => split_cfg_attr(list.tokens.clone())
            .is_some_and(|(_, metas)| metas.iter().any(holds_init)),
        _ => false,
    }
}

/// The attributes of one `cfg_attr` under `predicate`: `init(..)` is read, the others go
/// to `rest` (a nested `cfg_attr` holding an `init` is read in turn, its rest kept nested).
fn read_cfg_attr(
    predicate: &Meta,
    metas: Punctuated<Meta, Token![,]>,
    found: &mut FieldAttrs,
    rest: &mut Vec<Meta>,
    errors: &mut Errors,
) {
    for meta in metas {
        if meta.path() == INIT {
            let init = init(&meta, meta.to_token_stream(), Some(quote!(#predicate)));
            add_init(found, init, errors);
            continue;
        }
        if let Meta::List(list) = &meta
            && list.path == CFG_ATTR
            && let Some((inner, metas)) = split_cfg_attr(list.tokens.clone())
            && metas.iter().any(holds_init)
        {
            let both: Meta = match syn::parse2(quote!(all(#predicate, #inner))) {
                Ok(both) => both,
                Err(_) => continue,
            };
            let mut inner_rest = Vec::new();
            read_cfg_attr(&both, metas, found, &mut inner_rest, errors);
            if !inner_rest.is_empty() {
                let path = &list.path;
                if let Ok(nested) = syn::parse2(quote!(#path(#inner, #(#inner_rest),*))) {
                    rest.push(nested);
                }
            }
            continue;
        }
        rest.push(meta);
    }
}

const INIT_FORM: &str = "expected `#[init(expr)]`, with the field's initial value in parentheses";

/// One `init(..)`: its tokens, checked only for being one expression as far as that can
/// be told without parsing Rust expressions; rustc reports the rest at the user's tokens.
fn init(meta: &Meta, spanned: TokenStream, predicate: Option<TokenStream>) -> syn::Result<Init> {
    let list = match meta {
        Meta::List(list) if matches!(list.delimiter, MacroDelimiter::Paren(_)) => list,
        _ => return Err(syn::Error::new_spanned(&spanned, INIT_FORM)),
    };
    if list.tokens.is_empty() {
        return Err(syn::Error::new_spanned(
            &spanned,
            "`#[init()]` is empty: write the field's initial value, `#[init(expr)]`",
        ));
    }
    check_one_expression(&list.tokens)?;
    if let Some(receiver) = find_self(list.tokens.clone()) {
        return Err(syn::Error::new(
            receiver,
            "an initializer cannot read other fields: each `#[init(..)]` is evaluated before \
             the value exists, with no `self`; to compute fields from each other, build the \
             whole value in one function, `#[thread_local_struct(init = Self::new)]`",
        ));
    }
    Ok(Init {
        spanned,
        tokens: list.tokens.clone(),
        predicate,
    })
}

/// An initial value is one expression: a second one, after a comma or a semicolon at the
/// top level, is an error here. A comma after a `|` or a `<` may be a closure's parameters
/// or generic arguments (`|a, b| ..`, `Map::<K, V>::new()`), which only a parser of
/// expressions can tell apart; syn has one only with its `full` feature (its subset stops
/// early on valid expressions such as `x?`), so such tokens go to rustc as they are, as
/// does anything else that is not an expression: it reports them at the user's tokens.
fn check_one_expression(tokens: &TokenStream) -> syn::Result<()> {
    let mut commas_are_separators = true;
    for tree in tokens.clone() {
        let TokenTree::Punct(punct) = &tree else {
            continue;
        };
        match punct.as_char() {
            ';' => return Err(syn::Error::new(punct.span(), ONE_EXPRESSION)),
            ',' if commas_are_separators => {
                return Err(syn::Error::new(punct.span(), ONE_EXPRESSION));
            }
            '|' | '<' => commas_are_separators = false,
            _ => {}
        }
    }
    Ok(())
}

const ONE_EXPRESSION: &str = "expected one expression, the field's initial value: `#[init(expr)]`";

/// The first `self` that is not a path prefix (`self::module::CONST`), anywhere in the
/// initializer.
fn find_self(tokens: TokenStream) -> Option<Span> {
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            TokenTree::Ident(ident) if ident == "self" => {
                let path = matches!(trees.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if !path {
                    return Some(ident.span());
                }
            }
            TokenTree::Group(group) => {
                if let Some(span) = find_self(group.stream()) {
                    return Some(span);
                }
            }
            _ => {}
        }
    }
    None
}
