use std::rc::Rc;

use local::ThreadLocal;

// A context holding a ThreadLocal's value may move to another thread: values must be Send.
// A struct with `#[thread_local_struct]` is the way to keep an `Rc` per thread.
fn main() {
    let names: ThreadLocal<Rc<str>> = ThreadLocal::with_init(|| Rc::from("main"));
    names.with(|name| println!("{name}"));
}
