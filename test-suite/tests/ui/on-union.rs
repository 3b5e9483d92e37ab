use local::thread_local_struct;

#[thread_local_struct]
pub union Bits {
    int: u32,
    float: f32,
}

fn main() {}
