use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    value: u32,
}

impl Default for Session {
    fn default() -> Self {
        Session { value: 1 }
    }
}

fn main() {}
