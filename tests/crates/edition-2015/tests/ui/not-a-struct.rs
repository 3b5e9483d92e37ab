//! The attribute on an enum: the error and the stubs written beside it.
#[macro_use]
extern crate local;

#[thread_local_struct]
pub enum Mode {
    Fast,
    Slow,
}

fn main() {}
