//! Every visibility on the struct and its fields: the generated functions take the
//! struct's, the accessors their field's.

mod outer {
    pub mod inner {
        use local::thread_local_struct;

        #[thread_local_struct]
        pub(in crate::outer) struct Scoped {
            #[init(1)]
            pub(in crate::outer) value: u32,
            pub(self) mine: u32,
            pub(super) theirs: u32,
        }

        #[thread_local_struct]
        pub(crate) struct Crate(pub(crate) u32);

        #[thread_local_struct]
        struct Private {
            #[init(5)]
            value: u32,
        }

        pub fn private_value() -> u32 {
            Scoped::set_mine(2);
            Private::value() + Scoped::mine()
        }
    }

    pub fn scoped() -> u32 {
        inner::Scoped::set_theirs(3);
        inner::Scoped::value() + inner::Scoped::theirs()
    }
}

fn main() {
    assert_eq!(outer::scoped(), 4);
    assert_eq!(outer::inner::private_value(), 7);
    assert_eq!(outer::inner::Crate::with(|c| c.0), 0);
}
