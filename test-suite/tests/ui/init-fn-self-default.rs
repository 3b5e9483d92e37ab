use local::thread_local_struct;

#[thread_local_struct(init = <Self as Default>::default)]
pub struct Session {
    value: u32,
}

fn main() {}
