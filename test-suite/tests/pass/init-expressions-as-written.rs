//! `#[init(..)]` expressions as rustc accepts them, kept as the tokens written and
//! evaluated on each thread that touches the struct.
use std::collections::HashMap;

use local::thread_local_struct;

#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    x: i32,
    y: i32,
}

#[thread_local_struct]
pub struct Inits {
    #[init({
        let base = 40;
        let extra = 2;
        base + extra
    })]
    block: u32,
    #[init(match std::thread::current().name() {
        Some("main") => 1,
        Some(_) => 2,
        None => 3,
    })]
    matched: u8,
    #[init(if cfg!(debug_assertions) { "debug" } else { "release" })]
    conditional: &'static str,
    #[init(|a: u32, b: u32| a + b)]
    closure: fn(u32, u32) -> u32,
    #[init((1..=6).map(|n| n * n).filter(|n| n % 2 == 0).collect::<Vec<u32>>())]
    chain: Vec<u32>,
    #[init(Point { x: 1, y: -1 })]
    literal: Point,
    #[init(const { 6 * 7 })]
    constant: u64,
    #[init('search: {
        for n in 1.. {
            if n * n > 50 {
                break 'search n;
            }
        }
        0
    })]
    labeled: u32,
    #[init(HashMap::<u8, &'static str>::from([(1, "one"), (2, "two")]))]
    turbofish: HashMap<u8, &'static str>,
    #[init(<Vec<u8> as FromIterator<u8>>::from_iter([1, 2]))]
    qualified: Vec<u8>,
}

fn main() {
    assert_eq!(Inits::block(), 42);
    assert_eq!(Inits::matched(), 1);
    std::thread::Builder::new()
        .name("worker".to_owned())
        .spawn(|| assert_eq!(Inits::matched(), 2))
        .unwrap()
        .join()
        .unwrap();
    assert!(["debug", "release"].contains(&Inits::conditional()));
    assert_eq!((Inits::closure())(2, 3), 5);
    assert_eq!(Inits::chain(), [4, 16, 36]);
    assert_eq!(Inits::literal(), Point { x: 1, y: -1 });
    assert_eq!(Inits::constant(), 42);
    assert_eq!(Inits::labeled(), 8);
    assert_eq!(Inits::turbofish()[&2], "two");
    assert_eq!(Inits::qualified(), [1, 2]);
}
