//! A crate without the prelude: the expansion names everything by absolute path.
#![no_implicit_prelude]

extern crate local;
extern crate std;

use local::thread_local_struct;

#[thread_local_struct(inherit)]
#[derive(::std::clone::Clone, ::std::fmt::Debug)]
pub struct Session {
    #[init(<::std::string::String as ::std::convert::From<&str>>::from("start"))]
    name: ::std::string::String,
    hits: u64,
}

#[thread_local_struct(init = Counter::new, per_thread)]
pub struct Counter(u32);

impl Counter {
    fn new() -> Self {
        Counter(3)
    }
}

fn main() {
    Session::with_mut(|s| s.hits += 1);
    ::std::assert_eq!(Session::name(), "start");
    ::std::assert_eq!(Session::hits(), 1);
    ::std::assert_eq!(Counter::with(|c| c.0), 3);
}
