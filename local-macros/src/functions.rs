//! The functions generated on a thread-local struct, described once: the expansion gives
//! each its body, the fallback a stub with the same signature, so that code calling them
//! reports nothing more than the one mistake.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{Field, Generics};
use crate::valid::{accessible, unraw};
use crate::wrap::{Runtime, allowed_lints, at};

/// What the generated functions are made for.
pub(crate) struct Target<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub vis: &'a TokenStream,
    pub fields: &'a [Field],
    /// Per field: no accessors, since its name clashes with a generated function.
    pub clashes: &'a [bool],
    /// `#[repr(packed)]`: getters copy the field out instead of cloning it through a
    /// reference, which a packed field cannot give.
    pub packed: bool,
    /// A field is unsized: functions that take or return `Self` by value are left out.
    pub unsized_field: bool,
    pub runtime: &'a Runtime<'a>,
}

/// One generated function.
pub(crate) struct Function {
    /// Docs, `#[cfg]`, `#[must_use]` and the like.
    attrs: TokenStream,
    /// Everything before the body, visibility included.
    signature: TokenStream,
    /// What it does, through the storage.
    body: TokenStream,
    /// Where a stub's `unreachable!()` is spanned.
    span: Span,
}

/// The name of the struct's storage, a `static` in the `const _` block.
pub(crate) fn storage() -> Ident {
    Ident::new("__THREAD_LOCAL_STRUCT", Span::mixed_site())
}

/// The inherent `impl` holding every generated function: with bodies that reach the
/// storage, or stubs.
pub(crate) fn render(target: &Target<'_>, stubs: bool) -> TokenStream {
    let functions = functions(target).into_iter().map(|function| {
        let Function {
            attrs,
            signature,
            body,
            span,
        } = function;
        let body = if stubs {
            quote_spanned!(at(span)=> ::core::unreachable!())
        } else {
            body
        };
        quote!(#attrs #signature { #body })
    });
    let ident = target.ident;
    let impl_generics = target.generics.impl_generics();
    let type_generics = target.generics.type_generics();
    let where_clause = &target.generics.where_clause;
    let allowed = allowed_lints();
    quote_spanned! {Span::mixed_site()=>
        #[automatically_derived]
        #allowed
        impl #impl_generics #ident #type_generics #where_clause {
            #(#functions)*
        }
    }
}

fn functions(target: &Target<'_>) -> Vec<Function> {
    let ident = target.ident;
    let vis = target.vis;
    let private = |item| target.runtime.private(Span::call_site(), item);
    let access_error = private("AccessError");
    let (scoped, struct_local) = (private("Scoped"), private("StructLocal"));
    // Bindings of the generated code: `__`-prefixed, because a user's constant named like
    // a binding would turn it into a pattern that does not bind.
    let f = Ident::new("__f", Span::mixed_site());
    let value = Ident::new("__value", Span::mixed_site());
    let future = Ident::new("__future", Span::mixed_site());
    let docs = Docs::new(ident);
    let storage = storage();
    let mut functions = vec![
        Function::new(
            &docs.with,
            quote!(#[inline] #[track_caller]),
            quote!(#vis fn with<R>(#f: impl ::core::ops::FnOnce(&Self) -> R) -> R),
            quote!(#storage.with(#f)),
        ),
        Function::new(
            &docs.with_mut,
            quote!(#[inline] #[track_caller]),
            quote!(#vis fn with_mut<R>(#f: impl ::core::ops::FnOnce(&mut Self) -> R) -> R),
            quote!(#storage.with_mut(#f)),
        ),
        Function::new(
            &docs.try_with,
            quote!(#[inline]),
            quote! {
                #vis fn try_with<R>(
                    #f: impl ::core::ops::FnOnce(&Self) -> R,
                ) -> ::core::result::Result<R, #access_error>
            },
            quote!(#storage.try_with(#f)),
        ),
        Function::new(
            &docs.try_with_mut,
            quote!(#[inline]),
            quote! {
                #vis fn try_with_mut<R>(
                    #f: impl ::core::ops::FnOnce(&mut Self) -> R,
                ) -> ::core::result::Result<R, #access_error>
            },
            quote!(#storage.try_with_mut(#f)),
        ),
        Function::new(
            &docs.is_initialized,
            quote!(#[must_use]),
            quote!(#vis fn is_initialized() -> ::core::primitive::bool),
            quote!(#storage.is_initialized()),
        ),
    ];
    if !target.unsized_field {
        functions.extend([
            // The lifetime makes the bound one that is checked where `get` is called, not
            // where it is defined, so a struct that is not `Clone` still compiles; every
            // field of a thread-local struct is `'static`, so it adds nothing else.
            Function::new(
                &docs.get,
                quote!(#[must_use] #[track_caller]),
                quote! {
                    #vis fn get() -> Self
                    where
                        for<'__local> Self: ::core::clone::Clone + '__local,
                },
                quote!(#storage.with(::core::clone::Clone::clone)),
            ),
            Function::new(
                &docs.set,
                quote!(#[track_caller]),
                quote!(#vis fn set(#value: Self)),
                quote!(#storage.set(#value);),
            ),
            Function::new(
                &docs.replace,
                quote!(#[track_caller]),
                quote!(#vis fn replace(#value: Self) -> Self),
                quote!(#storage.replace(#value)),
            ),
            Function::new(
                &docs.take,
                quote!(#[track_caller]),
                quote!(#vis fn take() -> ::core::option::Option<Self>),
                quote!(#storage.take()),
            ),
            Function::new(
                &docs.sync_scope,
                quote!(#[track_caller]),
                quote! {
                    #vis fn sync_scope<R>(#value: Self, #f: impl ::core::ops::FnOnce() -> R) -> R
                },
                quote!(#storage.sync_scope(#value, #f)),
            ),
            // The future's own type, for its `take_value`.
            Function::new(
                &docs.scope,
                quote!(),
                quote! {
                    #vis fn scope<F: ::core::future::Future>(
                        #value: Self,
                        #future: F,
                    ) -> #scoped<'static, #struct_local<Self>, Self, F>
                },
                quote!(#storage.scope(#value, #future)),
            ),
        ]);
    }
    for (field, name) in accessible(target.fields, target.clashes) {
        if field.is_unsized {
            continue;
        }
        functions.extend(accessors(target, field, name));
    }
    functions
}

/// A named field's getter and setter. Their tokens are spanned at the field's name, so
/// that a user's function of the same name is reported there; the getter's bound at the
/// field's type, so that a type that is not `Clone` is reported there too.
fn accessors(target: &Target<'_>, field: &Field, name: &Ident) -> [Function; 2] {
    let ident = target.ident;
    let span = at(name.span());
    let field_vis = &field.vis;
    let ty = &field.ty;
    let ty_span = at(field.ty_span);
    let member = &field.member;
    let unraw = unraw(name);
    let setter = format_ident!("set_{}", unraw, span = name.span());
    let storage = storage();
    let value = Ident::new("__value", Span::mixed_site());
    let this = Ident::new("__this", Span::mixed_site());
    let cfgs = field.attrs.cfgs.iter();
    let cfgs = quote_spanned!(span=> #(#[cfg(#cfgs)])*);
    let docs = &field.attrs.docs;
    let deprecated = &field.attrs.deprecated;
    let allows = &field.attrs.allows;

    let (bound, read, get_doc) = if target.packed {
        (
            quote_spanned!(ty_span=> ::core::marker::Copy),
            quote_spanned!(span=> #value.#member),
            format!(
                "A copy of this thread's `{unraw}` field of [`{ident}`], building the value \
                 first if needed. Needs the field's type to be `Copy`: the struct is \
                 `repr(packed)`, so a field cannot be borrowed to clone it."
            ),
        )
    } else {
        (
            quote_spanned!(ty_span=> ::core::clone::Clone),
            quote_spanned!(span=> ::core::clone::Clone::clone(&#value.#member)),
            format!(
                "A clone of this thread's `{unraw}` field of [`{ident}`], building the value \
                 first if needed. Needs the field's type to be `Clone`; a field that is not \
                 can be read inside [`{ident}::with`]."
            ),
        )
    };
    let set_doc = format!(
        "Sets this thread's `{unraw}` field of [`{ident}`], building the value first if needed."
    );
    let bound = quote_spanned!(ty_span=> for<'__local> #ty: #bound + '__local);
    let getter = Function {
        attrs: {
            let docs = doc_attrs(&get_doc, docs);
            quote_spanned!(span=> #cfgs #docs #(#deprecated)* #(#allows)* #[must_use] #[track_caller])
        },
        signature: quote_spanned! {span=>
            #field_vis fn #name() -> #ty
            where
                #bound,
        },
        body: quote_spanned!(span=> #storage.with(|#value| #read)),
        span,
    };
    let setter = Function {
        attrs: {
            let docs = doc_attrs(&set_doc, docs);
            quote_spanned!(span=> #cfgs #docs #(#deprecated)* #(#allows)* #[track_caller])
        },
        signature: quote_spanned!(span=> #field_vis fn #setter(#value: #ty)),
        body: quote_spanned!(span=> #storage.with_mut(|#this| #this.#member = #value);),
        span,
    };
    [getter, setter]
}

impl Function {
    fn new(doc: &str, attrs: TokenStream, signature: TokenStream, body: TokenStream) -> Self {
        let docs = doc_attrs(doc, &[]);
        Function {
            attrs: quote!(#docs #attrs),
            signature,
            body,
            span: Span::call_site(),
        }
    }
}

/// The generated doc, as a paragraph after the field's own docs when it has some.
fn doc_attrs(doc: &str, field_docs: &[TokenStream]) -> TokenStream {
    if field_docs.is_empty() {
        return quote!(#[doc = #doc]);
    }
    quote! {
        #(#field_docs)*
        #[doc = ""]
        #[doc = #doc]
    }
}

/// The generated functions' documentation, naming the struct. The closures and values are
/// not named: the parameters are `__`-prefixed for hygiene, not for reading.
struct Docs {
    with: String,
    with_mut: String,
    try_with: String,
    try_with_mut: String,
    get: String,
    set: String,
    replace: String,
    take: String,
    is_initialized: String,
    sync_scope: String,
    scope: String,
}

impl Docs {
    fn new(ident: &Ident) -> Self {
        let panics = "\n\n# Panics\n\nIf this thread's value is borrowed in a way that conflicts \
                      (as a `RefCell` would refuse), if called from the struct's own \
                      initializer, or during thread teardown after the value was destroyed.";
        let fails = "already borrowed in a way that conflicts, touched by its own initializer, \
                     or destroyed because the thread is exiting";
        Docs {
            with: format!(
                "Calls the closure with this thread's [`{ident}`], building it first if \
                 needed, and returns what the closure returns.{panics}"
            ),
            with_mut: format!(
                "Calls the closure with this thread's [`{ident}`], mutably, building it first \
                 if needed, and returns what the closure returns.{panics}"
            ),
            try_with: format!(
                "Like [`{ident}::with`], but returns an `AccessError` instead of panicking \
                 when the value cannot be reached: {fails}."
            ),
            try_with_mut: format!(
                "Like [`{ident}::with_mut`], but returns an `AccessError` instead of \
                 panicking when the value cannot be reached: {fails}."
            ),
            get: format!(
                "A clone of this thread's [`{ident}`], building it first if needed. Needs \
                 `{ident}: Clone`.{panics}"
            ),
            set: format!(
                "Replaces this thread's [`{ident}`] with the given value, without running the \
                 initializer; the old value, if any, is dropped.{panics}"
            ),
            replace: format!(
                "Replaces this thread's [`{ident}`] with the given value, building the old one \
                 first if needed, and returns the old one.{panics}"
            ),
            take: format!(
                "Removes this thread's [`{ident}`] and returns it, if there was one; the next \
                 access builds it again.{panics}"
            ),
            is_initialized: format!(
                "Whether this thread holds a [`{ident}`], built or `set`. Never runs the \
                 initializer."
            ),
            sync_scope: format!(
                "Runs the closure with this thread's (or context's) [`{ident}`] bound to the \
                 given value, then puts the previous value back, or its absence, also if the \
                 closure panics; returns what the closure returns. Like tokio's \
                 `LocalKey::sync_scope`; for a future, use [`{ident}::scope`].{panics}"
            ),
            scope: format!(
                "Wraps the future so that [`{ident}`] is bound to the given value during each \
                 of its polls, and while it is dropped, with the previous value back between \
                 them: the future's own value, wherever it is polled. Like tokio's \
                 `LocalKey::scope`; for a closure, use [`{ident}::sync_scope`]."
            ),
        }
    }
}
