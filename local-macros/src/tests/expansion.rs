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
