//! The token-level rules of `grammar`: where a type, a visibility or a parameter ends, and
//! what the macro learns of it. Each case reads a part of an item and checks the tokens
//! left after it, so that a reader that stops early or runs on fails here.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};

use crate::expand::thread_local_struct;
use crate::grammar::{self, Type};
use crate::valid::is_unsized;

/// Reads `text` with `reader`, and returns what it left, as text.
fn left_after<T>(reader: fn(ParseStream) -> syn::Result<T>, tokens: TokenStream) -> String {
    let parser = |input: ParseStream| {
        reader(input)?;
        input.parse::<TokenStream>()
    };
    parser
        .parse2(tokens)
        .unwrap_or_else(|error| panic!("{error}"))
        .to_string()
}

fn lex(text: &str) -> TokenStream {
    text.parse().expect("lexes")
}

/// Types, each followed by the rest of a field list: the type ends at the comma.
#[test]
fn a_type_ends_at_the_comma_after_it() {
    for ty in [
        "fn(u8) -> Vec<u8>",
        "std::collections::HashMap<K, V>",
        "Vec<Vec<u8>>",
        "Vec<Vec<Vec<u8>>>",
        "[u8; N * 2]",
        "<T as Trait>::Assoc",
        "<Vec<u8> as IntoIterator>::Item",
        "dyn for<'a> Fn(&'a u8)",
        "Box<dyn Iterator<Item = u8> + Send>",
        "&'a mut dyn Fn(u8) -> u8",
        "impl Fn() -> u8 + Send",
        "Box<Fn(u8) -> u8 + Send>",
        "Box<std::ops::FnOnce() + 'static>",
        "(u8, u8)",
        "m!(a, b)",
    ] {
        assert_eq!(
            left_after(grammar::ty, lex(&format!("{ty}, b: u8"))),
            ", b : u8",
            "{ty}"
        );
    }
}

/// A `>` after a joint `-` is an arrow, not the end of the angle brackets around it.
#[test]
fn an_arrow_inside_angle_brackets_closes_nothing() {
    assert_eq!(
        left_after(grammar::ty, lex("HashMap<K, fn(u8) -> V>, b: u8")),
        ", b : u8"
    );
}

/// In a named field, an `=` after the type starts a default value.
#[test]
fn a_type_ends_before_a_default_value() {
    for ty in ["Vec<Vec<u8>>", "Box<dyn Iterator<Item = u8>>", "fn() -> u8"] {
        assert_eq!(
            left_after(grammar::ty, lex(&format!("{ty} = 5, b: u8"))),
            "= 5 , b : u8",
            "{ty}"
        );
    }
}

#[test]
fn a_type_that_does_not_end_where_it_should_is_an_error() {
    let output = expand("", "struct S { a: u32 b: u32 }");
    assert!(
        output.contains("compile_error ! { \"expected `,`\" }"),
        "{output}"
    );
    let output = expand("", "struct S { a: [u8; 4 4] }");
    assert!(output.contains("compile_error"), "{output}");
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
        assert_eq!(left_after(grammar::visibility, lex(field)), left, "{field}");
    }
    let output = expand("", "struct S(pub (u8, u8), u8);");
    assert!(!output.contains("compile_error"), "{output}");
    assert!(
        output.contains("struct S (pub (u8 , u8) , u8) ;"),
        "{output}"
    );
}

fn read_type(tokens: TokenStream) -> Type {
    let text = tokens.to_string();
    grammar::ty
        .parse2(tokens)
        .unwrap_or_else(|error| panic!("`{text}`: {error}"))
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
        "(str)",
        "((str))",
        "dyn Trait",
        "dyn for<'a> Fn(&'a u8)",
        "dyn Trait + Send",
        "Trait + Send",
        "'a + Trait",
        "(dyn Trait)",
        "(Trait) + Send",
        "for<'a> Trait<'a>",
        "Fn(u8) -> u8",
        "FnMut() + Send",
    ] {
        assert!(is_unsized(&read_type(lex(ty))), "{ty}");
        assert!(is_unsized(&read_type(invisible(ty))), "invisible {ty}");
    }
    for ty in [
        "&str",
        "Box<str>",
        "[u8; 3]",
        "[u8; N * 2]",
        "str<u8>",
        "std::str",
        "<str>::X",
        "<T as Trait>::Assoc",
        "(str,)",
        "dyn* Trait",
        "fn(str)",
        "u8",
    ] {
        assert!(!is_unsized(&read_type(lex(ty))), "{ty}");
    }
    // An invisible group followed by `::` is the qualified `<$ty>::X`, which is sized.
    let mut qualified = invisible("str");
    qualified.extend(lex("::X"));
    assert!(!is_unsized(&read_type(qualified)));
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
        "struct S<T: Iterator<Item = u8> + 'static = std::vec::IntoIter<u8>, const N: usize = 3> { a: T }",
    );
    assert!(output.contains("cannot have type parameters"), "{output}");
    assert!(
        output.contains(
            "impl < T : Iterator < Item = u8 > + 'static , const N : usize > :: core :: default \
             :: Default for S < T , N >"
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

#[test]
fn init_takes_any_path_to_a_function() {
    for path in [
        "<Session as Make>::make",
        "<Session as Make<u8>>::make",
        "Self::new",
        "Vec::<u8>::new",
        "crate::a::b",
        "::a::b::<u8>",
    ] {
        let output = expand(&format!("init = {path}"), "struct Session { a: u8 }");
        assert!(!output.contains("compile_error"), "{path}: {output}");
    }
    for path in [
        "\"Self::new\"",
        "Self::new()",
        "5",
        "&S::new",
        "a::b::",
        "Vec<u8>::new",
    ] {
        let output = expand(&format!("init = {path}"), "struct Session { a: u8 }");
        assert!(output.contains("compile_error"), "{path}: {output}");
    }
}
