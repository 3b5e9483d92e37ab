//! The attribute's own grammar: its options, `#[thread_local_struct(init = path, inherit,
//! per_thread, crate = path)]`, and `#[init(..)]` on fields (also inside
//! `#[cfg_attr(..)]`), whose expression is kept as the tokens written.

use proc_macro2::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::quote;
use syn::buffer::Cursor;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

use crate::errors::{Error, Errors};
use crate::symbol::{ALLOW, CFG, CFG_ATTR, CRATE, DEPRECATED, DOC, INHERIT, INIT, PER_THREAD};
use crate::tokens::{Attribute, Form, Meta, Path, between, meta, run};

/// One entry of a list such as the options or a `derive`: its path, where the path's first
/// name starts (errors about the entry are underlined from there to what was last read),
/// and the input after the path.
pub(crate) struct NestedMeta<'a> {
    pub path: Path,
    start: Cursor<'a>,
    pub input: ParseStream<'a>,
}

impl<'a> NestedMeta<'a> {
    /// An error from the entry's path to the last token read: syn's `ParseNestedMeta::error`.
    fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_range(self.start..self.input.cursor(), message)
    }

    /// The `=` before a value: syn's `ParseNestedMeta::value`.
    fn value(&self) -> syn::Result<ParseStream<'a>> {
        self.input.parse::<Token![=]>()?;
        Ok(self.input)
    }
}

/// syn's `meta::parser`: entries separated by commas, a trailing one allowed, each given
/// to `logic`, which reads what follows the path.
pub(crate) fn nested_meta(
    input: ParseStream,
    mut logic: impl FnMut(NestedMeta<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    if input.is_empty() {
        return Ok(());
    }
    loop {
        let leading_colon = input
            .parse::<Option<Token![::]>>()?
            .map(|colon| colon.spans[0]);
        let start = input.cursor();
        let mut segments = vec![input.call(Ident::parse_any)?];
        while input.parse::<Option<Token![::]>>()?.is_some() {
            segments.push(input.call(Ident::parse_any)?);
        }
        let path = Path {
            leading_colon,
            segments,
        };
        logic(NestedMeta { path, start, input })?;
        if input.is_empty() {
            return Ok(());
        }
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            return Ok(());
        }
    }
}

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
    pub krate: Option<QPath>,
}

pub(crate) struct InitFn {
    /// The `init` keyword, where a wrong signature is "expected".
    pub keyword: Ident,
    pub path: QPath,
}

/// A path that may start with `<T as Trait>::`, as an `init` or `crate` option takes it.
pub(crate) struct QPath {
    pub qself: Option<QSelf>,
    pub path: Path,
    /// As written.
    pub tokens: TokenStream,
}

/// `<T as Trait>::` before a path.
pub(crate) struct QSelf {
    /// The `<`.
    pub lt: Span,
    /// `T`, as written.
    pub ty: TokenStream,
    /// How many of the path's segments belong to `Trait`: 0 for `<T>::name`.
    pub position: usize,
}

const OPTIONS: &str =
    "expected `init = path::to::function`, `inherit`, `per_thread` or `crate = path::to::local`";

pub(crate) fn options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let parser = |input: ParseStream| {
        nested_meta(input, |meta| {
            let Some(name) = meta.path.get_ident().cloned() else {
                return Err(meta.error(format_args!("unknown option: {OPTIONS}")));
            };
            let duplicate =
                || syn::Error::new(name.span(), format_args!("`{name}` is given twice"));
            if name == INIT {
                if options.init.is_some() {
                    return Err(duplicate());
                }
                let path = option_path(&meta, &name, "Self::new", "a `fn() -> Self`")?;
                options.init = Some(InitFn {
                    keyword: name.clone(),
                    path,
                });
            } else if name == CRATE {
                if options.krate.is_some() {
                    return Err(duplicate());
                }
                let path = option_path(&meta, &name, "::my_local", "the `local` crate")?;
                if let Some(qself) = &path.qself {
                    return Err(syn::Error::new(
                        qself.lt,
                        "`crate` names the `local` crate as a path, such as `crate = ::my_local`",
                    ));
                }
                options.krate = Some(path);
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
        })
    };
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    options
}

/// The path after `init =` or `crate =`, named by `option`.
fn option_path(
    meta: &NestedMeta<'_>,
    option: &Ident,
    example: &str,
    what: &str,
) -> syn::Result<QPath> {
    let value = meta.value().map_err(|_| {
        syn::Error::new(
            option.span(),
            format_args!("`{option}` names {what}: write `{option} = {example}`"),
        )
    })?;
    if value.peek(syn::LitStr) {
        return Err(value.error(format_args!(
            "remove the quotes: `{option}` takes the path itself, `{option} = {example}`"
        )));
    }
    let path = qpath(value).map_err(|error| {
        let message = if option == INIT {
            "expected the path of a `fn() -> Self`, such as `Self::new`; for an expression, put \
             `#[init(..)]` on the fields"
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

/// A path as an expression writes it, maybe qualified: its names are read; the type in
/// `<T as Trait>` and generic arguments are kept as written, for rustc to check where the
/// path is written back.
fn qpath(input: ParseStream) -> syn::Result<QPath> {
    let begin = input.cursor();
    let mut qself = None;
    let mut leading_colon = None;
    let mut segments = Vec::new();
    if let Some(lt) = input.parse::<Option<Token![<]>>()? {
        let ty = run(
            input,
            |tree| matches!(tree, TokenTree::Ident(ident) if ident == "as"),
        )?;
        if ty.is_empty() {
            return Err(input.error("expected a type"));
        }
        if input.parse::<Option<Token![as]>>()?.is_some() {
            input.parse::<Option<Token![::]>>()?;
            path_segments(input, true, &mut segments)?;
        }
        input.parse::<Token![>]>()?;
        input.parse::<Token![::]>()?;
        qself = Some(QSelf {
            lt: lt.span,
            ty,
            position: segments.len(),
        });
    } else {
        leading_colon = input
            .parse::<Option<Token![::]>>()?
            .map(|colon| colon.spans[0]);
    }
    path_segments(input, false, &mut segments)?;
    Ok(QPath {
        qself,
        path: Path {
            leading_colon,
            segments,
        },
        tokens: between(begin, input.cursor()),
    })
}

/// Names separated by `::`, each maybe with generic arguments: `::<..>`, or in a type (the
/// trait of `<T as Trait>`) `<..>` too.
fn path_segments(input: ParseStream, in_type: bool, names: &mut Vec<Ident>) -> syn::Result<()> {
    loop {
        let keyword = input.peek(Token![self])
            || input.peek(Token![super])
            || input.peek(Token![crate])
            || input.peek(Token![Self]);
        names.push(if keyword {
            input.call(Ident::parse_any)?
        } else {
            input.parse()?
        });
        if input.peek(Token![::]) && input.peek3(Token![<]) || in_type && input.peek(Token![<]) {
            input.parse::<Option<Token![::]>>()?;
            input.parse::<Token![<]>()?;
            run(input, |_| false)?;
            input.parse::<Token![>]>()?;
        }
        if input.parse::<Option<Token![::]>>()?.is_none() {
            return Ok(());
        }
    }
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
    /// `#[doc]` attributes, copied onto the field's getter and setter.
    pub docs: Vec<TokenStream>,
    /// `#[deprecated]`, copied onto them too.
    pub deprecated: Vec<TokenStream>,
    /// `#[allow(..)]`, copied onto them and onto the field's binding in `Default`, which
    /// repeat the field's type: a lint the user allowed on the field is allowed there too.
    pub allows: Vec<TokenStream>,
}

/// Reads `#[init(..)]` (also inside the `#[cfg_attr(..)]` that carry one) and returns what
/// the attributes say, and the attributes for the re-emitted struct: every one but
/// `#[init(..)]`, and a `cfg_attr` without it.
pub(crate) fn field_attrs(attrs: Vec<Attribute>, errors: &mut Errors) -> (FieldAttrs, TokenStream) {
    let mut found = FieldAttrs::default();
    let mut kept = TokenStream::new();
    for attr in attrs {
        let path = &attr.meta.path;
        if *path == INIT {
            let init = init(&attr.meta, attr.tokens, None);
            add_init(&mut found, init, errors);
            continue;
        }
        if *path == CFG {
            if let Some(predicate) = attr.meta.list() {
                found.cfgs.push(predicate.clone());
            }
        } else if *path == DOC {
            found.docs.push(attr.tokens.clone());
        } else if *path == DEPRECATED {
            found.deprecated.push(attr.tokens.clone());
        } else if *path == ALLOW {
            found.allows.push(attr.tokens.clone());
        } else if *path == CFG_ATTR {
            if let Some(rewritten) = cfg_attr(&attr, &mut found, errors) {
                kept.extend(rewritten);
                continue;
            }
        }
        kept.extend(attr.tokens);
    }
    (found, kept)
}

fn add_init(found: &mut FieldAttrs, init: Result<Init, Error>, errors: &mut Errors) {
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
            errors.push(Error::spanned(&init.spanned, message));
        }
        Ok(init) => found.init = Some(init),
    }
}

/// `#[cfg_attr(predicate, attrs..)]` holding an `init(..)`, possibly nested: reads the
/// initializer and returns the attribute without it, or nothing when only the `init(..)`
/// was in it (`None` when it holds none, so that it is kept as written, malformed or not).
fn cfg_attr(attr: &Attribute, found: &mut FieldAttrs, errors: &mut Errors) -> Option<TokenStream> {
    let (predicate, metas) = split_cfg_attr(attr.meta.list()?.clone())?;
    if !metas.iter().any(holds_init) {
        return None;
    }
    let predicate = predicate.tokens;
    let mut rest = Vec::new();
    read_cfg_attr(&predicate, metas, found, &mut rest, errors);
    if rest.is_empty() {
        return Some(TokenStream::new());
    }
    let cfg_attr = attr.meta.path.get_ident()?;
    let mut pound = Punct::new('#', Spacing::Alone);
    pound.set_span(attr.pound);
    let mut brackets = Group::new(
        Delimiter::Bracket,
        quote!(#cfg_attr(#predicate, #(#rest),*)),
    );
    brackets.set_span(attr.brackets);
    Some(quote!(#pound #brackets))
}

/// The attributes that a `cfg_attr` applies, each with its tokens.
type Metas = Punctuated<Meta, Token![,]>;

/// A `cfg_attr`'s predicate and attributes.
fn split_cfg_attr(tokens: TokenStream) -> Option<(Meta, Metas)> {
    let parser = |input: ParseStream| {
        let predicate = meta(input)?;
        input.parse::<Token![,]>()?;
        let metas = Punctuated::parse_terminated_with(input, meta)?;
        Ok((predicate, metas))
    };
    parser.parse2(tokens).ok()
}

/// A `cfg_attr` nested in another that holds an `init`: its name, predicate and metas.
fn nested_cfg_attr_with_init(meta: &Meta) -> Option<(&Ident, Meta, Metas)> {
    let tokens = meta.list()?;
    let path = meta.path.get_ident().filter(|path| *path == CFG_ATTR)?;
    let (inner, metas) = split_cfg_attr(tokens.clone())?;
    metas.iter().any(holds_init).then_some((path, inner, metas))
}

fn holds_init(meta: &Meta) -> bool {
    if meta.path == INIT {
        return true;
    }
    match meta.list() {
        Some(tokens) if meta.path == CFG_ATTR => {
            split_cfg_attr(tokens.clone()).is_some_and(|(_, metas)| metas.iter().any(holds_init))
        }
        _ => false,
    }
}

/// The attributes of one `cfg_attr` under `predicate`: `init(..)` is read, the others go
/// to `rest` (a nested `cfg_attr` holding an `init` is read in turn, its rest kept nested).
fn read_cfg_attr(
    predicate: &TokenStream,
    metas: Metas,
    found: &mut FieldAttrs,
    rest: &mut Vec<TokenStream>,
    errors: &mut Errors,
) {
    for meta in metas {
        if meta.path == INIT {
            let init = init(&meta, meta.tokens.clone(), Some(predicate.clone()));
            add_init(found, init, errors);
            continue;
        }
        if let Some((path, inner, metas)) = nested_cfg_attr_with_init(&meta) {
            let inner = inner.tokens;
            let both = quote!(all(#predicate, #inner));
            let mut inner_rest = Vec::new();
            read_cfg_attr(&both, metas, found, &mut inner_rest, errors);
            if !inner_rest.is_empty() {
                rest.push(quote!(#path(#inner, #(#inner_rest),*)));
            }
            continue;
        }
        rest.push(meta.tokens);
    }
}

const INIT_FORM: &str = "expected `#[init(expr)]`, with the field's initial value in parentheses";

/// One `init(..)`: its tokens, checked only for being one expression as far as that can
/// be told without parsing Rust expressions; rustc reports the rest at the user's tokens.
fn init(meta: &Meta, spanned: TokenStream, predicate: Option<TokenStream>) -> Result<Init, Error> {
    let tokens = match &meta.form {
        Form::List {
            delimiter: Delimiter::Parenthesis,
            tokens,
        } => tokens,
        _ => return Err(Error::spanned(&spanned, INIT_FORM)),
    };
    if tokens.is_empty() {
        return Err(Error::spanned(
            &spanned,
            "`#[init()]` is empty: write the field's initial value, `#[init(expr)]`",
        ));
    }
    check_one_expression(tokens)?;
    if let Some(receiver) = find_self(tokens.clone()) {
        return Err(syn::Error::new(
            receiver,
            "an initializer cannot read other fields: each `#[init(..)]` is evaluated before \
             the value exists, with no `self`; to compute fields from each other, build the \
             whole value in one function, `#[thread_local_struct(init = Self::new)]`",
        )
        .into());
    }
    Ok(Init {
        spanned,
        tokens: tokens.clone(),
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
