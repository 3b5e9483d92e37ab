// An expression in a field's type that the attribute does not read: one error at it, that
// says what to write instead.
use local::thread_local_struct;

#[thread_local_struct]
pub struct Buffer {
    bytes: [u8; {
        let kib = 4;
        kib * 1024
    }],
}

fn main() {}
