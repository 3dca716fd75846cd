//! The pure part of migrations: old schema state + new schema → an ordered plan of statements,
//! each marked safe or not and destructive or not. No database involved.
//!
//! Order: views that change or go away are dropped first; then tables are created, altered or
//! rebuilt; then removed tables are dropped; then new and changed views are created (after what
//! they read from and write to).

use std::collections::BTreeSet;

use crate::ddl::{self, DdlOptions};
use crate::schema::Schema;
use crate::schema::ir::{Column, Table};
use crate::schema::types::ChType;
use crate::sql::quote;

/// One statement of a plan.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Step {
    pub sql: String,
    /// Why the step needs care (shown in the migration header); `None` for safe steps.
    pub unsafe_reason: Option<String>,
    /// Drops or narrows data: refused unless `--allow-destructive`.
    pub destructive: bool,
    /// Resuming at this step must restart at that (0-based) step: a copy that failed
    /// part-way has to start again from an empty table.
    pub restart_at: Option<usize>,
}

impl Step {
    fn safe(sql: String) -> Step {
        Step {
            sql,
            unsafe_reason: None,
            destructive: false,
            restart_at: None,
        }
    }
    fn destructive(sql: String, why: String) -> Step {
        Step {
            sql,
            unsafe_reason: Some(why),
            destructive: true,
            restart_at: None,
        }
    }
}

/// A migration plan and a one-line summary per change.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Plan {
    pub changes: Vec<String>,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

fn q(opts: &DdlOptions, name: &str) -> String {
    opts.qualify(name)
}

/// Widening type changes ClickHouse does without losing values.
fn widens(from: &ChType, to: &ChType) -> bool {
    use ChType::*;
    if from == to {
        return true;
    }
    match (from, to) {
        (LowCardinality(a), b) => widens(a, b),
        (a, LowCardinality(b)) => widens(a, b),
        (a, Nullable(b)) if !matches!(a, Nullable(_)) => widens(a, b),
        (Int(a), Int(b)) | (UInt(a), UInt(b)) => b >= a,
        (UInt(a), Int(b)) => b > a,
        (Float32, Float64) => true,
        (Int(a), Float64) | (UInt(a), Float64) => *a <= 32,
        (Date, Date32) => true,
        (DateTime { .. }, DateTime64 { .. }) => true,
        (
            Decimal {
                precision: p1,
                scale: s1,
            },
            Decimal {
                precision: p2,
                scale: s2,
            },
        ) => s2 >= s1 && p2 - s2 >= p1 - s1,
        (FixedString(_), String) => true,
        (Enum8(a), Enum8(b)) | (Enum16(a), Enum16(b)) => a.iter().all(|x| b.contains(x)),
        (Array(a), Array(b)) => widens(a, b),
        _ => false,
    }
}

fn column_def(c: &Column) -> String {
    // Reuse the DDL compiler's rendering of one column through a one-column table.
    let t = Table {
        name: "x".into(),
        comment: None,
        columns: vec![c.clone()],
        engine: crate::schema::ir::TableEngine::MergeTree,
        order_by: vec![],
        primary_key: vec![],
        partition_by: None,
        sample_by: None,
        ttl: None,
        indexes: vec![],
        projections: vec![],
        settings: vec![],
        shard_key: None,
        generated_by: None,
    };
    let sql = ddl::compile(
        &Schema {
            tables: vec![t],
            views: vec![],
            ..empty_schema()
        },
        &DdlOptions::new(),
    )[0]
    .sql
    .clone();
    let start = sql.find("(\n    ").map(|i| i + 6).unwrap_or(0);
    let end = sql[start..]
        .find("\n)")
        .map(|i| start + i)
        .unwrap_or(sql.len());
    sql[start..end].to_string()
}

fn empty_schema() -> Schema {
    Schema {
        name: String::new(),
        database: String::new(),
        timezone: "UTC".into(),
        retention_days: None,
        base_currency: "USD".into(),
        currencies: Default::default(),
        tables: vec![],
        views: vec![],
        taxonomy: None,
    }
}

/// Whether a table change needs a rebuild (new table, copy, exchange): engine, partitioning,
/// primary key, sampling, or an ORDER BY change other than appending newly added columns.
fn rebuild_reason(old: &Table, new: &Table) -> Option<String> {
    if old.engine != new.engine {
        return Some(format!(
            "engine {} → {}",
            old.engine.kind(),
            new.engine.kind()
        ));
    }
    if old.partition_by != new.partition_by {
        return Some("PARTITION BY changed".into());
    }
    if old.primary_key != new.primary_key
        && !(old.primary_key.is_empty() && new.primary_key.is_empty())
    {
        return Some("PRIMARY KEY changed".into());
    }
    if old.sample_by != new.sample_by {
        return Some("SAMPLE BY changed".into());
    }
    if old.order_by != new.order_by {
        let appended = new.order_by.starts_with(&old.order_by)
            && new.order_by[old.order_by.len()..]
                .iter()
                .all(|k| new.column(k).is_some() && old.column(k).is_none());
        if !appended {
            return Some(format!(
                "ORDER BY ({}) → ({})",
                old.order_by.join(", "),
                new.order_by.join(", ")
            ));
        }
    }
    None
}

/// Diff two schemas into a plan. `opts` decides qualification and cluster mode.
pub fn plan(old: &Schema, new: &Schema, opts: &DdlOptions) -> Plan {
    let mut p = Plan::default();
    let cluster = opts.on_cluster();
    let old_views = ddl::compile(
        &Schema {
            tables: old.tables.clone(),
            ..old.clone()
        },
        opts,
    );
    let new_views = ddl::compile(new, opts);
    let view_sql = |stmts: &[ddl::DdlStatement], name: &str| {
        stmts
            .iter()
            .find(|s| s.name == name && s.kind == ddl::ObjectKind::MaterializedView)
            .map(|s| s.sql.clone())
    };
    let rebuilt: BTreeSet<String> = new
        .tables
        .iter()
        .filter_map(|t| {
            old.table(&t.name)
                .and_then(|o| rebuild_reason(o, t))
                .map(|_| t.name.clone())
        })
        .collect();
    // 1. Views that go away or change (or whose tables are rebuilt) are dropped first.
    let mut recreate = Vec::new();
    for v in &old.views {
        let new_sql = view_sql(&new_views, &v.name);
        let touches_rebuild = rebuilt.contains(&v.source) || rebuilt.contains(&v.target);
        if new_sql.is_none() || new_sql != view_sql(&old_views, &v.name) || touches_rebuild {
            p.steps.push(Step::safe(format!(
                "DROP VIEW IF EXISTS {}{cluster}",
                q(opts, &v.name)
            )));
            if new_sql.is_some() {
                recreate.push(v.name.clone());
                p.changes.push(format!("view {}: recreated", v.name));
            } else {
                p.changes.push(format!("view {}: dropped", v.name));
            }
        }
    }
    // 2. Tables: created, altered or rebuilt.
    for t in &new.tables {
        match old.table(&t.name) {
            None => {
                let stmt = new_views
                    .iter()
                    .find(|s| {
                        s.name == opts.storage_name(&t.name) && s.kind == ddl::ObjectKind::Table
                    })
                    .expect("compiled");
                p.steps.push(Step::safe(
                    stmt.sql
                        .replacen("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
                        .replace("IF NOT EXISTS IF NOT EXISTS", "IF NOT EXISTS"),
                ));
                if let Some(dist) = distributed(&new_views, &t.name) {
                    p.steps.push(Step::safe(dist));
                }
                p.changes.push(format!("table {}: created", t.name));
            }
            Some(o) => match rebuild_reason(o, t) {
                Some(why) => rebuild(&mut p, o, t, &why, opts, &new_views),
                None => alter(&mut p, o, t, opts),
            },
        }
    }
    // 3. Tables that went away.
    for t in &old.tables {
        if new.table(&t.name).is_none() {
            if opts.cluster.is_some() {
                p.steps.push(Step::safe(format!(
                    "DROP TABLE IF EXISTS {}{cluster}",
                    q(opts, &t.name)
                )));
            }
            p.steps.push(Step::destructive(
                format!(
                    "DROP TABLE IF EXISTS {}{cluster}",
                    q(opts, &opts.storage_name(&t.name))
                ),
                format!("drops table {} and its data", t.name),
            ));
            p.changes.push(format!("table {}: dropped", t.name));
        }
    }
    // 4. New and changed views, after their tables. A new view whose target is new but whose
    //    source already holds rows would start from an empty target: its target is filled
    //    from the existing rows first (single node; a cluster needs it on every shard).
    for v in &new.views {
        let is_new = old.view(&v.name).is_none();
        if is_new || recreate.contains(&v.name) {
            if is_new {
                p.changes.push(format!("view {}: created", v.name));
            }
            let fills_from_history =
                is_new && old.table(&v.target).is_none() && old.table(&v.source).is_some();
            if fills_from_history {
                match ddl::view_backfill(new, &v.name, opts).filter(|_| opts.cluster.is_none()) {
                    Some(insert) => {
                        let first = p.steps.len();
                        p.steps.push(Step::safe(format!(
                            "TRUNCATE TABLE IF EXISTS {}",
                            q(opts, &opts.storage_name(&v.target))
                        )));
                        p.steps.push(Step {
                            sql: insert,
                            unsafe_reason: Some(format!(
                                "fills {} from the rows {} already holds; rows written to {} between this step and the next are missing from it: pause writers",
                                v.target, v.source, v.source
                            )),
                            destructive: false,
                            restart_at: Some(first),
                        });
                        p.changes.push(format!(
                            "table {}: filled from the existing rows of {}",
                            v.target, v.source
                        ));
                    }
                    None => p.changes.push(format!(
                        "view {}: only rows inserted from now on reach {}; fill it from the existing rows of {} by hand",
                        v.name, v.target, v.source
                    )),
                }
            }
            let sql = view_sql(&new_views, &v.name).expect("compiled");
            p.steps.push(Step::safe(
                sql.replacen(
                    "CREATE MATERIALIZED VIEW ",
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS ",
                    1,
                )
                .replace("IF NOT EXISTS IF NOT EXISTS", "IF NOT EXISTS"),
            ));
        }
    }
    p
}

/// The Distributed front of a table in cluster mode (`CREATE ... IF NOT EXISTS`), if any.
fn distributed(compiled: &[ddl::DdlStatement], name: &str) -> Option<String> {
    compiled
        .iter()
        .find(|s| s.name == name && s.kind == ddl::ObjectKind::DistributedTable)
        .map(|s| {
            s.sql
                .replacen("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
                .replace("IF NOT EXISTS IF NOT EXISTS", "IF NOT EXISTS")
        })
}

fn alter(p: &mut Plan, old: &Table, new: &Table, opts: &DdlOptions) {
    let table = q(opts, &opts.storage_name(&new.name));
    let cluster = opts.on_cluster();
    let alter = |what: String| format!("ALTER TABLE {table}{cluster} {what}");
    // In cluster mode the Distributed front gets the same column changes.
    let front = opts.cluster.as_ref().map(|_| q(opts, &new.name));
    let mirror = |p: &mut Plan, what: &str, destructive: Option<String>| {
        if let Some(f) = &front {
            let sql = format!("ALTER TABLE {f}{cluster} {what}");
            p.steps.push(match destructive {
                Some(why) => Step::destructive(sql, why),
                None => Step::safe(sql),
            });
        }
    };
    let renamed: Vec<(&str, &str)> = new
        .columns
        .iter()
        .filter_map(|c| {
            c.renamed_from
                .as_deref()
                .filter(|from| old.column(from).is_some() && old.column(&c.name).is_none())
                .map(|from| (from, c.name.as_str()))
        })
        .collect();
    // Column changes for the Distributed front, applied once the local table has them.
    let mut front_after: Vec<(String, Option<String>)> = Vec::new();
    for (from, to) in &renamed {
        let what = format!(
            "RENAME COLUMN IF EXISTS {} TO {}",
            quote::ident(from),
            quote::ident(to)
        );
        p.steps.push(Step::safe(alter(what.clone())));
        front_after.push((what, None));
        p.changes
            .push(format!("table {}: column {from} renamed to {to}", new.name));
    }
    let old_name = |c: &Column| {
        renamed
            .iter()
            .find(|(_, to)| *to == c.name)
            .map_or(c.name.clone(), |(from, _)| from.to_string())
    };
    // New columns appended to the sorting key must be added in the same ALTER as the key change.
    let key_columns: Vec<&str> = if old.order_by != new.order_by {
        new.order_by[old.order_by.len()..]
            .iter()
            .map(String::as_str)
            .collect()
    } else {
        Vec::new()
    };
    let mut with_key: Vec<String> = Vec::new();
    let mut prev: Option<&str> = None;
    for c in &new.columns {
        match old.column(&old_name(c)) {
            None => {
                let after = prev.map_or(" FIRST".to_string(), |p| {
                    format!(" AFTER {}", quote::ident(p))
                });
                let add = format!("ADD COLUMN IF NOT EXISTS {}{after}", column_def(c));
                if key_columns.contains(&c.name.as_str()) {
                    with_key.push(add.clone());
                } else {
                    p.steps.push(Step::safe(alter(add.clone())));
                }
                front_after.push((add, None));
                p.changes.push(format!(
                    "table {}: column {} added ({})",
                    new.name, c.name, c.ty
                ));
            }
            Some(oc) => {
                let mut oc = oc.clone();
                oc.name = c.name.clone();
                oc.renamed_from = c.renamed_from.clone();
                if oc != *c {
                    let what = format!("MODIFY COLUMN {}", column_def(c));
                    let narrowing = (oc.ty != c.ty && !widens(&oc.ty, &c.ty)).then(|| {
                        format!(
                            "narrows {}.{} from {} to {}: values may not fit",
                            new.name, c.name, oc.ty, c.ty
                        )
                    });
                    p.steps.push(match &narrowing {
                        Some(why) => Step::destructive(alter(what.clone()), why.clone()),
                        None => Step::safe(alter(what.clone())),
                    });
                    if oc.ty != c.ty {
                        mirror(
                            p,
                            &format!("MODIFY COLUMN {} {}", quote::ident(&c.name), c.ty),
                            narrowing,
                        );
                    }
                    p.changes
                        .push(format!("table {}: column {} modified", new.name, c.name));
                }
            }
        }
        prev = Some(&c.name);
    }
    if old.order_by != new.order_by {
        let keys = if new.order_by.len() == 1 {
            new.order_by[0].clone()
        } else {
            format!("({})", new.order_by.join(", "))
        };
        with_key.push(format!("MODIFY ORDER BY {keys}"));
        p.steps.push(Step::safe(alter(with_key.join(", "))));
        p.changes.push(format!(
            "table {}: ORDER BY extended with new columns",
            new.name
        ));
    }
    for (what, why) in front_after {
        mirror(p, &what, why);
    }
    for c in &old.columns {
        let kept = new.columns.iter().any(|n| {
            n.name == c.name
                || renamed
                    .iter()
                    .any(|(from, to)| *from == c.name && *to == n.name)
        });
        if !kept {
            let what = format!("DROP COLUMN IF EXISTS {}", quote::ident(&c.name));
            mirror(p, &what, None);
            p.steps.push(Step::destructive(
                alter(what),
                format!("drops column {}.{} and its data", new.name, c.name),
            ));
            p.changes
                .push(format!("table {}: column {} dropped", new.name, c.name));
        }
    }
    // New and changed settings first: some allow what follows (a projection on a
    // ReplacingMergeTree needs `deduplicate_merge_projection_mode` set before it is added).
    for (k, v) in &new.settings {
        if !old.settings.iter().any(|(ok, ov)| ok == k && ov == v) {
            let value = if v.parse::<f64>().is_ok() {
                v.clone()
            } else {
                quote::string_literal(v)
            };
            p.steps.push(Step::safe(alter(format!(
                "MODIFY SETTING {} = {value}",
                quote::ident(k)
            ))));
            p.changes
                .push(format!("table {}: setting {k} = {v}", new.name));
        }
    }
    for i in &old.indexes {
        if !new.indexes.contains(i) {
            p.steps.push(Step::safe(alter(format!(
                "DROP INDEX IF EXISTS {}",
                quote::ident(&i.name)
            ))));
            p.changes
                .push(format!("table {}: index {} dropped", new.name, i.name));
        }
    }
    for i in &new.indexes {
        if !old.indexes.contains(i) {
            p.steps.push(Step::safe(alter(format!(
                "ADD INDEX IF NOT EXISTS {} {} TYPE {} GRANULARITY {}",
                quote::ident(&i.name),
                i.expr,
                i.kind,
                i.granularity
            ))));
            p.steps.push(Step::safe(alter(format!(
                "MATERIALIZE INDEX {}",
                quote::ident(&i.name)
            ))));
            p.changes
                .push(format!("table {}: index {} added", new.name, i.name));
        }
    }
    for pr in &old.projections {
        if !new.projections.contains(pr) {
            p.steps.push(Step::safe(alter(format!(
                "DROP PROJECTION IF EXISTS {}",
                quote::ident(&pr.name)
            ))));
            p.changes.push(format!(
                "table {}: projection {} dropped",
                new.name, pr.name
            ));
        }
    }
    for pr in &new.projections {
        if !old.projections.contains(pr) {
            p.steps.push(Step::safe(alter(format!(
                "ADD PROJECTION IF NOT EXISTS {} ({})",
                quote::ident(&pr.name),
                pr.query
            ))));
            p.steps.push(Step::safe(alter(format!(
                "MATERIALIZE PROJECTION {}",
                quote::ident(&pr.name)
            ))));
            p.changes
                .push(format!("table {}: projection {} added", new.name, pr.name));
        }
    }
    if old.ttl != new.ttl {
        match &new.ttl {
            Some(ttl) => p.steps.push(Step::safe(alter(format!("MODIFY TTL {ttl}")))),
            None => p.steps.push(Step::safe(alter("REMOVE TTL".into()))),
        }
        p.changes.push(format!("table {}: TTL changed", new.name));
    }
    for (k, _) in &old.settings {
        if !new.settings.iter().any(|(nk, _)| nk == k) {
            p.steps.push(Step::safe(alter(format!(
                "RESET SETTING {}",
                quote::ident(k)
            ))));
            p.changes
                .push(format!("table {}: setting {k} reset", new.name));
        }
    }
    if old.comment != new.comment {
        p.steps.push(Step::safe(alter(format!(
            "MODIFY COMMENT {}",
            quote::string_literal(new.comment.as_deref().unwrap_or(""))
        ))));
        p.changes
            .push(format!("table {}: comment changed", new.name));
    }
}

/// Create the new definition beside the old table, copy the rows, swap, drop the old copy.
fn rebuild(
    p: &mut Plan,
    old: &Table,
    new: &Table,
    why: &str,
    opts: &DdlOptions,
    compiled: &[ddl::DdlStatement],
) {
    let name = opts.storage_name(&new.name);
    let shadow = format!("{name}__chx_rebuild");
    let cluster = opts.on_cluster();
    let create = compiled
        .iter()
        .find(|s| s.name == name && s.kind == ddl::ObjectKind::Table)
        .expect("compiled")
        .sql
        .clone();
    let create = create
        .replacen(&q(opts, &name), &q(opts, &shadow), 1)
        .replacen("CREATE TABLE IF NOT EXISTS ", "CREATE TABLE ", 1);
    let why = format!(
        "rebuilds {} ({why}): copies every row into a new table and swaps it in; pause writers, rows inserted during the copy are not carried over",
        new.name
    );
    let first = p.steps.len();
    p.steps.push(Step::destructive(
        format!("DROP TABLE IF EXISTS {}{cluster}", q(opts, &shadow)),
        why.clone(),
    ));
    p.steps.push(Step {
        restart_at: Some(first),
        ..Step::destructive(create, why.clone())
    });
    let common: Vec<String> = new
        .columns
        .iter()
        .filter(|c| c.is_insertable())
        .filter_map(|c| {
            let from = c
                .renamed_from
                .as_deref()
                .filter(|f| old.column(f).is_some())
                .unwrap_or(&c.name);
            old.column(from).map(|_| (from.to_string(), c.name.clone()))
        })
        .map(|(from, to)| {
            if from == to {
                quote::ident(&to)
            } else {
                format!("{} AS {}", quote::ident(&from), quote::ident(&to))
            }
        })
        .collect();
    let targets: Vec<String> = new
        .columns
        .iter()
        .filter(|c| c.is_insertable())
        .filter(|c| {
            old.column(
                c.renamed_from
                    .as_deref()
                    .filter(|f| old.column(f).is_some())
                    .unwrap_or(&c.name),
            )
            .is_some()
        })
        .map(|c| quote::ident(&c.name))
        .collect();
    p.steps.push(Step {
        restart_at: Some(first),
        ..Step::destructive(
            format!(
                "INSERT INTO {} ({}) SELECT {} FROM {}",
                q(opts, &shadow),
                targets.join(", "),
                common.join(", "),
                q(opts, &name)
            ),
            why.clone(),
        )
    });
    p.steps.push(Step::destructive(
        format!(
            "EXCHANGE TABLES {} AND {}{cluster}",
            q(opts, &shadow),
            q(opts, &name)
        ),
        why.clone(),
    ));
    p.steps.push(Step::destructive(
        format!("DROP TABLE IF EXISTS {}{cluster}", q(opts, &shadow)),
        why,
    ));
    if opts.cluster.is_some()
        && let Some(dist) = distributed(compiled, &new.name)
    {
        // The front's columns follow the new definition.
        p.steps.push(Step::safe(format!(
            "DROP TABLE IF EXISTS {}{cluster}",
            q(opts, &new.name)
        )));
        p.steps.push(Step::safe(dist));
    }
    p.changes.push(format!("table {}: rebuilt", new.name));
}
