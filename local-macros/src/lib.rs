//! The `#[thread_local_struct]` attribute of the [`local`](https://docs.rs/local) crate.
//! Use it through `local`, which documents it; this crate only wires the stages: `item`,
//! `attr` and `ast` read the input (`grammar` reads the parts of Rust's syntax inside it,
//! `written` keeps the tokens of what is written back),
//! `valid` checks it, `expand` writes the output (`functions` describes the generated
//! functions, `wrap` the block around them), and `fallback` writes the stubs that keep one
//! mistake to one error.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod functions;
mod grammar;
mod item;
mod symbol;
#[cfg(test)]
mod tests;
mod valid;
mod wrap;
mod written;

use proc_macro::TokenStream;

/// Gives each thread its own value of the struct; see the `local` crate.
#[proc_macro_attribute]
pub fn thread_local_struct(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::thread_local_struct(args.into(), item.into()).into()
}
