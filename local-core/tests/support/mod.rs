//! Shared by the core's tests of attribute storage.

/// Declares a `StaticLocal` the way `#[thread_local_struct]`'s expansion does: with its
/// table, its thread-local slot, and the `Send` proof of its concrete type.
macro_rules! static_local {
    ($name:ident: $t:ty = $init:expr, per_thread: $per_thread:expr, inherit: $inherit:expr) => {
        static $name: local_core::StaticLocal<$t> = {
            static TABLE: local_core::StaticTable<$t> = local_core::StaticTable::new();
            thread_local! {
                static SLOT: local_core::StaticSlot<$t> = const { local_core::StaticSlot::new() };
            }
            local_core::StaticLocal::new(
                $init,
                local_core::StaticOptions {
                    table: &TABLE,
                    slot: &SLOT,
                    is_send: || {
                        #[allow(unused_imports)] // unused when `$t: Send`
                        use local_core::ProbeNotSend as _;
                        local_core::SendProbe::<$t>::NEW.__local_send_proof()
                    },
                    per_thread: $per_thread,
                    inherit: $inherit,
                },
            )
        };
    };
}
