//! The token-level rules of `tokens`: where a type, a visibility or a parameter ends, and
//! what the checks read of a type's tokens. Each case reads a part of an item and checks
//! the tokens left after it, so that a reader that stops early or runs on fails here.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};

use crate::expand::thread_local_struct;
use crate::tokens::{is_unsized, run, type_ends, visibility};

/// Reads `tokens` with `reader`, and returns what it read and what it left, as text.
fn split<T: Into<TokenStream>>(
    reader: fn(ParseStream) -> syn::Result<T>,
    tokens: TokenStream,
) -> (String, String) {
    let parser = |input: ParseStream| Ok((reader(input)?.into(), input.parse::<TokenStream>()?));
    let (read, left): (TokenStream, TokenStream) = parser
        .parse2(tokens)
        .unwrap_or_else(|error| panic!("{error}"));
    (read.to_string(), left.to_string())
}

fn ty(input: ParseStream) -> syn::Result<TokenStream> {
    run(input, type_ends())
}

fn lex(text: &str) -> TokenStream {
    text.parse().expect("lexes")
}

/// Types that rustc accepts, each followed by the rest of a field list: the type is every
/// token before the comma, whatever the type or expression grammar inside it.
#[test]
fn a_type_ends_at_the_comma_after_it() {
    for written in [
        "fn(u8) -> Vec<u8>",
        "std::collections::HashMap<K, V>",
        "Vec<Vec<u8>>",
        "Vec<Vec<Vec<u8>>>",
        "[u8; N * 2]",
        "[u8; { let kib = 4; kib * 1024 }]",
        "[u8; size_of::<u64>() * 2]",
        "[u8; if a < b { 1 } else { 2 }]",
        "<T as Trait>::Assoc",
        "<Vec<u8> as IntoIterator>::IntoIter",
        "<<Vec<u8> as IntoIterator>::IntoIter as Iterator>::Item",
        "dyn for<'a> Fn(&'a u8)",
        "for<'a, 'b> fn(&'a str, &'b str) -> &'a str",
        "Box<dyn Iterator<Item = u8> + Send>",
        "Box<dyn Fn(u8) -> Vec<u8> + Send + 'static>",
        "&'a mut dyn Fn(u8) -> u8",
        "impl Fn() -> u8 + Send",
        "Box<Fn(u8) -> u8 + Send>",
        "Box<std::ops::FnOnce() + 'static>",
        "(u8, u8)",
        "((u8, (u16, u32)), ())",
        "&'static [&'static str]",
        "Array<{ 2 + 2 }, 3>",
        "HashMap<K, fn(u8) -> V>",
        "Option<fn() -> fn() -> u8>",
        "m!(a, b)",
        "m![a: b]",
        "*const [u8]",
        "!",
    ] {
        let (read, left) = split(ty, lex(&format!("{written}, b: u8")));
        assert_eq!(
            (read, left.as_str()),
            (lex(written).to_string(), ", b : u8")
        );
    }
}

/// A `$ty` fragment of a `macro_rules!` arrives in an invisible group: one token tree.
#[test]
fn a_type_in_an_invisible_group_is_one_token_tree() {
    let mut tokens = invisible("HashMap<u8, u16>");
    tokens.extend(lex(", b: u8"));
    assert_eq!(split(ty, tokens).1, ", b : u8");
}

/// In a named field, an `=` after the type starts a default value; a lone `:` is the next
/// field's, after a missing comma; a `>` that closes nothing ends the generics around.
#[test]
fn a_type_ends_before_a_default_value_a_lone_colon_or_an_unmatched_angle() {
    for (written, left) in [
        ("Vec<Vec<u8>> = 5, b: u8", "= 5 , b : u8"),
        ("Box<dyn Iterator<Item = u8>> = 5", "= 5"),
        ("fn() -> u8 = f", "= f"),
        ("u32 b: u32", ": u32"),
        ("u32 b::c: u32", ": u32"),
        ("u32> = u8, b", "> = u8 , b"),
    ] {
        assert_eq!(split(ty, lex(written)).1, left, "{written}");
    }
}

#[test]
fn a_type_that_does_not_end_where_it_should_is_an_error() {
    let output = expand("", "struct S { a: u32 b: u32 }");
    assert!(
        output.contains("compile_error ! { \"expected `,`\" }"),
        "{output}"
    );
    let output = expand("", "struct S { a: , b: u8 }");
    assert!(
        output.contains("compile_error ! { \"expected a type\" }"),
        "{output}"
    );
}

/// `pub (u8, u8)` in a tuple struct is `pub` and a tuple type; `pub(crate)` is a
/// restriction, and so is `pub(in path)`.
#[test]
fn a_parenthesized_group_after_pub_is_a_restriction_only_with_a_keyword_alone() {
    for (field, left) in [
        ("pub (u8, u8)", "(u8 , u8)"),
        ("pub (crate::A, u8)", "(crate :: A , u8)"),
        ("pub (crate, u8)", "(crate , u8)"),
        ("pub(crate) (u8, u8)", "(u8 , u8)"),
        ("pub(self) u8", "u8"),
        ("pub(super) u8", "u8"),
        ("pub(in crate::a) u8", "u8"),
        ("pub u8", "u8"),
        ("u8", "u8"),
    ] {
        assert_eq!(split(visibility, lex(field)).1, left, "{field}");
    }
    // What a `$vis` that matched nothing becomes.
    let mut tokens = invisible("");
    tokens.extend(lex("u8"));
    assert_eq!(split(visibility, tokens).1, "u8");
    let output = expand("", "struct S(pub (u8, u8), u8);");
    assert!(!output.contains("compile_error"), "{output}");
    assert!(
        output.contains("struct S (pub (u8 , u8) , u8) ;"),
        "{output}"
    );
}

fn invisible(text: &str) -> TokenStream {
    TokenTree::Group(Group::new(Delimiter::None, lex(text))).into()
}

#[test]
fn unsized_as_written() {
    for ty in [
        "str",
        "core::primitive::str",
        "::core::primitive::str",
        "[u8]",
        "[[u8; 3]]",
        "[Vec<u8>]",
        "(str)",
        "((str))",
        "dyn Trait",
        "dyn for<'a> Fn(&'a u8)",
        "dyn Trait + Send",
        "dyn Fn(u8) -> Vec<u8> + Send + 'static",
        "Trait + Send",
        "'a + Trait",
        "(dyn Trait)",
        "(dyn Trait<A, B>)",
        "(Trait) + Send",
        "for<'a> Trait<'a>",
        "Fn(u8) -> u8",
        "Fn(u8) -> u8 + Send",
        "std::ops::Fn(u8)",
        "FnMut() + Send",
    ] {
        assert!(is_unsized(&lex(ty)), "{ty}");
        assert!(is_unsized(&invisible(ty)), "invisible {ty}");
    }
    for ty in [
        "&str",
        "&'static str",
        "Box<str>",
        "Box<dyn Fn(u8) -> u8 + Send>",
        "[u8; 3]",
        "[u8; N * 2]",
        "[u8; { let kib = 4; kib * 1024 }]",
        "str<u8>",
        "std::str",
        "mystr",
        "<str>::X",
        "<T as Trait>::Assoc",
        "(str,)",
        "(u8, str)",
        "dyn* Trait",
        "fn(str)",
        "for<'a> fn(&'a str) -> &'a str",
        "for<'a> unsafe extern \"C\" fn(&'a u8)",
        "impl Fn() + Send",
        "*const dyn Trait",
        "m!(str)",
        "fn() -> Vec<u8>",
        "u8",
        "_",
        "!",
    ] {
        assert!(!is_unsized(&lex(ty)), "{ty}");
    }
    // An invisible group followed by `::` is the qualified `<$ty>::X`, which is sized.
    let mut qualified = invisible("str");
    qualified.extend(lex("::X"));
    assert!(!is_unsized(&qualified));
}

fn expand(args: &str, item: &str) -> String {
    thread_local_struct(lex(args), lex(item)).to_string()
}

/// The stubs of a struct with errors declare its parameters without their defaults, whose
/// `=` stands at the parameter's own angle depth, after any `Item = u8` of a bound.
#[test]
fn a_parameter_default_starts_after_its_bounds() {
    let output = expand(
        "",
        "struct S<'a, T: Iterator<Item = u8> + 'a = std::vec::IntoIter<u8>, const N: usize = { 1 + 2 }> { a: &'a T }",
    );
    assert!(
        output.contains("cannot have lifetime parameters"),
        "{output}"
    );
    assert!(
        output.contains(
            "impl < 'a , T : Iterator < Item = u8 > + 'a , const N : usize > :: core :: \
             default :: Default for S < 'a , T , N >"
        ),
        "{output}"
    );
}

#[test]
fn a_default_value_error_covers_the_value_only() {
    let output = expand(
        "",
        "struct S { a: Box<dyn Iterator<Item = u8>> = f(1, 2), b: HashMap<K, V> }",
    );
    assert_eq!(output.matches("compile_error").count(), 1, "{output}");
    assert!(
        output.contains("field default values are not read"),
        "{output}"
    );
    assert!(
        output.contains("fn set_b (__value : HashMap < K , V >)"),
        "{output}"
    );
}

/// Field types rustc accepts are written back as they came, in the struct and in the
/// code generated for them, without an error.
#[test]
fn any_field_type_is_written_back_as_written() {
    for ty in [
        "[u8; { let kib = 4; kib * 1024 }]",
        "[u8; size()]",
        "for<'a> fn(&'a str) -> &'a str",
        "Box<dyn Fn() -> u8 + Send + 'static>",
        "<Vec<u8> as IntoIterator>::IntoIter",
        "buffer!()",
        "((u8, (u16, u32)), ())",
        "&'static str",
        "Array<{ 2 + 2 }>",
    ] {
        // Without spaces: a `>` before a comma is printed joint to it, as it was lexed.
        let output = expand("", &format!("struct S {{ a: {ty}, b: u8 }}")).replace(' ', "");
        let ty = ty.replace(' ', "");
        assert!(!output.contains("compile_error"), "{ty}: {output}");
        assert!(output.contains(&format!("a:{ty},")), "{ty}: {output}");
        assert!(
            output.contains(&format!("fnset_a(__value:{ty})")),
            "{ty}: {output}"
        );
    }
}

#[test]
fn init_takes_any_path_to_a_function() {
    for path in [
        "<Session as Make>::make",
        "<Session as Make<u8>>::make",
        "<Vec<u8> as Make<fn() -> u8>>::make",
        "Self::new",
        "Vec::<u8>::new",
        "crate::a::b",
        "::a::b::<u8>",
    ] {
        let output = expand(&format!("init = {path}"), "struct Session { a: u8 }");
        assert!(!output.contains("compile_error"), "{path}: {output}");
        assert!(
            output.contains(&format!("= {} ;", lex(path))),
            "{path}: {output}"
        );
    }
    for path in [
        "\"Self::new\"",
        "Self::new()",
        "5",
        "&S::new",
        "a::b::",
        "Vec<u8>::new",
        "<>::new",
        "<S as 5>::new",
        "<S>",
    ] {
        let output = expand(&format!("init = {path}"), "struct Session { a: u8 }");
        assert!(output.contains("compile_error"), "{path}: {output}");
    }
}
