use local::thread_local_struct;

#[thread_local_struct]
#[repr(packed)]
pub struct Packed {
    #[init(1)]
    id: u32,
    name: String,
}

fn main() {
    let _ = Packed::id();
    let _ = Packed::name();
}
