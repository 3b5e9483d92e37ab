//! `#[init(..)]` under `cfg_attr`: the initial value where the predicate holds, `Default`
//! where it does not; the other attributes of the `cfg_attr` stay.
#![deny(unused)]

use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[cfg_attr(all(), init(5))]
    on: u32,
    #[cfg_attr(any(), init(7))]
    off: u32,
    #[cfg_attr(all(), cfg_attr(all(), init(9)))]
    nested: u32,
    #[cfg_attr(all(), cfg_attr(any(), init(11)))]
    nested_off: u32,
    #[cfg_attr(all(), init(String::from("kept")), allow(dead_code))]
    with_others: String,
    #[cfg_attr(all(), allow(dead_code))]
    #[init(13)]
    plain: u32,
}

fn main() {
    Session::with(|s| {
        assert_eq!((s.on, s.off, s.nested, s.nested_off), (5, 0, 9, 0));
        assert_eq!(s.with_others, "kept");
        assert_eq!(s.plain, 13);
    });
}
