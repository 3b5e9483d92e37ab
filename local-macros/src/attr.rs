//! The attribute's own syntax: its options, and `#[init(..)]` on fields.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Expr, Ident, MacroDelimiter, Meta, Path};

use crate::ast::Errors;

/// `#[thread_local_struct(init = path, inherit, per_thread)]`.
#[derive(Default)]
pub(crate) struct Options {
    /// `init = path`: a `fn() -> Self` building each thread's value.
    pub init: Option<InitFn>,
    /// `inherit`: seeded into contexts made by `Context::inherit()`; needs `Clone`.
    pub inherit: Option<Ident>,
    /// `per_thread`: the value belongs to the OS thread, whatever context runs.
    pub per_thread: Option<Ident>,
}

pub(crate) struct InitFn {
    /// The `init` keyword, where a wrong signature is "expected".
    pub keyword: Ident,
    pub path: Path,
}

const OPTIONS: &str = "expected `init = path::to::function`, `inherit` or `per_thread`";

pub(crate) fn options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        let Some(name) = meta.path.get_ident().cloned() else {
            return Err(meta.error(format_args!("unknown option: {OPTIONS}")));
        };
        let duplicate = || syn::Error::new(name.span(), format_args!("`{name}` is given twice"));
        match name.to_string().as_str() {
            "init" => {
                if options.init.is_some() {
                    return Err(duplicate());
                }
                let value = meta.value().map_err(|_| {
                    syn::Error::new(
                        name.span(),
                        "`init` names the initializer: write `init = Self::new` \
                         (a `fn() -> Self`)",
                    )
                })?;
                if value.peek(syn::LitStr) {
                    return Err(value.error(
                        "remove the quotes: `init` takes the path itself, \
                         `init = Self::new`",
                    ));
                }
                let path = value.parse::<Path>().map_err(|error| {
                    syn::Error::new(
                        error.span(),
                        "expected the path of a `fn() -> Self`, such as `Self::new`; \
                         for an expression, put `#[init(..)]` on the fields",
                    )
                })?;
                if value.peek(syn::token::Paren) {
                    return Err(value.error(
                        "write the function's path without calling it: \
                         `init = Self::new`; it is called once on each thread",
                    ));
                }
                options.init = Some(InitFn {
                    keyword: name.clone(),
                    path,
                });
            }
            "inherit" | "per_thread" => {
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    return Err(meta.error(format_args!(
                        "`{name}` takes no value: write `#[thread_local_struct({name})]`"
                    )));
                }
                let slot = if name == "inherit" {
                    &mut options.inherit
                } else {
                    &mut options.per_thread
                };
                if slot.replace(name.clone()).is_some() {
                    return Err(duplicate());
                }
            }
            _ => {
                return Err(syn::Error::new(
                    name.span(),
                    format_args!("unknown option `{name}`: {OPTIONS}"),
                ));
            }
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    options
}

/// A field's `#[init(expr)]`.
pub(crate) struct Init {
    /// The whole attribute, for errors about its presence.
    pub attr: Attribute,
    pub expr: Expr,
}

/// Removes the `#[init(..)]` attributes from `attrs` and returns the field's initializer.
pub(crate) fn take_init(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Option<Init> {
    let mut init: Option<Init> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("init") {
            kept.push(attr);
            continue;
        }
        let expr = match &attr.meta {
            Meta::List(list) if !matches!(list.delimiter, MacroDelimiter::Paren(_)) => {
                Err(syn::Error::new_spanned(
                    &attr,
                    "expected `#[init(expr)]`, with the field's initial value in parentheses",
                ))
            }
            Meta::List(list) if list.tokens.is_empty() => Err(syn::Error::new_spanned(
                &attr,
                "`#[init()]` is empty: write the field's initial value, `#[init(expr)]`",
            )),
            Meta::List(list) => list.parse_args_with(|input: ParseStream| {
                let expr = input.parse::<Expr>()?;
                if !input.is_empty() {
                    return Err(input.error(
                        "expected one expression, the field's initial value: `#[init(expr)]`",
                    ));
                }
                Ok(expr)
            }),
            _ => Err(syn::Error::new_spanned(
                &attr,
                "expected `#[init(expr)]`, with the field's initial value in parentheses",
            )),
        };
        match expr {
            Err(error) => errors.push(error),
            Ok(_) if init.is_some() => errors.push(syn::Error::new_spanned(
                &attr,
                "a second `#[init(..)]` on this field: give one initial value",
            )),
            Ok(expr) => init = Some(Init { attr, expr }),
        }
    }
    *attrs = kept;
    init
}
