//! chx: describe a shop's analytics tables once in YAML; compile them to ClickHouse DDL and
//! materialized views, apply them, ingest events, and run the SQL behind an analytics API.
//!
//! # Architecture
//!
//! One module per stage; each stage has one public function, so tests and users can stop at any
//! stage and look at its output.
//!
//! | stage | module | function | in → out |
//! | --- | --- | --- | --- |
//! | parse | [`schema`] | [`schema::parse`] | YAML text → [`schema::SchemaFile`] (the schema as written, every value with its span) |
//! | validate | [`schema`] | [`schema::validate`] | `SchemaFile` → [`schema::Schema`] (the validated IR: typed columns, checked expressions, views, taxonomy) |
//! | compile | [`ddl`] | [`ddl::compile`] | `Schema` + [`ddl::DdlOptions`] → [`ddl::DdlStatement`]s in dependency order (single node or cluster) |
//! | run | [`engine`] | [`engine::Engine::run`] | a [`sql::Statement`] (SQL text + typed `{name:Type}` parameters) → [`engine::Rows`] |
//! | ingest | [`ingest`] | [`ingest::ingest`] | NDJSON track bodies → validated rows in the events table |
//! | report | [`query`] | [`query::catalog::build`] | report name + parameters → [`query::Report`] (own SQL AST, typed parameters) |
//! | migrate | [`migrate`] | [`migrate::plan`] | old schema state + new schema → ordered [`migrate::Plan`] (pure), then [`migrate::Migrator::apply`] |
//! | forget | [`forget`] | [`forget::plan`] | `Schema` + a user id → the ordered statements that delete the person everywhere (person-keyed rollups too) and rebuild the days they touched of other rollups |
//!
//! Beside them, [`generate`] streams a synthetic shop's events into the engine (the demo and the
//! benchmarks), and [`query::floor::floor`] turns a report into its floor: the scans it cannot
//! avoid, computing nothing (what benchmarks divide a report's time by).
//!
//! Around them: [`diag`] (problems with spans, codes and hints, rendered by miette), [`sql`]
//! (the one place that escapes text, and typed parameters), [`error`] (the crate's error enum),
//! [`cli`] (a thin clap layer over these calls). [`engine`] is the only code that talks to
//! ClickHouse: the embedded engine of the `chdb-core` wheel through ADBC, or a server over HTTP.
//!
//! # Example
//!
//! ```
//! use chx::diag::Source;
//! use chx::ddl::{self, DdlOptions};
//!
//! let yaml = "tables:\n  - name: events\n    columns:\n      - {name: ts, type: \"DateTime64(3, 'UTC')\"}\n      - {name: user_id, type: String}\n    order_by: [user_id, ts]\n";
//! let schema = chx::schema::from_source(&Source::new("inline.yaml", yaml)).unwrap();
//! let ddl = ddl::compile(&schema, &DdlOptions::new().database("shop"));
//! assert_eq!(ddl[1].sql, "CREATE TABLE shop.events\n(\n    ts DateTime64(3, 'UTC'),\n    user_id String\n)\nENGINE = MergeTree()\nORDER BY (user_id, ts)");
//!
//! // Problems come back all at once, each with file:line:column, a code and a hint.
//! let bad = "tables:\n  - name: events\n    columns: [{name: ts, type: DateTim}]\n    order_by: user\n";
//! let err = chx::schema::from_source(&Source::new("bad.yaml", bad)).unwrap_err();
//! let codes: Vec<&str> = err.iter().map(|d| d.code).collect();
//! assert_eq!(codes, ["chx::schema::bad_type", "chx::schema::unknown_column"]);
//! assert_eq!(err.iter().next().unwrap().location().unwrap(), "bad.yaml:3:32");
//! ```

pub mod cli;
pub mod ddl;
pub mod diag;
pub mod engine;
pub mod error;
pub mod forget;
pub mod generate;
pub mod ingest;
pub mod migrate;
pub mod query;
pub mod schema;
pub mod sql;

pub use error::Error;
