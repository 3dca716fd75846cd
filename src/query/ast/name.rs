//! Names in the AST (columns, tables, aliases, functions, parameters, constants).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A name that never allocates when cloned: a literal in chx's code is borrowed, and a name
/// from the schema is shared. Building a report then allocates for its tree, not for every name
/// in it (the catalogue's largest report made 536 allocations before, mostly names).
#[derive(Clone)]
pub struct Name(Repr);

/// 16 bytes: the shared text sits behind a thin pointer (`Arc<Box<str>>`, where an
/// `Arc<str>` is a fat one), so the enum fits in a `&str`'s two words. Names are in most AST
/// nodes, and every byte of a node is moved while a report is built.
#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<Box<str>>),
}

impl Name {
    /// `a` followed by `b` (`orders` + `_rows`), without `format!`'s machinery: names are
    /// spelled while every report is built.
    pub fn concat(a: &str, b: &str) -> Name {
        let mut s = String::with_capacity(a.len() + b.len());
        s.push_str(a);
        s.push_str(b);
        Name::from(s)
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Name {
    fn from(s: &'static str) -> Self {
        Name(Repr::Static(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Repr::Shared(Arc::new(s.into_boxed_str())))
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name(Repr::Shared(Arc::new(s.as_str().into())))
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
