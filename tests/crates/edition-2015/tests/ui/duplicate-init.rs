//! An error of the macro's own, from its validation.
#[macro_use]
extern crate local;

#[thread_local_struct]
pub struct Limits {
    #[init(1)]
    #[init(2)]
    pub max: u32,
}

fn main() {}
