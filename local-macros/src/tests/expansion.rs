//! What the expansion keeps of the user's struct, and what it writes, for inputs the
//! trybuild cases cannot look inside.

use proc_macro2::TokenStream;

use crate::expand::thread_local_struct;

fn expand(args: &str, item: &str) -> String {
    let args: TokenStream = args.parse().expect("args lex");
    let item: TokenStream = item.parse().expect("item lexes");
    thread_local_struct(args, item).to_string()
}

#[test]
fn foreign_helper_attributes_stay_on_their_fields() {
    let output = expand(
        "",
        r#"#[derive(Serialize)] struct S { #[serde(rename = "b")] #[init(1)] a: u32 }"#,
    );
    assert!(
        output.contains(r#"# [serde (rename = "b")] a : u32"#),
        "{output}"
    );
    assert!(!output.contains("# [init"), "{output}");
}

#[test]
fn a_configured_out_field_takes_its_cfg_to_its_accessors_and_initializer() {
    let output = expand(
        "",
        "struct S { #[cfg(feature = \"x\")] #[init(1)] a: u32, b: u8 }",
    );
    assert_eq!(
        output.matches("# [cfg (feature = \"x\")]").count(),
        // The struct's field, its binding in `Default`, its place in the value, its getter
        // and its setter.
        5,
        "{output}"
    );
}

#[test]
fn cfg_attr_init_is_read_and_the_rest_of_the_cfg_attr_stays() {
    let output = expand(
        "",
        "struct S { #[cfg_attr(test, init(1), allow(unused))] a: u32 }",
    );
    assert!(
        output.contains("# [cfg_attr (test , allow (unused))] a : u32"),
        "{output}"
    );
    assert!(
        output.contains("# [cfg (test)] let __field_0 : u32 = 1"),
        "{output}"
    );
    assert!(
        output.contains("# [cfg (not (test))] let __field_0 : u32 ="),
        "{output}"
    );
}

#[test]
fn packed_struct_getters_copy_the_field_instead_of_borrowing_it() {
    let output = expand("", "#[repr(C, packed)] struct S { a: u32 }");
    assert!(output.contains(":: core :: marker :: Copy"), "{output}");
    assert!(!output.contains("& __value . a"), "{output}");
    let unpacked = expand("", "#[repr(C)] struct S { a: u32 }");
    assert!(unpacked.contains("clone (& __value . a)"), "{unpacked}");
}

#[test]
fn primitive_types_are_named_by_absolute_path() {
    let output = expand("", "struct S { a: u32 }");
    assert!(
        output.contains("-> :: core :: primitive :: bool"),
        "{output}"
    );
    assert!(!output.contains("-> bool"), "{output}");
}

#[test]
fn every_spelling_of_the_generated_default_as_init_is_one_error_naming_it() {
    for path in [
        "Default::default",
        "Self::default",
        "S::default",
        "<Self as Default>::default",
        "<S as ::core::default::Default>::default",
        "<_ as Default>::default",
        "::std::default::Default::default",
    ] {
        let output = expand(&format!("init = {path}"), "struct S { a: u32 }");
        assert_eq!(
            output.matches("compile_error").count(),
            1,
            "{path}: {output}"
        );
        assert!(
            output.contains("`init` would call itself"),
            "{path}: {output}"
        );
    }
}

#[test]
fn the_runtime_is_named_once_through_the_crate_option() {
    let output = expand("crate = ::my_local", "struct S { a: u32 }");
    assert!(output.contains("use :: my_local as __local ;"), "{output}");
    assert!(!output.contains(":: local"), "{output}");
    assert_eq!(
        output.matches("__private").count(),
        expand("", "struct S { a: u32 }")
            .matches("__private")
            .count()
    );
}
