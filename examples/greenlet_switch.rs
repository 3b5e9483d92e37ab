//! werkzeug 0.1's greenlet demo, ported: werkzeug wrote its own `Local` because greenlets
//! share a thread, so a `threading.local()` would let one greenlet see another's values.
//! A small version of it, two greenlets switching back and forth on one thread:
//!
//! ```python
//! from py.magic import greenlet
//! from werkzeug import Local
//!
//! lc = Local()
//!
//! def show(name):
//!     print '%s: test = %s' % (name, getattr(lc, 'test', None))
//!
//! def f1():
//!     show('gr1')             # None: the main greenlet's 0 is not seen here
//!     lc.test = 1
//!     for _ in range(3):
//!         show('gr1')
//!         gr2.switch()
//!
//! def f2():
//!     show('gr2')
//!     lc.test = 2
//!     for _ in range(3):
//!         show('gr2')
//!         gr1.switch()
//!
//! lc.test = 0
//! show('main')
//! gr1 = greenlet(f1)
//! gr2 = greenlet(f2)
//! gr1.switch()                # returns when f1 does: a greenlet's parent is main
//! show('main')
//! ```
//!
//! Each greenlet becomes a [`local::Context`]: `ctx.run(..)` enters it, and every local
//! touched in there reads and keeps the context's value, not the thread's, until the
//! context is entered again. Rust has no stackful coroutines in std, so a greenlet's frame
//! (its place in the loop) is kept by hand in [`Greenlet`], and `switch` runs it up to its
//! next switch. The missing attribute becomes `Option<u32>`, `None` until set.
//!
//! Run with `cargo run --example greenlet_switch`.

use local::{Context, thread_local_struct};

/// Python's `lc = Local()`: one value per thread, and per context.
#[thread_local_struct]
struct Lc {
    test: Option<u32>,
}

/// How many times each greenlet shows its value and switches to the other.
const ROUNDS: u32 = 3;

fn show(name: &str) {
    match Lc::test() {
        Some(test) => println!("{name}: test = {test}"),
        None => println!("{name}: test = None"),
    }
}

/// A greenlet running `f1` or `f2` above: its locals live in `context`, its frame in
/// `value` and `round`.
struct Greenlet {
    name: &'static str,
    context: Context,
    /// What the greenlet's function sets `lc.test` to.
    value: u32,
    /// Where the greenlet stopped: how many times it has switched away so far.
    round: u32,
}

impl Greenlet {
    fn new(name: &'static str, value: u32) -> Self {
        Greenlet {
            name,
            context: Context::new(),
            value,
            round: 0,
        }
    }

    /// Resumes the greenlet and runs it up to its next `switch()`; `false` once its
    /// function has returned (to the parent, main).
    fn switch(&mut self) -> bool {
        let Greenlet {
            name,
            context,
            value,
            round,
        } = self;
        context.run(|| {
            if *round == 0 {
                show(name);
                Lc::set_test(Some(*value));
            }
            if *round == ROUNDS {
                return false;
            }
            show(name);
            *round += 1;
            true
        })
    }
}

fn main() {
    Lc::set_test(Some(0));
    show("main");

    let mut gr1 = Greenlet::new("gr1", 1);
    let mut gr2 = Greenlet::new("gr2", 2);
    // `gr1.switch()`: gr1 and gr2 hand control to each other until either function returns.
    while gr1.switch() && gr2.switch() {}

    // The thread's own value, untouched by either greenlet.
    show("main");
}
