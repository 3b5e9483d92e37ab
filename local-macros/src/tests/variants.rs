//! Inputs derived from valid ones: truncations, mutations, random items.

use proc_macro2::{TokenStream, TokenTree};

use super::generate::{Rng, cut, mutate, random_tokens, token_count};
use super::oracle::{oracle, oracle_case};
use super::{Case, Expect, VALID, case};
use Expect::{Invalid, Valid};

/// Valid inputs, each the whole of what the truncations cut.
pub(super) fn valid_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "",
            r#"#[derive(Debug, Clone)]
            pub struct Session {
                #[init(1000)]
                value: u32,
                #[init(format!("{:?}", std::thread::current().id()))]
                owner: String,          // evaluated on the thread that touches it first
                hits: u64,              // no #[init]: Default::default()
            }"#,
        ),
        ("init = Session::new", "pub struct Session { value: u32 }"),
        ("", "pub(crate) struct Counter(#[init(7)] pub u64, String);"),
        (
            "inherit",
            r#"/// Docs.
            #[cfg_attr(test, derive(Debug))]
            pub(in crate::a) struct r#Raw {
                pub r#type: Vec<Option<&'static str>>,
                #[init(|| 1)] f: fn() -> u8,
            }"#,
        ),
        (
            "per_thread",
            "struct Unicode { été: [u8; 4], #[init({ let v = vec![1, 2]; v })] v: Vec<i32>, }",
        ),
        (
            "",
            "struct Types { a: [u8; { let n = 2; n * 8 }], #[init(first)] b: for<'a> fn(&'a str) \
             -> &'a str, c: <Vec<u8> as IntoIterator>::IntoIter, d: HashMap<u8, fn(u8) -> u8> }",
        ),
    ]
}

pub(super) fn truncated_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (args, source) in valid_sources() {
        let full: TokenStream = source.parse().expect("a valid source lexes");
        let full_text = full.to_string();
        let expect = |item: &str| match item.parse::<TokenStream>() {
            Ok(tokens) if tokens.to_string() == full_text => Valid,
            _ => Invalid,
        };
        // Every prefix of the source text (those that do not lex are skipped).
        for (end, _) in source.char_indices().chain([(source.len(), ' ')]) {
            let prefix = &source[..end];
            cases.push(case(args, prefix, expect(prefix)));
        }
        // Every prefix of the top-level token trees.
        let trees: Vec<TokenTree> = full.clone().into_iter().collect();
        for end in 0..=trees.len() {
            let prefix: TokenStream = trees[..end].iter().cloned().collect();
            let prefix = prefix.to_string();
            let expect = expect(&prefix);
            cases.push(case(args, prefix, expect));
        }
        // Cut after every token in reading order, inside groups too, closing the groups
        // the cut falls in: truncated attributes, generics, fields and initializers.
        for end in 0..=token_count(&full) {
            let item = cut(full.clone(), &mut { end }).to_string();
            let expect = match expect(&item) {
                Valid => Valid,
                _ => oracle(args, &item),
            };
            cases.push(case(args, item, expect));
        }
    }
    // Prefixes of valid options.
    let options = "init = crate::S::new, inherit,";
    for (end, _) in options.char_indices().chain([(options.len(), ' ')]) {
        cases.push(oracle_case(&options[..end], VALID));
    }
    cases
}

pub(super) fn random_item_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0001);
    let mut cases = Vec::new();
    for _ in 0..250 {
        cases.push(oracle_case("", random_tokens(&mut rng, 0)));
    }
    for _ in 0..150 {
        let body = random_tokens(&mut rng, 1);
        cases.push(oracle_case("", format!("struct S {{ {body} }}")));
    }
    for _ in 0..80 {
        let attr = random_tokens(&mut rng, 1);
        cases.push(oracle_case(
            "",
            format!("struct S {{ #[init({attr})] a: u32 }}"),
        ));
    }
    for _ in 0..80 {
        let attr = random_tokens(&mut rng, 1);
        cases.push(oracle_case("", format!("#[{attr}] struct S {{ a: u32 }}")));
    }
    for _ in 0..80 {
        let prefix = random_tokens(&mut rng, 2);
        cases.push(oracle_case("", format!("{prefix} struct S {{ a: u32 }}")));
    }
    cases
}

pub(super) fn mutation_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0003);
    let mut sources = valid_sources();
    sources.extend([
        ("init = S::new, inherit", VALID),
        (
            "",
            "#[derive(Clone)] pub(crate) struct S { #[init(vec![1, 2])] pub a: Vec<u8>, b: u8 }",
        ),
    ]);
    let sources: Vec<(TokenStream, TokenStream)> = sources
        .into_iter()
        .map(|(args, item)| {
            (
                args.parse().expect("valid args lex"),
                item.parse().expect("a valid item lexes"),
            )
        })
        .collect();
    let mut cases = Vec::new();
    for _ in 0..400 {
        let (args, item) = rng.pick(&sources).clone();
        let (mut args, mut item) = (args, item);
        for _ in 0..1 + rng.below(3) {
            if rng.below(5) == 0 {
                args = mutate(args, &mut rng);
            } else {
                item = mutate(item, &mut rng);
            }
        }
        cases.push(oracle_case(args.to_string(), item.to_string()));
    }
    cases
}
