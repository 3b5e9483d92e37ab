//! Field types as rustc accepts them, kept as the tokens written: the attribute reads a
//! type as the run of tokens to the next top-level comma, and rustc checks it where the
//! expansion writes it back, in the struct and in the generated getters and setters.
use std::collections::HashMap;

use local::thread_local_struct;

const fn kib(n: usize) -> usize {
    n * 1024
}

fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or(text)
}

macro_rules! buffer {
    ($len:expr) => {
        [u8; $len]
    };
}

#[derive(Clone, Debug, PartialEq)]
pub struct Array<const N: usize>([u8; N]);

impl<const N: usize> Default for Array<N> {
    fn default() -> Self {
        Array([0; N])
    }
}

#[thread_local_struct]
pub struct Types {
    block_length: [u8; {
        let words = 2;
        words * 8
    }],
    #[init([7; kib(1)])]
    const_fn_length: [u8; kib(1)],
    #[init(first_word)]
    higher_ranked: for<'a> fn(&'a str) -> &'a str,
    #[init(Box::new(first_word))]
    higher_ranked_object: Box<dyn for<'a> Fn(&'a str) -> &'a str + Send + Sync + 'static>,
    #[init(Box::new(|| 7))]
    object: Box<dyn Fn() -> u8 + Send + 'static>,
    #[init(vec![1, 2, 3].into_iter())]
    qualified: <Vec<u8> as IntoIterator>::IntoIter,
    from_macro: buffer!(4),
    nested: ((u8, (u16, u32)), ()),
    #[init("static")]
    reference: &'static str,
    #[init(&[1, 2])]
    slice: &'static [u8],
    braced: Array<{ 2 + 2 }>,
    arrow_in_angles: HashMap<u8, fn(u8) -> Vec<u8>>,
    returns_fn: Option<fn() -> fn() -> u8>,
}

/// A tuple struct: its types end at the same commas.
#[thread_local_struct]
pub struct Pair(
    #[init(vec![4, 5].into_iter())] pub <Vec<u8> as IntoIterator>::IntoIter,
    pub [u8; {
        const TWO: usize = 2;
        TWO
    }],
    pub (u8, Array<{ kib(1) / 512 }>),
);

fn main() {
    assert_eq!(Types::block_length(), [0; 16]);
    assert_eq!(Types::const_fn_length()[1023], 7);
    assert_eq!((Types::higher_ranked())("per thread"), "per");
    Types::with(|t| assert_eq!((t.higher_ranked_object)("a b"), "a"));
    Types::with(|t| assert_eq!((t.object)(), 7));
    assert_eq!(Types::qualified().collect::<Vec<u8>>(), [1, 2, 3]);
    assert_eq!(Types::from_macro(), [0; 4]);
    Types::set_nested(((1, (2, 3)), ()));
    assert_eq!(Types::nested(), ((1, (2, 3)), ()));
    assert_eq!((Types::reference(), Types::slice()), ("static", &[1, 2][..]));
    assert_eq!(Types::braced(), Array([0; 4]));
    Types::with_mut(|t| {
        t.arrow_in_angles.insert(1, |n| vec![n; 2]);
    });
    assert_eq!(Types::with(|t| (t.arrow_in_angles[&1])(3)), [3, 3]);
    assert!(Types::returns_fn().is_none());
    assert_eq!(Pair::with(|p| p.0.clone().sum::<u8>()), 9);
    assert_eq!(Pair::with(|p| (p.1, p.2.clone())), ([0; 2], (0, Array([0; 2]))));
}
