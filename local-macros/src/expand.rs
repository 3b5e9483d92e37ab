//! The output: the user's struct, its `Default` built from the initializer, a `static`
//! holding every thread's value, and the generated functions that reach it.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{Field, Input};
use crate::attr;
use crate::errors::Errors;
use crate::fallback;
use crate::functions::{self, Target};
use crate::valid::{self, unraw};
use crate::wrap::{Runtime, allowed_lints, at};

/// The whole macro, over `proc_macro2` tokens so that tests can call it: never panics, and
/// reports bad input as `compile_error!` beside the user's item.
pub(crate) fn thread_local_struct(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = attr::options(args, &mut errors);
    let input = match Input::read(item.clone(), options, &mut errors) {
        Ok(input) => input,
        Err(error) => {
            errors.push(fallback::not_an_adt(&item).unwrap_or(error));
            return fallback::with_errors(&errors, item);
        }
    };
    let findings = valid::check(&input, &mut errors);
    if errors.is_empty() {
        expand(&input)
    } else {
        fallback::expand(&input, &findings, &errors)
    }
}

/// The expansion of a valid input.
fn expand(input: &Input) -> TokenStream {
    let Input {
        item,
        ident,
        options,
        fields,
        ..
    } = input;
    let runtime = Runtime::new(options.krate.as_ref());
    let storage = functions::storage();
    let struct_storage = runtime.private(Span::call_site(), "struct_storage");

    // `inherit` copies the value into contexts, which may move between threads: it needs
    // `Clone + Send`, and an error points at `inherit`.
    let inherit = match &options.inherit {
        Some(inherit) => quote_spanned! {at(inherit.span())=>
            ::core::option::Option::Some({
                fn __inherited<T: ::core::clone::Clone + ::core::marker::Send>(
                    __value: &T,
                ) -> T {
                    ::core::clone::Clone::clone(__value)
                }
                __inherited::<#ident>
            })
        },
        None => quote!(::core::option::Option::None),
    };
    let per_thread = options.per_thread.is_some();
    let default = default_impl(input, &runtime);
    let functions = functions::render(
        &Target {
            ident,
            generics: &input.generics,
            vis: &input.vis,
            fields,
            clashes: &vec![false; fields.len()],
            packed: input.packed,
            unsized_field: false,
            runtime: &runtime,
        },
        false,
    );
    let allowed = allowed_lints();
    let code = quote! {
        #struct_storage! {
            #allowed
            static #storage: #ident = {
                init: <#ident as ::core::default::Default>::default,
                per_thread: #per_thread,
                inherit: #inherit,
            };
        }

        #default

        #functions
    };
    let wrapped = runtime.wrap_in_const(&input.carried, code);
    quote!(#item #wrapped)
}

/// `impl Default`, which runs the initializer: the storage's `init`, and what
/// `ThreadLocal::<Struct>::new()` builds each thread's value with.
///
/// It names the struct through an alias, and builds it in a statement of its own, both
/// allowed to use a `#[deprecated]` struct and its fields; the user's initial values are
/// evaluated outside that, so that their own warnings still show.
fn default_impl(input: &Input, runtime: &Runtime) -> TokenStream {
    let ident = &input.ident;
    let alias = Ident::new("__ThreadLocalStruct", Span::mixed_site());
    let name = unraw(ident);
    let enter_default = runtime.private(Span::call_site(), "enter_default");
    let guard = Ident::new("__guard", Span::mixed_site());
    let building = Ident::new("__BUILDING", Span::mixed_site());
    let built = match &input.options.init {
        Some(init) => {
            let function = Ident::new("__init", Span::mixed_site());
            // A function of another signature is a type error at the user's path, "expected"
            // because of the `init` keyword.
            let expected = quote_spanned!(at(init.keyword.span())=> fn() -> Self);
            let path = &init.path.tokens;
            quote! {
                let #function: #expected = #path;
                #function()
            }
        }
        None => {
            let value = Ident::new("__value", Span::mixed_site());
            let bindings: Vec<Ident> = (0..input.fields.len())
                .map(|index| format_ident!("__field_{}", index, span = Span::mixed_site()))
                .collect();
            let values = input
                .fields
                .iter()
                .zip(&bindings)
                .map(|(field, binding)| field_value(field, binding, runtime));
            let members = input.fields.iter().zip(&bindings).map(|(field, binding)| {
                let cfgs = field.attrs.cfgs.iter();
                let member = &field.member;
                quote!(#(#[cfg(#cfgs)])* #member: #binding)
            });
            quote! {
                #(#values)*
                #[allow(deprecated)]
                let #value = Self { #(#members,)* };
                #value
            }
        }
    };
    quote! {
        #[allow(deprecated)]
        type #alias = #ident;

        impl ::core::default::Default for #alias {
            /// Builds a value with the struct's thread-local initializer.
            #[inline]
            fn default() -> Self {
                // An initializer that calls `Self::default()` panics here, naming the
                // struct, instead of overflowing the stack.
                ::std::thread_local! {
                    static #building: ::core::cell::Cell<::core::primitive::bool> =
                        const { ::core::cell::Cell::new(false) };
                }
                let #guard = #enter_default(&#building, #name);
                #built
            }
        }
    }
}

/// `let __field_N: Type = value;`: the field's `#[init(..)]`, or `Default` where the
/// field has none or its `cfg_attr` does not apply; nothing where the field is configured
/// out.
fn field_value(field: &Field, binding: &Ident, runtime: &Runtime) -> TokenStream {
    let ty = &field.ty;
    // The binding exists where the field does, and allows what the user allowed on it.
    let cfgs = field.attrs.cfgs.iter();
    let allows = &field.attrs.allows;
    let carried = quote!(#(#[cfg(#cfgs)])* #(#allows)*);
    // Not `Default`: an error at the field's type, asking for `#[init(..)]`.
    let default = {
        let field_default = runtime.private(field.ty_span, "FieldDefault");
        quote_spanned!(at(field.ty_span)=> <#ty as #field_default>::field_default())
    };
    match &field.attrs.init {
        None => quote!(#carried let #binding: #ty = #default;),
        Some(init) => {
            let tokens = &init.tokens;
            match &init.predicate {
                None => quote!(#carried let #binding: #ty = #tokens;),
                Some(predicate) => quote! {
                    #carried #[cfg(#predicate)] let #binding: #ty = #tokens;
                    #carried #[cfg(not(#predicate))] let #binding: #ty = #default;
                },
            }
        }
    }
}
