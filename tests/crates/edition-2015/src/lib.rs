//! In edition 2015, `::core::..` written with the crate's spans would mean a module `core`
//! at the crate root; the expansion's own tokens keep the macro's edition, so `inherit`,
//! `init = path` and the generated functions work here as in any edition, and its errors
//! (`tests/ui/`) read as they do in any edition.

#[macro_use]
extern crate local;

#[thread_local_struct(inherit)]
#[derive(Clone, Debug, PartialEq)]
pub struct RequestId {
    #[init(1)]
    pub value: u64,
    pub trace: Vec<u64>,
}

#[thread_local_struct(init = Counter::new, per_thread)]
pub struct Counter(pub u32);

impl Counter {
    fn new() -> Self {
        Counter(10)
    }
}

/// Trait objects without `dyn`, as this edition writes them.
#[allow(bare_trait_objects)]
#[thread_local_struct]
pub struct Handlers {
    #[init(Box::new(|x| x + 1))]
    pub on_value: Box<Fn(u8) -> u8 + Send>,
    #[init(Vec::new())]
    pub shown: Vec<Box<::std::fmt::Display + Send>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use local::Context;

    #[test]
    fn inherit_seeds_a_context_with_this_threads_value() {
        RequestId::set_value(7);
        let mut child = Context::inherit();
        assert_eq!(child.run(RequestId::value), 7);
        child.run(|| RequestId::set_value(8));
        assert_eq!(RequestId::value(), 7);
        assert_eq!(Counter::with(|c| c.0), 10);
    }

    #[test]
    fn sync_scope_binds_a_value_for_a_call() {
        let seen = RequestId::sync_scope(
            RequestId {
                value: 3,
                trace: vec![1],
            },
            || RequestId::get(),
        );
        assert_eq!(seen.value, 3);
        assert_eq!(RequestId::value(), 1);
    }

    #[test]
    fn fields_of_trait_objects_without_dyn() {
        assert_eq!(Handlers::with(|h| (h.on_value)(1)), 2);
        Handlers::with_mut(|h| h.shown.push(Box::new(7)));
        assert_eq!(Handlers::with(|h| h.shown[0].to_string()), "7");
    }
}
