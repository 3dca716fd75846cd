//! The `chx` command line: a thin clap layer over library calls.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::ddl::{self, DdlOptions};
use crate::engine::{Engine, Rows, Target};
use crate::error::Error;
use crate::schema::{self, Schema};
use crate::sql::{ParamValue, Statement};

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
revenue-by-device, revenue-by-platform, revenue-by-country, cart-abandonment, attribution, cohorts, lifetime-value, \
retention, visit-to-order, user-journey.\n\nExamples:\n  chx report overview --param days=30\n  \
chx report funnel --param steps=view_item,add_to_cart,purchase --param window_days=7\n  \
chx report attribution --param model=time_decay --param window=14 --format json\n  chx report top-products --format sql"
    )]
    Report {
        /// Catalogue report or named query.
        name: String,
        /// A parameter as name=value (overrides a named query's own).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Folder of named queries.
        #[arg(long, default_value = "queries")]
        queries: PathBuf,
        /// Pretend it is this instant (RFC 3339) when resolving `days` ranges.
        #[arg(long)]
        now: Option<String>,
        /// Read rollup tables where one serves (right when purchases are deduplicated before
        /// they are stored, as `chx ingest` does).
        #[arg(long)]
        use_rollups: bool,
        /// Run (or print) the report's floor instead: the stored tables it scans, read with its
        /// columns and conditions, computing nothing. How far the report is from the engine's
        /// reading speed.
        #[arg(long)]
        floor: bool,
    },
    /// Write one SQL file per named query (with a header listing its parameters) for backends
    /// that embed SQL.
    Build {
        #[arg(long, default_value = "queries")]
        queries: PathBuf,
        #[arg(long, default_value = ".chx/sql")]
        out: PathBuf,
        /// Also check every file with ClickHouse's own parser (needs the engine or --url).
        #[arg(long)]
        check: bool,
    },
    /// Generate a synthetic shop's events straight into the engine (and optionally to NDJSON).
    Generate {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day (UTC), YYYY-MM-DD; default: `days` before today.
        #[arg(long)]
        start: Option<String>,
        /// Also write the events as NDJSON in the ingest format.
        #[arg(long)]
        ndjson: Option<PathBuf>,
    },
    /// Generate a shop (about 1M events) into a fresh `chx_demo` database and print every report.
    Demo {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Print each report's SQL and parameters too.
        #[arg(long)]
        sql: bool,
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
    Table,
    Json,
    Csv,
    /// The SQL and its parameters, not run.
    Sql,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn load_schema(path: &Path) -> Result<Schema, Error> {
    schema::load(path)
}

fn database(cli: &Cli, schema: Option<&Schema>) -> Option<String> {
    cli.database
        .clone()
        .or_else(|| schema.map(|s| s.database.clone()))
}

fn connect(cli: &Cli, database: Option<&str>) -> Result<Engine, Error> {
    Engine::connect(
        &Target::from_url_or_store(cli.url.clone(), cli.store.clone()),
        database,
    )
}

/// Run a parsed command line; output goes to stdout, problems come back as errors.
pub fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Check => {
            let s = load_schema(&cli.schema)?;
            let events = s.taxonomy.as_ref().map_or(0, |t| t.events.len());
            println!(
                "{}: ok — {} tables, {} materialized views, {} event types",
                cli.schema.display(),
                s.tables.len(),
                s.views.len(),
                events
            );
            Ok(())
        }
        Command::Compile {
            cluster,
            out,
            no_database,
            if_not_exists,
        } => {
            let s = load_schema(&cli.schema)?;
            let mut opts = DdlOptions::new().if_not_exists(*if_not_exists);
            if !no_database {
                opts = opts.database(database(&cli, Some(&s)).unwrap_or_default());
            }
            if let Some(c) = cluster {
                opts = opts.cluster(c.clone());
            }
            let stmts = ddl::compile(&s, &opts);
            match out {
                None => print!("{}", ddl::to_script(&stmts)),
                Some(dir) => {
                    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                        path: dir.clone(),
                        source,
                    })?;
                    for (i, st) in stmts.iter().enumerate() {
                        let path = dir.join(format!("{:03}_{}.sql", i + 1, st.name));
                        std::fs::write(&path, format!("{};\n", st.sql)).map_err(|source| {
                            Error::Io {
                                path: path.clone(),
                                source,
                            }
                        })?;
                    }
                    println!("wrote {} statements to {}", stmts.len(), dir.display());
                }
            }
            Ok(())
        }
        Command::Apply { dry_run } => {
            let s = load_schema(&cli.schema)?;
            let db = database(&cli, Some(&s)).unwrap_or_else(|| "default".into());
            let stmts = ddl::compile(
                &s,
                &DdlOptions::new().database(db.clone()).if_not_exists(true),
            );
            if *dry_run {
                print!("{}", ddl::to_script(&stmts));
                return Ok(());
            }
            let engine = connect(&cli, None)?;
            let existing = existing_objects(&engine, &db)?;
            let mut created = Vec::new();
            for (i, st) in stmts.iter().enumerate() {
                let present = match st.kind {
                    ddl::ObjectKind::Database => existing.is_some(),
                    _ => existing
                        .as_ref()
                        .is_some_and(|names| names.contains(&st.name)),
                };
                engine
                    .run(st.to_statement())
                    .map_err(|e| e.at_statement(i))?;
                if !present {
                    created.push(format!("{} {}", kind_word(st.kind), st.name));
                }
            }
            if created.is_empty() {
                println!(
                    "{}: database `{db}` is up to date ({} objects)",
                    engine.describe(),
                    stmts.len()
                );
            } else {
                println!("{}: created in `{db}`:", engine.describe());
                for c in created {
                    println!("  {c}");
                }
            }
            Ok(())
        }
        Command::Ingest { file } => {
            let s = load_schema(&cli.schema)?;
            let db = database(&cli, Some(&s)).unwrap_or_else(|| "default".into());
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|source| Error::Io {
                    path: file.clone(),
                    source,
                })?
            } else {
                std::fs::read_to_string(file).map_err(|source| Error::Io {
                    path: file.clone(),
                    source,
                })?
            };
            let engine = connect(&cli, None)?;
            let report = crate::ingest::ingest(&engine, &s, &db, &text)?;
            for e in &report.errors {
                eprintln!("{}:{}: {}", file.display(), e.line, e.message);
            }
            println!(
                "accepted {} events into `{db}`; skipped {} already stored (same event_id) and {} repeated purchase/refund deliveries (same transaction_id within 24 h); {} lines rejected",
                report.accepted,
                report.already_present,
                report.duplicates_ignored,
                report.errors.len()
            );
            if report.errors.is_empty() {
                Ok(())
            } else {
                Err(Error::Usage {
                    message: format!(
                        "{} lines of {} were rejected (the others were inserted)",
                        report.errors.len(),
                        file.display()
                    ),
                })
            }
        }
        Command::Report {
            name,
            params,
            format,
            queries,
            now,
            use_rollups,
            floor,
        } => {
            let s = load_schema(&cli.schema)?;
            let db = database(&cli, Some(&s));
            let mut ctx = crate::query::Context::new(&s, db.as_deref())?.with_rollups(*use_rollups);
            if let Some(now) = now {
                let t = chrono::DateTime::parse_from_rfc3339(now).map_err(|e| Error::Usage {
                    message: format!("--now `{now}`: {e}"),
                })?;
                ctx = ctx.at(t.with_timezone(&chrono::Utc));
            }
            let named = if queries.is_dir() {
                crate::query::named::load_dir(queries)?
            } else {
                Vec::new()
            };
            let (report_name, mut values) = match named.iter().find(|q| q.name == *name) {
                Some(q) => (q.report.clone(), q.params.clone()),
                None => (name.clone(), Default::default()),
            };
            for p in params {
                let (k, v) = p.split_once('=').ok_or_else(|| Error::Usage {
                    message: format!("--param `{p}` must be NAME=VALUE"),
                })?;
                // A range given here replaces the named query's range, whichever form it had.
                match k {
                    "start" | "end" => {
                        values.remove("days");
                    }
                    "days" => {
                        values.remove("start");
                        values.remove("end");
                    }
                    _ => {}
                }
                values.insert(k.to_string(), v.to_string());
            }
            let template = queries.join(format!("{name}.sql"));
            let report = if template.is_file() {
                let text = std::fs::read_to_string(&template).map_err(|source| Error::Io {
                    path: template.clone(),
                    source,
                })?;
                crate::query::template::render(
                    &ctx,
                    name,
                    &template.display().to_string(),
                    &text,
                    &values,
                )?
            } else {
                crate::query::catalog::build(&ctx, &report_name, &values)?
            };
            let report = if *floor {
                crate::query::floor::floor(&report, &ctx).ok_or_else(|| Error::Usage {
                    message: format!(
                        "`{name}` has no floor: a template's SQL is not analysed (catalogue reports and named queries have one)"
                    ),
                })?
            } else {
                report
            };
            if matches!(format, ReportFormat::Sql) {
                print!("{}", report.to_sql_file());
                for p in &report.params {
                    println!(
                        "-- value {} = {}",
                        p.name,
                        serde_json::to_string(&p.value).unwrap_or_default()
                    );
                }
                return Ok(());
            }
            let engine = connect(&cli, None)?;
            let rows = engine.run(report.statement())?;
            let f = match format {
                ReportFormat::Json => Format::Json,
                ReportFormat::Csv => Format::Csv,
                _ => Format::Table,
            };
            print!("{}", render(&rows, f));
            Ok(())
        }
        Command::Build {
            queries,
            out,
            check,
        } => {
            let s = load_schema(&cli.schema)?;
            let db = database(&cli, Some(&s));
            let ctx = crate::query::Context::new(&s, db.as_deref())?;
            let named = crate::query::named::load_dir(queries)?;
            std::fs::create_dir_all(out).map_err(|source| Error::Io {
                path: out.clone(),
                source,
            })?;
            for q in &named {
                let report = crate::query::catalog::build(&ctx, &q.report, &q.params)?;
                let mut text = String::new();
                if let Some(d) = &q.description {
                    text.push_str(&format!("-- {d}\n"));
                }
                text.push_str(&report.to_sql_file().replacen(
                    &format!("-- chx report: {}", report.name),
                    &format!("-- chx query: {} (report {})", q.name, report.name),
                    1,
                ));
                let path = out.join(format!("{}.sql", q.name));
                std::fs::write(&path, text).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            let mut templates: Vec<PathBuf> = std::fs::read_dir(queries)
                .map_err(|source| Error::Io {
                    path: queries.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            templates.sort();
            for t in &templates {
                let text = std::fs::read_to_string(t).map_err(|source| Error::Io {
                    path: t.clone(),
                    source,
                })?;
                let stem = t
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                let report = crate::query::template::render(
                    &ctx,
                    &stem,
                    &t.display().to_string(),
                    &text,
                    &Default::default(),
                )?;
                let path = out.join(format!("{stem}.sql"));
                let body = report.to_sql_file().replacen(
                    &format!("-- chx report: {}", report.name),
                    &format!("-- chx template: {stem}"),
                    1,
                );
                std::fs::write(&path, body).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            if *check {
                let engine = connect(&cli, None)?;
                for f in std::fs::read_dir(out)
                    .map_err(|source| Error::Io {
                        path: out.clone(),
                        source,
                    })?
                    .flatten()
                {
                    let text = std::fs::read_to_string(f.path()).map_err(|source| Error::Io {
                        path: f.path(),
                        source,
                    })?;
                    let sql: String = text
                        .lines()
                        .filter(|l| !l.starts_with("-- "))
                        .collect::<Vec<_>>()
                        .join("\n");
                    engine.format_query(&sql).map_err(|e| Error::Report {
                        message: format!("{}: {e}", f.path().display()),
                        help: "fix the query or its template".into(),
                    })?;
                }
            }
            let checked = if *check {
                " (each accepted by ClickHouse's parser)"
            } else {
                ""
            };
            println!(
                "wrote {} SQL files to {}{checked}",
                named.len() + templates.len(),
                out.display()
            );
            Ok(())
        }
        Command::Generate {
            events,
            days,
            seed,
            start,
            ndjson,
        } => {
            let s = load_schema(&cli.schema)?;
            let db = database(&cli, Some(&s)).unwrap_or_else(|| "default".into());
            let start = match start {
                Some(d) => d.parse().map_err(|_| Error::Usage {
                    message: format!("--start `{d}` is not a date (YYYY-MM-DD)"),
                })?,
                None => chrono::Utc::now().date_naive() - chrono::Duration::days(*days as i64),
            };
            let engine = connect(&cli, None)?;
            for st in ddl::compile(
                &s,
                &DdlOptions::new().database(db.clone()).if_not_exists(true),
            ) {
                engine.run(st.to_statement())?;
            }
            let opts = crate::generate::Options {
                events: *events,
                days: *days,
                seed: *seed,
                start,
            };
            let r = crate::generate::load(&engine, &s, &db, &opts, ndjson.as_deref())?;
            println!(
                "generated {} events into `{db}` in {:.2} s ({:.0} events/s)",
                r.events, r.seconds, r.events_per_second
            );
            Ok(())
        }
        Command::Demo { events, sql } => demo(&cli, *events, *sql),
        Command::Migrate(cmd) => migrate_command(&cli, cmd),
        Command::Sql {
            query,
            format,
            params,
        } => {
            let schema_db = if cli.database.is_none() && cli.schema.exists() {
                load_schema(&cli.schema).ok().map(|s| s.database)
            } else {
                None
            };
            let db = cli.database.clone().or(schema_db);
            let engine = connect(&cli, None)?;
            let db = db.filter(|d| {
                engine
                    .run(
                        Statement::new("SELECT 1 FROM system.databases WHERE name = {d:String}")
                            .param("d", "String", d.as_str()),
                    )
                    .is_ok_and(|r| !r.is_empty())
            });
            let engine = match db {
                Some(d) => connect(&cli, Some(&d))?,
                None => engine,
            };
            let stmt = with_params(query, params)?;
            let rows = engine.run(stmt)?;
            print!("{}", render(&rows, *format));
            Ok(())
        }
    }
}

fn kind_word(k: ddl::ObjectKind) -> &'static str {
    match k {
        ddl::ObjectKind::Database => "database",
        ddl::ObjectKind::Table => "table",
        ddl::ObjectKind::DistributedTable => "distributed table",
        ddl::ObjectKind::MaterializedView => "materialized view",
    }
}

/// Names of the tables and views in a database, or `None` when it does not exist.
fn existing_objects(engine: &Engine, db: &str) -> Result<Option<Vec<String>>, Error> {
    let dbs = engine.run(
        Statement::new("SELECT name FROM system.databases WHERE name = {db:String}")
            .param("db", "String", db),
    )?;
    if dbs.is_empty() {
        return Ok(None);
    }
    let rows = engine.run(
        Statement::new("SELECT name FROM system.tables WHERE database = {db:String}")
            .param("db", "String", db),
    )?;
    Ok(Some(
        rows.rows
            .iter()
            .filter_map(|r| r[0].as_str().map(str::to_string))
            .collect(),
    ))
}

/// Attach `--param name=value` values to the placeholders the query declares.
fn with_params(query: &str, params: &[String]) -> Result<Statement, Error> {
    let mut stmt = Statement::new(query);
    for p in params {
        let (name, value) = p.split_once('=').ok_or_else(|| Error::Usage {
            message: format!("--param `{p}` must be NAME=VALUE"),
        })?;
        let ty = placeholder_type(query, name).ok_or_else(|| Error::Usage {
            message: format!("--param `{name}` has no {{{name}:Type}} placeholder in the query"),
        })?;
        stmt = stmt.param(name, &ty, ParamValue::String(value.to_string()));
    }
    Ok(stmt)
}

fn placeholder_type(query: &str, name: &str) -> Option<String> {
    let needle = format!("{{{name}:");
    let at = query.find(&needle)? + needle.len();
    let rest = &query[at..];
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '}' if depth == 0 => return Some(rest[..i].trim().to_string()),
            _ => {}
        }
    }
    None
}

pub fn render(rows: &Rows, format: Format) -> String {
    match format {
        Format::Table => rows.to_table(),
        Format::Csv => rows.to_csv(),
        Format::Json => {
            let objs = rows.to_objects();
            serde_json::to_string_pretty(&objs).unwrap_or_default() + "\n"
        }
    }
}

/// Render an error for a terminal (colour) or a pipe (plain).
pub fn report(e: Error) -> String {
    let colour = std::io::stderr().is_terminal();
    match e {
        Error::Diagnostics(d) => {
            let mut s = d.render(colour);
            s.push_str(&format!(
                "{}\n",
                d.to_string().lines().next().unwrap_or_default()
            ));
            s
        }
        other => {
            let theme = if colour {
                miette::GraphicalTheme::unicode()
            } else {
                miette::GraphicalTheme::unicode_nocolor()
            };
            let mut out = String::new();
            let _ =
                miette::GraphicalReportHandler::new_themed(theme).render_report(&mut out, &other);
            out
        }
    }
}

fn migrate_command(cli: &Cli, cmd: &MigrateCommand) -> Result<(), Error> {
    use crate::migrate::{self, Migrator, Problem};
    let schema = load_schema(&cli.schema)?;
    let db = database(cli, Some(&schema)).unwrap_or_else(|| "default".into());
    match cmd {
        MigrateCommand::New { name, dir, cluster } => {
            let mut opts = DdlOptions::new().database(db);
            if let Some(c) = cluster {
                opts = opts.cluster(c.clone());
            }
            match migrate::new_migration(dir, name, &schema, &opts)? {
                Some(path) => println!("wrote {}", path.display()),
                None => println!(
                    "nothing to migrate: {} matches the migrations' state",
                    cli.schema.display()
                ),
            }
            Ok(())
        }
        MigrateCommand::Plan { dir } => {
            let files = migrate::list(dir)?;
            let state = migrate::state(dir)?;
            let changes = match &state {
                Some(old) => migrate::plan(old, &schema, &DdlOptions::new().database(&db)).changes,
                None => vec!["no migrations yet: `chx migrate new init` writes the first".into()],
            };
            let engine = connect(cli, None)?;
            let m = Migrator::new(&engine, &db, None);
            m.ensure()?;
            let history = m.history()?;
            let pending: Vec<&migrate::MigrationFile> = files
                .iter()
                .filter(|f| !history.iter().any(|a| a.version == f.version && a.complete))
                .collect();
            println!("{} pending migration(s) for `{db}`:", pending.len());
            for f in pending {
                println!("  {}", f.path.display());
                for s in migrate::statements(&f.text)? {
                    println!("    {};", s.lines().next().unwrap_or_default());
                    // A rebuild copies a table: say how much.
                    if s.starts_with("INSERT INTO ")
                        && let Some(source) = s.rsplit(" FROM ").next()
                    {
                        let (sdb, table) = source
                            .trim()
                            .split_once('.')
                            .unwrap_or((db.as_str(), source.trim()));
                        let size = engine.run(
                            crate::sql::Statement::new("SELECT sum(rows), formatReadableSize(sum(bytes_on_disk)) FROM system.parts WHERE active AND database = {d:String} AND table = {t:String}")
                                .param("d", "String", sdb.trim_matches('`'))
                                .param("t", "String", table.trim_matches('`')),
                        )?;
                        if let Some(r) = size.rows.first() {
                            println!(
                                "      (moves {} rows, {})",
                                r[0],
                                r[1].as_str().unwrap_or_default()
                            );
                        }
                    }
                }
            }
            if !changes.is_empty() {
                println!("schema changes not in a migration yet:");
                for c in changes {
                    println!("  {c}");
                }
            }
            Ok(())
        }
        MigrateCommand::Apply {
            dir,
            dry_run,
            allow_destructive,
            cluster,
        } => {
            if *dry_run {
                for f in migrate::list(dir)? {
                    println!("-- {}", f.path.display());
                    for s in migrate::statements(&f.text)? {
                        println!("{s};");
                    }
                }
                return Ok(());
            }
            let engine = connect(cli, None)?;
            let applied =
                Migrator::new(&engine, &db, cluster.as_deref()).apply(dir, *allow_destructive)?;
            if applied.is_empty() {
                println!("`{db}` is up to date");
            } else {
                println!(
                    "applied {} migration(s) to `{db}`: {}",
                    applied.len(),
                    applied
                        .iter()
                        .map(|v| format!("{v:04}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
        MigrateCommand::Status { dir } | MigrateCommand::Verify { dir } => {
            let engine = connect(cli, None)?;
            let m = Migrator::new(&engine, &db, None);
            m.ensure()?;
            let history = m.history()?;
            let files = migrate::list(dir)?;
            let problems = migrate::verify(&history, &files);
            if matches!(cmd, MigrateCommand::Status { .. }) {
                for f in &files {
                    let state = match history.iter().find(|a| a.version == f.version) {
                        Some(a) if a.complete && a.checksum == f.checksum => "applied".to_string(),
                        Some(a) if a.complete => "MODIFIED since applied".to_string(),
                        Some(a) => match &a.failed {
                            Some((k, error)) => format!("DIRTY at statement {k}: {error}"),
                            None => format!(
                                "DIRTY after statement {} (interrupted)",
                                a.done.iter().max().copied().unwrap_or(0)
                            ),
                        },
                        None => "pending".to_string(),
                    };
                    println!("{:04} {:<30} {state}", f.version, f.name);
                }
                for p in &problems {
                    if let Problem::Missing { .. } = p {
                        println!("{p}");
                    }
                }
                return Ok(());
            }
            if problems.is_empty() {
                println!(
                    "ok: {} applied migration(s) match their files",
                    history.len()
                );
                Ok(())
            } else {
                Err(Error::Usage {
                    message: problems
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join("\n"),
                })
            }
        }
        MigrateCommand::Diff { live, dir } => {
            let lines = if *live {
                let engine = connect(cli, None)?;
                migrate::drift(&engine, &schema, &db)?
            } else {
                match migrate::state(dir)? {
                    Some(old) => {
                        migrate::plan(&old, &schema, &DdlOptions::new().database(&db)).changes
                    }
                    None => vec!["no migrations yet".into()],
                }
            };
            if lines.is_empty() {
                println!("no drift: `{db}` matches {}", cli.schema.display());
            } else {
                for l in lines {
                    println!("{l}");
                }
            }
            Ok(())
        }
        MigrateCommand::Unlock => {
            let engine = connect(cli, None)?;
            let m = Migrator::new(&engine, &db, None);
            m.ensure()?;
            m.break_lock()?;
            println!("released every migration lock of `{db}`");
            Ok(())
        }
    }
}

/// `chx demo`: a fresh database, a generated shop, every report of the catalogue.
fn demo(cli: &Cli, events: u64, show_sql: bool) -> Result<(), Error> {
    let s = load_schema(&cli.schema)?;
    let db = "chx_demo";
    let engine = connect(cli, None)?;
    engine.run(format!("DROP DATABASE IF EXISTS {db}"))?;
    for st in ddl::compile(&s, &DdlOptions::new().database(db)) {
        engine.run(st.to_statement())?;
    }
    let days = 120u32;
    let today = chrono::Utc::now().date_naive();
    let opts = crate::generate::Options {
        events,
        days,
        seed: 7,
        start: today - chrono::Duration::days(days as i64 - 1),
    };
    let r = crate::generate::load(&engine, &s, db, &opts, None)?;
    println!(
        "generated {} events over {days} days into `{db}` in {:.2} s ({:.0} events/s)\n",
        r.events, r.seconds, r.events_per_second
    );
    let ctx = crate::query::Context::new(&s, Some(db))?;
    let journey_user = engine.run(format!("SELECT user_id FROM {db}.events WHERE event_type = 'purchase' AND user_id != '' ORDER BY user_id LIMIT 1"))?.single_string().unwrap_or_default();
    for (name, _) in crate::query::catalog::REPORTS {
        let params: std::collections::BTreeMap<String, String> = match *name {
            "user-journey" => [("user_id".to_string(), journey_user.clone())].into(),
            "cohorts" | "lifetime-value" => Default::default(),
            "top-products" => [
                ("days".to_string(), "30".to_string()),
                ("limit".to_string(), "5".to_string()),
            ]
            .into(),
            _ => [("days".to_string(), "30".to_string())].into(),
        };
        let report = crate::query::catalog::build(&ctx, name, &params)?;
        let started = std::time::Instant::now();
        let rows = engine.run(report.statement())?;
        println!(
            "== {name} ({} rows, {:.0} ms)",
            rows.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        if show_sql {
            println!("{}", report.to_sql_file());
        }
        let shown = crate::engine::Rows {
            columns: rows.columns.clone(),
            rows: rows.rows.iter().take(12).cloned().collect(),
        };
        print!("{}", shown.to_table());
        if rows.len() > 12 {
            println!("... {} more rows", rows.len() - 12);
        }
        println!();
    }
    Ok(())
}
