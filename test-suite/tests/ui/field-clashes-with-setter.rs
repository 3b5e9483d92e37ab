use local::thread_local_struct;

#[thread_local_struct]
pub struct Point {
    x: i32,
    set_x: bool,
}

fn main() {}
