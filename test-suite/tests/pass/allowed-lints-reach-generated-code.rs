//! A lint the user allows on the struct or on a field stays allowed in what the attribute
//! writes for it: the generated functions and `Default` repeat the fields' types, so a lint
//! that fires on a type (here `unused_braces`, on a const length) fires there too.
#![deny(warnings)]

use local::thread_local_struct;

const N: usize = 3;

#[thread_local_struct]
pub struct OnField {
    #[allow(unused_braces)]
    pub lengths: [u8; { N + 1 }],
}

#[thread_local_struct]
#[allow(unused_braces)]
pub struct OnStruct {
    pub lengths: [u8; { N + 1 }],
}

fn main() {
    assert_eq!(OnField::lengths(), [0; 4]);
    OnStruct::set_lengths([1; 4]);
    assert_eq!(OnStruct::lengths(), [1; 4]);
}
