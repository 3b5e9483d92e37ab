//! The output: the user's struct, its `Default` built from the initializer, a `static`
//! holding every thread's value, and the generated functions that reach it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Generics, Ident, Item, Visibility};

use crate::ast::{Errors, Field, Input};
use crate::valid::{self, unraw};
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
            // The functions code may already call, so that the one mistake is the only error.
            let stubs = match &other {
                Item::Enum(e) => functions(&e.ident, &e.generics, &e.vis, &[], &[], None),
                Item::Union(u) => functions(&u.ident, &u.generics, &u.vis, &[], &[], None),
                _ => TokenStream::new(),
            };
            return with_errors(&errors, quote!(#item #stubs));
        }
        Err(error) => {
            errors.push(error);
            return with_errors(&errors, item);
        }
    };
    let input = ast::Input::from_syn(item, options, &mut errors);
    let findings = valid::check(&input, &mut errors);
    if errors.is_empty() {
        return expand(&input);
    }
    // The struct and stubs of its functions: code using them reports nothing more.
    let Input { item, fields, .. } = &input;
    let stubs = functions(
        &item.ident,
        &item.generics,
        &item.vis,
        fields,
        &findings.clashes,
        None,
    );
    let default = if findings.derives_default {
        TokenStream::new()
    } else {
        default_impl(&item.ident, &item.generics, &quote!(::core::unreachable!()))
    };
    with_errors(&errors, quote!(#item #default #stubs))
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

/// The expansion of a valid input.
fn expand(input: &Input) -> TokenStream {
    let Input {
        item,
        options,
        fields,
        ..
    } = input;
    let ident = &item.ident;
    let storage = Ident::new("__THREAD_LOCAL_STRUCT", Span::mixed_site());
    let private = quote!(::local::__private);

    let init = match &options.init {
        Some(init) => {
            let function = Ident::new("__init", Span::mixed_site());
            // A function of another signature is a type error at the user's path, "expected"
            // because of the `init` keyword.
            let expected = quote_spanned!(init.keyword.span()=> fn() -> Self);
            let path = &init.path;
            quote! {{
                let #function: #expected = #path;
                #function()
            }}
        }
        None => {
            let values = fields.iter().map(|field| {
                let value = match &field.init {
                    Some(init) => init.expr.to_token_stream(),
                    // Not `Default`: an error at the field's type, asking for `#[init(..)]`.
                    None => {
                        let ty = &field.ty;
                        quote_spanned! {ty.span()=>
                            <#ty as #private::FieldDefault>::field_default()
                        }
                    }
                };
                let member = &field.member;
                quote!(#member: #value)
            });
            quote!(Self { #(#values,)* })
        }
    };
    let default = default_impl(ident, &item.generics, &init);

    // `inherit` copies the value into contexts, which may move between threads: it needs
    // `Clone + Send`, and an error points at `inherit`.
    let inherit = match &options.inherit {
        Some(inherit) => quote_spanned! {inherit.span()=>
            ::core::option::Option::Some({
                fn inherited<T: ::core::clone::Clone + ::core::marker::Send>(value: &T) -> T {
                    ::core::clone::Clone::clone(value)
                }
                inherited::<#ident>
            })
        },
        None => quote!(::core::option::Option::None),
    };
    let per_thread = options.per_thread.is_some();

    let functions = functions(
        ident,
        &item.generics,
        &item.vis,
        fields,
        &vec![false; fields.len()],
        Some(&quote!(#storage)),
    );

    quote! {
        #item

        const _: () = {
            #private::struct_storage! {
                static #storage: #ident = {
                    init: <#ident as ::core::default::Default>::default,
                    per_thread: #per_thread,
                    inherit: #inherit,
                };
            }

            #default

            #functions
        };
    }
}

fn default_impl(ident: &Ident, generics: &Generics, init: &TokenStream) -> TokenStream {
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::core::default::Default for #ident #type_generics #where_clause {
            /// Builds a value with the struct's thread-local initializer.
            fn default() -> Self {
                #init
            }
        }
    }
}

/// The generated functions. They reach `storage`; without it (the input had errors) they
/// are stubs with the same signatures, so code calling them reports nothing more.
fn functions(
    ident: &Ident,
    generics: &Generics,
    vis: &Visibility,
    fields: &[Field],
    clashes: &[bool],
    storage: Option<&TokenStream>,
) -> TokenStream {
    let private = quote!(::local::__private);
    // Bindings of the generated code: `__`-prefixed, because a user's constant named like
    // a binding would turn it into a pattern that does not bind.
    let f = Ident::new("__f", Span::mixed_site());
    let value = Ident::new("__value", Span::mixed_site());
    let this = Ident::new("__this", Span::mixed_site());
    let body = |call: TokenStream| match storage {
        Some(storage) => quote!(#storage.#call),
        None => quote!(::core::unreachable!()),
    };

    let accessors = fields.iter().zip(clashes).filter_map(|(field, &clash)| {
        let name = field.ident.as_ref().filter(|_| !clash)?;
        let field_vis = &field.vis;
        let ty = &field.ty;
        let member = &field.member;
        let setter = format_ident!("set_{}", unraw(name), span = name.span());
        let get_doc = format!(
            "A clone of this thread's `{}` field of [`{ident}`], initializing the value if needed.",
            unraw(name),
        );
        let set_doc = format!(
            "Sets this thread's `{}` field of [`{ident}`], initializing the value if needed.",
            unraw(name),
        );
        // Not `Clone`: an error at the call, explained at the field's type.
        let clone_bound = quote_spanned!(ty.span()=> for<'__local> #ty: #private::FieldClone);
        let get = body(quote!(with(|#value| #private::FieldClone::field_clone(&#value.#member))));
        let set = body(quote!(with_mut(|#this| #this.#member = #value)));
        Some(quote! {
            #[doc = #get_doc]
            #[must_use]
            #[track_caller]
            #field_vis fn #name() -> #ty
            where
                #clone_bound,
            {
                #get
            }

            #[doc = #set_doc]
            #[track_caller]
            #field_vis fn #setter(#value: #ty) {
                #set;
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
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let with_body = body(quote!(with(#f)));
    let with_mut_body = body(quote!(with_mut(#f)));
    let try_with_body = body(quote!(try_with(#f)));
    let try_with_mut_body = body(quote!(try_with_mut(#f)));
    let get_body = body(quote!(with(::core::clone::Clone::clone)));
    let set_body = body(quote!(set(#value)));
    let replace_body = body(quote!(replace(#value)));
    let take_body = body(quote!(take()));
    let is_initialized_body = body(quote!(is_initialized()));

    quote! {
        // Unused functions are not the user's dead code, and a field such as `_tracker`
        // gives a setter `set__tracker`.
        #[automatically_derived]
        #[allow(dead_code, non_snake_case)]
        impl #impl_generics #ident #type_generics #where_clause {
            #[doc = #with]
            #[inline]
            #[track_caller]
            #vis fn with<R>(#f: impl ::core::ops::FnOnce(&Self) -> R) -> R {
                #with_body
            }

            #[doc = #with_mut]
            #[inline]
            #[track_caller]
            #vis fn with_mut<R>(#f: impl ::core::ops::FnOnce(&mut Self) -> R) -> R {
                #with_mut_body
            }

            #[doc = #try_with]
            #[inline]
            #vis fn try_with<R>(
                #f: impl ::core::ops::FnOnce(&Self) -> R,
            ) -> ::core::result::Result<R, #private::AccessError> {
                #try_with_body
            }

            #[doc = #try_with_mut]
            #[inline]
            #vis fn try_with_mut<R>(
                #f: impl ::core::ops::FnOnce(&mut Self) -> R,
            ) -> ::core::result::Result<R, #private::AccessError> {
                #try_with_mut_body
            }

            #[doc = #get]
            #[must_use]
            #[track_caller]
            #vis fn get() -> Self
            where
                for<'__local> Self: ::core::clone::Clone,
            {
                #get_body
            }

            #[doc = #set]
            #[track_caller]
            #vis fn set(#value: Self) {
                #set_body;
            }

            #[doc = #replace]
            #[track_caller]
            #vis fn replace(#value: Self) -> Self {
                #replace_body
            }

            #[doc = #take]
            #[track_caller]
            #vis fn take() -> ::core::option::Option<Self> {
                #take_body
            }

            #[doc = #is_initialized]
            #[must_use]
            #vis fn is_initialized() -> bool {
                #is_initialized_body
            }

            #(#accessors)*
        }
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
    fn new(ident: &Ident) -> Self {
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
