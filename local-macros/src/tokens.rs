//! The user's tokens, read as far as the attribute needs them: outer attributes, a
//! visibility, and the run of tokens that a type or a value is, kept as written.
//!
//! The item is one that rustc has already parsed, so a type is what stands before the next
//! top-level comma, with `<`/`>` depth tracked: the way the `venial` crate reads one. rustc
//! checks the type where the expansion writes it, at the user's tokens.

use proc_macro2::{Delimiter, Group, Spacing, Span, TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, Token, bracketed, token};

/// A path of names, as attributes and options write them: `cfg`, `core::default::Default`.
pub(crate) struct Path {
    /// The first `:` of a leading `::`.
    pub leading_colon: Option<Span>,
    pub segments: Vec<Ident>,
}

impl Path {
    /// One name, with no `::` before it.
    pub(crate) fn get_ident(&self) -> Option<&Ident> {
        match self.segments.as_slice() {
            [ident] if self.leading_colon.is_none() => Some(ident),
            _ => None,
        }
    }
}

/// An outer attribute, `#[meta]`, and its tokens.
pub(crate) struct Attribute {
    /// The `#`.
    pub pound: Span,
    /// The brackets.
    pub brackets: Span,
    pub meta: Meta,
    pub tokens: TokenStream,
}

/// What an attribute says: a path, then nothing, a delimited list, or `= value`.
pub(crate) struct Meta {
    pub path: Path,
    pub form: Form,
    pub tokens: TokenStream,
}

pub(crate) enum Form {
    /// `#[path]`.
    Path,
    /// `#[path(tokens)]`, `#[path[tokens]]` or `#[path{tokens}]`.
    List {
        delimiter: Delimiter,
        tokens: TokenStream,
    },
    /// `#[path = value]`.
    NameValue,
}

impl Meta {
    /// The tokens of a list, in whichever delimiters.
    pub(crate) fn list(&self) -> Option<&TokenStream> {
        match &self.form {
            Form::List { tokens, .. } => Some(tokens),
            Form::Path | Form::NameValue => None,
        }
    }
}

pub(crate) fn outer_attrs(input: ParseStream) -> syn::Result<Vec<Attribute>> {
    let mut attrs = Vec::new();
    while input.peek(Token![#]) {
        let begin = input.cursor();
        let pound = input.parse::<Token![#]>()?.span;
        let content;
        let brackets = bracketed!(content in input).span.join();
        let meta = meta(&content)?;
        attrs.push(Attribute {
            pound,
            brackets,
            meta,
            tokens: between(begin, input.cursor()),
        });
    }
    Ok(attrs)
}

/// A path (`unsafe` too, as in `#[unsafe(no_mangle)]`), then a list, `= value` up to the
/// next top-level comma, or nothing.
pub(crate) fn meta(input: ParseStream) -> syn::Result<Meta> {
    let begin = input.cursor();
    let path = if input.peek(Token![unsafe]) {
        Path {
            leading_colon: None,
            segments: vec![input.call(Ident::parse_any)?],
        }
    } else {
        let leading_colon = input.parse::<Option<Token![::]>>()?;
        let mut segments = vec![input.call(Ident::parse_any)?];
        while input.parse::<Option<Token![::]>>()?.is_some() {
            segments.push(input.call(Ident::parse_any)?);
        }
        Path {
            leading_colon: leading_colon.map(|colon| colon.spans[0]),
            segments,
        }
    };
    let form = if input.peek(token::Paren) || input.peek(token::Bracket) || input.peek(token::Brace)
    {
        input.step(|cursor| match cursor.token_tree() {
            Some((TokenTree::Group(group), rest)) if group.delimiter() != Delimiter::None => {
                let (delimiter, tokens) = (group.delimiter(), group.stream());
                Ok((Form::List { delimiter, tokens }, rest))
            }
            _ => Err(cursor.error("expected delimiter")),
        })?
    } else if input.peek(Token![=]) && !input.peek(Token![==]) && !input.peek(Token![=>]) {
        input.parse::<Token![=]>()?;
        run(input, |tree| is_punct(tree, ','))?;
        Form::NameValue
    } else {
        Form::Path
    };
    Ok(Meta {
        path,
        form,
        tokens: between(begin, input.cursor()),
    })
}

/// Parentheses after `pub` that restrict it: `(crate)`, `(self)`, `(super)`, `(in path)`.
fn is_restriction(group: &Group) -> bool {
    if group.delimiter() != Delimiter::Parenthesis {
        return false;
    }
    let inside: Vec<TokenTree> = group.stream().into_iter().collect();
    match inside.first() {
        Some(TokenTree::Ident(first)) => {
            first == "in"
                || inside.len() == 1 && (first == "crate" || first == "self" || first == "super")
        }
        _ => false,
    }
}

/// Nothing, `pub`, or `pub` and a restriction: `(crate)`, `(self)`, `(super)`, `(in path)`.
/// In a tuple struct, `pub (crate::A, u8)` is `pub` and a tuple type: parentheses after
/// `pub` are a restriction only when they hold one of those keywords alone, or `in` first.
pub(crate) fn visibility(input: ParseStream) -> syn::Result<TokenStream> {
    let begin = input.cursor();
    // What a `$vis` fragment that matched nothing becomes.
    let next_group = || match input.cursor().token_tree() {
        Some((TokenTree::Group(group), _)) => Some(group),
        _ => None,
    };
    if next_group()
        .is_some_and(|group| group.delimiter() == Delimiter::None && group.stream().is_empty())
    {
        input.parse::<TokenTree>()?;
    }
    if input.parse::<Option<Token![pub]>>()?.is_some()
        && next_group().is_some_and(|group| is_restriction(&group))
    {
        input.parse::<TokenTree>()?;
    }
    Ok(between(begin, input.cursor()))
}

/// The tokens from the cursor up to the first one that `ends` accepts at the top level
/// (outside angle brackets, and groups, which are single token trees), an unmatched `>`
/// (the end of the generics the run is in), or the end.
pub(crate) fn run(
    input: ParseStream,
    mut ends: impl FnMut(&TokenTree) -> bool,
) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut tokens = TokenStream::new();
        let mut rest = *cursor;
        let mut angles = Angles::default();
        while let Some((tree, next)) = rest.token_tree() {
            match angles.place(&tree) {
                None => break,
                Some(true) if ends(&tree) => break,
                Some(_) => {}
            }
            tokens.extend([tree]);
            rest = next;
        }
        Ok((tokens, rest))
    })
}

/// Where a field's type ends: at a comma, at the `=` of a default value, or at a `:` that
/// is not half of a `::` (the next field's, after a missing comma), none of which a type
/// holds outside brackets.
pub(crate) fn type_ends() -> impl FnMut(&TokenTree) -> bool {
    let mut after_joint_colon = false;
    move |tree| {
        let TokenTree::Punct(punct) = tree else {
            after_joint_colon = false;
            return false;
        };
        let colon = punct.as_char() == ':';
        let end = match punct.as_char() {
            ',' | '=' => true,
            ':' => !after_joint_colon && punct.spacing() == Spacing::Alone,
            _ => false,
        };
        after_joint_colon = colon && punct.spacing() == Spacing::Joint;
        end
    }
}

/// The angle-bracket depth along a run of tokens. A `>` after a joint `-` ends an arrow
/// (`fn() -> T`), not brackets; a lifetime (`'a`) is a `'` and a name, not a bracket.
#[derive(Default)]
struct Angles {
    depth: usize,
    after_minus: bool,
}

impl Angles {
    /// Where `tree` stands: `Some(true)` at the top level, `Some(false)` inside angle
    /// brackets or as one of them, `None` for a `>` that closes nothing.
    fn place(&mut self, tree: &TokenTree) -> Option<bool> {
        let (ch, spacing) = match tree {
            TokenTree::Punct(punct) => (punct.as_char(), punct.spacing()),
            _ => (' ', Spacing::Alone),
        };
        let arrow = std::mem::replace(
            &mut self.after_minus,
            ch == '-' && spacing == Spacing::Joint,
        );
        match ch {
            '<' => self.depth += 1,
            '>' if !arrow => self.depth = self.depth.checked_sub(1)?,
            _ => return Some(self.depth == 0),
        }
        Some(false)
    }
}

/// Whether a type, as written, has no size known at compile time: a slice `[T]`, `str`
/// (or `primitive::str`), or a trait object, with `dyn` or without it (edition 2015's
/// `Trait + Send`, `Fn(u8) -> u8`); in parentheses, or in the invisible group of a
/// `macro_rules!` fragment, too.
pub(crate) fn is_unsized(ty: &TokenStream) -> bool {
    let trees: Vec<TokenTree> = ty.clone().into_iter().collect();
    let name = |tree: &TokenTree, names: &[&str]| matches!(tree, TokenTree::Ident(ident) if names.iter().any(|name| ident == name));
    let Some(first) = trees.first() else {
        return false;
    };
    if let [TokenTree::Group(group)] = trees.as_slice() {
        let inside = group.stream();
        let top_level = |ch| {
            let mut angles = Angles::default();
            inside
                .clone()
                .into_iter()
                .any(|tree| angles.place(&tree) == Some(true) && is_punct(&tree, ch))
        };
        return match group.delimiter() {
            Delimiter::Bracket => !top_level(';'),
            // Not a tuple.
            Delimiter::Parenthesis => !top_level(',') && is_unsized(&inside),
            Delimiter::None => is_unsized(&inside),
            Delimiter::Brace => false,
        };
    }
    if name(first, &["dyn"]) {
        // `dyn* Trait` is sized.
        return !trees.get(1).is_some_and(|tree| is_punct(tree, '*'));
    }
    if name(first, &["for"]) {
        // `for<'a> fn(&'a u8)` is a function pointer; `for<'a> Trait<'a>` a trait object.
        let mut angles = Angles::default();
        let after = trees[1..]
            .iter()
            .find(|tree| angles.place(tree) == Some(true));
        return !after.is_some_and(|tree| name(tree, &["fn", "unsafe", "extern"]));
    }
    // `'a + Trait`.
    if is_punct(first, '\'') {
        return true;
    }
    let text: String = trees.iter().map(ToString::to_string).collect();
    let path_of_names = trees
        .iter()
        .all(|tree| matches!(tree, TokenTree::Ident(_)) || is_punct(tree, ':'));
    if path_of_names
        && (text == "str" || text == "primitive::str" || text.ends_with("::primitive::str"))
    {
        return true;
    }
    if name(first, &["impl", "fn", "unsafe", "extern"])
        || ['&', '*', '<', '!'].iter().any(|&ch| is_punct(first, ch))
    {
        return false;
    }
    // A path, or bounds in parentheses: a trait object if bounds are joined with `+`, or if
    // a name takes parenthesized arguments (`Fn(u8) -> u8`).
    let mut angles = Angles::default();
    let mut after_name = false;
    trees.iter().any(|tree| {
        let top = angles.place(tree) == Some(true);
        let object = top
            && (is_punct(tree, '+')
                || after_name
                    && matches!(tree, TokenTree::Group(group)
                        if group.delimiter() == Delimiter::Parenthesis));
        after_name = top && matches!(tree, TokenTree::Ident(_));
        object
    })
}

pub(crate) fn is_punct(tree: &TokenTree, ch: char) -> bool {
    matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ch)
}

/// The span of a run of tokens, for errors: its first token's, joined to its last one's
/// where the compiler can join spans (a nightly compiler; a stable one cannot).
pub(crate) fn span_of(tokens: &TokenStream) -> Span {
    let mut spans = tokens.clone().into_iter().map(|tree| tree.span());
    let Some(first) = spans.next() else {
        return Span::call_site();
    };
    spans
        .last()
        .and_then(|last| first.join(last))
        .unwrap_or(first)
}

/// The token trees from `begin` up to `end`, two cursors of one buffer, `begin` first.
pub(crate) fn between(begin: Cursor, end: Cursor) -> TokenStream {
    let mut tokens = TokenStream::new();
    let mut cursor = begin;
    while cursor < end {
        let Some((tree, next)) = cursor.token_tree() else {
            break;
        };
        if next > end {
            // syn's parser sees through invisible groups (a `$ty` that a `macro_rules!`
            // passes on), so a part may end inside one: its tokens are taken from inside.
            match cursor.group(Delimiter::None) {
                Some((inside, _, _)) => {
                    cursor = inside;
                    continue;
                }
                None => break,
            }
        }
        tokens.extend([tree]);
        cursor = next;
    }
    tokens
}
