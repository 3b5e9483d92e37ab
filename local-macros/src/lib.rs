//! The `#[thread_local_struct]` attribute of the [`local`](https://docs.rs/local) crate.
//! Use it through `local`, which documents it; this crate only wires the stages: `ast`
//! reads the input into one model (`tokens` reads attributes, visibilities and the run of
//! tokens that is a type, `attr` the attribute's options and `#[init(..)]`), `valid`
//! checks it, `expand` writes the output (`functions` describes the generated functions,
//! `wrap` the block around them), and `fallback` writes the stubs that keep one mistake to
//! one error.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod functions;
mod symbol;
#[cfg(test)]
mod tests;
mod tokens;
mod valid;
mod wrap;

use proc_macro::TokenStream;

/// Gives each thread its own value of the struct; see the `local` crate.
#[proc_macro_attribute]
pub fn thread_local_struct(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::thread_local_struct(args.into(), item.into()).into()
}
