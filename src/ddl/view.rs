//! `CREATE MATERIALIZED VIEW ... TO ...` for each view kind, and the `-Merge` query that reads a
//! rollup back.

use super::{DdlOptions, DdlStatement, ObjectKind};
use crate::schema::Schema;
use crate::schema::ir::{Rollup, View, ViewKind};
use crate::sql::{Statement, quote};

/// The view's SELECT (what it writes into its target for each inserted block).
fn view_select(v: &View, schema: &Schema, opts: &DdlOptions) -> String {
    let source = opts.qualify(&opts.storage_name(&v.source));
    match &v.kind {
        ViewKind::ExplodeArray {
            array,
            element,
            columns,
            filter,
        } => {
            let target_order = target_order(schema, &v.target, columns);
            format!(
                "SELECT\n    {}\nFROM {source}\nARRAY JOIN\n    {} AS {},\n    arrayEnumerate({}) AS {}{}",
                select_list(&target_order),
                quote::ident(array),
                quote::ident(element),
                quote::ident(array),
                quote::ident(&format!("{element}_index")),
                where_clause(filter)
            )
        }
        ViewKind::ExplodeMap {
            map,
            key_column,
            value_column,
            columns,
            filter,
        } => {
            let mut cols = target_order(schema, &v.target, columns);
            cols.push((key_column.clone(), key_column.clone()));
            cols.push((value_column.clone(), value_column.clone()));
            format!(
                "SELECT\n    {}\nFROM {source}\nARRAY JOIN\n    mapKeys({m}) AS {},\n    mapValues({m}) AS {}{}",
                select_list(&cols),
                quote::ident(key_column),
                quote::ident(value_column),
                where_clause(filter),
                m = quote::ident(map),
            )
        }
        ViewKind::Rollup(r) => rollup_select(r, &source),
        ViewKind::Sql { select, tables } => qualify_refs(select, tables, opts),
    }
}

/// `INSERT INTO target (columns) SELECT ...`: what the view would have written for the rows
/// its source already holds, for a view created over a table with data. `None` for hand-written
/// SQL views, whose output columns chx does not know.
pub fn view_backfill(schema: &Schema, view: &str, opts: &DdlOptions) -> Option<String> {
    let v = schema.views.iter().find(|v| v.name == view)?;
    let columns: Vec<String> = match &v.kind {
        ViewKind::ExplodeArray { columns, .. } => target_order(schema, &v.target, columns)
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        ViewKind::ExplodeMap {
            key_column,
            value_column,
            columns,
            ..
        } => target_order(schema, &v.target, columns)
            .into_iter()
            .map(|(name, _)| name)
            .chain([key_column.clone(), value_column.clone()])
            .collect(),
        ViewKind::Rollup(r) => r
            .dimensions
            .iter()
            .map(|d| d.name.clone())
            .chain(r.measures.iter().map(|m| m.name.clone()))
            .collect(),
        ViewKind::Sql { .. } => return None,
    };
    Some(format!(
        "INSERT INTO {} ({})
{}",
        opts.qualify(&opts.storage_name(&v.target)),
        columns
            .iter()
            .map(|c| quote::ident(c))
            .collect::<Vec<_>>()
            .join(", "),
        view_select(v, schema, opts)
    ))
}

pub(super) fn create_view(v: &View, schema: &Schema, opts: &DdlOptions) -> DdlStatement {
    let select = view_select(v, schema, opts);
    let mut sql = format!(
        "CREATE MATERIALIZED VIEW{} {}{} TO {}\nAS {select}",
        opts.ine(),
        opts.qualify(&v.name),
        opts.on_cluster(),
        opts.qualify(&opts.storage_name(&v.target)),
    );
    if let Some(c) = &v.comment {
        sql.push_str(&format!("\nCOMMENT {}", quote::string_literal(c)));
    }
    DdlStatement {
        kind: ObjectKind::MaterializedView,
        name: v.name.clone(),
        sql,
    }
}

/// Mappings in the target table's column order, so the SELECT reads like the table.
fn target_order(
    schema: &Schema,
    target: &str,
    columns: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(t) = schema.table(target) {
        for c in &t.columns {
            if let Some(m) = columns.iter().find(|(name, _)| *name == c.name) {
                out.push(m.clone());
            }
        }
    }
    out
}

fn select_list(cols: &[(String, String)]) -> String {
    cols.iter()
        .map(|(name, expr)| {
            if expr == name || quote::ident(name) == *expr {
                quote::ident(name)
            } else {
                format!("{expr} AS {}", quote::ident(name))
            }
        })
        .collect::<Vec<_>>()
        .join(",\n    ")
}

fn where_clause(filter: &Option<String>) -> String {
    filter
        .as_ref()
        .map(|f| format!("\nWHERE {f}"))
        .unwrap_or_default()
}

/// A rollup's `INSERT INTO target (columns) SELECT ...` over only the source rows `condition`
/// (SQL over the source's columns) keeps, besides the rollup's own `where`: what the view would
/// have written for them (rebuilding some days of a rollup). `None` for other view kinds.
pub fn rollup_refill(
    schema: &Schema,
    view: &str,
    opts: &DdlOptions,
    condition: &str,
) -> Option<String> {
    let v = schema.views.iter().find(|v| v.name == view)?;
    let ViewKind::Rollup(r) = &v.kind else {
        return None;
    };
    let filter = Some(match &r.filter {
        Some(f) => format!("({f}) AND ({condition})"),
        None => condition.to_string(),
    });
    let restricted = Rollup {
        filter,
        ..r.clone()
    };
    let columns: Vec<String> = r
        .dimensions
        .iter()
        .map(|d| quote::ident(&d.name))
        .chain(r.measures.iter().map(|m| quote::ident(&m.name)))
        .collect();
    Some(format!(
        "INSERT INTO {} ({})\n{}",
        opts.qualify(&opts.storage_name(&v.target)),
        columns.join(", "),
        rollup_select(&restricted, &opts.qualify(&opts.storage_name(&v.source)))
    ))
}

fn rollup_select(r: &Rollup, source: &str) -> String {
    let mut items: Vec<String> = r
        .dimensions
        .iter()
        .map(|d| {
            if d.expr == d.name {
                quote::ident(&d.name)
            } else {
                format!("{} AS {}", d.expr, quote::ident(&d.name))
            }
        })
        .collect();
    items.extend(r.measures.iter().map(|m| {
        format!(
            "{}State({}) AS {}",
            m.agg,
            m.arguments(),
            quote::ident(&m.name)
        )
    }));
    let group: Vec<String> = r.dimensions.iter().map(|d| quote::ident(&d.name)).collect();
    format!(
        "SELECT\n    {}\nFROM {source}{}\nGROUP BY {}",
        items.join(",\n    "),
        where_clause(&r.filter),
        group.join(", ")
    )
}

/// Replace each checked table reference in a hand-written SELECT with its qualified name.
fn qualify_refs(select: &str, refs: &[crate::schema::ir::TableRef], opts: &DdlOptions) -> String {
    let mut out = String::with_capacity(select.len() + 32);
    let mut at = 0;
    let mut sorted: Vec<_> = refs.iter().collect();
    sorted.sort_by_key(|r| r.offset);
    for r in sorted {
        out.push_str(&select[at..r.offset]);
        out.push_str(&opts.qualify(&opts.storage_name(&r.table)));
        at = r.offset + r.len;
    }
    out.push_str(&select[at..]);
    out.trim_end().to_string()
}

/// The query that reads a rollup's merged values: one row per dimension combination.
pub fn rollup_read_query(schema: &Schema, view: &str, opts: &DdlOptions) -> Option<Statement> {
    let v = schema.view(view)?;
    let ViewKind::Rollup(r) = &v.kind else {
        return None;
    };
    let mut items: Vec<String> = r.dimensions.iter().map(|d| quote::ident(&d.name)).collect();
    items.extend(r.measures.iter().map(|m| {
        format!(
            "{}Merge({}) AS {}",
            m.agg,
            quote::ident(&m.name),
            quote::ident(&m.name)
        )
    }));
    let dims: Vec<String> = r.dimensions.iter().map(|d| quote::ident(&d.name)).collect();
    // Distributed in cluster mode: read through the plain name.
    let table = opts.qualify(&v.target);
    Some(Statement::new(format!(
        "SELECT\n    {}\nFROM {table}\nGROUP BY {}\nORDER BY {}",
        items.join(",\n    "),
        dims.join(", "),
        dims.join(", ")
    )))
}
