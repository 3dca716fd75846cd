//! Helpers that read a spanned YAML tree into the schema model while collecting every
//! problem: unknown keys (with a "did you mean"), missing keys, wrongly typed values.

use crate::diag::{Diag, Diagnostics, Span};

use super::yaml::{Node, Value};

/// A value with the span of the YAML node it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct S<T> {
    pub value: T,
    pub span: Span,
}

impl<T> S<T> {
    pub fn new(value: T, span: Span) -> Self {
        S { value, span }
    }
}

impl S<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

pub(crate) struct Cx<'d> {
    pub diags: &'d mut Diagnostics,
}

/// The entries of a YAML mapping, checked against the keys a context allows.
pub(crate) struct Fields<'n> {
    pub span: Span,
    /// Keys suggested for misspelt ones: their absence is already explained.
    suggested: Vec<String>,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
            .filter(|v| v.value != Value::Null)
    }
}

impl Cx<'_> {
    pub fn error(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diag::new(code, message).at(span).help(help));
    }

    /// Read a mapping, reporting unknown and duplicate keys.
    pub fn fields<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Fields<'n> {
        let mut fields = Fields {
            span: node.span,
            suggested: Vec::new(),
            entries: Vec::new(),
        };
        let Value::Map(entries) = &node.value else {
            if node.value != Value::Null {
                self.error(
                    "chx::schema::expected_mapping",
                    node.span,
                    format!("{what} must be a mapping, found {}", node.kind()),
                    format!(
                        "write {what} as `key: value` lines; allowed keys: {}",
                        allowed.join(", ")
                    ),
                );
            }
            return fields;
        };
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                self.error(
                    "chx::schema::bad_key",
                    k.span,
                    format!("keys in {what} must be strings, found {}", k.kind()),
                    format!("allowed keys: {}", allowed.join(", ")),
                );
                continue;
            };
            if !allowed.contains(&key) {
                if let Some(s) = suggest(key, allowed) {
                    fields.suggested.push(s.to_string());
                }
                let help = match suggest(key, allowed) {
                    Some(s) => format!(
                        "did you mean `{s}`? allowed keys in {what}: {}",
                        allowed.join(", ")
                    ),
                    None => format!("allowed keys in {what}: {}", allowed.join(", ")),
                };
                self.error(
                    "chx::schema::unknown_field",
                    k.span,
                    format!("unknown key `{key}` in {what}"),
                    help,
                );
                continue;
            }
            if fields.entries.iter().any(|(seen, _, _)| *seen == key) {
                self.error(
                    "chx::schema::duplicate_key",
                    k.span,
                    format!("`{key}` appears twice in {what}"),
                    "remove one of them",
                );
                continue;
            }
            fields.entries.push((key, k, v));
        }
        fields
    }

    /// A required key; reports its absence at the mapping.
    pub fn required<'n>(&mut self, f: &Fields<'n>, key: &str, what: &str) -> Option<&'n Node> {
        let v = f.get(key);
        if v.is_none() && !f.suggested.iter().any(|s| s == key) {
            self.error(
                "chx::schema::missing_field",
                f.span,
                format!("{what} is missing `{key}`"),
                format!("add `{key}: ...` to {what}"),
            );
        }
        v
    }

    /// A string (names, type texts).
    pub fn string(&mut self, node: &Node, what: &str) -> Option<S<String>> {
        match &node.value {
            Value::Str(s) => Some(S::new(s.clone(), node.span)),
            _ if node.source_text.is_some() => Some(S::new(node.scalar_text()?, node.span)),
            _ => {
                self.error(
                    "chx::schema::expected_string",
                    node.span,
                    format!("{what} must be a string, found {}", node.kind()),
                    "quote the value",
                );
                None
            }
        }
    }

    /// An expression or setting value: any scalar, kept as text.
    pub fn text(&mut self, node: &Node, what: &str) -> Option<S<String>> {
        match node.scalar_text() {
            Some(s) => Some(S::new(s, node.span)),
            None => {
                self.error(
                    "chx::schema::expected_scalar",
                    node.span,
                    format!("{what} must be a single value, found {}", node.kind()),
                    "write the expression as one string",
                );
                None
            }
        }
    }

    pub fn uint(&mut self, node: &Node, what: &str) -> Option<S<u64>> {
        match node.value {
            Value::Int(i) if i >= 0 => Some(S::new(i as u64, node.span)),
            _ => {
                self.error(
                    "chx::schema::expected_integer",
                    node.span,
                    format!(
                        "{what} must be a non-negative integer, found {}",
                        node.scalar_text()
                            .filter(|_| matches!(node.value, Value::Int(_)))
                            .unwrap_or_else(|| node.kind().to_string())
                    ),
                    "write a whole number",
                );
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(
                    "chx::schema::expected_bool",
                    node.span,
                    format!("{what} must be true or false, found {}", node.kind()),
                    "write true or false",
                );
                None
            }
        }
    }

    /// A list; `allow_scalar` lets a single value stand for a one-element list (`order_by: x`).
    pub fn list<'n>(&mut self, node: &'n Node, what: &str, allow_scalar: bool) -> Vec<&'n Node> {
        match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ if allow_scalar && node.scalar_text().is_some() => vec![node],
            _ => {
                self.error(
                    "chx::schema::expected_list",
                    node.span,
                    format!("{what} must be a list, found {}", node.kind()),
                    "write one `- item` per line",
                );
                Vec::new()
            }
        }
    }

    /// A list of expressions (`[a, b]` or a single `a`).
    pub fn texts(&mut self, node: Option<&Node>, what: &str) -> Vec<S<String>> {
        let Some(node) = node else { return Vec::new() };
        self.list(node, what, true)
            .into_iter()
            .filter_map(|n| self.text(n, what))
            .collect()
    }

    /// A mapping of string keys to scalar values, in order.
    pub fn pairs(&mut self, node: Option<&Node>, what: &str) -> Vec<(S<String>, S<String>)> {
        let Some(node) = node else { return Vec::new() };
        let Value::Map(entries) = &node.value else {
            self.error(
                "chx::schema::expected_mapping",
                node.span,
                format!("{what} must be a mapping, found {}", node.kind()),
                "write `key: value` lines",
            );
            return Vec::new();
        };
        let mut out: Vec<(S<String>, S<String>)> = Vec::new();
        for (k, v) in entries {
            let (Some(k), Some(v)) = (self.text(k, what), self.text(v, what)) else {
                continue;
            };
            if out.iter().any(|(seen, _)| seen.value == k.value) {
                self.error(
                    "chx::schema::duplicate_key",
                    k.span,
                    format!("`{}` appears twice in {what}", k.value),
                    "remove one of them",
                );
                continue;
            }
            out.push((k, v));
        }
        out
    }
}

/// The allowed word closest to a typo, if any is close.
pub(crate) fn suggest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (edit_distance(word, o), *o))
        .filter(|(d, o)| *d <= 2.max(o.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggestions() {
        assert_eq!(
            super::suggest("colums", &["columns", "comment"]),
            Some("columns")
        );
        assert_eq!(super::suggest("zzz", &["columns"]), None);
    }
}
