//! The only code that talks to ClickHouse.
//!
//! Two backends run the same SQL text with the same `{name:Type}` parameters:
//! - [`embedded`]: the ClickHouse engine of the `chdb-core` wheel loaded in-process through ADBC
//!   (the default; no server needed);
//! - [`http`]: any ClickHouse server through the official `clickhouse` crate.
//!
//! Statements run one at a time (the embedded engine refuses multi-statements), results come back
//! as [`Rows`] of JSON values so callers never depend on which backend answered.

mod arrow;
pub mod embedded;
pub mod http;
pub mod locate;
mod rows;

use std::path::PathBuf;
use std::sync::Arc;

pub use rows::{Column, Rows};

use crate::error::Error;
use crate::sql::Statement;

/// What a backend must do; [`Engine`] wraps one. A trait so tests can wrap a backend (e.g. to
/// inject a failure on the n-th statement).
pub trait Backend: Send + Sync {
    /// Human-readable description: which engine, where.
    fn describe(&self) -> String;
    /// Run one statement and collect its result (empty for DDL).
    fn run(&self, stmt: &Statement) -> Result<Rows, Error>;
    /// Insert newline-delimited JSON objects (`JSONEachRow`) into a table.
    fn insert_json_rows(&self, table: &str, ndjson: &str) -> Result<(), Error>;

    /// Another connection to the same engine, for work that runs beside this one (bulk
    /// loads); `None` where the backend has no use for one.
    fn another_connection(&self) -> Result<Option<Arc<dyn Backend>>, Error> {
        Ok(None)
    }

    /// Bulk-insert an Arrow batch into `database.table` (columns matched by name; the table's
    /// defaults fill the rest). The embedded engine takes it through ADBC ingest; others get
    /// it as JSONEachRow.
    fn insert_arrow(
        &self,
        database: &str,
        table: &str,
        batch: arrow_array::RecordBatch,
    ) -> Result<(), Error> {
        let rows = arrow::batch_to_ndjson(&batch).map_err(|message| Error::Engine { message })?;
        self.insert_json_rows(
            &format!(
                "{}.{}",
                crate::sql::quote::ident(database),
                crate::sql::quote::ident(table)
            ),
            &rows,
        )
    }
}

/// Where to find ClickHouse.
#[derive(Clone, Debug)]
pub enum Target {
    /// The embedded engine with its data under this folder.
    Embedded { store: PathBuf },
    /// A server over HTTP, e.g. `http://localhost:8123`. `compression` asks for LZ4-compressed
    /// responses (on by default; off for proxies that cannot do ClickHouse's block compression).
    Http {
        url: String,
        user: Option<String>,
        password: Option<String>,
        compression: bool,
    },
}

impl Target {
    /// `--url` / `CLICKHOUSE_URL` when given, else the embedded store.
    pub fn from_url_or_store(url: Option<String>, store: PathBuf) -> Target {
        match url.filter(|u| !u.is_empty()) {
            Some(url) => Target::Http {
                url,
                user: std::env::var("CLICKHOUSE_USER").ok(),
                password: std::env::var("CLICKHOUSE_PASSWORD").ok(),
                compression: true,
            },
            None => Target::Embedded { store },
        }
    }
}

/// A handle to ClickHouse, optionally scoped to a default database.
#[derive(Clone)]
pub struct Engine {
    backend: Arc<dyn Backend>,
}

impl Engine {
    pub fn connect(target: &Target, database: Option<&str>) -> Result<Engine, Error> {
        let backend: Arc<dyn Backend> = match target {
            Target::Embedded { store } => {
                Arc::new(embedded::EmbeddedBackend::open(store, database)?)
            }
            Target::Http {
                url,
                user,
                password,
                compression,
            } => Arc::new(http::HttpBackend::new(
                url,
                user.as_deref(),
                password.as_deref(),
                database,
                *compression,
            )?),
        };
        Ok(Engine { backend })
    }

    pub fn from_backend(backend: Arc<dyn Backend>) -> Engine {
        Engine { backend }
    }

    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// Run one statement.
    pub fn run(&self, stmt: impl Into<Statement>) -> Result<Rows, Error> {
        self.backend.run(&stmt.into())
    }

    /// Run statements in order, stopping at the first failure (which names its index).
    pub fn run_all<'a>(&self, stmts: impl IntoIterator<Item = &'a Statement>) -> Result<(), Error> {
        for (i, stmt) in stmts.into_iter().enumerate() {
            self.backend.run(stmt).map_err(|e| e.at_statement(i))?;
        }
        Ok(())
    }

    pub fn insert_arrow(
        &self,
        database: &str,
        table: &str,
        batch: arrow_array::RecordBatch,
    ) -> Result<(), Error> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.backend.insert_arrow(database, table, batch)
    }

    /// A second connection to the same engine where that lets work run in parallel (the
    /// embedded engine); `None` where the backend has none to give.
    pub fn another_connection(&self) -> Result<Option<Engine>, Error> {
        Ok(self
            .backend
            .another_connection()?
            .map(|backend| Engine { backend }))
    }

    pub fn insert_json_rows(&self, table: &str, ndjson: &str) -> Result<(), Error> {
        if ndjson.trim().is_empty() {
            return Ok(());
        }
        self.backend.insert_json_rows(table, ndjson)
    }

    /// ClickHouse's own canonical formatting of a statement, without running it: a check by
    /// the real grammar for statements that cannot run here (e.g. `ON CLUSTER`).
    pub fn format_query(&self, sql: &str) -> Result<String, Error> {
        let rows = self.run(
            Statement::new("SELECT formatQuery({q:String}) AS formatted").param("q", "String", sql),
        )?;
        rows.single_string()
    }

    /// ClickHouse's version string, e.g. `26.9.2.1`.
    pub fn version(&self) -> Result<String, Error> {
        self.run("SELECT version()")?.single_string()
    }
}
