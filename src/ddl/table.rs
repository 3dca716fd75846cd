//! `CREATE TABLE` for MergeTree-family tables and their Distributed fronts.

use super::{DdlOptions, DdlStatement, ObjectKind};
use crate::schema::ir::{Column, ColumnDefault, Table};
use crate::sql::quote;

pub(super) fn create_table(t: &Table, opts: &DdlOptions) -> DdlStatement {
    let name = opts.storage_name(&t.name);
    let mut body: Vec<String> = t.columns.iter().map(column).collect();
    for i in &t.indexes {
        body.push(format!(
            "INDEX {} {} TYPE {} GRANULARITY {}",
            quote::ident(&i.name),
            i.expr,
            i.kind,
            i.granularity
        ));
    }
    for p in &t.projections {
        body.push(format!(
            "PROJECTION {} ({})",
            quote::ident(&p.name),
            p.query
        ));
    }
    let mut sql = format!(
        "CREATE TABLE{} {}{}\n(\n    {}\n)\nENGINE = {}",
        opts.ine(),
        opts.qualify(&name),
        opts.on_cluster(),
        body.join(",\n    "),
        engine(t, opts)
    );
    if let Some(p) = &t.partition_by {
        sql.push_str(&format!("\nPARTITION BY {p}"));
    }
    if !t.primary_key.is_empty() {
        sql.push_str(&format!("\nPRIMARY KEY {}", key_tuple(&t.primary_key)));
    }
    sql.push_str(&format!("\nORDER BY {}", key_tuple(&t.order_by)));
    if let Some(s) = &t.sample_by {
        sql.push_str(&format!("\nSAMPLE BY {s}"));
    }
    if let Some(ttl) = &t.ttl {
        sql.push_str(&format!("\nTTL {ttl}"));
    }
    if !t.settings.is_empty() {
        let settings: Vec<String> = t
            .settings
            .iter()
            .map(|(k, v)| format!("{} = {}", quote::ident(k), setting_value(v)))
            .collect();
        sql.push_str(&format!("\nSETTINGS {}", settings.join(", ")));
    }
    if let Some(c) = &t.comment {
        sql.push_str(&format!("\nCOMMENT {}", quote::string_literal(c)));
    }
    DdlStatement {
        kind: ObjectKind::Table,
        name,
        sql,
    }
}

/// `(a, b)` for several keys, `a` for one, `tuple()` for none.
fn key_tuple(keys: &[String]) -> String {
    match keys {
        [] => "tuple()".into(),
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    }
}

/// Numbers and booleans bare, anything else as a string literal.
fn setting_value(v: &str) -> String {
    if v.parse::<f64>().is_ok() || v == "true" || v == "false" {
        v.to_string()
    } else {
        quote::string_literal(v)
    }
}

fn column(c: &Column) -> String {
    let mut s = format!("{} {}", quote::ident(&c.name), c.ty);
    match &c.default {
        ColumnDefault::None => {}
        ColumnDefault::Default(e) => s.push_str(&format!(" DEFAULT {e}")),
        ColumnDefault::Materialized(e) => s.push_str(&format!(" MATERIALIZED {e}")),
        ColumnDefault::Alias(e) => s.push_str(&format!(" ALIAS {e}")),
    }
    if let Some(comment) = &c.comment {
        s.push_str(&format!(" COMMENT {}", quote::string_literal(comment)));
    }
    if let Some(codec) = &c.codec {
        let inner = codec
            .trim()
            .strip_prefix("CODEC(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(codec.trim());
        s.push_str(&format!(" CODEC({inner})"));
    }
    if let Some(ttl) = &c.ttl {
        s.push_str(&format!(" TTL {ttl}"));
    }
    s
}

fn engine(t: &Table, opts: &DdlOptions) -> String {
    let mut params = t.engine.params();
    let kind = if opts.cluster.is_some() {
        // `{database}`/`{table}` expand when the table is created, so each table gets its own
        // Keeper path; `{shard}`/`{replica}` come from each server's macros.
        let mut replicated = vec![
            quote::string_literal("/clickhouse/tables/{shard}/{database}/{table}"),
            quote::string_literal("{replica}"),
        ];
        replicated.append(&mut params);
        params = replicated;
        format!("Replicated{}", t.engine.kind())
    } else {
        t.engine.kind().to_string()
    };
    format!("{kind}({})", params.join(", "))
}

pub(super) fn create_distributed(t: &Table, opts: &DdlOptions) -> DdlStatement {
    let cluster = opts.cluster.as_deref().unwrap_or_default();
    let database = match &opts.database {
        Some(db) => quote::string_literal(db),
        None => "currentDatabase()".to_string(),
    };
    let key = t.shard_key.clone().unwrap_or_else(|| "rand()".to_string());
    let sql = format!(
        "CREATE TABLE{} {}{}\nAS {}\nENGINE = Distributed({}, {}, {}, {})",
        opts.ine(),
        opts.qualify(&t.name),
        opts.on_cluster(),
        opts.qualify(&opts.storage_name(&t.name)),
        quote::string_literal(cluster),
        database,
        quote::string_literal(&opts.storage_name(&t.name)),
        key
    );
    DdlStatement {
        kind: ObjectKind::DistributedTable,
        name: t.name.clone(),
        sql,
    }
}
