//! `#[repr(packed)]`: nothing generated takes a reference to a field (E0793); getters copy.

use local::thread_local_struct;

#[thread_local_struct]
#[repr(C, packed)]
pub struct Packed {
    #[init(1)]
    small: u8,
    #[init(0x0102_0304)]
    wide: u32,
    #[init(u64::MAX)]
    wider: u64,
}

#[thread_local_struct]
#[repr(packed(2))]
pub struct PackedTwo {
    #[init(7)]
    value: u64,
    name: String,
}

#[thread_local_struct(init = Tuple::new)]
#[repr(packed)]
pub struct Tuple(u8, u32);

impl Tuple {
    fn new() -> Self {
        Tuple(1, 2)
    }
}

fn main() {
    assert_eq!(Packed::small(), 1);
    assert_eq!(Packed::wide(), 0x0102_0304);
    assert_eq!(Packed::wider(), u64::MAX);
    Packed::set_wide(5);
    Packed::with_mut(|p| p.wider = 6);
    assert_eq!((Packed::wide(), Packed::wider()), (5, 6));
    assert_eq!(PackedTwo::value(), 7);
    PackedTwo::set_name("set".to_owned());
    assert_eq!(PackedTwo::take().map(|p| p.name).as_deref(), Some("set"));
    assert_eq!(Tuple::with(|t| { t.1 }), 2);
}
