//! The command line's arguments (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "chx",
    version,
    about = "Describe shop analytics tables once in YAML; compile them to ClickHouse DDL and run them.",
    long_about = "chx compiles a YAML schema (tables, materialized views, an event taxonomy) to ClickHouse DDL, \
applies it to an embedded ClickHouse (the default, data under .chx/store) or a server (--url), ingests \
events in the e-commerce track format, and runs SQL.\n\nStart with `chx check`, then `chx apply`, \
`chx ingest FILE`, `chx sql \"SELECT ...\"`."
)]
pub struct Cli {
    /// Schema file.
    #[arg(
        long,
        global = true,
        default_value = "schema/ecommerce.yaml",
        env = "CHX_SCHEMA"
    )]
    pub schema: PathBuf,
    /// ClickHouse server URL (HTTP, e.g. http://localhost:8123); without it chx uses the embedded engine.
    #[arg(long, global = true, env = "CLICKHOUSE_URL")]
    pub url: Option<String>,
    /// Folder of the embedded engine's data (one process at a time).
    #[arg(long, global = true, default_value = ".chx/store", env = "CHX_STORE")]
    pub store: PathBuf,
    /// Database to use instead of the schema's `database`.
    #[arg(long, global = true)]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the schema and report every problem with file:line:column.
    Check,
    /// Print (or write) the DDL the schema compiles to, in dependency order.
    Compile {
        /// Render for a cluster: ON CLUSTER, Replicated engines, Distributed tables.
        #[arg(long)]
        cluster: Option<String>,
        /// Write one file per statement (NNN_name.sql) into this folder instead of printing.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Leave names unqualified (no database prefix, no CREATE DATABASE).
        #[arg(long)]
        no_database: bool,
        /// Add IF NOT EXISTS to every CREATE.
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Create the database, tables and views that are missing (existing ones are left as they are).
    Apply {
        /// Print what would run without running it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Load events (NDJSON, one track body per line): invalid lines are reported and skipped.
    Ingest {
        /// The NDJSON file (`-` for standard input).
        file: PathBuf,
    },
    /// Run a report from the catalogue (or a named query in queries/), or print its SQL.
    #[command(
        after_help = "Reports: overview, revenue-timeseries, funnel, top-products, revenue-by-channel, revenue-by-coupon, \
revenue-by-device, revenue-by-platform, revenue-by-country, revenue-by-category, cart-abandonment, attribution, traffic-sources, acquisition-cost, roas, cohorts, \
lifetime-value, new-vs-returning, retention, visit-to-order, user-journey.\n\nExamples:\n  chx report overview --param days=30\n  \
chx report funnel --param steps=view_item,add_to_cart,purchase --param window_days=7\n  \
chx report attribution --param model=time_decay --param window=14 --format json\n  chx report top-products --format sql"
    )]
    Report(ReportArgs),
    /// Write one SQL file per named query (with a header listing its parameters), and one per
    /// delete-user step, for backends that embed SQL.
    Build(BuildArgs),
    /// Generate a synthetic shop's events straight into the engine (and optionally to NDJSON).
    Generate {
        /// How many events to write.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// How many days they span (weekly and daily seasonality included).
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Random seed: the same seed, --events, --days and --start give the same events.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day (UTC), YYYY-MM-DD; default: the one that makes the last day today.
        #[arg(long)]
        start: Option<String>,
        /// Also write the events as NDJSON in the ingest format.
        #[arg(long)]
        ndjson: Option<PathBuf>,
    },
    /// Generate a shop (about 1M events) into a fresh `chx_demo` database and print every report.
    Demo {
        /// How many events to generate (over 120 days ending today).
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Print each report's SQL and parameters too.
        #[arg(long)]
        sql: bool,
    },
    /// Forget a user (the seed API's DELETE /user/:userId): their events and their devices'
    /// anonymous events, items, properties and links are deleted, and the rollup days they
    /// touched are rebuilt without them.
    DeleteUser {
        /// The user_id to forget.
        user_id: String,
        /// Print the statements, in order, instead of running them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Versioned migrations: new, plan, apply, status, verify, diff --live, unlock.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Run one SQL statement and print its result.
    Sql {
        /// The statement; use {name:Type} placeholders with --param name=value.
        query: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// A query parameter as name=value (its type comes from the placeholder).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Diff the schema against the state the migrations produce (offline) and write the next
    /// migrations/NNNN_NAME.sql; says so and writes nothing when nothing changed.
    New {
        name: String,
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
        /// Write statements for a cluster (ON CLUSTER, Replicated engines).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Show what is pending: migration files not applied, and schema changes not yet in a file.
    Plan {
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Apply pending migrations in order (refuses destructive ones without --allow-destructive).
    Apply {
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
        /// Keep the history on a cluster (ON CLUSTER, replicated history table).
        #[arg(long)]
        cluster: Option<String>,
        /// Print the statements that would run.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        allow_destructive: bool,
    },
    /// Applied / pending / modified / missing / dirty migrations.
    Status {
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Check the applied history against the files (edited or deleted files are errors).
    Verify {
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Compare the live database with the schema (drift), or with `--live` absent, with the
    /// migrations' state.
    Diff {
        #[arg(long)]
        live: bool,
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Break a migration lock left by a process that died.
    Unlock,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    /// For reading: numbers right-aligned, floats to two decimals.
    Table,
    /// An array of objects, one per row, every digit kept.
    Json,
    /// Every digit.
    Csv,
    /// The SQL and its parameters, not run.
    Sql,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// For reading: numbers right-aligned, floats to two decimals.
    Table,
    /// An array of objects, one per row, every digit kept.
    Json,
    /// Every digit.
    Csv,
}

/// `chx report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Catalogue report or named query (`--list` shows them).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List the catalogue's reports with their parameters, and the named queries.
    #[arg(long, conflicts_with_all = ["params", "floor"])]
    pub list: bool,
    /// A parameter as name=value (overrides a named query's own).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Folder of named queries.
    #[arg(long, default_value = "queries")]
    pub queries: PathBuf,
    /// Pretend it is this instant (RFC 3339) when resolving `days` ranges.
    #[arg(long)]
    pub now: Option<String>,
    /// Read rollup tables where one serves (right when purchases are deduplicated before
    /// they are stored, as `chx ingest` does).
    #[arg(long)]
    pub use_rollups: bool,
    /// Run (or print) the report's floor instead: the stored tables it scans, read with its
    /// columns and conditions, computing nothing. How far the report is from the engine's
    /// reading speed.
    #[arg(long)]
    pub floor: bool,
}

/// `chx build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    #[arg(long, default_value = "queries")]
    pub queries: PathBuf,
    #[arg(long, default_value = ".chx/sql")]
    pub out: PathBuf,
    /// Also check every file with ClickHouse's own parser (needs the engine or --url).
    #[arg(long)]
    pub check: bool,
}
