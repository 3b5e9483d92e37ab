//! Hand-labelled and random options of the attribute.

use proc_macro2::TokenStream;

use super::generate::{Rng, random_tokens};
use super::oracle::{args_verdict, oracle_case};
use super::{Case, Expect, VALID, case};
use Expect::{Any, Invalid, Valid};

pub(super) fn args_cases() -> Vec<Case> {
    let nested = format!("{}inherit{}", "(".repeat(64), ")".repeat(64));
    let mut labelled: Vec<(String, Expect)> = [
        // Accepted.
        ("", Valid),
        ("inherit", Valid),
        ("per_thread", Valid),
        ("inherit,", Valid),
        ("init = S::new", Valid),
        ("init=S::new", Valid),
        ("init = crate::S::new", Valid),
        ("init = ::s::S::new", Valid),
        ("init = Self::new", Valid),
        ("init = S::<u8>::new", Valid),
        ("init = S::r#new", Valid),
        ("init = été::новый", Valid),
        ("init = S::new, inherit", Valid),
        ("init = S::new, per_thread,", Valid),
        ("per_thread, init = S::new", Valid),
        // Paths the macro may take, leaving the type check to the compiler.
        ("init = self", Any),
        ("init = crate", Any),
        ("init = Fn() -> S", Any),
        ("r#inherit", Any),
        // Rejected.
        ("init", Invalid),
        ("init =", Invalid),
        ("init = 5", Invalid),
        ("init = ||", Invalid),
        ("init = || S::default()", Invalid),
        ("init = a::b::", Invalid),
        ("init = S::new()", Invalid),
        ("init = \"S::new\"", Invalid),
        ("init = &S::new", Invalid),
        // `init` naming the generated `Default`: it would call itself.
        ("init = <S as Default>::default", Invalid),
        ("init = Default::default", Invalid),
        ("init = Self::default", Invalid),
        ("init = S::default", Invalid),
        ("init = <Self as Default>::default", Invalid),
        (
            "init = <Self as ::core::default::Default>::default",
            Invalid,
        ),
        ("init = <_ as Default>::default", Invalid),
        ("init = <S>::default", Invalid),
        ("init = ::core::default::Default::default", Invalid),
        ("init = std::default::Default::default", Invalid),
        ("init = Other::default", Valid),
        ("init = default", Valid),
        ("init = <Other as Default>::default", Valid),
        // Qualified paths.
        ("init = <S as Make>::make", Valid),
        ("init = <S>::new", Valid),
        ("init = <Self as m::Make>::make", Valid),
        ("init = <S as Make<u8>>::make", Valid),
        ("init = S::new::<u8>", Valid),
        // `crate = path`.
        ("crate = ::my_local", Valid),
        ("crate = my_local", Valid),
        ("crate = crate::reexported::local", Valid),
        ("crate = ::my_local, inherit", Valid),
        ("init = S::new, crate = ::local, per_thread", Valid),
        ("crate", Invalid),
        ("crate =", Invalid),
        ("crate = \"my_local\"", Invalid),
        ("crate = 1", Invalid),
        ("crate = ::a, crate = ::b", Invalid),
        ("crate = <S as T>::x", Invalid),
        ("crate(::my_local)", Invalid),
        ("crate = ::my_local; inherit", Invalid),
        // Missing commas.
        ("per_thread; inherit", Invalid),
        ("per_thread inherit", Invalid),
        ("inherit . per_thread", Invalid),
        ("init = S::new inherit", Invalid),
        ("init = _", Invalid),
        ("init = 'a", Invalid),
        ("init = 1.0", Invalid),
        ("init = S::new as fn() -> S", Invalid),
        ("init = S::new S::new", Invalid),
        ("init == S::new", Invalid),
        ("init => S::new", Invalid),
        ("init: S::new", Invalid),
        ("init(S::new)", Invalid),
        ("init[S::new]", Invalid),
        ("init S::new", Invalid),
        ("init = S::new; inherit", Invalid),
        ("init = S::new,, inherit", Invalid),
        ("init = a, init = b", Invalid),
        ("INIT = S::new", Invalid),
        ("inherit = 1", Invalid),
        ("inherit = true", Invalid),
        ("inherit(x)", Invalid),
        ("inherit;", Invalid),
        ("inherit, inherit", Invalid),
        ("inherit, per_thread", Invalid),
        ("per_thread, inherit,", Invalid),
        ("per_thread(x)", Invalid),
        ("per_thread = \"yes\"", Invalid),
        ("per_thread, per_thread", Invalid),
        ("per_thread::x", Invalid),
        ("self::inherit", Invalid),
        ("::inherit", Invalid),
        ("Inherit", Invalid),
        (",", Invalid),
        (",,", Invalid),
        (", inherit", Invalid),
        ("inherit,,", Invalid),
        ("::", Invalid),
        ("#", Invalid),
        ("#[inherit]", Invalid),
        ("\"str\"", Invalid),
        ("'a", Invalid),
        ("1", Invalid),
        ("-1", Invalid),
        ("=", Invalid),
        ("= S::new", Invalid),
        ("(inherit)", Invalid),
        ("[inherit]", Invalid),
        ("{inherit}", Invalid),
        ("inherit (per_thread [init {}])", Invalid),
        ("été", Invalid),
        ("inherit, 東京", Invalid),
        ("struct", Invalid),
        ("_", Invalid),
        ("$crate", Invalid),
        ("init = S::new /* a comment */ ,, ", Invalid),
    ]
    .into_iter()
    .map(|(args, expect)| (args.to_owned(), expect))
    .collect();
    labelled.extend([
        (nested, Invalid),
        (
            format!("init = S::new, {}", "(".repeat(32) + &")".repeat(32)),
            Invalid,
        ),
        ("inherit, ".repeat(500), Invalid),
        (format!("init = {}new", "a::".repeat(2000)), Valid),
        (format!("init = {}", "x".repeat(10_000)), Valid),
        ("x".repeat(10_000), Invalid),
        (
            format!("init = S::new, {}", "inherit ".repeat(1000)),
            Invalid,
        ),
    ]);
    let mut cases: Vec<Case> = labelled
        .into_iter()
        .map(|(args, expect)| case(args, VALID, expect))
        .collect();
    // Options that are fine alone, wrong with this struct.
    cases.extend([
        case("init = S::new", "struct S { #[init(1)] a: u32 }", Invalid),
        case("init = S::new", "struct S(#[init(1)] u32);", Invalid),
        case("inherit, per_thread", "struct S { a: u32 }", Invalid),
        case("init = S::new", "enum S { A }", Invalid),
        case("bogus", "enum S { A }", Invalid),
    ]);
    cases
}

pub(super) fn random_args_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0002);
    let mut cases = Vec::new();
    let mut push = |args: String| {
        let expect = args
            .parse::<TokenStream>()
            .map_or(Any, |args| args_verdict(&args));
        cases.push(case(args, VALID, expect));
    };
    for _ in 0..250 {
        push(random_tokens(&mut rng, 0));
    }
    for _ in 0..100 {
        push(format!("init = {}", random_tokens(&mut rng, 1)));
    }
    for _ in 0..60 {
        let option = *rng.pick(&["inherit", "per_thread", "init = S::new"]);
        push(format!("{option}, {}", random_tokens(&mut rng, 1)));
    }
    // Random args and a random item together.
    for _ in 0..60 {
        let args = random_tokens(&mut rng, 0);
        cases.push(oracle_case(args, random_tokens(&mut rng, 0)));
    }
    cases
}
