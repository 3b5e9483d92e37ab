//! Flask's request-context stack on a pool of worker threads.
//!
//! Flask pushes a request context on a stack local to the worker, and its `request` proxy
//! reads the top of that stack from anywhere in the handler:
//!
//! ```python
//! _request_ctx_stack = LocalStack()
//! request = LocalProxy(lambda: _request_ctx_stack.top.request)
//!
//! def wsgi_app(environ, start_response):
//!     with RequestContext(app, environ):      # push; pop on the way out
//!         response = full_dispatch_request()  # handlers read `request.path`
//!     ...
//! ```
//!
//! A pooled worker serves one request after another, so anything a request leaves in a
//! thread-local would be seen by the next request on that thread. Here every job runs
//! inside `local::fresh(|| ..)`: the stack and the `Session` start fresh for each request,
//! and what a request stores is dropped when it ends, even though two workers share six
//! requests.
//!
//! Run with `cargo run --example request_stack`.

use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use local::{LocalStack, thread_local_struct};

/// A request context, as a WSGI server would hand it over.
#[derive(Debug)]
struct Request {
    number: u32,
    path: String,
}

/// Flask's `_request_ctx_stack`: one stack per thread (and per `fresh` frame).
static STACK: LocalStack<Request> = LocalStack::new();

/// What a handler keeps while it serves a request.
#[thread_local_struct]
struct Session {
    user: Option<String>,
    handled: u32,
}

/// Flask's `request.path`: the top of this thread's stack, read from anywhere.
fn request_path() -> String {
    STACK.with_top(|top| {
        top.expect("working outside of request context")
            .path
            .clone()
    })
}

/// The application: routes on `request.path`, with no request passed around.
fn dispatch() -> String {
    Session::with_mut(|session| session.handled += 1);
    let path = request_path();
    if let Some(user) = path.strip_prefix("/login/") {
        Session::set_user(Some(user.to_owned()));
        format!("welcome, {user}")
    } else if path == "/profile" {
        // A real session would come from a cookie; this one starts empty every request.
        match Session::user() {
            Some(user) => format!("profile of {user}"),
            None => "anonymous: please log in".to_owned(),
        }
    } else if path == "/old-home" {
        // An internal redirect: a second request context on top of the first.
        let _redirect = STACK.push_scoped(Request {
            number: 0,
            path: "/".to_owned(),
        });
        format!("redirected (stack depth {}): {}", STACK.len(), dispatch())
    } else {
        format!("home page (request.path = {path})")
    }
}

/// What a request found in the locals before it pushed its context: nothing, in a fresh frame.
fn carried_over() -> String {
    let (user, handled, depth) = (Session::user(), Session::handled(), STACK.len());
    if user.is_none() && handled == 0 && depth == 0 {
        "none".to_owned()
    } else {
        format!("user = {user:?}, handled = {handled}, stack depth = {depth}")
    }
}

/// One pooled worker: takes requests until the channel closes.
fn worker(requests: &Mutex<Receiver<Request>>) {
    let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
    let mut served = 0;
    loop {
        // The lock is released at the end of the statement, before the request is served.
        let Ok(request) = requests.lock().expect("a worker panicked").recv() else {
            break;
        };
        local::fresh(|| {
            let carried = carried_over();
            let number = request.number;
            let _context = STACK.push_scoped(request);
            let path = request_path();
            let response = dispatch();
            println!("request {number} on {name}: {path} -> {response}; carried over: {carried}");
            // Some work, so that both workers get requests.
            thread::sleep(Duration::from_millis(20));
        });
        served += 1;
    }
    println!(
        "{name} served {served} requests; its thread's own Session: handled = {}, user = {:?}",
        Session::handled(),
        Session::user()
    );
}

fn main() {
    let paths = [
        "/login/alice",
        "/profile",
        "/login/bob",
        "/profile",
        "/old-home",
        "/profile",
    ];
    let (sender, receiver) = mpsc::channel();
    let receiver = Arc::new(Mutex::new(receiver));
    let workers: Vec<_> = (1..=2)
        .map(|i| {
            let receiver = Arc::clone(&receiver);
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(&receiver))
                .expect("cannot spawn a worker")
        })
        .collect();

    for (number, path) in (1..).zip(paths) {
        let request = Request {
            number,
            path: path.to_owned(),
        };
        sender.send(request).expect("the workers are gone");
    }
    // Closing the channel lets the workers finish.
    drop(sender);
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    println!(
        "{} requests handled by 2 workers; main's stack is empty: {}",
        paths.len(),
        STACK.is_empty()
    );
}
