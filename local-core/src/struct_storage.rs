//! The one declaration of an attribute struct's storage: the expansion of
//! `#[thread_local_struct]` and the core's tests both call [`__struct_storage!`], as std's
//! `thread_local!` calls `thread_local_inner!`.

/// Declares the storage of one `#[thread_local_struct]`: a `static` named `$name` whose
/// methods (`with`, `with_mut`, `try_with`, `try_with_mut`, `set`, `replace`, `take`,
/// `is_initialized`, `sync_scope`, `scope`) reach this thread's (or context's) value.
///
/// Not public API: the expansion's only entry into the runtime for storage. The thread's
/// own value lives in a `std::thread_local!` declared here, so that std destroys it at
/// thread exit by its own rules, on every platform; the `static` is constant (references,
/// function pointers and flags), so every access folds it in.
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
        static $name: $crate::StructLocal<$t> = {
            ::std::thread_local! {
                static SLOT: $crate::StructSlot<$t> = const { $crate::StructSlot::new() };
            }
            $crate::StructLocal::new(
                &SLOT,
                $init,
                || {
                    #[allow(unused_imports)] // used only when `$t` is not `Send`
                    use $crate::SendProbeFallback as _;
                    $crate::SendProbe::<$t>::NEW.__local_send_proof()
                },
                $per_thread,
                $inherit,
            )
        };
    };
}
