//! A `#![no_std]` crate that brings in `std` itself, and knows `local` as `my_local`:
//! `crate = ::my_local` tells the attribute where the facade is.
#![no_std]

extern crate std;

use my_local::thread_local_struct;
use std::string::String;

#[thread_local_struct(crate = ::my_local)]
#[derive(Clone)]
pub struct Session {
    #[init(1)]
    pub value: u32,
    #[init(String::from("main"))]
    pub name: String,
}

#[thread_local_struct(crate = my_local, init = Counter::new)]
pub struct Counter(pub u32);

impl Counter {
    fn new() -> Self {
        Counter(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_has_its_own_value() {
        Session::set_value(2);
        let other = std::thread::spawn(Session::value).join().unwrap();
        assert_eq!((Session::value(), other), (2, 1));
        assert_eq!(Session::name(), "main");
        Counter::with_mut(|c| c.0 += 1);
        assert_eq!(Counter::with(|c| c.0), 6);
    }
}
