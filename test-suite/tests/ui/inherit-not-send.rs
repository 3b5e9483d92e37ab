use std::rc::Rc;

use local::thread_local_struct;

// Inherited values are copied into contexts, which may move between threads.
#[thread_local_struct(inherit)]
#[derive(Clone)]
pub struct User {
    name: Rc<str>,
}

fn main() {}
