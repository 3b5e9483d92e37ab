//! A struct written by a `macro_rules!` macro: its name, visibility, field types, initial
//! values and attributes arrive as macro fragments (`$vis:vis`, `$ty:ty`, `$init:expr`),
//! which rustc hands to the attribute wrapped in invisible groups.
use local::thread_local_struct;

macro_rules! per_thread_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($field_vis:vis $field:ident: $ty:ty = $init:expr),* $(,)?
        }
    ) => {
        #[thread_local_struct]
        $(#[$meta])*
        $vis struct $name {
            $(
                #[init($init)]
                $field_vis $field: $ty,
            )*
        }
    };
}

per_thread_struct! {
    /// Documented through the macro.
    #[derive(Debug, Clone)]
    pub struct Settings {
        pub limit: u32 = 10 * 2,
        name: String = String::from("worker"),
        pub(crate) weights: Vec<(u8, Option<u16>)> = vec![(1, None)],
    }
}

macro_rules! wrapped_type {
    ($ty:ty) => {
        #[thread_local_struct]
        struct Wrapped {
            value: $ty,
        }
    };
}

wrapped_type!(std::collections::HashMap<u32, [u8; 4]>);

fn main() {
    assert_eq!(Settings::limit(), 20);
    Settings::set_limit(3);
    assert_eq!(Settings::with(|s| (s.limit, s.name.clone())), (3, "worker".to_owned()));
    assert_eq!(Settings::weights(), vec![(1, None)]);
    std::thread::spawn(|| assert_eq!(Settings::limit(), 20))
        .join()
        .unwrap();
    Wrapped::with_mut(|w| w.value.insert(1, [0; 4]));
    assert_eq!(Wrapped::with(|w| w.value.len()), 1);
}
