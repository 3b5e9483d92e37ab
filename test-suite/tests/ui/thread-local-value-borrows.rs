use local::ThreadLocal;

// A value may outlive its `ThreadLocal` (a forgotten instance, a context that keeps it),
// so values are `'static`; the initializer may borrow, the value may not.
fn main() {
    let name = String::from("main");
    let names = ThreadLocal::with_init(|| name.as_str());
    names.with(|name| println!("{name}"));
}
