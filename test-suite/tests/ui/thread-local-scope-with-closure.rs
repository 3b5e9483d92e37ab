use local::ThreadLocal;

// As for a struct: `ThreadLocal::scope` takes a future, `sync_scope` a closure.
fn main() {
    let user = ThreadLocal::with_init(|| "anonymous");
    let _ = user.scope("ada", || user.get());
}
