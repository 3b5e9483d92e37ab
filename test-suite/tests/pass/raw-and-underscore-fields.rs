#![deny(unused, non_snake_case)]

use local::thread_local_struct;

#[thread_local_struct]
#[derive(Debug, Clone)]
pub struct Token {
    #[init("keyword")]
    r#type: &'static str,
    _tracker: u32,
    r#match: bool,
}

fn main() {
    assert_eq!(Token::r#type(), "keyword");
    Token::set_type("ident");
    assert_eq!(Token::r#type(), "ident");
    Token::set__tracker(3);
    assert_eq!(Token::_tracker(), 3);
    Token::set_match(true);
    assert!(Token::r#match());
    assert_eq!(
        Token::with(|t| (t.r#type, t._tracker, t.r#match)),
        ("ident", 3, true)
    );
}
