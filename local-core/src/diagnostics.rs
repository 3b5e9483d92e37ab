//! A trait the attribute's expansion calls through instead of `Default`, so that a
//! missing implementation is reported in the user's terms, at the user's tokens.

/// `Default::default()` for a field without `#[init(..)]`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Default`, so this field needs an initial value",
    label = "give this field one with `#[init(expr)]`",
    note = "or build the whole struct in a function: `#[thread_local_struct(init = path)]`"
)]
pub trait FieldDefault {
    fn field_default() -> Self;
}

impl<T: Default> FieldDefault for T {
    #[inline]
    fn field_default() -> Self {
        T::default()
    }
}
