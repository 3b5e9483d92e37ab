//! Values that count themselves, for tests that check drops exactly once.
#![allow(dead_code)] // not every test file uses all of it

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use local_core::ThreadLocal;

/// Many threads natively, a handful under Miri.
pub fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

/// A value that counts its live instances in its own counter, so tests can run in parallel.
pub struct Tracked {
    live: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    pub value: usize,
}

#[derive(Clone, Default)]
pub struct Counters {
    created: Arc<AtomicUsize>,
    live: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Counters {
    pub fn make(&self, value: usize) -> Tracked {
        self.created.fetch_add(1, SeqCst);
        self.live.fetch_add(1, SeqCst);
        Tracked {
            live: self.live.clone(),
            drops: self.drops.clone(),
            value,
        }
    }

    pub fn tracked_local(
        &self,
    ) -> ThreadLocal<Tracked, impl Fn() -> Tracked + Send + Sync + use<>> {
        let counters = self.clone();
        ThreadLocal::with_init(move || counters.make(0))
    }

    pub fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    pub fn live(&self) -> usize {
        self.live.load(SeqCst)
    }

    pub fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }

    /// Waits for threads that `std::thread::scope` no longer waits for: their thread-local
    /// destructors may still be running when the scope returns.
    pub fn wait_for_drops(&self, expected: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.drops() < expected {
            assert!(
                Instant::now() < deadline,
                "only {} of {expected} values dropped",
                self.drops()
            );
            thread::yield_now();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, SeqCst);
        self.drops.fetch_add(1, SeqCst);
    }
}

pub fn spawn_and_join(count: usize, work: impl Fn(usize) + Sync) {
    thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                s.spawn({
                    let work = &work;
                    move || work(i)
                })
            })
            .collect();
        // `join` waits for the thread's thread-local destructors, unlike the scope's own end.
        for handle in handles {
            handle.join().unwrap();
        }
    });
}
