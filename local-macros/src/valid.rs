//! The rules an input must follow: one `check_*` per rule, each broken rule reported at
//! the user's tokens.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::Parser;

use crate::ast::{Field, Input, ParamKind};
use crate::attr::nested_meta;
use crate::errors::{Error, Errors};
use crate::symbol::{DEFAULT_FN, DEFAULT_TRAIT, DERIVE};
use crate::tokens::{Form, Path};

/// Names of the functions generated on every thread-local struct; a field cannot take one,
/// since its getter would have the same name. `default` would shadow `Default::default`.
pub(crate) const GENERATED: &[&str] = &[
    "with",
    "with_mut",
    "try_with",
    "try_with_mut",
    "get",
    "set",
    "replace",
    "take",
    "is_initialized",
    "sync_scope",
    "scope",
    "default",
];

/// What went wrong, beyond the messages, so that the fallback output skips what would only
/// repeat the error.
#[derive(Default)]
pub(crate) struct Findings {
    /// `#[derive(Default)]` is present: the generated `Default` would be a second one.
    pub derives_default: bool,
    /// Per field: its accessors would clash with a generated function.
    pub clashes: Vec<bool>,
    /// A field's type has no size known at compile time: nothing can take `Self` by value.
    pub unsized_field: bool,
}

pub(crate) const NOT_A_STRUCT: &str =
    "`#[thread_local_struct]` goes on a struct: each thread gets its own value of the struct";

pub(crate) fn check(input: &Input, errors: &mut Errors) -> Findings {
    if !input.is_struct() {
        // Nothing else is read of an enum or a union.
        errors.push(syn::Error::new(input.keyword.span(), NOT_A_STRUCT));
        return Findings::default();
    }
    let mut findings = Findings {
        clashes: vec![false; input.fields.len()],
        ..Findings::default()
    };
    check_generics(input, errors);
    check_where_clause(input, errors);
    check_has_fields(input, errors);
    check_field_defaults(input, errors);
    check_init_exclusive(input, errors);
    check_init_fn_not_default(input, errors);
    check_inherit_with_per_thread(input, errors);
    check_applied_once(input, errors);
    findings.derives_default = check_no_derived_default(input, errors);
    findings.unsized_field = check_sized_fields(input, errors);
    check_names(input, &mut findings.clashes, errors);
    findings
}

fn check_generics(input: &Input, errors: &mut Errors) {
    let generics = &input.generics;
    let Some(param) = generics.params.first() else {
        return;
    };
    let message = match param.kind {
        ParamKind::Type => {
            "a thread-local struct cannot have type parameters: each thread's value is built \
             by one initializer, for one concrete type"
        }
        ParamKind::Lifetime => {
            "a thread-local struct cannot have lifetime parameters: each thread's value lives \
             as long as its thread, so its fields must own their data"
        }
        ParamKind::Const => {
            "a thread-local struct cannot have const parameters: declare one struct for each \
             value of the parameter"
        }
    };
    errors.push(Error::spanned(generics, message));
}

fn check_where_clause(input: &Input, errors: &mut Errors) {
    if !input.generics.where_clause.is_empty() {
        errors.push(Error::spanned(
            &input.generics.where_clause,
            "a thread-local struct cannot have a `where` clause: it has no parameters to bound",
        ));
    }
}

fn check_has_fields(input: &Input, errors: &mut Errors) {
    if !input.fields.is_empty() {
        return;
    }
    let message = "a thread-local struct needs at least one field: with none, there is no \
                   state to keep per thread";
    let span = input.fields_span.unwrap_or_else(|| input.ident.span());
    errors.push(syn::Error::new(span, message));
}

fn check_field_defaults(input: &Input, errors: &mut Errors) {
    for default in input
        .fields
        .iter()
        .filter_map(|field| field.default.as_ref())
    {
        errors.push(Error::spanned(
            default,
            "field default values are not read by `#[thread_local_struct]`: write \
             `#[init(expr)]` on the field instead",
        ));
    }
}

fn check_init_exclusive(input: &Input, errors: &mut Errors) {
    if input.options.init.is_none() {
        return;
    }
    for init in input
        .fields
        .iter()
        .filter_map(|field| field.attrs.init.as_ref())
    {
        errors.push(Error::spanned(
            &init.spanned,
            "`#[init(..)]` on a field cannot be combined with \
             `#[thread_local_struct(init = ..)]`: the function builds the whole value; remove \
             one of them",
        ));
    }
}

/// `init = Default::default`, in any spelling that names the generated `Default`: it would
/// call itself. A path that reaches it unseen (an alias) panics at run time instead.
fn check_init_fn_not_default(input: &Input, errors: &mut Errors) {
    let Some(init) = &input.options.init else {
        return;
    };
    let path = &init.path;
    let segments = &path.path.segments;
    let Some(last) = segments.last() else {
        return;
    };
    if *last != DEFAULT_FN {
        return;
    }
    // `Self`, the struct's name, or `_`, alone.
    let names_self = |ty: &TokenStream| {
        let mut trees = ty.clone().into_iter();
        match (trees.next(), trees.next()) {
            (Some(TokenTree::Ident(ident)), None) => {
                ident == "Self" || ident == "_" || ident == input.ident
            }
            _ => false,
        }
    };
    let recursive = match &path.qself {
        // `<Self as Default>::default`, `<Session>::default`.
        Some(qself) => {
            names_self(&qself.ty)
                && (qself.position == 0
                    || segments
                        .get(qself.position - 1)
                        .is_some_and(|segment| *segment == DEFAULT_TRAIT))
        }
        // `Default::default`, `::core::default::Default::default`, `Self::default`,
        // `Session::default`.
        None => {
            segments.len() >= 2 && {
                let owner = &segments[segments.len() - 2];
                owner == DEFAULT_TRAIT || owner == "Self" || *owner == input.ident
            }
        }
    };
    if recursive {
        errors.push(Error::spanned(
            &init.path.tokens,
            format_args!(
                "`init` would call itself: `#[thread_local_struct]` implements `Default` for \
                 `{ident}` by calling `init`; name a function that builds the value, such as \
                 `{ident}::new`",
                ident = input.ident,
            ),
        ));
    }
}

fn check_inherit_with_per_thread(input: &Input, errors: &mut Errors) {
    if let (Some(inherit), Some(_)) = (&input.options.inherit, &input.options.per_thread) {
        errors.push(syn::Error::new(
            inherit.span(),
            "`inherit` has no effect with `per_thread`: a per-thread value is never seeded \
             into a context; remove one of them",
        ));
    }
}

fn check_applied_once(input: &Input, errors: &mut Errors) {
    for attr in &input.repeated {
        errors.push(Error::spanned(
            &attr.tokens,
            "`#[thread_local_struct]` is applied twice: remove this one",
        ));
    }
}

/// Returns whether `Default` is derived.
fn check_no_derived_default(input: &Input, errors: &mut Errors) -> bool {
    let mut derived = false;
    for attr in input.attrs.iter().filter(|attr| attr.meta.path == DERIVE) {
        let Form::List { tokens, .. } = &attr.meta.form else {
            continue;
        };
        // A derive list that does not parse is the compiler's to report; the paths read
        // before the mistake are still checked.
        let parser = |input: syn::parse::ParseStream| {
            nested_meta(input, |meta| {
                if meta
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| *last == DEFAULT_TRAIT)
                {
                    derived = true;
                    let (start, end) = derived_path_ends(&meta.path);
                    errors.push(Error::range(
                        start,
                        end,
                        "remove `Default` from this derive: `#[thread_local_struct]` \
                         implements `Default` with the struct's initializer",
                    ));
                }
                Ok(())
            })
        };
        let _ = parser.parse2(tokens.clone());
    }
    derived
}

/// The first and the last token of a path in a derive list: `::` or its first name, and its
/// last name (such paths have no generic arguments).
fn derived_path_ends(path: &Path) -> (Span, Span) {
    let names = || path.segments.iter().map(syn::Ident::span);
    let start = match path.leading_colon {
        Some(colon) => colon,
        None => names().next().unwrap_or_else(Span::call_site),
    };
    (start, names().next_back().unwrap_or(start))
}

/// A field whose type is unsized as written (`[u8]`, `str`, `dyn Trait`): one error at
/// the field, not one for each use of the struct by value. Returns whether there is one.
fn check_sized_fields(input: &Input, errors: &mut Errors) -> bool {
    let mut found = false;
    for field in &input.fields {
        if field.is_unsized {
            found = true;
            errors.push(Error::spanned(
                &field.ty,
                "a thread-local struct is stored by value, so every field needs a size known \
                 at compile time: own the data instead, such as `Vec<u8>`, `String` or \
                 `Box<dyn Trait>`",
            ));
        }
    }
    found
}

/// A field named like a generated function, or like another field's setter.
fn check_names(input: &Input, clashes: &mut [bool], errors: &mut Errors) {
    let names: Vec<Option<String>> = input
        .fields
        .iter()
        .map(|field| field.ident.as_ref().map(unraw))
        .collect();
    for (index, field) in input.fields.iter().enumerate() {
        let (Some(ident), Some(name)) = (&field.ident, &names[index]) else {
            continue;
        };
        let clash = if GENERATED.contains(&name.as_str()) {
            Some(format!(
                "a field named `{name}` clashes with the generated `{}::{name}()`: rename the \
                 field",
                input.ident
            ))
        } else {
            names
                .iter()
                .flatten()
                .find(|other| format!("set_{other}") == *name)
                .map(|other| {
                    format!(
                        "a field named `{name}` clashes with the generated setter of field \
                         `{other}`: rename one of them"
                    )
                })
        };
        if let Some(message) = clash {
            clashes[index] = true;
            errors.push(syn::Error::new(ident.span(), message));
        }
    }
}

/// A field's name as written without `r#`: `r#type` is `type`.
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
}

/// The fields that get a getter and a setter: named ones whose names do not clash.
pub(crate) fn accessible<'a>(
    fields: &'a [Field],
    clashes: &'a [bool],
) -> impl Iterator<Item = (&'a Field, &'a syn::Ident)> {
    fields
        .iter()
        .zip(clashes)
        .filter_map(|(field, &clash)| Some((field, field.ident.as_ref().filter(|_| !clash)?)))
}
