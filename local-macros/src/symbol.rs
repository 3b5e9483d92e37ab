//! The names the attribute reads in its input, written once.

use syn::Ident;

use crate::tokens::Path;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Symbol(&'static str);

/// The attribute itself, found again on the item when it is applied twice.
pub(crate) const THREAD_LOCAL_STRUCT: Symbol = Symbol("thread_local_struct");

/// Options: `#[thread_local_struct(init = path, inherit, per_thread, crate = path)]`.
pub(crate) const INIT: Symbol = Symbol("init");
pub(crate) const INHERIT: Symbol = Symbol("inherit");
pub(crate) const PER_THREAD: Symbol = Symbol("per_thread");
pub(crate) const CRATE: Symbol = Symbol("crate");

/// Attributes of the user's that the expansion reads or carries along.
pub(crate) const CFG: Symbol = Symbol("cfg");
pub(crate) const CFG_ATTR: Symbol = Symbol("cfg_attr");
pub(crate) const DOC: Symbol = Symbol("doc");
pub(crate) const DEPRECATED: Symbol = Symbol("deprecated");
pub(crate) const ALLOW: Symbol = Symbol("allow");
pub(crate) const DERIVE: Symbol = Symbol("derive");
pub(crate) const REPR: Symbol = Symbol("repr");
pub(crate) const PACKED: Symbol = Symbol("packed");

/// Paths that name `Default` or its function, for the recursion check.
pub(crate) const DEFAULT_TRAIT: Symbol = Symbol("Default");
pub(crate) const DEFAULT_FN: Symbol = Symbol("default");

impl PartialEq<Symbol> for Ident {
    fn eq(&self, symbol: &Symbol) -> bool {
        self == symbol.0
    }
}

impl PartialEq<Symbol> for &Ident {
    fn eq(&self, symbol: &Symbol) -> bool {
        *self == symbol.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, symbol: &Symbol) -> bool {
        self.get_ident().is_some_and(|ident| ident == symbol.0)
    }
}
