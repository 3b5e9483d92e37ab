use local::thread_local_struct;

#[thread_local_struct]
pub struct Session<'a> {
    user: &'a str,
}

fn main() {}
