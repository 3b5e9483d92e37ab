use local::thread_local_struct;

#[thread_local_struct]
fn session() -> u32 {
    1000
}

fn main() {}
