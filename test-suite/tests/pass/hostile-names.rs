//! Items of the user's that a careless expansion would pick up instead of its own.

use local::thread_local_struct;

mod __private {
    pub fn marker() -> u8 {
        1
    }
}

mod local_core {
    pub fn marker() -> u8 {
        2
    }
}

type Result<T> = std::result::Result<T, ()>;
type Option = u8;

trait Default {
    fn default() -> Self;
}

struct ThreadLocal(u8);
struct StaticLocal(u8);
struct AccessError(u8);

impl Default for ThreadLocal {
    fn default() -> Self {
        ThreadLocal(3)
    }
}

#[thread_local_struct]
#[derive(Debug, Clone)]
pub struct Session {
    #[init(1)]
    core: u32,
    #[init(2)]
    std: u32,
    #[init(3)]
    local: u32,
    name: String,
}

fn check() -> Result<Option> {
    Ok(__private::marker() + local_core::marker())
}

fn main() {
    assert_eq!(check(), Ok(3));
    assert_eq!(Session::with(|s| [s.core, s.std, s.local]), [1, 2, 3]);
    assert_eq!(Session::core(), 1);
    assert_eq!(Session::std(), 2);
    assert_eq!(Session::local(), 3);
    assert_eq!(Session::name(), "");
    Session::set_core(10);
    Session::set_std(20);
    assert_eq!(Session::core() + Session::std(), 30);
    assert_eq!(Session::get().local, 3);
    assert_eq!(Session::take().map(|s| s.core), Some(10));
    assert_eq!(Session::try_with(|s| s.core), Ok(1));
    let ThreadLocal(a) = <ThreadLocal as Default>::default();
    let StaticLocal(b) = StaticLocal(4);
    let AccessError(c) = AccessError(5);
    assert_eq!((a, b, c), (3, 4, 5));
}
