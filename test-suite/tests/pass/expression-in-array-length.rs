//! An expression in a field's type, once refused by the attribute (this was the ui case
//! `expression-not-read`): rustc parsed the struct before the attribute ran, and the
//! attribute keeps the type as the tokens written.
use local::thread_local_struct;

#[thread_local_struct]
pub struct Buffer {
    #[init([0; 4096])]
    bytes: [u8; {
        let kib = 4;
        kib * 1024
    }],
}

fn main() {
    assert_eq!(Buffer::with(|b| b.bytes.len()), 4096);
    Buffer::with_mut(|b| b.bytes[4095] = 1);
    assert_eq!(Buffer::bytes()[4095], 1);
}
