//! A port of PyMOTW's `threading_local_defaults.py`: a subclass of `threading.local`
//! whose `__init__` gives every thread a starting value.
//!
//! ```python
//! def show_value(data):
//!     try:
//!         val = data.value
//!     except AttributeError:
//!         logging.debug('No value yet')
//!     else:
//!         logging.debug('value=%s', val)
//!
//! def worker(data):
//!     show_value(data)
//!     data.value = random.randint(1, 100)
//!     show_value(data)
//!
//! class MyLocal(threading.local):
//!     def __init__(self, value):
//!         super().__init__()
//!         logging.debug('Initializing %r', self)
//!         self.value = value
//!
//! local_data = MyLocal(1000)
//! show_value(local_data)
//!
//! for i in range(2):
//!     t = threading.Thread(target=worker, args=(local_data,))
//!     t.start()
//! ```
//!
//! Python runs `MyLocal.__init__` once in each thread that touches `local_data`, on that
//! thread; `#[thread_local_struct(init = MyLocal::new)]` does the same with `MyLocal::new`.
//! Every worker therefore starts from 1000, not from the main thread's value. Unlike a plain
//! `threading.local()` (see `thread_local_basic`), there is no "No value yet" case:
//! `__init__` always sets `value`, and here every field exists from the start.
//!
//! There is no `local_data` object to pass around: the struct itself is the thread-local,
//! reached through the functions the attribute generates (`MyLocal::value()`,
//! `MyLocal::set_value(..)`).
//!
//! Run with `cargo run --example local_defaults`.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use local::thread_local_struct;

/// How many times [`MyLocal::new`] ran: once per thread that touched the struct.
static INIT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[thread_local_struct(init = MyLocal::new)]
struct MyLocal {
    value: u32,
}

impl MyLocal {
    /// The per-thread initializer, Python's `__init__`: it runs on the thread that first
    /// touches `MyLocal`, so `thread_name()` names that thread.
    fn new() -> Self {
        INIT_RUNS.fetch_add(1, Ordering::SeqCst);
        println!("({}) Initializing MyLocal", thread_name());
        MyLocal { value: 1000 }
    }
}

fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

fn show_value() {
    println!("({}) value={}", thread_name(), MyLocal::value());
}

/// `random.randint(1, 100)` without a dependency: std's randomly keyed hasher, applied to
/// this thread's id.
fn randint_1_to_100() -> u32 {
    let hash = RandomState::new().hash_one(thread::current().id());
    u32::try_from(hash % 100).expect("below 100") + 1
}

fn worker() {
    show_value();
    MyLocal::set_value(randint_1_to_100());
    show_value();
}

fn main() {
    show_value();

    let workers: Vec<_> = (1..=2)
        .map(|i| {
            thread::Builder::new()
                .name(format!("Thread-{i}"))
                .spawn(worker)
                .expect("cannot spawn a worker")
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker panicked");
    }

    println!(
        "MyLocal::new ran {} times: once per thread (main + 2 workers)",
        INIT_RUNS.load(Ordering::SeqCst)
    );
}
