//! A report's floor: the least any SQL answering it must do. For every stored table the report
//! scans (in CTEs and subqueries too), read the columns it reads there, under the conditions of
//! its WHERE that name only that table's columns, and compute nothing:
//! `count() … WHERE … AND NOT ignore(columns)`. The scans run as one UNION ALL. Benchmarks
//! divide a report's time by its floor's: what the report costs beyond reading its data.
//!
//! Conditions that need another query (`x IN (SELECT …)`, `x IN cte`) or a computed alias are
//! left out, so a floor may read more rows than its report: it bounds the reading, not the
//! filtering.

use std::collections::BTreeSet;

use super::Report;
use super::ast::*;
use super::context::Context;

/// The floor of `report`, `None` for a report chx did not build (a template's raw SQL) or one
/// that scans no stored table.
pub fn floor(report: &Report, ctx: &Context) -> Option<Report> {
    let mut scans = Vec::new();
    collect(&report.query, ctx, &BTreeSet::new(), &mut scans).ok()?;
    let mut parts = scans.into_iter().map(|s| s.select());
    let first = parts.next()?;
    let union = parts.fold(first, |u, s| u.union_all(s));
    Some(Report {
        name: format!("{}.floor", report.name),
        query: Select::new()
            .item(func("sum", [col("rows")]).alias("rows"))
            .from(TableRef::subquery(union, "scans")),
        params: report.params.clone(),
    })
}

/// One read of a stored table: the table (with the report's alias), the conditions kept and
/// the columns read, each once.
struct Scan {
    table: TableRef,
    filter: Vec<Expr>,
    columns: Vec<Expr>,
}

impl Scan {
    fn select(self) -> Select {
        let mut q = Select::new()
            .item(func("count", []).alias("rows"))
            .from(self.table);
        for f in self.filter {
            q = q.filter(f);
        }
        if !self.columns.is_empty() {
            q = q.filter(Expr::Not(Box::new(func("ignore", self.columns))));
        }
        q
    }
}

/// A query chx cannot see into (raw text).
struct Opaque;

fn collect(
    q: &Select,
    ctx: &Context,
    ctes: &BTreeSet<String>,
    out: &mut Vec<Scan>,
) -> Result<(), Opaque> {
    if q.raw.is_some() {
        return Err(Opaque);
    }
    // CTE names shadow tables inside this query.
    let mut ctes = ctes.clone();
    for w in &q.with {
        if let With::Cte(name, body) | With::Scalar(name, body) = w {
            collect(body, ctx, &ctes, out)?;
            ctes.insert(name.to_string());
        }
    }
    let exprs = || select_exprs(q);
    if let Some(from) = &q.from {
        match from {
            TableRef::Table { name, alias, .. } if !ctes.contains(name.as_str()) => {
                if let Some(table) = ctx.schema.table(name) {
                    let alias = alias.as_ref().map(Name::as_str);
                    let is_column = |path: &[Name]| -> bool {
                        match path {
                            [c] => table.column(c).is_some(),
                            [a, c, ..] if Some(a.as_str()) == alias => table.column(c).is_some(),
                            [c, _, ..] if alias.is_none() => table.column(c).is_some(),
                            _ => false,
                        }
                    };
                    let mut columns: Vec<Expr> = Vec::new();
                    let mut seen = BTreeSet::new();
                    for e in exprs() {
                        e.walk(&mut |x| {
                            if let Some(p) = column_path(x)
                                && is_column(p)
                                && seen.insert(x.to_string())
                            {
                                columns.push(x.clone());
                            }
                        });
                    }
                    let mut filter = Vec::new();
                    for cond in q.prewhere.iter().chain(q.filter.as_ref()) {
                        for c in conjuncts(cond) {
                            if only_columns(c, &is_column) {
                                filter.push(c.clone());
                            }
                        }
                    }
                    out.push(Scan {
                        table: from.clone(),
                        filter,
                        columns,
                    });
                }
            }
            TableRef::Subquery { query, .. } => collect(query, ctx, &ctes, out)?,
            TableRef::Table { .. } => {}
        }
    }
    for j in &q.joins {
        if let TableRef::Subquery { query, .. } = &j.table {
            collect(query, ctx, &ctes, out)?;
        }
    }
    for e in exprs() {
        let mut nested = Vec::new();
        e.walk(&mut |x| {
            if let Expr::Subquery(s) = x {
                nested.push(&**s);
            }
        });
        for s in nested {
            collect(s, ctx, &ctes, out)?;
        }
    }
    for u in &q.union_all {
        collect(u, ctx, &ctes, out)?;
    }
    Ok(())
}

/// Every expression of a query's own clauses (not of its CTEs or FROM subqueries).
fn select_exprs(q: &Select) -> impl Iterator<Item = &Expr> {
    q.items
        .iter()
        .map(|i| &i.expr)
        .chain(q.with.iter().filter_map(|w| match w {
            With::Expr(_, e) => Some(e),
            _ => None,
        }))
        .chain(q.array_join.iter().map(|i| &i.expr))
        .chain(q.prewhere.iter())
        .chain(q.filter.iter())
        .chain(q.group_by.iter())
        .chain(q.having.iter())
        .chain(q.order_by.iter().map(|o| &o.expr))
        .chain(q.limit_by.iter().flat_map(|b| b.1.iter()))
        .chain(q.joins.iter().filter_map(|j| j.on.as_ref()))
}

fn column_path(e: &Expr) -> Option<&[Name]> {
    match e {
        Expr::Col(c) => Some(std::slice::from_ref(c)),
        Expr::Path(p) => Some(p),
        _ => None,
    }
}

/// `a AND b AND c` as `[a, b, c]`.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Bin {
            op: BinOp::And,
            sides,
        } => {
            let mut v = conjuncts(&sides[0]);
            v.extend(conjuncts(&sides[1]));
            v
        }
        e => vec![e],
    }
}

/// True when `e` names nothing but the scanned table's columns (and holds no subquery).
fn only_columns(e: &Expr, is_column: &dyn Fn(&[Name]) -> bool) -> bool {
    let mut ok = true;
    e.walk(&mut |x| match x {
        Expr::Subquery(_) => ok = false,
        x => {
            if let Some(p) = column_path(x)
                && !is_column(p)
            {
                ok = false;
            }
        }
    });
    ok
}
