//! A `#[deprecated]` struct: the code generated for it uses it without a warning (denied
//! here), while the user's own uses still warn (allowed on `main` only).
#![deny(deprecated)]

use local::thread_local_struct;

#[thread_local_struct(inherit)]
#[deprecated(note = "use `NewSession`")]
#[derive(Clone)]
pub struct Session {
    #[init(1)]
    value: u32,
    name: String,
    #[deprecated(note = "use `value`")]
    #[init(2)]
    old: u32,
}

#[thread_local_struct(init = Self::new)]
#[deprecated]
pub struct Built {
    value: u32,
}

#[allow(deprecated)]
impl Built {
    fn new() -> Self {
        Built { value: 3 }
    }
}

#[thread_local_struct]
#[deprecated]
pub struct Tuple(#[init(4)] u32);

#[allow(deprecated)]
fn main() {
    assert_eq!(Session::value(), 1);
    assert_eq!(Session::old(), 2);
    Session::set_name("n".to_owned());
    assert_eq!(Session::get().name, "n");
    assert_eq!(Built::value(), 3);
    assert_eq!(Tuple::with(|t| t.0), 4);
}
