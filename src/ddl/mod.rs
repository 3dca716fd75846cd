//! Stage 3: validated schema → ClickHouse DDL statements, in dependency order.
//!
//! Single-node: `CREATE DATABASE`, tables, rollup targets, then materialized views (targets
//! exist before the views that write to them). Cluster mode (`--cluster NAME`): every statement
//! `ON CLUSTER`, MergeTree engines become `Replicated*` with `{shard}`/`{replica}` macros on
//! `<table>_local`, and a `Distributed` table under the plain name routes rows by the table's
//! `shard_key` so one person's events stay on one shard.

mod table;
mod view;

use std::fmt;

use serde::Serialize;

use crate::schema::Schema;
use crate::sql::{Statement, quote};

pub use view::{rollup_read_query, rollup_refill, view_backfill};

/// How to render DDL.
#[derive(Clone, Debug, Default)]
pub struct DdlOptions {
    /// Qualify every name with this database (and create it first).
    pub database: Option<String>,
    pub if_not_exists: bool,
    /// Render for a cluster: `ON CLUSTER`, Replicated engines, Distributed tables.
    pub cluster: Option<String>,
}

impl DdlOptions {
    pub fn new() -> Self {
        DdlOptions::default()
    }

    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = Some(db.into());
        self
    }

    pub fn if_not_exists(mut self, yes: bool) -> Self {
        self.if_not_exists = yes;
        self
    }

    pub fn cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// `db.name` or `name`.
    pub(crate) fn qualify(&self, name: &str) -> String {
        match &self.database {
            Some(db) => format!("{}.{}", quote::ident(db), quote::ident(name)),
            None => quote::ident(name),
        }
    }

    /// The physical table a logical name maps to (`events_local` in cluster mode).
    pub(crate) fn storage_name(&self, name: &str) -> String {
        if self.cluster.is_some() {
            format!("{name}_local")
        } else {
            name.to_string()
        }
    }

    pub(crate) fn on_cluster(&self) -> String {
        self.cluster
            .as_ref()
            .map(|c| format!(" ON CLUSTER {}", quote::ident(c)))
            .unwrap_or_default()
    }

    pub(crate) fn ine(&self) -> &'static str {
        if self.if_not_exists {
            " IF NOT EXISTS"
        } else {
            ""
        }
    }
}

/// What a statement creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Database,
    Table,
    DistributedTable,
    MaterializedView,
}

/// One DDL statement and the object it creates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DdlStatement {
    pub kind: ObjectKind,
    /// Unqualified object name.
    pub name: String,
    pub sql: String,
}

impl DdlStatement {
    pub fn to_statement(&self) -> Statement {
        Statement::new(self.sql.clone())
    }
}

impl fmt::Display for DdlStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

/// Compile a schema to DDL in the order it must run.
pub fn compile(schema: &Schema, opts: &DdlOptions) -> Vec<DdlStatement> {
    let mut out = Vec::new();
    if let Some(db) = &opts.database {
        out.push(DdlStatement {
            kind: ObjectKind::Database,
            name: db.clone(),
            sql: format!(
                "CREATE DATABASE{} {}{}",
                opts.ine(),
                quote::ident(db),
                opts.on_cluster()
            ),
        });
    }
    for t in &schema.tables {
        out.push(table::create_table(t, opts));
    }
    if opts.cluster.is_some() {
        for t in &schema.tables {
            out.push(table::create_distributed(t, opts));
        }
    }
    for v in &schema.views {
        out.push(view::create_view(v, schema, opts));
    }
    out
}

/// All statements as one script, `;`-terminated, blank line between statements.
pub fn to_script(statements: &[DdlStatement]) -> String {
    let mut out = String::new();
    for s in statements {
        out.push_str(&s.sql);
        out.push_str(";\n\n");
    }
    out
}
