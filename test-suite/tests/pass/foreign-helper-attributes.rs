//! A derive's helper attributes on fields (`#[serde(..)]`-like) are passed through to it,
//! not eaten: the derive below counts the `#[helper(..)]` attributes it is given.

use helper_derive::CountHelpers;
use local::thread_local_struct;

#[thread_local_struct]
#[derive(CountHelpers, Clone)]
pub struct Session {
    #[helper(rename = "id")]
    #[init(1)]
    value: u32,
    #[init(String::new())]
    #[helper(skip)]
    name: String,
    #[cfg_attr(all(), helper(flatten), init(2))]
    other: u32,
    plain: u8,
}

fn main() {
    assert_eq!(Session::HELPERS, 3);
    assert_eq!(Session::value() + Session::other(), 3);
}
