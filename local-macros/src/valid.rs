//! The rules an input must follow, each broken rule reported at the user's tokens.

use syn::{Fields, GenericParam};

use crate::ast::{Errors, Input};

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
}

pub(crate) fn check(input: &Input, errors: &mut Errors) -> Findings {
    let mut findings = Findings {
        clashes: vec![false; input.fields.len()],
        ..Findings::default()
    };
    let item = &input.item;

    if let Some(param) = item.generics.params.first() {
        let message = match param {
            GenericParam::Type(_) => {
                "a thread-local struct cannot have type parameters: each thread's value is \
                 built by one initializer, for one concrete type"
            }
            GenericParam::Lifetime(_) => {
                "a thread-local struct cannot have lifetime parameters: each thread's value \
                 lives as long as its thread, so its fields must own their data"
            }
            GenericParam::Const(_) => {
                "a thread-local struct cannot have const parameters: declare one struct for \
                 each value of the parameter"
            }
        };
        errors.push(syn::Error::new_spanned(&item.generics, message));
    }
    if let Some(where_clause) = &item.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            "a thread-local struct cannot have a `where` clause: it has no parameters to bound",
        ));
    }

    if item.fields.is_empty() {
        let message = "a thread-local struct needs at least one field: with none, there is \
                       no state to keep per thread";
        let error = match &item.fields {
            Fields::Unit => syn::Error::new_spanned(&item.ident, message),
            fields => syn::Error::new_spanned(fields, message),
        };
        errors.push(error);
    }
    for field in &item.fields {
        if let Some((eq, default)) = &field.default {
            errors.push(syn::Error::new_spanned(
                quote::quote!(#eq #default),
                "field default values are not read by `#[thread_local_struct]`: write \
                 `#[init(expr)]` on the field instead",
            ));
        }
    }

    if input.options.init.is_some() {
        for init in input.fields.iter().filter_map(|field| field.init.as_ref()) {
            errors.push(syn::Error::new_spanned(
                &init.attr,
                "`#[init(..)]` on a field cannot be combined with \
                 `#[thread_local_struct(init = ..)]`: the function builds the whole value; \
                 remove one of them",
            ));
        }
    }

    if let (Some(inherit), Some(_)) = (&input.options.inherit, &input.options.per_thread) {
        errors.push(syn::Error::new(
            inherit.span(),
            "`inherit` has no effect with `per_thread`: a per-thread value is never seeded \
             into a context; remove one of them",
        ));
    }

    for attr in &input.repeated {
        errors.push(syn::Error::new_spanned(
            attr,
            "`#[thread_local_struct]` is applied twice: remove this one",
        ));
    }
    for attr in &item.attrs {
        if attr.path().is_ident("derive") {
            // A derive list that does not parse is the compiler's to report.
            let _ = attr.parse_nested_meta(|meta| {
                if meta
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == "Default")
                {
                    findings.derives_default = true;
                    errors.push(syn::Error::new_spanned(
                        &meta.path,
                        "remove `Default` from this derive: `#[thread_local_struct]` \
                         implements `Default` with the struct's initializer",
                    ));
                }
                Ok(())
            });
        }
    }

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
                "a field named `{name}` clashes with the generated `{}::{name}()`: rename the field",
                item.ident
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
            findings.clashes[index] = true;
            errors.push(syn::Error::new(ident.span(), message));
        }
    }
    findings
}

/// A field's name as written without `r#`: `r#type` is `type`.
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
}
