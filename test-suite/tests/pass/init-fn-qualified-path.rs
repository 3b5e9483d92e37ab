//! `init` names any path to a `fn() -> Self`, qualified ones too.

use local::thread_local_struct;

trait Make {
    fn make() -> Self;
}

#[thread_local_struct(init = <Session as Make>::make)]
pub struct Session {
    value: u32,
}

impl Make for Session {
    fn make() -> Self {
        Session { value: 7 }
    }
}

#[thread_local_struct(init = <Self as Make>::make)]
pub struct Other(u32);

impl Make for Other {
    fn make() -> Self {
        Other(8)
    }
}

#[thread_local_struct(init = <Third>::build)]
pub struct Third(u32);

impl Third {
    fn build() -> Self {
        Third(9)
    }
}

fn main() {
    assert_eq!(Session::value(), 7);
    assert_eq!(Other::with(|o| o.0), 8);
    assert_eq!(Third::with(|t| t.0), 9);
}
