//! Deadlock checks that fail instead of hanging.
#![allow(dead_code)] // not every test file uses it

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `f` on a thread of its own and panics, naming `what`, if it has not finished within
/// a generous time: a deadlock fails the test instead of stalling the run. (The stuck
/// thread is left behind; the test binary exits anyway once the harness is done.)
pub fn watchdog(what: &str, f: impl FnOnce() + Send + 'static) {
    let limit = if cfg!(miri) {
        Duration::from_secs(600)
    } else {
        Duration::from_secs(20)
    };
    let (done, finished) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            f();
            let _ = done.send(());
        })
        .expect("spawn the watched thread");
    match finished.recv_timeout(limit) {
        Ok(()) => worker.join().expect("the watched thread panicked"),
        // The watched code panicked: report its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("finished without saying so"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("deadlock: {what} did not finish within {limit:?}")
        }
    }
}
