//! A small deterministic generator of token trees, and the cuts and mutations of valid
//! inputs.

use proc_macro2::{Group, TokenStream, TokenTree};

/// SplitMix64.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`; `n` > 0.
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub(super) const IDENTS: &[&str] = &[
    "struct",
    "pub",
    "init",
    "inherit",
    "per_thread",
    "enum",
    "fn",
    "impl",
    "where",
    "crate",
    "self",
    "Self",
    "super",
    "r#type",
    "r#struct",
    "a",
    "b",
    "S",
    "u32",
    "String",
    "get",
    "with",
    "set_a",
    "derive",
    "Default",
    "thread_local_struct",
    "_",
    "été",
    "union",
    "let",
    "return",
    "mod",
    "type",
    "const",
    "static",
    "use",
    "extern",
    "unsafe",
    "in",
    "for",
    "as",
    "dyn",
    "async",
    "cfg",
    "doc",
    "Vec",
];
pub(super) const PUNCTS: &[&str] = &[
    "#", "#", "=", "=", ",", ",", "::", "<", ">", ":", ";", "!", "&", "-", ".", "..", "=>", "->",
    "|", "||", "?", "@", "$", "*", "+", "/", "'", "~", "^", "%",
];
pub(super) const LITERALS: &[&str] = &[
    "0",
    "1u8",
    "1.5",
    "1e10",
    "0xff",
    "\"s\"",
    "'c'",
    "b'x'",
    "b\"bytes\"",
    "r\"raw\"",
    "r#\"raw\"#",
    "c\"cstr\"",
    "\"\"",
    "'\\n'",
    "5usize",
];
pub(super) const LIFETIMES: &[&str] = &["'a", "'static", "'_"];
pub(super) const DELIMITERS: &[(&str, &str)] = &[("(", ")"), ("[", "]"), ("{", "}")];
pub(super) const MAX_DEPTH: usize = 4;

/// Random token trees as source text, nested at most [`MAX_DEPTH`] deep.
pub(super) fn random_tokens(rng: &mut Rng, depth: usize) -> String {
    let len = if depth == 0 {
        1 + rng.below(14)
    } else {
        rng.below(7)
    };
    let mut out = String::new();
    for _ in 0..len {
        let piece = match rng.below(13) {
            0..=3 => (*rng.pick(IDENTS)).to_owned(),
            4..=7 => (*rng.pick(PUNCTS)).to_owned(),
            8 => (*rng.pick(LITERALS)).to_owned(),
            9 => (*rng.pick(LIFETIMES)).to_owned(),
            _ if depth < MAX_DEPTH => {
                let (open, close) = *rng.pick(DELIMITERS);
                format!("{open}{}{close}", random_tokens(rng, depth + 1))
            }
            _ => (*rng.pick(IDENTS)).to_owned(),
        };
        // Mostly spaced; sometimes glued, for joint punctuation and suffixes.
        if !out.is_empty() && rng.below(5) != 0 {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    out
}

/// Deletes, duplicates or swaps one token tree, at the top level or inside a group.
pub(super) fn mutate(tokens: TokenStream, rng: &mut Rng) -> TokenStream {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    let groups: Vec<usize> = (0..trees.len())
        .filter(|&index| matches!(trees[index], TokenTree::Group(_)))
        .collect();
    if !groups.is_empty() && rng.below(2) == 0 {
        let index = *rng.pick(&groups);
        if let TokenTree::Group(group) = &trees[index] {
            let mut inner = Group::new(group.delimiter(), mutate(group.stream(), rng));
            inner.set_span(group.span());
            trees[index] = TokenTree::Group(inner);
        }
    } else if !trees.is_empty() {
        let index = rng.below(trees.len());
        match rng.below(3) {
            0 => {
                trees.remove(index);
            }
            1 => {
                let copy = trees[index].clone();
                trees.insert(index, copy);
            }
            _ => {
                let other = rng.below(trees.len());
                trees.swap(index, other);
            }
        }
    }
    trees.into_iter().collect()
}

/// The number of token trees in `stream`, groups counted once and their contents too.
pub(super) fn token_count(stream: &TokenStream) -> usize {
    stream
        .clone()
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => 1 + token_count(&group.stream()),
            _ => 1,
        })
        .sum()
}

/// The first `*left` token trees of `stream` in reading order (a group counted by its
/// opening delimiter), with the groups the cut falls in closed.
pub(super) fn cut(stream: TokenStream, left: &mut usize) -> TokenStream {
    let mut kept = Vec::new();
    for tree in stream {
        if *left == 0 {
            break;
        }
        *left -= 1;
        kept.push(match tree {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), cut(group.stream(), left));
                inner.set_span(group.span());
                TokenTree::Group(inner)
            }
            other => other,
        });
    }
    kept.into_iter().collect()
}
