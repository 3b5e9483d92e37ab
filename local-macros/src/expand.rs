//! The output: the user's struct, its `Default` built from the initializer, a `static`
//! holding every thread's value, and the generated functions that reach it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Item, Member};

use crate::ast::{Errors, Input};
use crate::valid::{self, Findings, unraw};
use crate::{ast, attr};

/// The whole macro, over `proc_macro2` tokens so that tests can call it: never panics, and
/// reports bad input as `compile_error!` beside the user's item.
pub(crate) fn thread_local_struct(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = attr::options(args, &mut errors);
    let item = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(item)) => item,
        Ok(other) => {
            errors.push(not_a_struct(&other));
            return with_errors(&errors, item);
        }
        Err(error) => {
            errors.push(error);
            return with_errors(&errors, item);
        }
    };
    let input = ast::Input::from_syn(item, options, &mut errors);
    let findings = valid::check(&input, &mut errors);
    if errors.is_empty() {
        expand(&input, None)
    } else if findings.generic {
        with_errors(&errors, input.item.to_token_stream())
    } else {
        // The struct and its functions, so that code using them reports nothing more.
        with_errors(&errors, expand(&input, Some(&findings)))
    }
}

fn with_errors(errors: &Errors, tokens: TokenStream) -> TokenStream {
    let mut output = errors.to_compile_error();
    output.extend(tokens);
    output
}

fn not_a_struct(item: &Item) -> syn::Error {
    let message = "`#[thread_local_struct]` goes on a struct: each thread gets its own value \
                   of the struct";
    match item {
        Item::Enum(item) => syn::Error::new(item.enum_token.span, message),
        Item::Union(item) => syn::Error::new(item.union_token.span, message),
        Item::Fn(item) => syn::Error::new(item.sig.fn_token.span, message),
        Item::Trait(item) => syn::Error::new(item.trait_token.span, message),
        Item::Impl(item) => syn::Error::new(item.impl_token.span, message),
        Item::Mod(item) => syn::Error::new(item.mod_token.span, message),
        Item::Type(item) => syn::Error::new(item.type_token.span, message),
        Item::Static(item) => syn::Error::new(item.static_token.span, message),
        Item::Const(item) => syn::Error::new(item.const_token.span, message),
        other => syn::Error::new_spanned(other, message),
    }
}

/// The expansion. With `findings` (the input had errors), values are never built and the
/// parts that would repeat an error are left out.
fn expand(input: &Input, findings: Option<&Findings>) -> TokenStream {
    let Input {
        item,
        options,
        fields,
    } = input;
    let ident = &item.ident;
    let vis = &item.vis;
    let storage = syn::Ident::new("__THREAD_LOCAL_STRUCT", Span::mixed_site());
    let private = quote!(::local::__private);

    let init = match (findings, &options.init) {
        (Some(_), _) => quote!(::core::unreachable!()),
        (None, Some(path)) => {
            let function = syn::Ident::new("init", Span::mixed_site());
            // A function of another signature is a type error at the user's path.
            quote_spanned! {path.span()=> {
                let #function: fn() -> Self = #path;
                #function()
            }}
        }
        (None, None) => {
            let values = fields.iter().map(|field| {
                let value = match &field.init {
                    Some(init) => init.expr.to_token_stream(),
                    // Not `Default`: a type error at the field's type.
                    None => {
                        let ty = &field.ty;
                        quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default())
                    }
                };
                let member = &field.member;
                quote!(#member: #value)
            });
            quote!(Self { #(#values,)* })
        }
    };

    let default = if findings.is_some_and(|findings| findings.derives_default) {
        TokenStream::new()
    } else {
        quote! {
            #[automatically_derived]
            impl ::core::default::Default for #ident {
                /// Builds a value with the struct's thread-local initializer.
                fn default() -> Self {
                    #init
                }
            }
        }
    };

    let inherit = options.inherit.as_ref().map(|inherit| {
        // Needs `Clone`: the error points at `inherit`.
        quote_spanned! {inherit.span()=>
            const _: () = {
                fn requires_clone<T: ::core::clone::Clone>() {}
                let _ = requires_clone::<#ident>;
            };
        }
    });

    let accessors = fields.iter().enumerate().filter_map(|(index, field)| {
        let name = field.ident.as_ref()?;
        if findings.is_some_and(|findings| findings.clashes[index]) {
            return None;
        }
        let Member::Named(member) = &field.member else {
            return None;
        };
        let field_vis = &field.vis;
        let ty = &field.ty;
        let setter = format_ident!("set_{}", unraw(name), span = name.span());
        let get_doc = format!(
            "A clone of this thread's `{}` field of [`{ident}`], initializing the value if needed.",
            unraw(name),
        );
        let set_doc = format!(
            "Sets this thread's `{}` field of [`{ident}`], initializing the value if needed.",
            unraw(name),
        );
        Some(quote! {
            #[doc = #get_doc]
            #[must_use]
            #[track_caller]
            #field_vis fn #name() -> #ty
            where
                for<'a> #ty: ::core::clone::Clone,
            {
                #storage.with(|value| ::core::clone::Clone::clone(&value.#member))
            }

            #[doc = #set_doc]
            #[track_caller]
            #field_vis fn #setter(value: #ty) {
                #storage.with_mut(|this| this.#member = value);
            }
        })
    });

    let docs = Docs::new(ident);
    let Docs {
        with,
        with_mut,
        try_with,
        try_with_mut,
        get,
        set,
        replace,
        take,
        is_initialized,
    } = &docs;

    quote! {
        #item

        const _: () = {
            static #storage: #private::StaticLocal<#ident> =
                #private::StaticLocal::new(<#ident as ::core::default::Default>::default);

            #default

            #inherit

            // Unused functions are not the user's dead code, and a field such as
            // `_tracker` gives a setter `set__tracker`.
            #[automatically_derived]
            #[allow(dead_code, non_snake_case)]
            impl #ident {
                #[doc = #with]
                #[inline]
                #[track_caller]
                #vis fn with<R>(f: impl ::core::ops::FnOnce(&Self) -> R) -> R {
                    #storage.with(f)
                }

                #[doc = #with_mut]
                #[inline]
                #[track_caller]
                #vis fn with_mut<R>(f: impl ::core::ops::FnOnce(&mut Self) -> R) -> R {
                    #storage.with_mut(f)
                }

                #[doc = #try_with]
                #[inline]
                #vis fn try_with<R>(
                    f: impl ::core::ops::FnOnce(&Self) -> R,
                ) -> ::core::result::Result<R, #private::AccessError> {
                    #storage.try_with(f)
                }

                #[doc = #try_with_mut]
                #[inline]
                #vis fn try_with_mut<R>(
                    f: impl ::core::ops::FnOnce(&mut Self) -> R,
                ) -> ::core::result::Result<R, #private::AccessError> {
                    #storage.try_with_mut(f)
                }

                #[doc = #get]
                #[must_use]
                #[track_caller]
                #vis fn get() -> Self
                where
                    for<'a> Self: ::core::clone::Clone,
                {
                    #storage.with(::core::clone::Clone::clone)
                }

                #[doc = #set]
                #[track_caller]
                #vis fn set(value: Self) {
                    #storage.set(value);
                }

                #[doc = #replace]
                #[track_caller]
                #vis fn replace(value: Self) -> Self {
                    #storage.replace(value)
                }

                #[doc = #take]
                #[track_caller]
                #vis fn take() -> ::core::option::Option<Self> {
                    #storage.take()
                }

                #[doc = #is_initialized]
                #[must_use]
                #vis fn is_initialized() -> bool {
                    #storage.is_initialized()
                }

                #(#accessors)*
            }
        };
    }
}

/// The generated functions' documentation, naming the struct.
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
}

impl Docs {
    fn new(ident: &syn::Ident) -> Self {
        let panics = "\n\n# Panics\n\nIf the value is already borrowed on this thread in a \
                      conflicting way, if called from the struct's own initializer, or during \
                      thread teardown after the value was destroyed.";
        Docs {
            with: format!(
                "Calls `f` with this thread's [`{ident}`], initializing it first if needed.{panics}"
            ),
            with_mut: format!(
                "Calls `f` with this thread's [`{ident}`], mutably, initializing it first if \
                 needed.{panics}"
            ),
            try_with: format!(
                "Calls `f` with this thread's [`{ident}`], or returns why it cannot: already \
                 mutably borrowed, touched by its own initializer, or the thread is exiting."
            ),
            try_with_mut: format!(
                "Calls `f` with this thread's [`{ident}`], mutably, or returns why it cannot: \
                 already borrowed, touched by its own initializer, or the thread is exiting."
            ),
            get: format!(
                "A clone of this thread's [`{ident}`], initializing it first if needed.{panics}"
            ),
            set: format!(
                "Replaces this thread's [`{ident}`] without running the initializer.{panics}"
            ),
            replace: format!(
                "Replaces this thread's [`{ident}`], initializing it first if needed, and \
                 returns the old value.{panics}"
            ),
            take: format!(
                "Removes this thread's [`{ident}`]; the next access runs the initializer \
                 again.{panics}"
            ),
            is_initialized: format!(
                "Does this thread hold a [`{ident}`] (initialized, or `set`)? Never runs the \
                 initializer."
            ),
        }
    }
}
