//! A field compiled out by `#[cfg]` has no initializer and no accessors; one compiled in
//! has both. The struct's own `#[cfg]` reaches everything generated for it.

use local::thread_local_struct;

#[thread_local_struct]
#[derive(Clone)]
pub struct Session {
    #[init(1)]
    kept: u32,
    #[cfg(any())]
    #[init(compile_error!("a configured-out field's initializer is never compiled"))]
    gone: NotDefault,
    #[cfg(all())]
    #[init(3)]
    present: u32,
    #[cfg(any())]
    also_gone: u8,
}

/// Not `Default`, not `Clone`: a configured-out field of this type needs neither.
#[cfg(any())]
pub struct NotDefault;

#[thread_local_struct]
#[cfg(all())]
pub struct Configured {
    #[init(4)]
    value: u8,
}

#[thread_local_struct]
#[cfg(any())]
pub struct NeverCompiled {
    value: NotDefault,
}

fn main() {
    assert_eq!(Session::kept(), 1);
    assert_eq!(Session::present(), 3);
    Session::set_present(4);
    assert_eq!(Session::with(|s| s.kept + s.present), 5);
    assert_eq!(Configured::value(), 4);
}
