//! Hand-labelled items: empty input, every item kind, unusual structs.

use super::oracle::oracle;
use super::{Case, Expect, VALID, case};
use Expect::{Any, Invalid, Valid};

pub(super) fn empty_cases() -> Vec<Case> {
    vec![
        case("", "", Invalid),
        case("inherit", "", Invalid),
        case("init = S::new", "", Invalid),
        case("init =", "", Invalid),
        case("", VALID, Valid),
        case("", "/// only a doc comment", Invalid),
        case("", "#[init(1)]", Invalid),
        case("", "#[derive(Debug)]", Invalid),
        case("", ";", Invalid),
        case("", "{}", Invalid),
        case("", "()", Invalid),
        case("", "pub", Invalid),
        case("", "struct", Invalid),
    ]
}

pub(super) fn item_kind_cases() -> Vec<Case> {
    [
        "enum E { A, B(u32), C { x: u8 } }",
        "pub enum E {}",
        "union U { a: u32, b: f32 }",
        "fn f() {}",
        "pub async fn f() -> u32 { 1 }",
        "unsafe extern \"C\" fn f() {}",
        "trait T {}",
        "pub unsafe trait T: Send { fn f(&self); }",
        "trait A = B + C;",
        "auto trait A {}",
        "impl S {}",
        "impl<T> Tr for S<T> where T: Copy {}",
        "unsafe impl Send for S {}",
        "mod m;",
        "mod m { struct S { a: u32 } }",
        "type T = u8;",
        "type T<'a> where Self: 'a = &'a u8;",
        "static S: u8 = 0;",
        "static mut S: u8 = 0;",
        "const C: u8 = 0;",
        "const _: () = ();",
        "use a::b;",
        "pub use a::{b, c as d, *};",
        "extern crate alloc;",
        "extern crate std as other;",
        "macro_rules! m { () => {} }",
        "m! { struct S { a: u32 } }",
        "m!(struct S { a: u32 });",
        "extern \"C\" { fn f(); }",
        "unsafe extern \"C\" { safe fn f(); }",
        "extern { static X: u8; }",
        "struct A { a: u32 } struct B { b: u32 }",
        "struct S { a: u32 };",
        "struct S { a: u32 } fn f() {}",
        "#[derive(Debug)] enum E { A }",
        "/// Docs.\nenum E { A }",
        "impl Trait for .. {}",
        "let x = 1;",
        "1 + 1",
        "S { a: 1 }",
        "struct S { a: u32 } extra",
        "pub(crate)",
        "#[thread_local_struct]",
        "struct S = u32;",
        "structure S { a: u32 }",
        "Struct S { a: u32 }",
        "struct 1 { a: u32 }",
        "struct S { a }",
        "struct S { a: }",
        "struct S { : u32 }",
        "struct S { a: u32 b: u32 }",
        "struct S { a: u32,, }",
        "struct S [a: u32]",
        "struct S (a: u32);",
        "struct S(u32)",
        "struct S(u32) {}",
        "struct S { a: u32 } = 1",
        "pub pub struct S { a: u32 }",
        "struct S { self: u32 }",
        "struct S { a: u32, a: u32 = }",
    ]
    .into_iter()
    .map(|item| oracle_checked(item, Invalid))
    .collect()
}

/// A hand-labelled case whose label the oracle does not contradict.
pub(super) fn oracle_checked(item: &str, expect: Expect) -> Case {
    let verdict = oracle("", item);
    assert!(
        verdict == Any || verdict == expect,
        "the oracle says {verdict:?} for `{item}`, labelled {expect:?}"
    );
    case("", item, expect)
}

pub(super) fn struct_cases() -> Vec<Case> {
    let many_fields: String = (0..300).map(|index| format!("f{index}: u32, ")).collect();
    let mut cases = vec![
        // Generics and `where` clauses.
        case("", "struct S<T> { a: T }", Invalid),
        case("", "struct S<'a> { a: &'a u8 }", Invalid),
        case("", "struct S<const N: usize> { a: [u8; N] }", Invalid),
        case("", "struct S<T = u8> { a: T }", Invalid),
        case("", "struct S<T: Default, U> { a: T, b: U }", Invalid),
        case("", "struct S<T>(T);", Invalid),
        case("", "struct S<T> where T: Copy { a: T }", Invalid),
        case("", "struct S where u8: Copy { a: u8 }", Invalid),
        case("", "struct S(u8) where u8: Copy;", Invalid),
        case("", "struct S where { a: u8 }", Invalid),
        case(
            "inherit",
            "struct S<'a, T: 'a> where T: Clone { a: &'a T }",
            Invalid,
        ),
        // No fields.
        case("", "struct S;", Invalid),
        case("", "pub struct S;", Invalid),
        case("", "struct S {}", Invalid),
        case("", "struct S();", Invalid),
        case("init = S::new", "struct S {}", Invalid),
        case("", "#[cfg(test)] struct S {}", Invalid),
        // Tuple structs.
        case("", "struct S(u32);", Valid),
        case("", "pub struct S(pub u32, pub(crate) String);", Valid),
        case("init = S::new", "struct S(u32);", Valid),
        // Fields named like generated functions.
        case("", "struct S { get: u32 }", Invalid),
        case("", "struct S { with: u32 }", Invalid),
        case("", "struct S { with_mut: u32 }", Invalid),
        case("", "struct S { try_with: u32 }", Invalid),
        case("", "struct S { try_with_mut: u32 }", Invalid),
        case("", "struct S { set: u32 }", Invalid),
        case("", "struct S { replace: u32 }", Invalid),
        case("", "struct S { take: u32 }", Invalid),
        case("", "struct S { is_initialized: bool }", Invalid),
        case("", "struct S { default: u32 }", Invalid),
        case("", "struct S { r#get: u32 }", Invalid),
        case("", "struct S { x: u32, set_x: u32 }", Invalid),
        case("", "struct S { set_x: u32, x: u32 }", Invalid),
        case("", "struct S { x: u32, r#set_x: u32 }", Invalid),
        case("", "struct S { r#type: u32, set_type: u32 }", Invalid),
        case(
            "",
            "struct S { a: u32, get: u32, with: u32, set_a: u8 }",
            Invalid,
        ),
        case("", "struct S { set_x: u32 }", Valid),
        case("", "struct S { getter: u32, with_: u32, sett: u8 }", Valid),
        // Raw identifiers and unusual names.
        case("", "struct S { r#type: u32 }", Valid),
        case("", "struct S { r#struct: u32, r#fn: u8 }", Valid),
        case("", "struct r#S { a: u32 }", Valid),
        case("", "struct S { _tracker: u32, __x: u8 }", Valid),
        case("", "struct S { été: u32, 東京: u8 }", Valid),
        case("", "struct Été { a: u32 }", Valid),
        case("", "struct S { _: u32 }", Any),
        case("", "struct S { _: struct { a: u32 } }", Any),
        // `Default`, derived or not.
        case("", "#[derive(Default)] struct S { a: u32 }", Invalid),
        case(
            "",
            "#[derive(Debug, Default, Clone)] struct S { a: u32 }",
            Invalid,
        ),
        case(
            "",
            "#[derive(core::default::Default)] struct S { a: u32 }",
            Invalid,
        ),
        case(
            "",
            "#[derive(Debug)] #[derive(Default)] struct S { a: u32 }",
            Invalid,
        ),
        case("", "#[derive(Default)] struct S(u32);", Invalid),
        case(
            "",
            "#[derive(Debug, Clone, PartialEq)] struct S { a: u32 }",
            Valid,
        ),
        case("", "#[derive(DefaultLike)] struct S { a: u32 }", Valid),
        case("", "#[derive] struct S { a: u32 }", Any),
        case("", "#[derive = \"Default\"] struct S { a: u32 }", Any),
        case("", "#[derive(Default = 1)] struct S { a: u32 }", Any),
        case("", "#[derive(,,)] struct S { a: u32 }", Any),
        case("", "#[derive(1)] struct S { a: u32 }", Any),
        case("", "#[derive(::)] struct S { a: u32 }", Any),
        case("", "#[derive(Debug Clone)] struct S { a: u32 }", Any),
        // The attribute twice.
        case("", "#[thread_local_struct] struct S { a: u32 }", Invalid),
        case(
            "",
            "#[local::thread_local_struct(inherit)] struct S { a: u32 }",
            Invalid,
        ),
        // Doc comments, `cfg`, other attributes.
        case(
            "",
            "/// Docs.\n/** More. */ struct S { /// A field.\n a: u32 }",
            Valid,
        ),
        case(
            "",
            "#[doc = \"x\"] struct S { #[doc = \"y\"] a: u32 }",
            Valid,
        ),
        case("", "#[cfg(test)] struct S { a: u32 }", Valid),
        case("", "struct S { #[cfg(test)] a: u32, b: u8 }", Valid),
        case(
            "",
            "#[cfg_attr(test, derive(Debug))] struct S { a: u32 }",
            Valid,
        ),
        case("", "#[repr(C)] #[must_use] struct S { a: u32 }", Valid),
        case(
            "",
            "#[allow(dead_code)] struct S { #[allow(unused)] a: u32 }",
            Valid,
        ),
        case(
            "",
            "#[cfg_attr(test, derive(Default))] struct S { a: u32 }",
            Any,
        ),
        // Visibility.
        case("", "pub struct S { pub a: u32 }", Valid),
        case("", "pub(crate) struct S { pub(crate) a: u32 }", Valid),
        case("", "pub(super) struct S { pub(super) a: u32 }", Valid),
        case("", "pub(self) struct S { pub(self) a: u32 }", Valid),
        case(
            "",
            "pub(in crate::a) struct S { pub(in crate::a) a: u32 }",
            Valid,
        ),
        case("", "pub(in a::b) struct S { a: u32 }", Any),
        case("", "pub(crate) struct S(pub(crate) u32);", Valid),
        case("", "crate struct S { a: u32 }", Invalid),
        // Field default values.
        case("", "struct S { x: u32 = 5 }", Invalid),
        case("", "struct S { a: u32, x: u32 = 5, }", Invalid),
        case("", "struct S { #[init(1)] x: u32 = 5 }", Invalid),
        case("", "struct S { x: u32 = }", Invalid),
        case("", "struct S { x: u32 = 5 5 }", Invalid),
        case("", "struct S(u32 = 5);", Invalid),
        case("init = S::new", "struct S { x: u32 = 5 }", Invalid),
        // Field types.
        case(
            "",
            "struct S { a: Vec<Option<(u8, &'static str)>>, b: fn(u8) -> u8 }",
            Valid,
        ),
        case(
            "",
            "struct S { a: [u8; 3], b: (), c: *const u8, d: Box<dyn Fn()> }",
            Valid,
        ),
        case(
            "",
            "struct S { a: std::rc::Rc<std::cell::Cell<u8>> }",
            Valid,
        ),
        case("", "struct S { a: impl Sized }", Any),
        case("", "struct S { a: Self }", Valid),
        case("", "struct S<> { a: u32 }", Valid),
        case("", "struct S { a: _ }", Any),
        case("", "struct S { a: ! }", Valid),
        case("", "struct S { a: m!() }", Valid),
        case("", "struct S { a: <u8 as Tr>::Assoc }", Valid),
        case("", "struct S { a: for<'a> fn(&'a u8) }", Valid),
        // Types as rustc accepts them, whatever their expressions: kept as written.
        case(
            "",
            "struct S { a: [u8; { let kib = 4; kib * 1024 }], b: [u8; kib(1)] }",
            Valid,
        ),
        case(
            "",
            "struct S { a: for<'a> fn(&'a str) -> &'a str, b: Box<dyn Fn() -> u8 + Send + 'static> }",
            Valid,
        ),
        case(
            "",
            "struct S { a: <Vec<u8> as IntoIterator>::IntoIter, b: m!(u8, u16), c: ((u8, (u16, u32)), ()) }",
            Valid,
        ),
        case(
            "",
            "struct S { a: &'static [&'static str], b: Array<{ 2 + 2 }, 3>, c: HashMap<u8, fn(u8) -> Vec<u8>> }",
            Valid,
        ),
        case(
            "",
            "struct S(pub <Vec<u8> as IntoIterator>::IntoIter, [u8; { 1 + 1 }]);",
            Valid,
        ),
        // Unsized as written: one error at the field.
        case("", "struct S { a: [u8] }", Invalid),
        case("", "struct S { a: u8, b: dyn Fn() -> u8 + Send }", Invalid),
        case("", "struct S { a: (dyn Trait<A, B>) }", Invalid),
        case("", "struct S(::core::primitive::str);", Invalid),
        // Many fields, many errors.
        case("", format!("struct S {{ {many_fields} }}"), Valid),
        case(
            "bogus",
            "#[derive(Default)] struct S<T> where T: Copy { get: T, x: u32 = 1, #[init] y: u8 }",
            Invalid,
        ),
    ];
    for (vis, name) in [("", "a"), ("pub ", "b"), ("pub(crate) ", "c")] {
        cases.push(case(
            "",
            format!("{vis}struct S {{ {vis}{name}: u32, {vis}set_{name}: u8 }}"),
            Invalid,
        ));
    }
    cases
}
