// Constants in scope named like the generated code's bindings would turn them into
// patterns that do not bind; the expansion's bindings must not collide with them.
#![allow(non_upper_case_globals)]

use local::thread_local_struct;

const value: u32 = 0;
const this: u32 = 0;
const f: u32 = 0;
const init: u32 = 0;

#[thread_local_struct]
pub struct Session {
    #[init(1)]
    count: u32,
}

#[thread_local_struct(init = Other::new)]
pub struct Other(u32);

impl Other {
    fn new() -> Self {
        Other(value + this + f + init + 5)
    }
}

fn main() {
    Session::set_count(value + this + f + init + 2);
    assert_eq!(Session::count(), 2);
    Session::with(|s| assert_eq!(s.count, 2));
    Session::with_mut(|s| s.count += 1);
    Session::set(Session { count: 9 });
    assert_eq!(Session::replace(Session { count: 1 }).count, 9);
    assert_eq!(Other::with(|o| o.0), 5);
}
