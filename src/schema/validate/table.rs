//! Tables: columns, types, engine, keys, TTL, indexes.

use crate::diag::Span;

use super::{Scope, V, byte_of};
use crate::schema::decode::{S, suggest};
use crate::schema::expr;
use crate::schema::ir::*;
use crate::schema::model::*;
use crate::schema::types::ChType;

pub(super) fn table(v: &mut V, t: &TableDef) -> Option<Table> {
    let mut columns: Vec<Column> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
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
            unreadable.push(c.name.value.clone());
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
    if t.columns.is_empty() && t.columns_given {
        v.err(
            "chx::schema::no_columns",
            t.name.span,
            format!("table `{}` has no columns", t.name.value),
            "add at least one column under `columns:`",
        );
    }
    let what = format!("table `{}`", t.name.value);
    let mut scope = Scope::of_columns(what.clone(), &columns);
    scope.unreadable = t.columns_given.then_some(unreadable);
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
        if let [n] = names.as_slice()
            && let Ok(Some(ty)) = scope.resolve(&n.parts)
            && ty.is_nullable()
        {
            v.err("chx::schema::nullable_key", e.span, format!("sorting key column `{}` is {ty}", n.parts.join(".")), "sorting keys cannot be Nullable: make the column non-Nullable with a default (e.g. '' or 0), or wrap it: `ifNull(col, '')`");
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
    // ClickHouse refuses projections on deduplicating engines unless told what to do with them.
    let dedup_engine = matches!(
        engine,
        Some(
            TableEngine::ReplacingMergeTree { .. }
                | TableEngine::CollapsingMergeTree { .. }
                | TableEngine::VersionedCollapsingMergeTree { .. }
        )
    );
    let mode_set = t
        .settings
        .iter()
        .any(|(k, _)| k.value == "deduplicate_merge_projection_mode");
    if dedup_engine
        && !mode_set
        && let Some(p) = t.projections.first()
    {
        v.err(
            "chx::schema::projection_needs_mode",
            p.name.span,
            format!("projection `{}` on a deduplicating engine needs `deduplicate_merge_projection_mode`", p.name.value),
            "add `settings: {deduplicate_merge_projection_mode: rebuild}` (or `drop`) to the table",
        );
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

fn check_sub_expr(v: &mut V, s: &S<String>, what: &str, scope: &Scope) {
    // The sub-expression's span already points inside the parent; check without re-offsetting.
    match expr::parse(&s.value, true) {
        Ok(parsed) => {
            for n in expr::names(&parsed, &s.value) {
                if let Err(u) = scope.resolve(&n.parts) {
                    let span = if s.value.contains('\n') {
                        s.span
                    } else {
                        Span::new(s.span.offset + byte_of(&s.value, n.offset), n.len.max(1))
                    };
                    v.err(
                        "chx::schema::unknown_column",
                        span,
                        format!("{what} uses {}", u.message),
                        scope.help_for(&u),
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
