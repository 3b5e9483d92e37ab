//! The one declaration of an attribute struct's storage: the expansion of
//! `#[thread_local_struct]` and the core's tests both call [`__struct_storage!`], as std's
//! `thread_local!` calls `thread_local_inner!`.

/// Declares the storage of one `#[thread_local_struct]`: a `static` named `$name` whose
/// methods (`with`, `with_mut`, `try_with`, `try_with_mut`, `set`, `replace`, `take`,
/// `is_initialized`, `scope`, `scope_async`) reach this thread's (or context's) value.
///
/// Not public API: the expansion's only entry into the runtime for storage.
///
/// ```text
/// __struct_storage! {
///     static STORAGE: Session = {
///         init: <Session as Default>::default,   // fn() -> Session
///         per_thread: false,
///         inherit: None,                         // or Some(fn(&Session) -> Session)
///     };
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __struct_storage {
    (
        $(#[$attr:meta])*
        static $name:ident: $t:ty = {
            init: $init:expr,
            per_thread: $per_thread:expr,
            inherit: $inherit:expr $(,)?
        };
    ) => {
        $(#[$attr])*
        static $name: $crate::StaticAccess<$t> = {
            static TABLE: $crate::StaticTable<$t> = $crate::StaticTable::new();
            ::std::thread_local! {
                static SLOT: $crate::StaticSlot<$t> = const { $crate::StaticSlot::new() };
            }
            static STRUCT: $crate::StaticLocal<$t> = $crate::StaticLocal::new(
                $init,
                $crate::StaticOptions {
                    table: &TABLE,
                    slot: &SLOT,
                    is_send: || {
                        // Unused when `$t: Send`: the inherent method wins.
                        #[allow(unused_imports)]
                        use $crate::ProbeNotSend as _;
                        $crate::SendProbe::<$t>::NEW.__local_send_proof()
                    },
                    per_thread: $per_thread,
                    inherit: $inherit,
                },
            );
            $crate::StaticAccess::new(&STRUCT, &SLOT)
        };
    };
}
