//! Primitive type names, crates and prelude items that the user's crate shadows: the
//! expansion names none of them unqualified.
#![allow(non_camel_case_types, dead_code)]

use local::thread_local_struct;

type bool = u8;
type str = [u8; 4];
type usize = i8;
type u8 = char;
type char = ();

mod core {}
mod std {}

struct Some;
struct None;
struct Ok;
type Option = ();
type Result = ();
trait Clone {}
trait Default {}
trait Send {}
trait Copy {}
trait FnOnce {}
trait Future {}
trait Sized {}

#[thread_local_struct(inherit)]
#[derive(::core::clone::Clone)]
pub struct Session {
    #[init(1)]
    count: u32,
    flag: ::core::primitive::bool,
}

#[thread_local_struct]
#[repr(packed)]
pub struct Packed {
    #[init(2)]
    count: u32,
}

fn main() {
    ::std::assert!(!Session::is_initialized());
    ::std::assert_eq!(Session::count(), 1);
    Session::set_flag(true);
    ::std::assert!(Session::flag());
    ::std::assert!(Session::is_initialized());
    ::std::assert_eq!(Session::take().map(|s| s.count), ::core::option::Option::Some(1));
    ::std::assert_eq!(Session::sync_scope(Session { count: 5, flag: false }, Session::count), 5);
    ::std::assert_eq!(Packed::count(), 2);
}
