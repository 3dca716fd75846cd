//! Model → validated IR. Every check reports at the span of the offending value and carries a
//! stable code and a hint; all problems of a file are collected before giving up.

use std::collections::{BTreeMap, HashSet};

use crate::diag::{Diag, Diagnostics, Source, Span};

use super::decode::{S, suggest};
use super::expr;
use super::ir::*;
use super::model::*;
use super::taxonomy::{EventType, PRESETS, Property, ROLE_NAMES, Taxonomy};
use super::types::ChType;

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
            if let Err(msg) = scope.resolve(&n.parts) {
                let span = self.inner_span(s, n.offset, n.len);
                let help = match suggest(&n.parts[0], &scope.names()) {
                    Some(c) => format!("did you mean `{c}`? {}", scope.hint()),
                    None => scope.hint(),
                };
                self.err(
                    "chx::schema::unknown_column",
                    span,
                    format!("{what} uses {msg}"),
                    help,
                );
            }
        }
        names
    }
}

/// The names an expression may use.
struct Scope<'a> {
    what: String,
    columns: Vec<(&'a str, &'a ChType)>,
    /// An array element alias (`item`) and the element type, for explode views.
    element: Option<(String, ChType)>,
    extra: Vec<(String, ChType)>,
}

impl<'a> Scope<'a> {
    fn of_columns(what: impl Into<String>, cols: &'a [Column]) -> Self {
        Scope {
            what: what.into(),
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
    fn resolve(&self, parts: &[String]) -> Result<Option<ChType>, String> {
        let first = parts[0].as_str();
        if let Some((name, ty)) = &self.element {
            if first == name {
                return match parts.get(1) {
                    None => Ok(Some(ty.clone())),
                    Some(field) => ty
                        .tuple_field(field)
                        .map(|t| Some(t.clone()))
                        .ok_or_else(|| format!("unknown field `{field}` of `{name}` ({ty})")),
                };
            }
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
            None => Err(format!("unknown column `{}`", parts.join("."))),
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
        if let Some(table) = table(&mut v, t) {
            tables.push(table);
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
    if let Some(b) = &file.base_currency {
        if !currencies.contains_key(&b.value) {
            v.err(
                "chx::schema::bad_currency",
                b.span,
                format!("base currency `{}` is not a known currency", b.value),
                "add it under `currencies:` with its exponent",
            );
        }
    }
    let timezone = file
        .timezone
        .as_ref()
        .map_or("UTC".to_string(), |t| t.value.clone());
    if let Some(tz) = &file.timezone {
        if tz.value.parse::<chrono_tz::Tz>().is_err() {
            v.err(
                "chx::schema::bad_timezone",
                tz.span,
                format!("unknown time zone `{}`", tz.value),
                "use an IANA name such as UTC or Europe/Berlin",
            );
        }
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

fn table(v: &mut V, t: &TableDef) -> Option<Table> {
    let mut columns: Vec<Column> = Vec::new();
    let mut col_defs: Vec<&ColumnDef> = Vec::new();
    for c in &t.columns {
        if columns.iter().any(|x| x.name == c.name.value) {
            v.err(
                "chx::schema::duplicate_column",
                c.name.span,
                format!(
                    "column `{}` appears twice in table `{}`",
                    c.name.value, t.name.value
                ),
                "rename or remove one of them",
            );
            continue;
        }
        let Some(ty) = v.parse_type(&c.ty) else {
            continue;
        };
        let given: Vec<&S<String>> = [&c.default, &c.materialized, &c.alias]
            .into_iter()
            .flatten()
            .collect();
        if given.len() > 1 {
            v.err("chx::schema::conflicting_default", given[1].span, format!("column `{}` has more than one of default/materialized/alias", c.name.value), "keep one: default (insertable), materialized (computed on insert) or alias (computed on read)");
        }
        let default = match (&c.default, &c.materialized, &c.alias) {
            (Some(d), _, _) => ColumnDefault::Default(d.value.clone()),
            (_, Some(m), _) => ColumnDefault::Materialized(m.value.clone()),
            (_, _, Some(a)) => ColumnDefault::Alias(a.value.clone()),
            _ => ColumnDefault::None,
        };
        columns.push(Column {
            name: c.name.value.clone(),
            ty,
            default,
            comment: c.comment.as_ref().map(|s| s.value.clone()),
            codec: c.codec.as_ref().map(|s| s.value.clone()),
            ttl: c.ttl.as_ref().map(|s| s.value.clone()),
            renamed_from: c.renamed_from.as_ref().map(|s| s.value.clone()),
        });
        col_defs.push(c);
    }
    if t.columns.is_empty() {
        v.err(
            "chx::schema::no_columns",
            t.name.span,
            format!("table `{}` has no columns", t.name.value),
            "add at least one column under `columns:`",
        );
    }
    let what = format!("table `{}`", t.name.value);
    let scope = Scope::of_columns(what.clone(), &columns);
    for c in &col_defs {
        for (e, kind) in [
            (&c.default, "default"),
            (&c.materialized, "materialized"),
            (&c.alias, "alias"),
            (&c.ttl, "column ttl"),
        ] {
            if let Some(e) = e {
                v.check_expr(
                    e,
                    &format!("the {kind} of column `{}`", c.name.value),
                    &scope,
                    kind == "column ttl",
                );
            }
        }
    }
    let engine = engine(v, t, &columns);
    if t.order_by.is_empty() {
        v.err("chx::schema::missing_order_by", t.name.span, format!("{what} has no `order_by`"), "MergeTree tables need a sorting key: list the columns most queries filter on, low cardinality first, e.g. `order_by: [event_type, toDate(timestamp), user_id]` (or `order_by: tuple()` for none)");
    }
    for e in &t.order_by {
        let names = v.check_expr(e, "order_by", &scope, false);
        if let [n] = names.as_slice() {
            if let Ok(Some(ty)) = scope.resolve(&n.parts) {
                if ty.is_nullable() {
                    v.err("chx::schema::nullable_key", e.span, format!("sorting key column `{}` is {ty}", n.parts.join(".")), "sorting keys cannot be Nullable: make the column non-Nullable with a default (e.g. '' or 0), or wrap it: `ifNull(col, '')`");
                }
            }
        }
    }
    for e in &t.primary_key {
        v.check_expr(e, "primary_key", &scope, false);
    }
    let order: Vec<&str> = t.order_by.iter().map(|s| s.value.as_str()).collect();
    let pk: Vec<&str> = t.primary_key.iter().map(|s| s.value.as_str()).collect();
    if !pk.is_empty() && !order.starts_with(&pk) {
        v.err(
            "chx::schema::primary_key_prefix",
            t.primary_key[0].span,
            "primary_key must be a prefix of order_by",
            format!("order_by is [{}]", order.join(", ")),
        );
    }
    for (e, what) in [
        (&t.partition_by, "partition_by"),
        (&t.sample_by, "sample_by"),
        (&t.shard_key, "shard_key"),
    ] {
        if let Some(e) = e {
            v.check_expr(e, what, &scope, false);
        }
    }
    if let Some(ttl) = &t.ttl {
        for (ci, part) in split_top_level(&ttl.value) {
            let span = v.inner_span(ttl, ci, part.chars().count());
            check_sub_expr(v, &S::new(part.to_string(), span), "ttl", &scope);
        }
    }
    let mut indexes = Vec::new();
    for i in &t.indexes {
        v.check_expr(&i.expr, &format!("index `{}`", i.name.value), &scope, false);
        let kind_name = i.kind.value.split('(').next().unwrap_or("").trim();
        const KINDS: [&str; 7] = [
            "minmax",
            "set",
            "bloom_filter",
            "ngrambf_v1",
            "tokenbf_v1",
            "text",
            "vector_similarity",
        ];
        if !KINDS.contains(&kind_name) {
            v.err(
                "chx::schema::bad_index_type",
                i.kind.span,
                format!("unknown skip index type `{}`", i.kind.value),
                format!("use one of: {}", KINDS.join(", ")),
            );
        }
        indexes.push(Index {
            name: i.name.value.clone(),
            expr: i.expr.value.clone(),
            kind: i.kind.value.clone(),
            granularity: i.granularity.as_ref().map_or(1, |g| g.value),
        });
    }
    let projections = t
        .projections
        .iter()
        .map(|p| Projection {
            name: p.name.value.clone(),
            query: p.query.value.clone(),
        })
        .collect();
    Some(Table {
        name: t.name.value.clone(),
        comment: t.comment.as_ref().map(|s| s.value.clone()),
        engine: engine?,
        order_by: order.iter().map(|s| s.to_string()).collect(),
        primary_key: pk.iter().map(|s| s.to_string()).collect(),
        partition_by: t.partition_by.as_ref().map(|s| s.value.clone()),
        sample_by: t.sample_by.as_ref().map(|s| s.value.clone()),
        ttl: t.ttl.as_ref().map(|s| s.value.clone()),
        indexes,
        projections,
        settings: t
            .settings
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect(),
        shard_key: t.shard_key.as_ref().map(|s| s.value.clone()),
        generated_by: None,
        columns,
    })
}

/// A TTL is a comma-separated list of `expr [action]`; split at top-level commas.
fn split_top_level(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut quote) = (0i32, 0usize, false);
    for (ci, (bi, c)) in text.char_indices().enumerate() {
        match c {
            '\'' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push((start, &text[byte_of(text, start)..bi]));
                start = ci + 1;
            }
            _ => {}
        }
    }
    out.push((start, &text[byte_of(text, start)..]));
    out.into_iter()
        .map(|(ci, s)| {
            let trimmed = s.trim_start();
            (
                ci + (s.chars().count() - trimmed.chars().count()),
                trimmed.trim_end(),
            )
        })
        .collect()
}

fn byte_of(text: &str, char_index: usize) -> usize {
    text.char_indices()
        .nth(char_index)
        .map_or(text.len(), |(b, _)| b)
}

fn check_sub_expr(v: &mut V, s: &S<String>, what: &str, scope: &Scope) {
    // The sub-expression's span already points inside the parent; check without re-offsetting.
    match expr::parse(&s.value, true) {
        Ok(parsed) => {
            for n in expr::names(&parsed, &s.value) {
                if let Err(msg) = scope.resolve(&n.parts) {
                    let span = if s.value.contains('\n') {
                        s.span
                    } else {
                        Span::new(s.span.offset + byte_of(&s.value, n.offset), n.len.max(1))
                    };
                    v.err(
                        "chx::schema::unknown_column",
                        span,
                        format!("{what} uses {msg}"),
                        scope.hint(),
                    );
                }
            }
        }
        Err(e) => v.err(
            "chx::schema::bad_expression",
            s.span,
            format!("{what} `{}` does not parse: {}", s.value, e.message),
            "write a ClickHouse TTL such as `timestamp + INTERVAL 2 YEAR`",
        ),
    }
}

fn engine(v: &mut V, t: &TableDef, columns: &[Column]) -> Option<TableEngine> {
    let Some(e) = &t.engine else {
        return Some(TableEngine::MergeTree);
    };
    let col = |v: &mut V,
               s: &Option<S<String>>,
               role: &str,
               need: fn(&ChType) -> bool,
               need_text: &str|
     -> Option<String> {
        let s = s.as_ref()?;
        match columns.iter().find(|c| c.name == s.value) {
            None => {
                v.err(
                    "chx::schema::unknown_column",
                    s.span,
                    format!(
                        "engine {role} column `{}` is not a column of table `{}`",
                        s.value, t.name.value
                    ),
                    "name one of the table's columns",
                );
                None
            }
            Some(c) if !need(&c.ty) => {
                v.err(
                    "chx::schema::bad_engine_column",
                    s.span,
                    format!(
                        "engine {role} column `{}` is {}, expected {need_text}",
                        s.value, c.ty
                    ),
                    format!("the {role} column must be {need_text}"),
                );
                None
            }
            Some(_) => Some(s.value.clone()),
        }
    };
    let version_ok: fn(&ChType) -> bool = |t| t.is_integer() || t.is_datetime();
    let sign_ok: fn(&ChType) -> bool = |t| matches!(t.base(), ChType::Int(8));
    let flag_ok: fn(&ChType) -> bool = |t| matches!(t.base(), ChType::UInt(8));
    let require = |v: &mut V, s: &Option<S<String>>, what: &str| {
        if s.is_none() {
            v.err(
                "chx::schema::missing_field",
                e.kind.span,
                format!("{} needs `{what}`", e.kind.value),
                format!("add `{what}: <column>` to the engine"),
            );
        }
    };
    Some(match e.kind.value.as_str() {
        "MergeTree" => TableEngine::MergeTree,
        "ReplacingMergeTree" => TableEngine::ReplacingMergeTree {
            version: col(
                v,
                &e.version,
                "version",
                version_ok,
                "an unsigned integer, Date or DateTime",
            ),
            is_deleted: col(v, &e.is_deleted, "is_deleted", flag_ok, "UInt8"),
        },
        "SummingMergeTree" => TableEngine::SummingMergeTree {
            columns: e
                .sum_columns
                .iter()
                .filter_map(|c| {
                    col(
                        v,
                        &Some(c.clone()),
                        "sum",
                        |t| !t.is_stringlike(),
                        "numeric",
                    )
                })
                .collect(),
        },
        "AggregatingMergeTree" => TableEngine::AggregatingMergeTree,
        "CollapsingMergeTree" => {
            require(v, &e.sign, "sign");
            TableEngine::CollapsingMergeTree {
                sign: col(v, &e.sign, "sign", sign_ok, "Int8")?,
            }
        }
        "VersionedCollapsingMergeTree" => {
            require(v, &e.sign, "sign");
            require(v, &e.version, "version");
            TableEngine::VersionedCollapsingMergeTree {
                sign: col(v, &e.sign, "sign", sign_ok, "Int8")?,
                version: col(
                    v,
                    &e.version,
                    "version",
                    version_ok,
                    "an unsigned integer or DateTime",
                )?,
            }
        }
        other => {
            let help = match suggest(other, &TableEngine::KINDS) {
                Some(s) => format!(
                    "did you mean `{s}`? supported: {}",
                    TableEngine::KINDS.join(", ")
                ),
                None => format!("supported: {}", TableEngine::KINDS.join(", ")),
            };
            v.err(
                "chx::schema::unknown_engine",
                e.kind.span,
                format!("unknown table engine `{other}`"),
                help,
            );
            return None;
        }
    })
}

const VIEW_KINDS: [&str; 4] = ["explode_array", "explode_map", "rollup", "sql"];

fn need<'a>(v: &mut V, d: &ViewDef, s: &'a Option<S<String>>, key: &str) -> Option<&'a S<String>> {
    if s.is_none() {
        v.err(
            "chx::schema::missing_field",
            d.name.span,
            format!(
                "view `{}` ({}) is missing `{key}`",
                d.name.value, d.kind.value
            ),
            format!("add `{key}: ...` to the view"),
        );
    }
    s.as_ref()
}

fn find_table<'t>(
    v: &mut V,
    tables: &'t [Table],
    name: &S<String>,
    role: &str,
) -> Option<&'t Table> {
    let found = tables.iter().find(|t| t.name == name.value);
    if found.is_none() {
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        let help = match suggest(&name.value, &names) {
            Some(s) => format!("did you mean `{s}`? tables: {}", names.join(", ")),
            None => format!("tables: {}", names.join(", ")),
        };
        v.err(
            "chx::schema::unknown_table",
            name.span,
            format!("{role} table `{}` is not defined", name.value),
            help,
        );
    }
    found
}

/// Check `target ← expr` pairs of an explode view: target columns exist and bare-name
/// expressions have a type that fits the target column.
fn check_mappings(v: &mut V, d: &ViewDef, scope: &Scope, target: &Table) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (col, e) in &d.columns {
        v.check_expr(e, &format!("view column `{}`", col.value), scope, false);
        let Some(tcol) = target.column(&col.value) else {
            let names: Vec<&str> = target.columns.iter().map(|c| c.name.as_str()).collect();
            v.err(
                "chx::schema::unknown_column",
                col.span,
                format!(
                    "view `{}` writes `{}`, which is not a column of `{}`",
                    d.name.value, col.value, target.name
                ),
                format!("columns of `{}`: {}", target.name, names.join(", ")),
            );
            continue;
        };
        if !tcol.is_insertable() {
            v.err(
                "chx::schema::mv_type_mismatch",
                col.span,
                format!(
                    "view `{}` writes `{}`, a computed column of `{}`",
                    d.name.value, col.value, target.name
                ),
                "computed (materialized/alias) columns fill themselves: drop this mapping",
            );
        }
        if let Some(src_ty) = scope.type_of(&e.value) {
            if !src_ty.fits_into(&tcol.ty) {
                v.err(
                    "chx::schema::mv_type_mismatch",
                    e.span,
                    format!(
                        "view `{}` writes `{}` ({src_ty}) into `{}.{}` ({})",
                        d.name.value, e.value, target.name, col.value, tcol.ty
                    ),
                    format!(
                        "make the types match, or convert explicitly, e.g. `CAST({} AS {})`",
                        e.value, tcol.ty
                    ),
                );
            }
        }
        out.push((col.value.clone(), e.value.clone()));
    }
    out
}

fn view(v: &mut V, d: &ViewDef, tables: &[Table]) -> Option<(View, Option<Table>)> {
    if !VIEW_KINDS.contains(&d.kind.value.as_str()) {
        v.err(
            "chx::schema::unknown_view_kind",
            d.kind.span,
            format!("unknown view kind `{}`", d.kind.value),
            format!("use one of: {}", VIEW_KINDS.join(", ")),
        );
        return None;
    }
    let to = need(v, d, &d.to, "to")?;
    let base = View {
        name: d.name.value.clone(),
        source: String::new(),
        target: to.value.clone(),
        comment: d.comment.as_ref().map(|c| c.value.clone()),
        kind: ViewKind::Sql {
            select: String::new(),
            tables: Vec::new(),
        },
    };
    if d.kind.value == "sql" {
        let select = need(v, d, &d.select, "select")?;
        let target = find_table(v, tables, to, "target");
        let refs = match expr::select_tables(&select.value) {
            Ok(r) => r,
            Err(e) => {
                let span = v.inner_span(select, e.offset, 1);
                v.err(
                    "chx::schema::bad_select",
                    span,
                    format!(
                        "the select of view `{}` does not parse: {}",
                        d.name.value, e.message
                    ),
                    "write one ClickHouse SELECT statement",
                );
                return None;
            }
        };
        let mut table_refs = Vec::new();
        for r in &refs {
            let name = r.parts.last().cloned().unwrap_or_default();
            if r.parts.len() > 1 || !tables.iter().any(|t| t.name == name) {
                let span = v.inner_span(select, r.offset, r.len);
                v.err(
                    "chx::schema::unknown_table",
                    span,
                    format!(
                        "view `{}` reads `{}`, which is not a table of this schema",
                        d.name.value,
                        r.parts.join(".")
                    ),
                    "name schema tables without a database; chx qualifies them",
                );
                continue;
            }
            let start = byte_of(&select.value, r.offset);
            let end = byte_of(&select.value, r.offset + r.len);
            table_refs.push(TableRef {
                table: name,
                offset: start,
                len: end - start,
            });
        }
        let source = table_refs
            .first()
            .map(|r| r.table.clone())
            .unwrap_or_default();
        if let Some(target) = target {
            for name in expr::select_output_names(&select.value)
                .into_iter()
                .flatten()
            {
                if target.column(&name).is_none() {
                    v.err(
                        "chx::schema::unknown_column",
                        select.span,
                        format!(
                            "view `{}` outputs `{name}`, which is not a column of `{}`",
                            d.name.value, target.name
                        ),
                        "alias every output to a target column (`expr AS column`)",
                    );
                }
            }
        }
        return Some((
            View {
                source,
                kind: ViewKind::Sql {
                    select: select.value.clone(),
                    tables: table_refs,
                },
                ..base
            },
            None,
        ));
    }
    let from = need(v, d, &d.from, "from")?;
    let source = find_table(v, tables, from, "source")?;
    let filter_scope = Scope::of_columns(format!("table `{}`", source.name), &source.columns);
    if let Some(f) = &d.filter {
        v.check_expr(f, "where", &filter_scope, false);
    }
    let filter = d.filter.as_ref().map(|f| f.value.clone());
    let base = View {
        source: source.name.clone(),
        ..base
    };
    match d.kind.value.as_str() {
        "explode_array" => {
            let array = need(v, d, &d.array, "array")?;
            let target = find_table(v, tables, to, "target")?;
            let element = d
                .element
                .as_ref()
                .map_or("item".to_string(), |e| e.value.clone());
            let Some(col) = source.column(&array.value) else {
                v.err(
                    "chx::schema::unknown_column",
                    array.span,
                    format!("`{}` is not a column of `{}`", array.value, source.name),
                    filter_scope.hint(),
                );
                return None;
            };
            let Some(elem_ty) = col.ty.array_element().cloned() else {
                v.err(
                    "chx::schema::mv_type_mismatch",
                    array.span,
                    format!("`{}` is {}, not an Array", array.value, col.ty),
                    "explode_array needs an Array column, e.g. Array(Tuple(item_id String, ...))",
                );
                return None;
            };
            let mut scope = Scope::of_columns(
                format!(
                    "table `{}` (plus `{element}`, `{element}_index`)",
                    source.name
                ),
                &source.columns,
            );
            scope.element = Some((element.clone(), elem_ty));
            scope
                .extra
                .push((format!("{element}_index"), ChType::UInt(32)));
            let columns = check_mappings(v, d, &scope, target);
            Some((
                View {
                    kind: ViewKind::ExplodeArray {
                        array: array.value.clone(),
                        element,
                        columns,
                        filter,
                    },
                    ..base
                },
                None,
            ))
        }
        "explode_map" => {
            let map = need(v, d, &d.map, "map")?;
            let target = find_table(v, tables, to, "target")?;
            let Some(col) = source.column(&map.value) else {
                v.err(
                    "chx::schema::unknown_column",
                    map.span,
                    format!("`{}` is not a column of `{}`", map.value, source.name),
                    filter_scope.hint(),
                );
                return None;
            };
            let ChType::Map(kt, vt) = col.ty.base().clone() else {
                v.err(
                    "chx::schema::mv_type_mismatch",
                    map.span,
                    format!("`{}` is {}, not a Map", map.value, col.ty),
                    "explode_map needs a Map(K, V) column",
                );
                return None;
            };
            let key_column = d
                .key_column
                .as_ref()
                .map_or("key".to_string(), |k| k.value.clone());
            let value_column = d
                .value_column
                .as_ref()
                .map_or("value".to_string(), |k| k.value.clone());
            for (name, ty, s) in [
                (&key_column, &kt, &d.key_column),
                (&value_column, &vt, &d.value_column),
            ] {
                let span = s.as_ref().map_or(d.name.span, |s| s.span);
                match target.column(name) {
                    None => v.err(
                        "chx::schema::unknown_column",
                        span,
                        format!("`{name}` is not a column of `{}`", target.name),
                        "set key_column / value_column to columns of the target table",
                    ),
                    Some(c) if !ty.fits_into(&c.ty) => v.err(
                        "chx::schema::mv_type_mismatch",
                        span,
                        format!(
                            "map {} type {ty} does not fit `{}.{name}` ({})",
                            if name == &key_column { "key" } else { "value" },
                            target.name,
                            c.ty
                        ),
                        "make the target column's type match the map's",
                    ),
                    Some(_) => {}
                }
            }
            let columns = check_mappings(v, d, &filter_scope, target);
            Some((
                View {
                    kind: ViewKind::ExplodeMap {
                        map: map.value.clone(),
                        key_column,
                        value_column,
                        columns,
                        filter,
                    },
                    ..base
                },
                None,
            ))
        }
        _ => rollup(v, d, source, &filter_scope, to, filter, tables)
            .map(|(kind, table)| (View { kind, ..base }, Some(table))),
    }
}

fn rollup(
    v: &mut V,
    d: &ViewDef,
    source: &Table,
    scope: &Scope,
    to: &S<String>,
    filter: Option<String>,
    tables: &[Table],
) -> Option<(ViewKind, Table)> {
    if tables.iter().any(|t| t.name == to.value) {
        v.err(
            "chx::schema::duplicate_table",
            to.span,
            format!(
                "rollup target `{}` is generated by the view and must not be declared as a table",
                to.value
            ),
            "remove the table definition or give the rollup another target name",
        );
        return None;
    }
    if d.dimensions.is_empty() || d.measures.is_empty() {
        v.err(
            "chx::schema::missing_field",
            d.name.span,
            format!("rollup `{}` needs dimensions and measures", d.name.value),
            "add `dimensions: [...]` and `measures: [{name, agg, expr}]`",
        );
        return None;
    }
    let mut dims = Vec::new();
    for dim in &d.dimensions {
        v.check_expr(
            &dim.expr,
            &format!("dimension `{}`", dim.name.value),
            scope,
            false,
        );
        let ty = match &dim.ty {
            Some(t) => v.parse_type(t),
            None => scope
                .type_of(&dim.expr.value)
                .or_else(|| infer_function_type(&dim.expr.value)),
        };
        let Some(ty) = ty else {
            if dim.ty.is_none() {
                v.err(
                    "chx::schema::rollup_type_needed",
                    dim.expr.span,
                    format!("cannot tell the type of dimension `{}`", dim.name.value),
                    "add `type: ...` to the dimension (e.g. `type: Date`)",
                );
            }
            continue;
        };
        dims.push(Dimension {
            name: dim.name.value.clone(),
            expr: dim.expr.value.clone(),
            ty,
        });
    }
    let mut measures = Vec::new();
    for m in &d.measures {
        if !Measure::AGGREGATES.contains(&m.agg.value.as_str()) {
            v.err(
                "chx::schema::bad_aggregate",
                m.agg.span,
                format!("unsupported rollup aggregate `{}`", m.agg.value),
                format!("use one of: {}", Measure::AGGREGATES.join(", ")),
            );
            continue;
        }
        let arg_ty = match (&m.expr, &m.ty) {
            (None, _) if m.agg.value == "count" => None,
            (None, _) => {
                v.err(
                    "chx::schema::missing_field",
                    m.name.span,
                    format!("measure `{}` needs `expr`", m.name.value),
                    "say what to aggregate, e.g. `expr: revenue`",
                );
                continue;
            }
            (Some(e), ty) => {
                v.check_expr(e, &format!("measure `{}`", m.name.value), scope, false);
                let t = match ty {
                    Some(t) => v.parse_type(t),
                    None => scope.type_of(&e.value),
                };
                if t.is_none() && ty.is_none() {
                    v.err(
                        "chx::schema::rollup_type_needed",
                        e.span,
                        format!("cannot tell the type of measure `{}`", m.name.value),
                        "add `type: ...` with the expression's ClickHouse type",
                    );
                    continue;
                }
                Some(t?)
            }
        };
        measures.push(Measure {
            name: m.name.value.clone(),
            agg: m.agg.value.clone(),
            expr: m.expr.as_ref().map(|e| e.value.clone()),
            arg_ty,
        });
    }
    let mut columns: Vec<Column> = dims
        .iter()
        .map(|d| Column::new(d.name.clone(), d.ty.clone()))
        .collect();
    columns.extend(
        measures
            .iter()
            .map(|m| Column::new(m.name.clone(), m.state_type())),
    );
    let table = Table {
        name: to.value.clone(),
        comment: Some(format!(
            "Rollup written by materialized view {}; read it with -Merge combinators.",
            d.name.value
        )),
        engine: TableEngine::AggregatingMergeTree,
        order_by: dims.iter().map(|d| d.name.clone()).collect(),
        primary_key: Vec::new(),
        partition_by: d.partition_by.as_ref().map(|p| p.value.clone()),
        sample_by: None,
        ttl: d.ttl.as_ref().map(|p| p.value.clone()),
        indexes: Vec::new(),
        projections: Vec::new(),
        settings: Vec::new(),
        shard_key: source
            .shard_key
            .as_ref()
            .and(dims.first().map(|d| format!("cityHash64({})", d.name))),
        generated_by: Some(d.name.value.clone()),
        columns,
    };
    let tscope = Scope::of_columns(format!("rollup `{}`", to.value), &table.columns);
    for (e, what) in [(&d.partition_by, "partition_by"), (&d.ttl, "ttl")] {
        if let Some(e) = e {
            v.check_expr(e, what, &tscope, what == "ttl");
        }
    }
    Some((
        ViewKind::Rollup(Rollup {
            dimensions: dims,
            measures,
            filter,
        }),
        table,
    ))
}

/// Result types of the date functions rollup dimensions use most.
fn infer_function_type(text: &str) -> Option<ChType> {
    let name = text.split('(').next()?.trim();
    Some(match name {
        "toDate" | "toStartOfWeek" | "toMonday" | "toStartOfMonth" | "toStartOfQuarter"
        | "toStartOfYear" => ChType::Date,
        "toStartOfHour" | "toStartOfDay" | "toStartOfMinute" | "toStartOfFifteenMinutes" => {
            ChType::DateTime { tz: None }
        }
        "toYYYYMM" => ChType::UInt(32),
        "toYYYYMMDD" => ChType::UInt(32),
        "toHour" => ChType::UInt(8),
        _ => return None,
    })
}

fn taxonomy(v: &mut V, t: &TaxonomyDef, tables: &[Table]) -> Option<Taxonomy> {
    let table_name = t.table.as_ref().map_or("events", |s| s.value.as_str());
    let Some(table) = tables.iter().find(|x| x.name == table_name) else {
        let span = t.table.as_ref().map_or(t.span, |s| s.span);
        v.err(
            "chx::schema::unknown_table",
            span,
            format!("taxonomy table `{table_name}` is not defined"),
            "set `taxonomy.table` to the events table",
        );
        return None;
    };
    let scope = Scope::of_columns(format!("table `{}`", table.name), &table.columns);
    let col_named = |v: &mut V,
                     s: &Option<S<String>>,
                     default: &str,
                     what: &str,
                     ok: fn(&ChType) -> bool,
                     need: &str|
     -> String {
        let name = s.as_ref().map_or(default.to_string(), |s| s.value.clone());
        let span = s.as_ref().map_or(t.span, |s| s.span);
        match table.column(&name) {
            None => v.err(
                "chx::schema::unknown_column",
                span,
                format!(
                    "taxonomy {what} column `{name}` is not a column of `{}`",
                    table.name
                ),
                scope.hint(),
            ),
            Some(c) if !ok(&c.ty) => v.err(
                "chx::schema::bad_taxonomy_type",
                span,
                format!(
                    "taxonomy {what} column `{name}` is {}, expected {need}",
                    c.ty
                ),
                format!("use a {need} column"),
            ),
            _ => {}
        }
        name
    };
    let event_column = col_named(
        v,
        &t.event_column,
        "event_type",
        "event",
        |t| t.is_stringlike(),
        "String",
    );
    let properties_column = col_named(
        v,
        &t.properties_column,
        "properties",
        "properties",
        |t| matches!(t.base(), ChType::Map(..)),
        "Map(String, String)",
    );
    let mut events: Vec<EventType> = Vec::new();
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &t.events {
        if events.iter().any(|x| x.name == e.name.value) {
            v.err(
                "chx::schema::duplicate_event",
                e.name.span,
                format!("event `{}` is defined twice", e.name.value),
                "remove one definition",
            );
            continue;
        }
        for f in e.required.iter().chain(&e.optional) {
            if table.column(&f.value).is_none() {
                let help = match suggest(&f.value, &scope.names()) {
                    Some(c) => format!("did you mean `{c}`? {}", scope.hint()),
                    None => format!(
                        "fields are columns of `{}`; free-form values go under `properties:`",
                        table.name
                    ),
                };
                v.err(
                    "chx::schema::unknown_column",
                    f.span,
                    format!(
                        "event `{}` lists `{}`, which is not a column of `{}`",
                        e.name.value, f.value, table.name
                    ),
                    help,
                );
            }
        }
        let mut properties = Vec::new();
        for p in &e.properties {
            let Some(ty) = v.parse_type(&p.ty) else {
                continue;
            };
            if let Some(c) = &p.column {
                match table.column(&c.value) {
                    None => v.err(
                        "chx::schema::unknown_column",
                        c.span,
                        format!(
                            "property `{}` is stored in `{}`, which is not a column of `{}`",
                            p.name.value, c.value, table.name
                        ),
                        scope.hint(),
                    ),
                    Some(col) if !ty.fits_into(&col.ty) => v.err(
                        "chx::schema::bad_taxonomy_type",
                        p.ty.span,
                        format!(
                            "property `{}` is declared {ty} but column `{}` is {}",
                            p.name.value, c.value, col.ty
                        ),
                        "make the property type match its column",
                    ),
                    _ => {}
                }
            } else if !matches!(
                ty.base(),
                ChType::String
                    | ChType::Int(_)
                    | ChType::UInt(_)
                    | ChType::Float32
                    | ChType::Float64
                    | ChType::Bool
                    | ChType::Decimal { .. }
                    | ChType::Date
                    | ChType::DateTime { .. }
                    | ChType::DateTime64 { .. }
                    | ChType::Uuid
            ) {
                v.err("chx::schema::bad_taxonomy_type", p.ty.span, format!("property `{}` has type {ty}, which cannot be stored in the string-valued properties map", p.name.value), "use a scalar type (String, Int64, Float64, Bool, Date, ...) or store it in its own column with `column:`");
            }
            properties.push(Property {
                name: p.name.value.clone(),
                ty,
                required: p.required,
                column: p.column.as_ref().map(|c| c.value.clone()),
                description: p.description.as_ref().map(|d| d.value.clone()),
            });
        }
        if let Some(r) = &e.role {
            if check_role(v, r) {
                roles
                    .entry(r.value.clone())
                    .or_default()
                    .push(e.name.value.clone());
            }
        }
        events.push(EventType {
            name: e.name.value.clone(),
            description: e.description.as_ref().map(|d| d.value.clone()),
            aliases: e.aliases.iter().map(|a| a.value.clone()).collect(),
            required: e.required.iter().map(|r| r.value.clone()).collect(),
            optional: e.optional.iter().map(|r| r.value.clone()).collect(),
            properties,
        });
    }
    for (role, names) in &t.roles {
        for n in names {
            if events.iter().any(|e| e.name == n.value) {
                let list = roles.entry(role.value.clone()).or_default();
                if !list.contains(&n.value) {
                    list.push(n.value.clone());
                }
            } else {
                let known: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
                let help = match suggest(&n.value, &known) {
                    Some(s) => format!("did you mean `{s}`? events: {}", known.join(", ")),
                    None => format!("events: {}", known.join(", ")),
                };
                v.err(
                    "chx::schema::unknown_event",
                    n.span,
                    format!(
                        "role `{}` is mapped to `{}`, which is not an event of the taxonomy",
                        role.value, n.value
                    ),
                    help,
                );
            }
        }
    }
    for p in &t.presets {
        let Some((_, aliases)) = PRESETS.iter().find(|(name, _)| *name == p.value) else {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            v.err(
                "chx::schema::unknown_preset",
                p.span,
                format!("unknown naming preset `{}`", p.value),
                format!("presets: {}", names.join(", ")),
            );
            continue;
        };
        for (alias, role) in aliases.iter() {
            let target = roles.get(*role).and_then(|names| names.first()).cloned();
            if let Some(target) = target {
                if events
                    .iter()
                    .any(|e| e.name == *alias || e.aliases.iter().any(|a| a == alias))
                {
                    continue;
                }
                if let Some(ev) = events.iter_mut().find(|e| e.name == target) {
                    ev.aliases.push(alias.to_string());
                }
            }
        }
    }
    let mut all_names: HashSet<&str> = HashSet::new();
    for e in &events {
        for n in std::iter::once(&e.name).chain(&e.aliases) {
            if !all_names.insert(n) {
                v.err(
                    "chx::schema::duplicate_event",
                    t.span,
                    format!("event name or alias `{n}` is used by two events"),
                    "each name must identify one event",
                );
            }
        }
    }
    Some(Taxonomy {
        table: table.name.clone(),
        event_column,
        properties_column,
        events,
        roles,
    })
}

fn check_role(v: &mut V, r: &S<String>) -> bool {
    if ROLE_NAMES.contains(&r.value.as_str()) {
        return true;
    }
    let help = match suggest(&r.value, &ROLE_NAMES) {
        Some(s) => format!("did you mean `{s}`? roles: {}", ROLE_NAMES.join(", ")),
        None => format!("roles: {}", ROLE_NAMES.join(", ")),
    };
    v.err(
        "chx::schema::unknown_role",
        r.span,
        format!("unknown role `{}`", r.value),
        help,
    );
    false
}
