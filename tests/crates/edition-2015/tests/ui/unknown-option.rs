//! An error from reading the attribute's options.
#[macro_use]
extern crate local;

#[thread_local_struct(per_thred)]
pub struct Limits {
    pub max: u32,
}

fn main() {}
