//! The `Send` probe of the expansion does not pick up the user's traits: one with a blanket
//! impl and an `is_send(&self)` method in scope, as the old probe's method was named,
//! changes nothing. A `Send` struct still lives in contexts; one that is not is refused.

use local::{AccessError, Context, thread_local_struct};
use std::rc::Rc;

pub trait IsSend {
    fn is_send(&self) -> Option<()> {
        panic!("the user's trait was called")
    }
}

impl<T: ?Sized> IsSend for T {}

#[thread_local_struct]
pub struct Shared {
    #[init(1)]
    value: u32,
}

#[thread_local_struct]
pub struct Local {
    #[init(Rc::new(2))]
    value: Rc<u32>,
}

fn main() {
    let mut context = Context::new();
    context.run(|| Shared::set_value(5));
    assert_eq!(context.run(Shared::value), 5);
    assert_eq!(Shared::value(), 1);
    assert_eq!(
        context.run(|| Local::try_with(|l| *l.value)),
        Err(AccessError::NotSend)
    );
    assert_eq!(Local::with(|l| *l.value), 2);
}
