//! A field that is a trait object without `dyn`, so unsized: one error at its type.
#![allow(bare_trait_objects)]
#[macro_use]
extern crate local;

#[thread_local_struct]
pub struct Handlers {
    pub on_value: Fn(u8) -> u8 + Send,
}

fn main() {}
