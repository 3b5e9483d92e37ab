use local::thread_local_struct;

#[thread_local_struct]
pub struct Session {
    value: u32,
}

impl Session {
    fn set_value(&mut self, value: u32) {
        self.value = value;
    }
}

fn main() {}
