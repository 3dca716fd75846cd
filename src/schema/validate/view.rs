//! Materialized views: explode_array, explode_map, rollup and hand-written SQL.

use super::{Scope, V, byte_of};
use crate::schema::decode::{S, suggest};
use crate::schema::expr;
use crate::schema::ir::*;
use crate::schema::model::*;
use crate::schema::types::ChType;

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
    if found.is_none() && !v.broken_tables.contains(&name.value) {
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
        if let Some(src_ty) = scope.type_of(&e.value)
            && !src_ty.fits_into(&tcol.ty)
        {
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
        out.push((col.value.clone(), e.value.clone()));
    }
    out
}

pub(super) fn view(v: &mut V, d: &ViewDef, tables: &[Table]) -> Option<(View, Option<Table>)> {
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
            if v.broken_tables.contains(&name) {
                continue;
            }
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
            (Some(e), ty) => match argument_type(v, scope, &m.name.value, e, ty.as_ref(), "type") {
                Argument::Typed(t) => Some(t),
                Argument::Untyped => continue,
                Argument::BadType => return None,
            },
        };
        let two = Measure::TWO_ARGUMENTS.contains(&m.agg.value.as_str());
        let by_ty = match (&m.by, two) {
            (None, false) => None,
            (None, true) => {
                v.err(
                    "chx::schema::missing_field",
                    m.name.span,
                    format!("measure `{}` ({}) needs `by`", m.name.value, m.agg.value),
                    "say what the value is taken at the least or greatest of, e.g. `by: timestamp`",
                );
                continue;
            }
            (Some(b), false) => {
                v.err(
                    "chx::schema::unknown_field",
                    b.span,
                    format!(
                        "measure `{}`: `by` applies only to {}",
                        m.name.value,
                        Measure::TWO_ARGUMENTS.join(" and ")
                    ),
                    "remove `by`",
                );
                continue;
            }
            (Some(b), true) => {
                match argument_type(v, scope, &m.name.value, b, m.by_ty.as_ref(), "by_type") {
                    Argument::Typed(t) => Some(t),
                    Argument::Untyped => continue,
                    Argument::BadType => return None,
                }
            }
        };
        measures.push(Measure {
            name: m.name.value.clone(),
            agg: m.agg.value.clone(),
            expr: m.expr.as_ref().map(|e| e.value.clone()),
            arg_ty,
            by: m.by.as_ref().map(|b| b.value.clone()),
            by_ty,
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
/// What [`argument_type`] found.
enum Argument {
    Typed(ChType),
    /// Neither declared nor inferable (reported).
    Untyped,
    /// The declared type does not parse (reported).
    BadType,
}

/// The type of a rollup measure's argument `e`: the one declared under `type_key`, else the
/// one inferred; an argument with neither is reported.
fn argument_type(
    v: &mut V,
    scope: &Scope,
    measure: &str,
    e: &S<String>,
    declared: Option<&S<String>>,
    type_key: &str,
) -> Argument {
    v.check_expr(e, &format!("measure `{measure}`"), scope, false);
    let what = if type_key == "type" {
        format!("measure `{measure}`")
    } else {
        format!("measure `{measure}`'s `by`")
    };
    match (declared, scope.type_of(&e.value)) {
        (Some(t), _) => v.parse_type(t).map_or(Argument::BadType, Argument::Typed),
        (None, Some(t)) => Argument::Typed(t),
        (None, None) => {
            v.err(
                "chx::schema::rollup_type_needed",
                e.span,
                format!("cannot tell the type of {what}"),
                format!("add `{type_key}: ...` with the expression's ClickHouse type"),
            );
            Argument::Untyped
        }
    }
}

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
