//! Hand-labelled `#[init(..)]` attributes, on each kind of field.

use super::{Case, Expect, case};
use Expect::{Any, Invalid, Valid};

pub(super) fn init_attr_cases() -> Vec<Case> {
    let deep = |depth: usize| format!("#[init({}1{})]", "(".repeat(depth), ")".repeat(depth));
    let mut labelled: Vec<(String, Expect)> = [
        // Rejected.
        ("#[init]", Invalid),
        ("#[init()]", Invalid),
        ("#[init( )]", Invalid),
        ("#[init = 1]", Invalid),
        ("#[init = \"1\"]", Invalid),
        ("#[init(,)]", Invalid),
        ("#[init(1,)]", Invalid),
        ("#[init(1, 2)]", Invalid),
        ("#[init(1;)]", Invalid),
        ("#[init(1)] #[init(2)]", Invalid),
        ("#[init(1)] #[init(1)]", Invalid),
        ("#[init(1)] #[init]", Invalid),
        ("#[init] #[init(1)]", Invalid),
        ("#[init()] #[init()]", Invalid),
        ("#[init(1)] #[doc = \"x\"] #[init(2)]", Invalid),
        ("#[init(1) + 1]", Invalid),
        ("#[init(1),]", Invalid),
        ("#[init(1)] #", Invalid),
        ("#![init(1)]", Invalid),
        ("#[init(1)] pub(crate", Invalid),
        // Reading other fields: no `self` in an initializer.
        ("#[init(self.a * 2)]", Invalid),
        ("#[init(self)]", Invalid),
        ("#[init({ let x = self.b; x })]", Invalid),
        ("#[init(Some(self.a))]", Invalid),
        // A second value through `cfg_attr` is still a second one.
        ("#[init(1)] #[cfg_attr(test, init(2))]", Invalid),
        (
            "#[cfg_attr(test, init(1))] #[cfg_attr(not(test), init(2))]",
            Invalid,
        ),
        ("#[cfg_attr(test, init)]", Invalid),
        ("#[cfg_attr(test, init = 1)]", Invalid),
        ("#[cfg_attr(test, init())]", Invalid),
        ("#[cfg_attr(test, init(1, 2))]", Invalid),
        ("#[cfg_attr(a, cfg_attr(b, init(self.a)))]", Invalid),
        // Not an expression: passed on as written, rustc reports it at these tokens.
        ("#[init(1 2)]", Any),
        ("#[init(struct)]", Any),
        ("#[init(fn)]", Any),
        ("#[init(=)]", Any),
        ("#[init(#)]", Any),
        ("#[init(::)]", Any),
        ("#[init(a::b::)]", Any),
        ("#[init(#[init(1)])]", Any),
        // Accepted: an expression, the compiler checks its type.
        ("#[init(self::CONSTANT)]", Valid),
        ("#[init(crate::m::CONSTANT)]", Valid),
        ("#[init(|a, b| a + b)]", Valid),
        ("#[init(Map::<K, V>::new())]", Valid),
        ("#[init(x as u8)]", Valid),
        ("#[init(x?)]", Valid),
        ("#[init(0..10)]", Valid),
        ("#[cfg_attr(test, init(1))]", Valid),
        ("#[cfg_attr(all(test, unix), init(1))]", Valid),
        ("#[cfg_attr(test, init(1), allow(unused))]", Valid),
        ("#[cfg_attr(test, allow(unused), init(1))]", Valid),
        ("#[cfg_attr(a, cfg_attr(b, init(1)))]", Valid),
        (
            "#[cfg_attr(a, cfg_attr(b, init(1), doc = \"x\"), allow(unused))]",
            Valid,
        ),
        ("#[cfg_attr(test, allow(unused))] #[init(1)]", Valid),
        ("#[cfg_attr(test)]", Valid),
        ("#[cfg_attr(test, init(1)))]", Any),
        ("#[cfg_attr(init(1))]", Valid),
        ("#[serde(rename = \"x\")] #[init(1)]", Valid),
        ("#[init(1)]", Valid),
        ("#[init((((1))))]", Valid),
        ("#[init(return)]", Valid),
        ("#[init(break)]", Valid),
        ("#[init(loop {})]", Valid),
        ("#[init(|| 1)]", Valid),
        ("#[init({ 1 })]", Valid),
        ("#[init(unsafe { 1 })]", Valid),
        ("#[init('a: { 1 })]", Valid),
        ("#[init(async {})]", Valid),
        ("#[init(x)]", Valid),
        ("#[init(S::with(|s| s.b))]", Valid),
        ("#[init(Self::default().b)]", Valid),
        ("#[init(format!(\"{}\", 1))]", Valid),
        ("#[init(1 + 2 * 3)]", Valid),
        ("#[init([0; 4])]", Valid),
        ("#[init((1,))]", Valid),
        ("#[init(-1)]", Valid),
        ("#[init(!0)]", Valid),
        ("#[init(if true { 1 } else { 2 })]", Valid),
        ("#[init(match 1 { _ => 1 })]", Valid),
        ("#[init(\"1\")]", Valid),
        ("#[init(1)] #[cfg(test)]", Valid),
        ("#[cfg(test)] #[init(1)]", Valid),
        ("#[doc = \"x\"] #[init(1)]", Valid),
        ("/// doc\n#[init(1)]", Valid),
        // Brackets or braces are not `#[init(expr)]`.
        ("#[init[1]]", Invalid),
        ("#[init{1}]", Invalid),
        // Not `#[init]` to this macro; the compiler's to report.
        ("#[init(let x = 1)]", Any),
        ("#[init::x(1)]", Any),
        ("#[self::init(1)]", Any),
        ("#[r#init(1)]", Any),
        ("#[Init(1)]", Any),
    ]
    .into_iter()
    .map(|(attr, expect)| (attr.to_owned(), expect))
    .collect();
    labelled.extend([(deep(32), Valid), (deep(8), Valid)]);
    let mut cases: Vec<Case> = labelled
        .iter()
        .map(|(attr, expect)| case("", format!("struct S {{ {attr} a: u32, b: u8 }}"), *expect))
        .collect();
    // On the second field, and on a tuple struct's field.
    cases.extend(labelled.iter().map(|(attr, expect)| {
        case(
            "",
            format!("pub struct S {{ a: u32, {attr} pub b: u8, }}"),
            *expect,
        )
    }));
    cases.extend(
        labelled
            .iter()
            .map(|(attr, expect)| case("", format!("struct S({attr} u32, u8);"), *expect)),
    );
    cases.extend([
        case("", "struct S { #[init(1)] a: u32 = 1 }", Invalid),
        case("", "#[init(1)] struct S { a: u32 }", Any),
        case("", "struct S { #[init(1)] }", Invalid),
        case("", "struct S { #[init(1)] , a: u32 }", Invalid),
        case("", "enum E { #[init(1)] A }", Invalid),
    ]);
    cases
}
