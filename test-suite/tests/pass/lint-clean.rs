//! A crate that denies what a careful library denies: the expansion must not trip any of it.
#![forbid(unsafe_code)]
#![deny(missing_docs, unused, missing_debug_implementations)]
#![deny(clippy::pedantic)]
#![deny(
    rust_2018_idioms,
    unreachable_pub,
    trivial_casts,
    unused_qualifications,
    unused_lifetimes,
    single_use_lifetimes,
    unused_results,
    deprecated
)]

use local::thread_local_struct;

/// This thread's request state.
#[thread_local_struct]
#[derive(Debug, Clone)]
pub struct Request {
    /// How many requests this thread served.
    #[init(0)]
    pub served: u64,
    /// The last path served.
    pub path: String,
    /// Never read through its getter: no `dead_code`.
    unused: u8,
    _tracker: (),
    r#type: u8,
}

/// Serves one request on this thread.
pub fn serve(path: &str) {
    Request::with_mut(|request| {
        request.served += 1;
        path.clone_into(&mut request.path);
    });
}

fn main() {
    serve("/");
    serve("/about");
    assert_eq!(Request::path(), "/about");
    assert_eq!(Request::served(), 2);
}
