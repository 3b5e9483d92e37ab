//! A port of PyMOTW's `threading_local.py`: a plain `threading.local()` starts empty in
//! every thread, and what one thread stores is invisible to the others.
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
//! local_data = threading.local()
//! show_value(local_data)
//! local_data.value = 1000
//! show_value(local_data)
//!
//! for i in range(2):
//!     t = threading.Thread(target=worker, args=(local_data,))
//!     t.start()
//! ```
//!
//! A Rust struct cannot lack a field, so the missing attribute becomes `Option<u32>`:
//! without `#[init]`, each thread's `value` starts at `Option::default()`, `None`, which is
//! Python's `AttributeError`. The main thread's 1000 never reaches the workers.
//! (`local_defaults` shows the other PyMOTW variant, with an initializer.)
//!
//! Run with `cargo run --example thread_local_basic`.

use std::hash::{BuildHasher, RandomState};
use std::thread;

use local::thread_local_struct;

#[thread_local_struct]
struct Data {
    value: Option<u32>,
}

fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

fn show_value() {
    match Data::value() {
        None => println!("({}) No value yet", thread_name()),
        Some(value) => println!("({}) value={value}", thread_name()),
    }
}

/// `random.randint(1, 100)` without a dependency: std's randomly keyed hasher, applied to
/// this thread's id.
fn randint_1_to_100() -> u32 {
    let hash = RandomState::new().hash_one(thread::current().id());
    u32::try_from(hash % 100).expect("below 100") + 1
}

fn worker() {
    show_value();
    Data::set_value(Some(randint_1_to_100()));
    show_value();
}

fn main() {
    show_value();
    Data::set_value(Some(1000));
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
}
