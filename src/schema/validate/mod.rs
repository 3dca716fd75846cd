//! Model → validated IR. Every check reports at the span of the offending value and carries a
//! stable code and a hint; all problems of a file are collected before giving up.

use std::collections::{BTreeMap, HashSet};

use crate::diag::{Diag, Diagnostics, Source, Span};

use crate::schema::decode::{S, suggest};
use crate::schema::expr;
use crate::schema::ir::*;
use crate::schema::model::*;
use crate::schema::types::ChType;

mod table;
mod taxonomy;
mod view;

use table::table;
use taxonomy::taxonomy;
use view::view;

/// ISO 4217 minor-unit exponents chx knows without being told; a schema's `currencies` adds or
/// overrides.
pub const DEFAULT_CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KRW", 0),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PLN", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
    ("BHD", 3),
    ("KWD", 3),
    ("OMR", 3),
    ("JOD", 3),
    ("TND", 3),
];

struct V<'a> {
    src: &'a Source,
    diags: Diagnostics,
    /// Tables declared but rejected: references to them are not reported a second time.
    broken_tables: Vec<String>,
}

impl V<'_> {
    fn err(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diag::new(code, message).at(span).help(help));
    }

    /// Byte offset of the first character of a scalar's text (skips an opening quote).
    fn text_start(&self, s: &S<String>) -> usize {
        let at = s.span.offset;
        match self.src.text.get(at..at + 1) {
            Some("'") | Some("\"") => at + 1,
            _ => at,
        }
    }

    /// Span of a char range inside a single-line scalar; the whole scalar otherwise.
    fn inner_span(&self, s: &S<String>, char_offset: usize, char_len: usize) -> Span {
        if s.value.contains('\n') {
            return s.span;
        }
        let start = self.text_start(s);
        let byte = |c: usize| {
            s.value
                .char_indices()
                .nth(c)
                .map_or(s.value.len(), |(b, _)| b)
        };
        let b0 = byte(char_offset);
        let b1 = byte(char_offset + char_len);
        Span::new(start + b0, (b1 - b0).max(1))
    }

    fn parse_type(&mut self, s: &S<String>) -> Option<ChType> {
        match ChType::parse(&s.value) {
            Ok(t) => Some(t),
            Err(e) => {
                let chars = s.value[..e.offset.min(s.value.len())].chars().count();
                let span = self.inner_span(s, chars, 1);
                let help = "types are ClickHouse types: e.g. String, UInt32, Int64, Decimal(18, 2), DateTime64(3, 'UTC'), LowCardinality(String), Array(T), Map(K, V), Tuple(name T, ...)";
                self.err(
                    "chx::schema::bad_type",
                    span,
                    format!("invalid type `{}`: {}", s.value, e.message),
                    help,
                );
                None
            }
        }
    }

    /// Check an expression parses and uses only `known` names; returns the names it uses.
    fn check_expr(
        &mut self,
        s: &S<String>,
        what: &str,
        scope: &Scope,
        allow_trailing: bool,
    ) -> Vec<expr::NameRef> {
        let parsed = match expr::parse(&s.value, allow_trailing) {
            Ok(e) => e,
            Err(e) => {
                let span = self.inner_span(s, e.offset, 1);
                self.err(
                    "chx::schema::bad_expression",
                    span,
                    format!("{what} `{}` does not parse: {}", s.value, e.message),
                    "write a ClickHouse SQL expression, e.g. `toYYYYMM(timestamp)`",
                );
                return Vec::new();
            }
        };
        let names = expr::names(&parsed, &s.value);
        for n in &names {
            if let Err(u) = scope.resolve(&n.parts) {
                let span = self.inner_span(s, n.offset, n.len);
                let help = scope.help_for(&u);
                self.err(
                    "chx::schema::unknown_column",
                    span,
                    format!("{what} uses {}", u.message),
                    help,
                );
            }
        }
        names
    }
}

/// A name that resolves to nothing, with what it could have meant.
struct Unresolved {
    message: String,
    word: String,
    candidates: Vec<String>,
}

/// The names an expression may use.
struct Scope<'a> {
    what: String,
    /// Names that exist but whose type could not be read, or `None` when the whole column
    /// list is unknown: references to them are not reported again.
    unreadable: Option<Vec<String>>,
    columns: Vec<(&'a str, &'a ChType)>,
    /// An array element alias (`item`) and the element type, for explode views.
    element: Option<(String, ChType)>,
    extra: Vec<(String, ChType)>,
}

impl<'a> Scope<'a> {
    fn of_columns(what: impl Into<String>, cols: &'a [Column]) -> Self {
        Scope {
            what: what.into(),
            unreadable: Some(Vec::new()),
            columns: cols.iter().map(|c| (c.name.as_str(), &c.ty)).collect(),
            element: None,
            extra: Vec::new(),
        }
    }

    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        v.extend(self.element.iter().map(|(n, _)| n.as_str()));
        v.extend(self.extra.iter().map(|(n, _)| n.as_str()));
        v
    }

    fn hint(&self) -> String {
        format!("{} has: {}", self.what, self.names().join(", "))
    }

    /// The type a name refers to.
    fn resolve(&self, parts: &[String]) -> Result<Option<ChType>, Unresolved> {
        let first = parts[0].as_str();
        if let Some((name, ty)) = &self.element
            && first == name
        {
            return match parts.get(1) {
                None => Ok(Some(ty.clone())),
                Some(field) => ty
                    .tuple_field(field)
                    .map(|t| Some(t.clone()))
                    .ok_or_else(|| {
                        let fields = match ty.base() {
                            ChType::Tuple(f) => f.iter().filter_map(|(n, _)| n.clone()).collect(),
                            _ => Vec::new(),
                        };
                        Unresolved {
                            message: format!("unknown field `{field}` of `{name}` ({ty})"),
                            word: field.clone(),
                            candidates: fields,
                        }
                    }),
            };
        }
        if let Some((_, ty)) = self.extra.iter().find(|(n, _)| n == first) {
            return Ok(Some(ty.clone()));
        }
        match self.columns.iter().find(|(n, _)| *n == first) {
            Some((_, ty)) => match parts.get(1) {
                None => Ok(Some((*ty).clone())),
                // `map.keys`, `tuple.field`, nested subcolumns: allowed, type not tracked.
                Some(_) => Ok(None),
            },
            None if self
                .unreadable
                .as_ref()
                .is_none_or(|u| u.iter().any(|n| n == first)) =>
            {
                Ok(None)
            }
            None => Err(Unresolved {
                message: format!("unknown column `{}`", parts.join(".")),
                word: first.to_string(),
                candidates: self.names().into_iter().map(str::to_string).collect(),
            }),
        }
    }

    /// Help text for an unresolved name: a suggestion, then what there is.
    fn help_for(&self, u: &Unresolved) -> String {
        let candidates: Vec<&str> = u.candidates.iter().map(String::as_str).collect();
        let listing = if u.word.contains('.') || !u.message.starts_with("unknown column") {
            format!("fields: {}", candidates.join(", "))
        } else {
            self.hint()
        };
        match suggest(&u.word, &candidates) {
            Some(c) => format!("did you mean `{c}`? {listing}"),
            None => listing,
        }
    }

    /// The type of an expression that is a bare name; `None` for anything computed.
    fn type_of(&self, text: &str) -> Option<ChType> {
        let parsed = expr::parse(text, false).ok()?;
        let names = expr::names(&parsed, text);
        match names.as_slice() {
            [n] if n.offset == 0 && n.len == text.trim_end().chars().count() => {
                self.resolve(&n.parts).ok().flatten()
            }
            _ => None,
        }
    }
}

/// Validate a parsed schema file.
pub(crate) fn validate(file: &SchemaFile, src: &Source) -> Result<Schema, Diagnostics> {
    let mut v = V {
        src,
        diags: Diagnostics::new(Some(src.clone())),
        broken_tables: Vec::new(),
    };
    let mut tables: Vec<Table> = Vec::new();
    let mut seen = HashSet::new();
    for t in &file.tables {
        if !seen.insert(t.name.value.clone()) {
            v.err(
                "chx::schema::duplicate_table",
                t.name.span,
                format!("table `{}` is defined twice", t.name.value),
                "rename or remove one of the definitions",
            );
            continue;
        }
        match table(&mut v, t) {
            Some(table) => tables.push(table),
            None => v.broken_tables.push(t.name.value.clone()),
        }
    }
    let mut views = Vec::new();
    for d in &file.views {
        if tables.iter().any(|t| t.name == d.name.value)
            || views.iter().any(|w: &View| w.name == d.name.value)
        {
            v.err(
                "chx::schema::duplicate_table",
                d.name.span,
                format!("`{}` is already the name of a table or view", d.name.value),
                "give the view its own name",
            );
            continue;
        }
        if let Some((view, generated)) = view(&mut v, d, &tables) {
            if let Some(g) = generated {
                tables.push(g);
            }
            views.push(view);
        }
    }
    let mut currencies: BTreeMap<String, u8> = DEFAULT_CURRENCIES
        .iter()
        .map(|(c, e)| (c.to_string(), *e))
        .collect();
    for (code, exp) in &file.currencies {
        let ok_code = code.value.len() == 3 && code.value.chars().all(|c| c.is_ascii_uppercase());
        match exp.value.parse::<u8>() {
            Ok(e) if ok_code && e <= 4 => {
                currencies.insert(code.value.clone(), e);
            }
            _ => v.err(
                "chx::schema::bad_currency",
                code.span,
                format!(
                    "currency `{}: {}` is not an ISO 4217 code with an exponent 0..4",
                    code.value, exp.value
                ),
                "write e.g. `JPY: 0` or `USD: 2`",
            ),
        }
    }
    let base_currency = file
        .base_currency
        .as_ref()
        .map_or("USD".to_string(), |b| b.value.clone());
    if let Some(b) = &file.base_currency
        && !currencies.contains_key(&b.value)
    {
        v.err(
            "chx::schema::bad_currency",
            b.span,
            format!("base currency `{}` is not a known currency", b.value),
            "add it under `currencies:` with its exponent",
        );
    }
    let timezone = file
        .timezone
        .as_ref()
        .map_or("UTC".to_string(), |t| t.value.clone());
    if let Some(tz) = &file.timezone
        && tz.value.parse::<chrono_tz::Tz>().is_err()
    {
        v.err(
            "chx::schema::bad_timezone",
            tz.span,
            format!("unknown time zone `{}`", tz.value),
            "use an IANA name such as UTC or Europe/Berlin",
        );
    }
    let taxonomy = file
        .taxonomy
        .as_ref()
        .and_then(|t| taxonomy(&mut v, t, &tables));
    let schema = Schema {
        name: file.name.as_ref().map_or("chx".into(), |n| n.value.clone()),
        database: file
            .database
            .as_ref()
            .map_or("default".into(), |n| n.value.clone()),
        timezone,
        retention_days: file
            .retention_days
            .as_ref()
            .map(|d| d.value.min(u32::MAX as u64) as u32),
        base_currency,
        currencies,
        tables,
        views,
        taxonomy,
    };
    v.diags.into_result(schema)
}

/// Byte offset of a char index.
pub(super) fn byte_of(text: &str, char_index: usize) -> usize {
    text.char_indices()
        .nth(char_index)
        .map_or(text.len(), |(b, _)| b)
}
