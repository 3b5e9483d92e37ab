#![deny(deprecated)]

use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    #[deprecated(note = "read `value`")]
    old_value: u32,
    value: u32,
}

fn main() {
    let _ = Session::value();
    let _ = Session::old_value();
}
