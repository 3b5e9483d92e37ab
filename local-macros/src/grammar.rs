//! The pieces of Rust's grammar that make up the item: paths, types, bounds, generic
//! arguments, the expressions that appear inside them (array lengths, const arguments,
//! attribute values, field defaults), visibilities and `where` clauses.
//!
//! syn builds a syntax tree of these only with its `derive` feature, and the macro needs
//! no tree: what it writes back it keeps as tokens (see `written`). So each reader here
//! walks syn's `ParseStream` as syn's own parser of that node does, consuming the same
//! tokens and failing with the same errors, and returns only the little the macro asks of
//! the node: whether a type is unsized as written, the segments of a path, whether a
//! `where` clause has predicates. Going through `ParseStream` keeps syn's handling of
//! delimited groups, invisible groups from `macro_rules!` fragments, lookahead messages
//! and the "unexpected token" reported for what is left inside a group.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::{
    Ident, Lifetime, Lit, LitFloat, LitInt, LitStr, Token, braced, bracketed, parenthesized, token,
};

use crate::attr::outer_attrs;

/// A path, as far as the macro reads one: its segments' names, and whether each has
/// generic arguments.
pub(crate) struct Path {
    /// The first `:` of a leading `::`.
    pub leading_colon: Option<Span>,
    pub segments: Vec<Segment>,
}

pub(crate) struct Segment {
    pub ident: Ident,
    pub arguments: Arguments,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arguments {
    None,
    /// `<..>` or `::<..>`.
    AngleBracketed,
    /// `(..) -> ..`, as in `Fn(u8) -> u8`.
    Parenthesized,
}

impl Path {
    /// One name, with no `::` before it and no arguments: syn's `Path::is_ident`.
    pub(crate) fn is_ident(&self, name: &str) -> bool {
        self.get_ident().is_some_and(|ident| ident == name)
    }

    pub(crate) fn get_ident(&self) -> Option<&Ident> {
        match self.segments.as_slice() {
            [segment] if self.leading_colon.is_none() && segment.arguments == Arguments::None => {
                Some(&segment.ident)
            }
            _ => None,
        }
    }

    /// No segment has generic arguments: a path that may name a macro.
    fn is_mod_style(&self) -> bool {
        self.segments
            .iter()
            .all(|segment| segment.arguments == Arguments::None)
    }
}

/// `<T as Trait>::` before a path.
pub(crate) struct QSelf {
    /// The `<`.
    pub lt: Span,
    pub ty: Box<Type>,
    /// How many of the path's segments belong to `Trait`: 0 for `<T>::name`.
    pub position: usize,
}

/// A path that may start with `<T as Trait>::`, in a type or an expression.
pub(crate) struct QPath {
    pub qself: Option<QSelf>,
    pub path: Path,
}

/// What the macro asks of a type: the forms that are unsized as written, the forms that
/// wrap one, and paths.
pub(crate) enum Type {
    /// `[T]`.
    Slice,
    /// `dyn Trait`, `Trait + Send`, `'a + Trait`. `lone` for a single bound with no `dyn`
    /// (`for<'a> Fn(&'a u8)`), which a `+` after parentheses around it extends.
    TraitObject {
        lone: bool,
    },
    /// `_`.
    Infer,
    /// `(T)`.
    Paren(Box<Type>),
    /// An invisible group, as a `macro_rules!` fragment `$ty` arrives.
    Group(Box<Type>),
    Path(QPath),
    /// Any other type.
    Other,
}

/// `Type::parse`: a type, `+` bounds included.
pub(crate) fn ty(input: ParseStream) -> syn::Result<Type> {
    ambig_ty(input, true, true)
}

/// `Type::without_plus`: where a `+` ends the type (`&T`, `*const T`, `fn() -> T`).
fn ty_without_plus(input: ParseStream) -> syn::Result<Type> {
    ambig_ty(input, false, true)
}

/// syn's `ambig_ty`, case by case.
fn ambig_ty(input: ParseStream, allow_plus: bool, allow_group_generic: bool) -> syn::Result<Type> {
    if input.peek(token::Group) {
        return group_ty(input, allow_group_generic);
    }

    let mut has_lifetimes = false;
    let mut lookahead = input.lookahead1();
    if lookahead.peek(Token![for]) {
        bound_lifetimes(input)?;
        has_lifetimes = true;
        lookahead = input.lookahead1();
        if !lookahead.peek(Ident)
            && !lookahead.peek(Token![fn])
            && !lookahead.peek(Token![unsafe])
            && !lookahead.peek(Token![extern])
            && !lookahead.peek(Token![super])
            && !lookahead.peek(Token![self])
            && !lookahead.peek(Token![Self])
            && !lookahead.peek(Token![crate])
            || input.peek(Token![dyn])
        {
            return Err(lookahead.error());
        }
    }

    if lookahead.peek(token::Paren) {
        paren_ty(input, allow_plus)
    } else if lookahead.peek(Token![unsafe]) && input.peek2(Token![<]) {
        // `unsafe<'a> T`, an unsafe binder.
        input.parse::<Token![unsafe]>()?;
        angle_list(input, |input| Lifetime::parse_any(input).map(drop))?;
        ambig_ty(input, allow_plus, allow_group_generic)?;
        Ok(Type::Other)
    } else if lookahead.peek(Token![fn])
        || input.peek(Token![unsafe])
        || lookahead.peek(Token![extern])
    {
        fn_ptr(input)?;
        Ok(Type::Other)
    } else if lookahead.peek(Ident)
        || input.peek(Token![super])
        || input.peek(Token![self])
        || input.peek(Token![Self])
        || input.peek(Token![crate])
        || lookahead.peek(Token![::])
        || lookahead.peek(Token![<])
    {
        let mut ty = qpath(input, false)?;
        if ty.qself.is_some() {
            return Ok(Type::Path(ty));
        }
        if input.peek(Token![!]) && !input.peek(Token![!=]) && ty.path.is_mod_style() {
            input.parse::<Token![!]>()?;
            delimited(input)?;
            return Ok(Type::Other);
        }
        // `Fn(u8) -> u8` without `dyn`: a trait object of edition 2015, whose arguments
        // belong to the path's last segment as in a bound. syn reads them in bounds only,
        // and so rejected `Box<Fn(u8) -> u8 + Send>`, which rustc accepts in that edition.
        let parenthesized = ty
            .path
            .segments
            .last()
            .is_some_and(|last| last.arguments == Arguments::None)
            && input.peek(token::Paren);
        if parenthesized {
            parenthesized_arguments(input)?;
            if let Some(last) = ty.path.segments.last_mut() {
                last.arguments = Arguments::Parenthesized;
            }
        }
        if parenthesized || has_lifetimes || allow_plus && input.peek(Token![+]) {
            let lone = !(allow_plus && input.peek(Token![+]));
            if allow_plus {
                while input.peek(Token![+]) {
                    input.parse::<Token![+]>()?;
                    if !(input.peek(Ident::peek_any)
                        || input.peek(Token![::])
                        || input.peek(Token![?])
                        || input.peek(Lifetime)
                        || input.peek(token::Paren))
                    {
                        break;
                    }
                    bound(input)?;
                }
            }
            return Ok(Type::TraitObject { lone });
        }
        Ok(Type::Path(ty))
    } else if lookahead.peek(Token![dyn]) {
        let dyn_begin = input.cursor();
        input.parse::<Token![dyn]>()?;
        let star = input.parse::<Option<Token![*]>>()?.is_some();
        trait_object_bounds(dyn_begin, input, allow_plus)?;
        // `dyn* Trait` is not a trait object syn knows.
        Ok(if star {
            Type::Other
        } else {
            Type::TraitObject { lone: false }
        })
    } else if lookahead.peek(token::Bracket) {
        let content;
        bracketed!(content in input);
        ty(&content)?;
        if content.peek(Token![;]) {
            content.parse::<Token![;]>()?;
            expr(&content)?;
            Ok(Type::Other)
        } else {
            Ok(Type::Slice)
        }
    } else if lookahead.peek(Token![*]) {
        input.parse::<Token![*]>()?;
        let lookahead = input.lookahead1();
        if lookahead.peek(Token![const]) {
            input.parse::<Token![const]>()?;
        } else if lookahead.peek(Token![mut]) {
            input.parse::<Token![mut]>()?;
        } else {
            return Err(lookahead.error());
        }
        ty_without_plus(input)?;
        Ok(Type::Other)
    } else if lookahead.peek(Token![&]) {
        input.parse::<Token![&]>()?;
        if input.peek(Lifetime) {
            Lifetime::parse_any(input)?;
        }
        input.parse::<Option<Token![mut]>>()?;
        // `&` binds tighter than `+`.
        ty_without_plus(input)?;
        Ok(Type::Other)
    } else if lookahead.peek(Token![!]) && !input.peek(Token![=]) {
        input.parse::<Token![!]>()?;
        Ok(Type::Other)
    } else if lookahead.peek(Token![impl]) {
        let impl_begin = input.cursor();
        input.parse::<Token![impl]>()?;
        let kinds = bounds(input, allow_plus, true)?;
        if !kinds.contains(&Bound::Trait) {
            return Err(syn::Error::new_range(
                impl_begin..input.cursor(),
                "at least one trait must be specified",
            ));
        }
        Ok(Type::Other)
    } else if lookahead.peek(Token![_]) {
        input.parse::<Token![_]>()?;
        Ok(Type::Infer)
    } else if lookahead.peek(Lifetime) {
        let begin = input.cursor();
        input.parse::<Option<Token![dyn]>>()?;
        trait_object_bounds(begin, input, true)?;
        Ok(Type::TraitObject { lone: false })
    } else {
        Err(lookahead.error())
    }
}

/// A type in an invisible group, and what may extend it: `$ty::Assoc` is a qualified
/// path, and `$path<Args>` a path with arguments.
fn group_ty(input: ParseStream, allow_group_generic: bool) -> syn::Result<Type> {
    let group_span = input.cursor().span();
    let inner = in_invisible_group(input, ty)?;
    if input.peek(Token![::]) && input.peek3(Ident::peek_any) {
        return Ok(match inner {
            Type::Path(mut ty) => {
                path_rest(input, &mut ty.path, false)?;
                Type::Path(ty)
            }
            inner => Type::Path(QPath {
                qself: Some(QSelf {
                    // syn gives the group's span to the `<` and `>` it stands for.
                    lt: group_span,
                    ty: Box::new(inner),
                    position: 0,
                }),
                path: path_helper(input, false)?,
            }),
        });
    }
    if input.peek(Token![<]) && allow_group_generic
        || input.peek(Token![::]) && input.peek3(Token![<])
    {
        if let Type::Path(mut ty) = inner {
            let last = ty.path.segments.last_mut();
            if let Some(last) = last.filter(|last| last.arguments == Arguments::None) {
                angle_bracketed(input)?;
                last.arguments = Arguments::AngleBracketed;
                path_rest(input, &mut ty.path, false)?;
                return Ok(Type::Path(ty));
            }
            return Ok(Type::Group(Box::new(Type::Path(ty))));
        }
        return Ok(Type::Group(Box::new(inner)));
    }
    Ok(Type::Group(Box::new(inner)))
}

/// Reads the contents of the invisible group at the cursor with `parser`, which must
/// read all of them. syn opens no invisible group as a `ParseStream` of its own outside
/// its syntax tree, so its tokens are parsed apart: what `parser` leaves in it is an error
/// at once, where syn would report it once the whole item is read.
fn in_invisible_group<T>(
    input: ParseStream,
    parser: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    let content = input.step(|cursor| match cursor.token_tree() {
        Some((TokenTree::Group(group), rest)) if group.delimiter() == Delimiter::None => {
            Ok((group.stream(), rest))
        }
        _ => Err(cursor.error("expected invisible group")),
    })?;
    parser.parse2(content)
}

/// `(..)` in a type: a tuple, a parenthesized type, or parenthesized bounds.
fn paren_ty(input: ParseStream, allow_plus: bool) -> syn::Result<Type> {
    let content;
    parenthesized!(content in input);
    if content.is_empty() {
        return Ok(Type::Other);
    }
    if content.peek(Lifetime) {
        let begin = content.cursor();
        trait_object_bounds(begin, &content, true)?;
        return Ok(Type::Paren(Box::new(Type::TraitObject { lone: false })));
    }
    if content.peek(Token![?]) {
        trait_bound(&content)?;
        while input.parse::<Option<Token![+]>>()?.is_some() {
            bound(input)?;
        }
        return Ok(Type::TraitObject { lone: false });
    }
    let first = ty(&content)?;
    if content.peek(Token![,]) {
        content.parse::<Token![,]>()?;
        while !content.is_empty() {
            ty(&content)?;
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        return Ok(Type::Other);
    }
    if allow_plus && input.peek(Token![+]) {
        // `(Trait) + Send`: a parenthesized path or lone bound is the first of the bounds.
        // Anything else, `(A + B)` too, stays a parenthesized type, which the `+` then ends.
        let is_bound = match &first {
            Type::Path(path) => path.qself.is_none(),
            Type::TraitObject { lone } => *lone,
            _ => false,
        };
        if is_bound {
            while input.parse::<Option<Token![+]>>()?.is_some() {
                bound(input)?;
            }
            return Ok(Type::TraitObject { lone: false });
        }
    }
    Ok(Type::Paren(Box::new(first)))
}

/// `fn(..) -> ..`, with its `unsafe` and `extern "abi"`.
fn fn_ptr(input: ParseStream) -> syn::Result<()> {
    if input.peek(Token![for]) {
        bound_lifetimes(input)?;
    }
    input.parse::<Option<Token![unsafe]>>()?;
    if input.parse::<Option<Token![extern]>>()?.is_some() {
        input.parse::<Option<LitStr>>()?;
    }
    input.parse::<Token![fn]>()?;
    let args;
    parenthesized!(args in input);
    let mut first = true;
    while !args.is_empty() {
        outer_attrs(&args)?;
        // Each parameter starts after a comma, or first: where `...` may stand.
        if args.peek(Token![...])
            || (args.peek(Ident) || args.peek(Token![_]))
                && args.peek2(Token![:])
                && args.peek3(Token![...])
        {
            if args.peek(Ident) || args.peek(Token![_]) {
                args.call(Ident::parse_any)?;
                args.parse::<Token![:]>()?;
            }
            args.parse::<Token![...]>()?;
            args.parse::<Option<Token![,]>>()?;
            break;
        }
        fn_ptr_arg(&args, first)?;
        first = false;
        if args.is_empty() {
            break;
        }
        args.parse::<Token![,]>()?;
    }
    return_type(input, false)
}

/// One parameter of a `fn` pointer: `u8`, `name: u8`, or `self` forms syn reads too.
fn fn_ptr_arg(input: ParseStream, allow_self: bool) -> syn::Result<()> {
    let has_mut_self = allow_self && input.peek(Token![mut]) && input.peek2(Token![self]);
    if has_mut_self {
        input.parse::<Token![mut]>()?;
    }
    let mut has_self = false;
    let named = (input.peek(Ident) || input.peek(Token![_]) || {
        has_self = allow_self && input.peek(Token![self]);
        has_self
    }) && input.peek2(Token![:])
        && !input.peek2(Token![::]);
    if named {
        input.call(Ident::parse_any)?;
        input.parse::<Token![:]>()?;
    } else {
        has_self = false;
    }
    if allow_self && !has_self && input.peek(Token![mut]) && input.peek2(Token![self]) {
        input.parse::<Token![mut]>()?;
        input.parse::<Token![self]>()?;
    } else if has_mut_self && !named {
        input.parse::<Token![self]>()?;
    } else {
        ty(input)?;
    }
    Ok(())
}

/// `-> T` after a `fn` pointer's or an `Fn` bound's parameters, if any.
fn return_type(input: ParseStream, allow_plus: bool) -> syn::Result<()> {
    if input.peek(Token![->]) {
        input.parse::<Token![->]>()?;
        ambig_ty(input, allow_plus, true)?;
    }
    Ok(())
}

/// `for<'a, ..>` before a bound or a type: syn reads any generic parameter there.
fn bound_lifetimes(input: ParseStream) -> syn::Result<()> {
    input.parse::<Token![for]>()?;
    angle_list(input, generic_param)
}

/// `<item, item, ..>`, a trailing comma allowed, each item read by `item`.
fn angle_list(
    input: ParseStream,
    item: impl Fn(ParseStream) -> syn::Result<()>,
) -> syn::Result<()> {
    input.parse::<Token![<]>()?;
    while !input.peek(Token![>]) {
        item(input)?;
        if input.peek(Token![>]) {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    input.parse::<Token![>]>()?;
    Ok(())
}

/// `GenericParam::parse`, in a `for<..>` binder.
fn generic_param(input: ParseStream) -> syn::Result<()> {
    outer_attrs(input)?;
    let lookahead = input.lookahead1();
    if lookahead.peek(Ident) {
        type_param(input).map(drop)
    } else if lookahead.peek(Lifetime) {
        lifetime_param(input)
    } else if lookahead.peek(Token![const]) {
        const_param(input).map(drop)
    } else {
        Err(lookahead.error())
    }
}

/// A lifetime parameter after its attributes: `'a: 'b + 'c`.
pub(crate) fn lifetime_param(input: ParseStream) -> syn::Result<()> {
    Lifetime::parse_any(input)?;
    if input.parse::<Option<Token![:]>>()?.is_some() {
        loop {
            if input.is_empty() || input.peek(Token![,]) || input.peek(Token![>]) {
                break;
            }
            Lifetime::parse_any(input)?;
            if input.parse::<Option<Token![+]>>()?.is_none() {
                break;
            }
        }
    }
    Ok(())
}

/// A type parameter after its attributes, `T: Bound = Default`. Returns its name, and
/// where its default starts, if it has one.
pub(crate) fn type_param<'a>(input: ParseStream<'a>) -> syn::Result<(Ident, Option<Cursor<'a>>)> {
    let ident: Ident = input.parse()?;
    if input.parse::<Option<Token![:]>>()?.is_some() {
        loop {
            if input.is_empty()
                || input.peek(Token![,])
                || input.peek(Token![>])
                || input.peek(Token![=])
            {
                break;
            }
            bound(input)?;
            if input.parse::<Option<Token![+]>>()?.is_none() {
                break;
            }
        }
    }
    let default = input.cursor();
    if input.parse::<Option<Token![=]>>()?.is_none() {
        return Ok((ident, None));
    }
    ty(input)?;
    Ok((ident, Some(default)))
}

/// A const parameter after its attributes, `const N: Type = value`. Returns its name, and
/// where its default starts, if it has one.
pub(crate) fn const_param<'a>(input: ParseStream<'a>) -> syn::Result<(Ident, Option<Cursor<'a>>)> {
    input.parse::<Token![const]>()?;
    let ident: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    ty(input)?;
    let default = input.cursor();
    if input.parse::<Option<Token![=]>>()?.is_none() {
        return Ok((ident, None));
    }
    const_argument(input)?;
    Ok((ident, Some(default)))
}

/// What kind of bound `bound` read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Lifetime,
    Trait,
}

/// `TypeParamBound::parse_single`: a lifetime, or a trait bound, maybe parenthesized.
fn bound(input: ParseStream) -> syn::Result<Bound> {
    if input.peek(Lifetime) {
        Lifetime::parse_any(input)?;
        return Ok(Bound::Lifetime);
    }
    if input.peek(token::Paren) {
        let content;
        parenthesized!(content in input);
        trait_bound(&content)?;
    } else {
        trait_bound(input)?;
    }
    Ok(Bound::Trait)
}

/// `TypeParamBound::parse_multiple`: bounds separated by `+`, when `allow_plus`.
fn bounds(input: ParseStream, allow_plus: bool, allow_const: bool) -> syn::Result<Vec<Bound>> {
    let mut kinds = Vec::new();
    loop {
        kinds.push(bound(input)?);
        if !(allow_plus && input.peek(Token![+])) {
            break;
        }
        input.parse::<Token![+]>()?;
        if !(input.peek(Ident::peek_any)
            || input.peek(Token![::])
            || input.peek(Token![?])
            || input.peek(Lifetime)
            || input.peek(token::Paren)
            || (allow_const && (input.peek(token::Bracket) || input.peek(Token![const]))))
        {
            break;
        }
    }
    Ok(kinds)
}

/// A trait object's bounds, at least one of them a trait.
fn trait_object_bounds(begin: Cursor, input: ParseStream, allow_plus: bool) -> syn::Result<()> {
    let kinds = bounds(input, allow_plus, false)?;
    if !kinds.contains(&Bound::Trait) {
        return Err(syn::Error::new_range(
            begin..input.cursor(),
            "at least one trait is required for an object type",
        ));
    }
    Ok(())
}

/// `TraitBound::do_parse` as syn reads it without its `full` feature (which adds `const`
/// bounds): `for<..>`, `?`, and a path, with `Fn(..) -> ..` arguments on its last segment.
fn trait_bound(input: ParseStream) -> syn::Result<()> {
    let mut lifetimes = false;
    if input.peek(Token![for]) {
        bound_lifetimes(input)?;
        lifetimes = true;
    }
    let maybe = input.parse::<Option<Token![?]>>()?;
    if !lifetimes && maybe.is_some() && input.peek(Token![for]) {
        bound_lifetimes(input)?;
        lifetimes = true;
    }
    let mut path = path_helper(input, false)?;
    let last_is_bare = path
        .segments
        .last()
        .is_some_and(|last| last.arguments == Arguments::None);
    if last_is_bare
        && (input.peek(token::Paren) || input.peek(Token![::]) && input.peek3(token::Paren))
    {
        input.parse::<Option<Token![::]>>()?;
        parenthesized_arguments(input)?;
        if let Some(last) = path.segments.last_mut() {
            last.arguments = Arguments::Parenthesized;
        }
    }
    if lifetimes && let Some(maybe) = maybe {
        return Err(syn::Error::new(
            maybe.span,
            "`for<...>` binder not allowed with `?` trait polarity modifier",
        ));
    }
    Ok(())
}

/// `(A, B) -> C` after a path segment, as in `Fn(A, B) -> C`.
fn parenthesized_arguments(input: ParseStream) -> syn::Result<()> {
    let content;
    parenthesized!(content in input);
    while !content.is_empty() {
        ty(&content)?;
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    return_type(input, false)
}

/// `<T as Trait>::rest` or a plain path: syn's `qpath`. In an expression (`expr_style`),
/// generic arguments need `::<`.
pub(crate) fn qpath(input: ParseStream, expr_style: bool) -> syn::Result<QPath> {
    if !input.peek(Token![<]) {
        return Ok(QPath {
            qself: None,
            path: path_helper(input, expr_style)?,
        });
    }
    let lt = input.parse::<Token![<]>()?.span;
    let this = ty(input)?;
    let mut trait_path = None;
    if input.parse::<Option<Token![as]>>()?.is_some() {
        trait_path = Some(path_helper(input, false)?);
    }
    input.parse::<Token![>]>()?;
    input.parse::<Token![::]>()?;
    let mut rest = Vec::new();
    loop {
        rest.push(path_segment(input, expr_style)?);
        if input.parse::<Option<Token![::]>>()?.is_none() {
            break;
        }
    }
    let (position, path) = match trait_path {
        Some(mut path) => {
            let position = path.segments.len();
            path.segments.extend(rest);
            (position, path)
        }
        None => (
            0,
            Path {
                leading_colon: Some(lt),
                segments: rest,
            },
        ),
    };
    Ok(QPath {
        qself: Some(QSelf {
            lt,
            ty: Box::new(this),
            position,
        }),
        path,
    })
}

/// `Path::parse_helper`: `::`, a segment, and the segments after it.
fn path_helper(input: ParseStream, expr_style: bool) -> syn::Result<Path> {
    let leading_colon = input
        .parse::<Option<Token![::]>>()?
        .map(|colon| colon.spans[0]);
    let mut path = Path {
        leading_colon,
        segments: vec![path_segment(input, expr_style)?],
    };
    path_rest(input, &mut path, expr_style)?;
    Ok(path)
}

/// `Path::parse_rest`: further `::segment`s, up to a `::(` that starts `Fn::(..)`.
fn path_rest(input: ParseStream, path: &mut Path, expr_style: bool) -> syn::Result<()> {
    while input.peek(Token![::]) && !input.peek3(token::Paren) {
        input.parse::<Token![::]>()?;
        path.segments.push(path_segment(input, expr_style)?);
    }
    Ok(())
}

/// `PathSegment::parse_helper`: a name (a path keyword too) and its generic arguments.
fn path_segment(input: ParseStream, expr_style: bool) -> syn::Result<Segment> {
    if input.peek(Token![super]) || input.peek(Token![self]) || input.peek(Token![crate]) {
        return Ok(Segment {
            ident: input.call(Ident::parse_any)?,
            arguments: Arguments::None,
        });
    }
    let ident = if input.peek(Token![Self]) {
        input.call(Ident::parse_any)?
    } else {
        input.parse()?
    };
    let arguments = if !expr_style
        && input.peek(Token![<])
        && !input.peek(Token![<=])
        && !input.peek(Token![<<=])
        || input.peek(Token![::]) && input.peek3(Token![<])
    {
        angle_bracketed(input)?;
        Arguments::AngleBracketed
    } else {
        Arguments::None
    };
    Ok(Segment { ident, arguments })
}

/// `AngleBracketedGenericArguments::parse`: `<..>`, after an optional `::`.
fn angle_bracketed(input: ParseStream) -> syn::Result<()> {
    input.parse::<Option<Token![::]>>()?;
    angle_list(input, generic_argument)
}

/// `GenericArgument::parse`: a lifetime, a const, a type, `Name = Type` or `Name: Bounds`.
fn generic_argument(input: ParseStream) -> syn::Result<()> {
    if input.peek(Lifetime) && !input.peek2(Token![+]) {
        Lifetime::parse_any(input)?;
        return Ok(());
    }
    if input.peek(Lit) || input.peek(token::Brace) {
        return const_argument(input);
    }
    let argument = ty(input)?;
    let Type::Path(ty) = argument else {
        return Ok(());
    };
    let names_one = ty.qself.is_none()
        && ty.path.leading_colon.is_none()
        && matches!(ty.path.segments.as_slice(), [segment] if segment.arguments != Arguments::Parenthesized);
    if !names_one {
        return Ok(());
    }
    if input.parse::<Option<Token![=]>>()?.is_some() {
        if input.peek(Lit) || input.peek(token::Brace) {
            const_argument(input)?;
        } else {
            self::ty(input)?;
        }
        return Ok(());
    }
    if input.parse::<Option<Token![:]>>()?.is_some() {
        loop {
            if input.peek(Token![,]) || input.peek(Token![>]) {
                break;
            }
            bound(input)?;
            if input.parse::<Option<Token![+]>>()?.is_none() {
                break;
            }
        }
    }
    Ok(())
}

/// A const generic argument or a const parameter's default: a literal, a name, or a block.
fn const_argument(input: ParseStream) -> syn::Result<()> {
    let lookahead = input.lookahead1();
    if input.peek(Lit) {
        input.parse::<Lit>()?;
        return Ok(());
    }
    if input.peek(Ident) {
        input.parse::<Ident>()?;
        return Ok(());
    }
    if input.peek(token::Brace) {
        let content;
        braced!(content in input);
        expr(&content)?;
        return Ok(());
    }
    Err(lookahead.error())
}

/// A macro call's or an attribute's `(..)`, `[..]` or `{..}`: the delimiter and the
/// tokens inside.
pub(crate) fn delimited(input: ParseStream) -> syn::Result<(Delimiter, TokenStream)> {
    input.step(|cursor| match cursor.token_tree() {
        Some((TokenTree::Group(group), rest)) if group.delimiter() != Delimiter::None => {
            Ok(((group.delimiter(), group.stream()), rest))
        }
        _ => Err(cursor.error("expected delimiter")),
    })
}

/// A path whose segments have no generic arguments, as in `pub(in path)` and attributes:
/// `Path::parse_mod_style`.
pub(crate) fn mod_style_path(input: ParseStream) -> syn::Result<Path> {
    let leading_colon = input
        .parse::<Option<Token![::]>>()?
        .map(|colon| colon.spans[0]);
    let mut segments = Vec::new();
    let mut trailing_colon = false;
    loop {
        if !input.peek(Ident)
            && !input.peek(Token![super])
            && !input.peek(Token![self])
            && !input.peek(Token![Self])
            && !input.peek(Token![crate])
        {
            break;
        }
        segments.push(Segment {
            ident: Ident::parse_any(input)?,
            arguments: Arguments::None,
        });
        trailing_colon = input.parse::<Option<Token![::]>>()?.is_some();
        if !trailing_colon {
            break;
        }
    }
    if segments.is_empty() {
        // The error syn gives: what stands there is no identifier, or a keyword.
        return Err(input
            .fork()
            .parse::<Ident>()
            .err()
            .unwrap_or_else(|| input.error("expected identifier")));
    }
    if trailing_colon {
        return Err(input.error("expected path segment after `::`"));
    }
    Ok(Path {
        leading_colon,
        segments,
    })
}

/// `Visibility::parse`: nothing, `pub`, `pub(crate)`, `pub(self)`, `pub(super)` or
/// `pub(in path)`. A parenthesized group after `pub` is a restriction only when it starts
/// with one of these keywords and, but for `in path`, holds nothing else: in a tuple
/// struct, `pub (crate::A, u8)` is `pub` and a tuple type.
pub(crate) fn visibility(input: ParseStream) -> syn::Result<()> {
    // An empty invisible group is what a `$vis` fragment that matched nothing becomes.
    if input.peek(token::Group) {
        let ahead = input.fork();
        let empty = in_invisible_group(&ahead, |content| {
            let empty = content.is_empty();
            content.parse::<TokenStream>()?;
            Ok(empty)
        })?;
        if empty {
            input.advance_to(&ahead);
            return Ok(());
        }
    }
    if !input.peek(Token![pub]) {
        return Ok(());
    }
    input.parse::<Token![pub]>()?;
    if input.peek(token::Paren) {
        let ahead = input.fork();
        let content;
        parenthesized!(content in ahead);
        if content.peek(Token![crate]) || content.peek(Token![self]) || content.peek(Token![super])
        {
            content.call(Ident::parse_any)?;
            if content.is_empty() {
                input.advance_to(&ahead);
            }
        } else if content.peek(Token![in]) {
            content.parse::<Token![in]>()?;
            mod_style_path(&content)?;
            input.advance_to(&ahead);
        }
    }
    Ok(())
}

/// `WhereClause::parse`. Returns whether the clause has predicates: a bare `where` is
/// written back as nothing.
pub(crate) fn where_clause(input: ParseStream) -> syn::Result<bool> {
    input.parse::<Token![where]>()?;
    if generics_over_qpath(input) {
        return Err(
            input.error("generic parameters on `where` clauses are reserved for future use")
        );
    }
    let mut predicates = false;
    loop {
        if ends_where_bounds(input) {
            break;
        }
        where_predicate(input)?;
        predicates = true;
        if input.parse::<Option<Token![,]>>()?.is_none() {
            break;
        }
    }
    Ok(predicates)
}

/// What ends a `where` clause's predicates, or one predicate's bounds.
fn ends_where_bounds(input: ParseStream) -> bool {
    input.is_empty()
        || input.peek(token::Brace)
        || input.peek(Token![,])
        || input.peek(Token![;])
        || input.peek(Token![:]) && !input.peek(Token![::])
        || input.peek(Token![=])
}

/// `'a: 'b + 'c` or `for<'a> T: Bounds`.
fn where_predicate(input: ParseStream) -> syn::Result<()> {
    outer_attrs(input)?;
    if input.peek(Lifetime) && input.peek2(Token![:]) {
        Lifetime::parse_any(input)?;
        input.parse::<Token![:]>()?;
        loop {
            // Unlike a type's bounds, a lifetime's end at any `:`.
            if ends_where_bounds(input) || input.peek(Token![:]) {
                break;
            }
            Lifetime::parse_any(input)?;
            if input.parse::<Option<Token![+]>>()?.is_none() {
                break;
            }
        }
        return Ok(());
    }
    if input.peek(Token![for]) {
        bound_lifetimes(input)?;
    }
    ty(input)?;
    input.parse::<Token![:]>()?;
    loop {
        if ends_where_bounds(input) {
            break;
        }
        bound(input)?;
        if input.parse::<Option<Token![+]>>()?.is_none() {
            break;
        }
    }
    Ok(())
}

/// After `where`, a `<` that can only start generic parameters.
fn generics_over_qpath(input: ParseStream) -> bool {
    input.peek(Token![<])
        && (input.peek2(Token![>])
            || input.peek2(Token![#])
            || (input.peek2(Lifetime) || input.peek2(Ident))
                && (input.peek3(Token![>])
                    || input.peek3(Token![,])
                    || input.peek3(Token![:]) && !input.peek3(Token![::])
                    || input.peek3(Token![=]))
            || input.peek2(Token![const]))
}

/// What the expression readers report of an expression: enough to follow syn's rules for
/// an expression in an invisible group and for chained comparisons.
enum Expr {
    /// A path, which may go on after the invisible group it is in.
    Path(QPath),
    /// `a < b`, `a == b` and the other comparisons.
    Comparison,
    Other,
}

/// Operator precedence, lowest first, as syn orders it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Min,
    Assign,
    Range,
    Or,
    And,
    Compare,
    BitOr,
    BitXor,
    BitAnd,
    Shift,
    Sum,
    Product,
    Cast,
}

/// `Expr::parse` as syn reads expressions without its `full` feature: literals, paths,
/// macro calls, struct literals, calls, fields, indexing, unary and binary operators,
/// casts, parentheses, tuples and blocks holding one expression.
pub(crate) fn expr(input: ParseStream) -> syn::Result<()> {
    expr_shape(input).map(drop)
}

/// [`expr`], telling what it read.
fn expr_shape(input: ParseStream) -> syn::Result<Expr> {
    let lhs = unary_expr(input)?;
    binary_expr(input, lhs, Precedence::Min)
}

/// The binary operator at the cursor, with its precedence and its length in puncts.
fn binary_operator(input: ParseStream) -> Option<(Precedence, usize)> {
    use Precedence::{And, Assign, BitAnd, BitOr, BitXor, Compare, Or, Product, Shift, Sum};
    let found = if input.peek(Token![+=])
        || input.peek(Token![-=])
        || input.peek(Token![*=])
        || input.peek(Token![/=])
        || input.peek(Token![%=])
        || input.peek(Token![^=])
        || input.peek(Token![&=])
        || input.peek(Token![|=])
    {
        (Assign, 2)
    } else if input.peek(Token![<<=]) || input.peek(Token![>>=]) {
        (Assign, 3)
    } else if input.peek(Token![&&]) {
        (And, 2)
    } else if input.peek(Token![||]) {
        (Or, 2)
    } else if input.peek(Token![<<]) || input.peek(Token![>>]) {
        (Shift, 2)
    } else if input.peek(Token![==])
        || input.peek(Token![<=])
        || input.peek(Token![!=])
        || input.peek(Token![>=])
    {
        (Compare, 2)
    } else if input.peek(Token![+]) || input.peek(Token![-]) && !input.peek(Token![->]) {
        (Sum, 1)
    } else if input.peek(Token![*]) || input.peek(Token![/]) || input.peek(Token![%]) {
        (Product, 1)
    } else if input.peek(Token![^]) {
        (BitXor, 1)
    } else if input.peek(Token![&]) {
        (BitAnd, 1)
    } else if input.peek(Token![|]) {
        (BitOr, 1)
    } else if input.peek(Token![<]) && !input.peek(Token![<-]) || input.peek(Token![>]) {
        (Compare, 1)
    } else {
        return None;
    };
    Some(found)
}

/// Consumes `len` puncts, one operator.
fn skip_puncts(input: ParseStream, len: usize) -> syn::Result<()> {
    for _ in 0..len {
        input.step(|cursor| match cursor.punct() {
            Some((_, rest)) => Ok(((), rest)),
            None => Err(cursor.error("expected binary operator")),
        })?;
    }
    Ok(())
}

/// syn's `parse_expr` without `full`: operators of precedence `base` or more after `lhs`.
fn binary_expr(input: ParseStream, mut lhs: Expr, base: Precedence) -> syn::Result<Expr> {
    loop {
        if let Some((precedence, len)) = binary_operator(input) {
            if precedence < base {
                break;
            }
            if precedence == Precedence::Compare && matches!(lhs, Expr::Comparison) {
                return Err(input.error("comparison operators cannot be chained"));
            }
            skip_puncts(input, len)?;
            binary_rhs(input, precedence)?;
            lhs = if precedence == Precedence::Compare {
                Expr::Comparison
            } else {
                Expr::Other
            };
        } else if Precedence::Cast >= base && input.peek(Token![as]) {
            input.parse::<Token![as]>()?;
            ambig_ty(input, false, false)?;
            check_cast(input)?;
            lhs = Expr::Other;
        } else if input.peek(Token![<-]) {
            return Err(input.error(
                "unexpected operator `<-`, if this is intended to be a comparison against a \
                 negative then a space is required: `< -`",
            ));
        } else {
            break;
        }
    }
    Ok(lhs)
}

/// The right side of a binary operator of `precedence`, with the operators that bind
/// tighter.
fn binary_rhs(input: ParseStream, precedence: Precedence) -> syn::Result<()> {
    let mut rhs = unary_expr(input)?;
    loop {
        let next = peek_precedence(input);
        if next > precedence || next == precedence && precedence == Precedence::Assign {
            let cursor = input.cursor();
            rhs = binary_expr(input, rhs, next)?;
            if cursor == input.cursor() {
                break;
            }
        } else {
            break;
        }
    }
    Ok(())
}

fn peek_precedence(input: ParseStream) -> Precedence {
    if let Some((precedence, _)) = binary_operator(input) {
        precedence
    } else if input.peek(Token![=]) && !input.peek(Token![=>]) {
        Precedence::Assign
    } else if input.peek(Token![..]) {
        Precedence::Range
    } else if input.peek(Token![as]) {
        Precedence::Cast
    } else {
        Precedence::Min
    }
}

/// After `expr as Type`: what a cast cannot be followed by.
fn check_cast(input: ParseStream) -> syn::Result<()> {
    let kind = if input.peek(Token![.]) && !input.peek(Token![..]) {
        if input.peek2(Token![await]) {
            "`.await`"
        } else if input.peek2(Ident) && (input.peek3(token::Paren) || input.peek3(Token![::])) {
            "a method call"
        } else {
            "a field access"
        }
    } else if input.peek(Token![?]) {
        "`?`"
    } else if input.peek(token::Bracket) {
        "indexing"
    } else if input.peek(token::Paren) {
        "a function call"
    } else {
        return Ok(());
    };
    Err(input.error(format_args!("casts cannot be followed by {kind}")))
}

/// `&`, `&mut`, `*`, `!` and `-` before an expression.
fn unary_expr(input: ParseStream) -> syn::Result<Expr> {
    if input.peek(Token![&]) {
        input.parse::<Token![&]>()?;
        input.parse::<Option<Token![mut]>>()?;
        unary_expr(input)?;
        Ok(Expr::Other)
    } else if input.peek(Token![*]) || input.peek(Token![!]) || input.peek(Token![-]) {
        skip_puncts(input, 1)?;
        unary_expr(input)?;
        Ok(Expr::Other)
    } else {
        trailer_expr(input)
    }
}

/// An atom and what follows it: calls, fields, method calls and indexing.
fn trailer_expr(input: ParseStream) -> syn::Result<Expr> {
    let mut expr = atom_expr(input)?;
    loop {
        if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            comma_separated_exprs(&content)?;
        } else if input.peek(Token![.]) && !input.peek(Token![..]) && !input.peek2(Token![await]) {
            input.parse::<Token![.]>()?;
            if let Some(float) = input.parse::<Option<LitFloat>>()?
                && multi_index(&float)?
            {
                expr = Expr::Other;
                continue;
            }
            let named = member(input)?;
            let turbofish = named && input.peek(Token![::]);
            if turbofish {
                angle_bracketed(input)?;
            }
            if named && (turbofish || input.peek(token::Paren)) {
                let content;
                parenthesized!(content in input);
                comma_separated_exprs(&content)?;
            }
        } else if input.peek(token::Bracket) {
            let content;
            bracketed!(content in input);
            expr_shape(&content)?;
        } else {
            break;
        }
        expr = Expr::Other;
    }
    Ok(expr)
}

/// `x.0.1`, which the lexer reads as `x` `.` `0.1`: true when the literal is used up as
/// indices, false when a trailing `.` leaves a member to read after it.
fn multi_index(float: &LitFloat) -> syn::Result<bool> {
    let mut repr = float.token().to_string();
    let trailing_dot = repr.ends_with('.');
    if trailing_dot {
        repr.truncate(repr.len() - 1);
    }
    for part in repr.split('.') {
        if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(syn::Error::new(float.span(), "expected unsuffixed integer"));
        }
    }
    Ok(!trailing_dot)
}

/// Expressions separated by commas, a trailing one allowed: call arguments.
fn comma_separated_exprs(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() {
        expr_shape(input)?;
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// An expression that needs no operator precedence: a literal, a path, a macro call, a
/// struct literal, parentheses or a tuple, a block holding one expression, or an
/// expression in an invisible group.
fn atom_expr(input: ParseStream) -> syn::Result<Expr> {
    if input.peek(token::Group) && !invisible_lifetime(input) {
        return group_expr(input);
    }
    if input.peek(Lit) {
        input.parse::<Lit>()?;
        return Ok(Expr::Other);
    }
    if input.peek(token::Paren) {
        let content;
        parenthesized!(content in input);
        if content.is_empty() {
            return Ok(Expr::Other);
        }
        expr_shape(&content)?;
        while !content.is_empty() {
            content.parse::<Token![,]>()?;
            if content.is_empty() {
                break;
            }
            expr_shape(&content)?;
        }
        return Ok(Expr::Other);
    }
    if input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![<])
        || input.peek(Token![self])
        || input.peek(Token![Self])
        || input.peek(Token![super])
        || input.peek(Token![crate])
    {
        let path = qpath(input, true)?;
        return rest_of_path(input, path);
    }
    if input.is_empty() {
        return Err(input.error("expected an expression"));
    }
    if input.peek(token::Brace) {
        let scan = input.fork();
        let content;
        braced!(content in scan);
        if expr(&content).is_ok() && content.is_empty() {
            input.advance_to(&scan);
            return Ok(Expr::Other);
        }
        return Err(syn::Error::new_range(
            input.cursor()..scan.cursor(),
            UNREAD_EXPRESSION,
        ));
    }
    // syn's own message here asks to enable its `full` feature, which a user of the
    // attribute cannot do; this one says what to write instead.
    Err(input.error(UNREAD_EXPRESSION))
}

/// An expression inside a type, an attribute or a default that the macro's reader does not
/// take: a `let` in a block, `if`, `match`, a closure, an array literal.
const UNREAD_EXPRESSION: &str = "`#[thread_local_struct]` reads only simple expressions \
     here (literals, paths, operators, casts, calls, fields, indexing, and a block holding \
     one of those): give this one a name with a `const` and use the name";

/// An invisible group holding only a lifetime: a label, which is no expression here.
fn invisible_lifetime(input: ParseStream) -> bool {
    in_invisible_group(&input.fork(), |content| {
        Ok(content.peek(Lifetime) && {
            content.call(Lifetime::parse_any)?;
            content.is_empty()
        })
    })
    .unwrap_or(false)
}

/// An expression in an invisible group. A path in one may go on after it: `$path::name`,
/// `$path!(..)`, `$path { .. }`.
fn group_expr(input: ParseStream) -> syn::Result<Expr> {
    let inner = in_invisible_group(input, expr_shape)?;
    match inner {
        Expr::Path(mut path) => {
            path_rest(input, &mut path.path, true)?;
            rest_of_path(input, path).map(|_| Expr::Other)
        }
        _ => Ok(Expr::Other),
    }
}

/// After a path in an expression: a macro call's delimiters, a struct literal's fields,
/// or nothing.
fn rest_of_path(input: ParseStream, path: QPath) -> syn::Result<Expr> {
    if path.qself.is_none()
        && input.peek(Token![!])
        && !input.peek(Token![!=])
        && path.path.is_mod_style()
    {
        input.parse::<Token![!]>()?;
        delimited(input)?;
        return Ok(Expr::Other);
    }
    if input.peek(token::Brace) {
        struct_fields(input)?;
        return Ok(Expr::Other);
    }
    Ok(Expr::Path(path))
}

/// A struct literal's `{ field: value, shorthand, ..rest }`.
fn struct_fields(input: ParseStream) -> syn::Result<()> {
    let content;
    braced!(content in input);
    while !content.is_empty() {
        if content.peek(Token![..]) {
            content.parse::<Token![..]>()?;
            if !content.is_empty() {
                expr(&content)?;
            }
            return Ok(());
        }
        outer_attrs(&content)?;
        let named = member(&content)?;
        if content.peek(Token![:]) || !named {
            content.parse::<Token![:]>()?;
            expr(&content)?;
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(())
}

/// A field's name or index after `.` or in a struct literal. Returns whether it is a name.
fn member(input: ParseStream) -> syn::Result<bool> {
    if input.peek(Ident) {
        input.parse::<Ident>()?;
        Ok(true)
    } else if input.peek(LitInt) {
        let index: LitInt = input.parse()?;
        if !index.suffix().is_empty() {
            return Err(syn::Error::new(index.span(), "expected unsuffixed integer"));
        }
        Ok(false)
    } else {
        Err(input.error("expected identifier or integer"))
    }
}
