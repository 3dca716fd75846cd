//! A YAML document as a tree of nodes that all know their position.
//!
//! serde-saphyr parses and records locations; chx then decodes this tree itself (see
//! `decode`) so that every unknown key and every ill-typed value is reported, all at once,
//! each at its own line:column — serde's derive stops at the first problem.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::{Diag, Diagnostics, Source, Span};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A value and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// For numbers and booleans: the text as written (`1.50` stays `1.50` where a string is
    /// wanted).
    pub source_text: Option<String>,
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Scalars as text (numbers and booleans too): for places where YAML would guess a type
    /// the user did not mean, like `granularity: 4` read as an expression.
    pub fn scalar_text(&self) -> Option<String> {
        if let Some(t) = &self.source_text {
            return Some(t.clone());
        }
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Raw value plus serde-saphyr's location, before offsets are resolved against the source.
struct Raw(Value);

struct RawVisitor;

fn spanned_to_node(s: Spanned<Raw>, src: &SpanResolver) -> Node {
    let loc = s.referenced;
    let span = loc.span();
    let offset = match span.byte_offset() {
        Some(b) => b as usize,
        None => src.offset(loc.line() as usize, loc.column() as usize),
    };
    let len = span.byte_len().map_or(span.len() as usize, |l| l as usize);
    let source_text = match s.value.0 {
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => src
            .source
            .text
            .get(offset..offset + len)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
        _ => None,
    };
    Node {
        value: s.value.0,
        span: Span::new(offset, len),
        source_text,
    }
}

/// Children are deserialized as `Spanned<Raw>` and converted on the spot; the resolver for
/// line/column → offset lives in a thread-local during one parse.
struct SpanResolver {
    source: Source,
}

impl SpanResolver {
    fn offset(&self, line: usize, column: usize) -> usize {
        self.source.offset_of(line, column)
    }
}

thread_local! {
    static RESOLVER: std::cell::RefCell<Option<SpanResolver>> = const { std::cell::RefCell::new(None) };
}

fn child(s: Spanned<Raw>) -> Node {
    RESOLVER.with(|r| {
        let r = r.borrow();
        let resolver = r.as_ref().expect("resolver set during parse");
        spanned_to_node(s, resolver)
    })
}

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(|v| Raw(Value::Int(v)))
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw(Value::Str(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw(Value::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(child(item));
        }
        Ok(Raw(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Spanned<Raw>>()? {
            let v = map.next_value::<Spanned<Raw>>()?;
            entries.push((child(k), child(v)));
        }
        Ok(Raw(Value::Map(entries)))
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

/// Parse a YAML document into a spanned tree. Syntax errors come back as one diagnostic at
/// the parser's position.
pub fn parse(source: &Source) -> Result<Node, Diagnostics> {
    RESOLVER.with(|r| {
        *r.borrow_mut() = Some(SpanResolver {
            source: source.clone(),
        })
    });
    // YAML 1.2 booleans only (`no`, `n`, `on` stay strings), and duplicate keys passed through
    // so the decoder reports each one at its position instead of the parser stopping.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
    };
    let result = serde_saphyr::from_str_with_options::<Spanned<Raw>>(&source.text, options);
    let out = match result {
        Ok(root) => Ok(child(root)),
        Err(e) => {
            let mut diags = Diagnostics::new(Some(source.clone()));
            let (offset, message) = syntax_error_position(source, &e);
            diags.push(
                Diag::new("chx::schema::yaml_syntax", format!("invalid YAML: {message}"))
                    .at(Span::new(offset, 1))
                    .help("fix the YAML syntax at this position (indentation, a missing `:` or an unclosed quote are the usual causes)"),
            );
            Err(diags)
        }
    };
    RESOLVER.with(|r| *r.borrow_mut() = None);
    out
}

fn syntax_error_position(source: &Source, e: &serde_saphyr::Error) -> (usize, String) {
    let message = first_line(&e.to_string());
    match e.location() {
        Some(loc) => (
            source.offset_of(loc.line() as usize, loc.column() as usize),
            message,
        ),
        None => (0, message),
    }
}

/// serde-saphyr renders a snippet after its message; keep only the message itself.
fn first_line(s: &str) -> String {
    let mut line = s.lines().next().unwrap_or(s).trim();
    line = line.strip_prefix("error:").unwrap_or(line).trim();
    // "line 4 column 13: message": the position is already in the diagnostic.
    if line.starts_with("line ")
        && let Some(i) = line.find(": ")
    {
        line = &line[i + 2..];
    }
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let src = Source::new("t.yaml", "a: 1\nb:\n  - x\n  - {c: 'q'}\n");
        let root = parse(&src).unwrap();
        let Value::Map(entries) = &root.value else {
            panic!()
        };
        let (k, v) = &entries[1];
        assert_eq!(k.as_str(), Some("b"));
        let Value::Seq(items) = &v.value else {
            panic!()
        };
        assert_eq!(src.line_col(items[0].span.offset), (3, 5));
        let Value::Map(inner) = &items[1].value else {
            panic!()
        };
        assert_eq!(src.line_col(inner[0].1.span.offset), (4, 9));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let src = Source::new("t.yaml", "a: [1, 2\nb: 3\n");
        let err = parse(&src).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err.iter().next().unwrap().location().is_some());
    }
}
