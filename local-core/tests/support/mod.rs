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
