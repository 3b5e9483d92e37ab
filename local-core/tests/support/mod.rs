//! Shared by the core's tests.

pub mod counters;
pub mod watchdog;

/// Declares attribute storage as `#[thread_local_struct]`'s expansion does.
macro_rules! static_local {
    ($name:ident: $t:ty = $init:expr, per_thread: $per_thread:expr, inherit: $inherit:expr) => {
        local_core::__struct_storage! {
            static $name: $t = {
                init: $init,
                per_thread: $per_thread,
                inherit: $inherit,
            };
        }
    };
}

/// Which OS thread this is. Not `thread::current().id()`: on std's OS-key fallback, a
/// thread-local destructor can run after std forgot the thread's `Thread`, and gets a new
/// id on the same OS thread.
#[allow(dead_code)] // not every test file uses it
pub fn os_thread() -> String {
    if cfg!(miri) {
        // No file system under Miri's isolation; its threads are all native-style.
        return format!("{:?}", std::thread::current().id());
    }
    match std::fs::read_link("/proc/thread-self") {
        Ok(path) => path.display().to_string(),
        Err(_) => format!("{:?}", std::thread::current().id()),
    }
}
