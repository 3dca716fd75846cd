//! The `chx` command line: a thin clap layer over library calls.

use std::io::IsTerminal;
use std::path::Path;

use crate::ddl::{self, DdlOptions};
use crate::engine::{Engine, Rows, Target};
use crate::error::Error;
use crate::schema::{self, Schema};
use crate::sql::{ParamValue, Statement};

mod args;
mod demo;
mod migrate;
mod queries;

pub use args::{BuildArgs, Cli, Command, Format, MigrateCommand, ReportArgs, ReportFormat};
use demo::demo;
use migrate::migrate_command;

fn load_schema(path: &Path) -> Result<Schema, Error> {
    schema::load(path)
}

/// The database to use: `--database`, else the schema's.
fn database(cli: &Cli, schema: &Schema) -> String {
    cli.database
        .clone()
        .unwrap_or_else(|| schema.database.clone())
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
                opts = opts.database(database(&cli, &s));
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
            let db = database(&cli, &s);
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
            let db = database(&cli, &s);
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
        Command::Report(args) => queries::report(&cli, args),
        Command::Build(args) => queries::build(&cli, args),
        Command::Generate {
            events,
            days,
            seed,
            start,
            ndjson,
        } => {
            let s = load_schema(&cli.schema)?;
            let db = database(&cli, &s);
            let mut opts = crate::generate::Options::ending_today(*events, *days, *seed);
            if let Some(d) = start {
                opts.start = d.parse().map_err(|_| Error::Usage {
                    message: format!("--start `{d}` is not a date (YYYY-MM-DD)"),
                })?;
            }
            let engine = connect(&cli, None)?;
            for st in ddl::compile(
                &s,
                &DdlOptions::new().database(db.clone()).if_not_exists(true),
            ) {
                engine.run(st.to_statement())?;
            }
            let r = crate::generate::load(&engine, &s, &db, &opts, ndjson.as_deref())?;
            println!(
                "generated {} events into `{db}` in {:.2} s ({:.0} events/s)",
                r.events, r.seconds, r.events_per_second
            );
            Ok(())
        }
        Command::Demo { events, sql } => demo(&cli, *events, *sql),
        Command::DeleteUser { user_id, dry_run } => delete_user(&cli, user_id, *dry_run),
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

/// `chx delete-user`: the plan of `forget`, printed or run step by step.
fn delete_user(cli: &Cli, user_id: &str, dry_run: bool) -> Result<(), Error> {
    let s = load_schema(&cli.schema)?;
    let db = database(cli, &s);
    let steps = crate::forget::plan(&s, Some(&db), user_id)?;
    if dry_run {
        for (i, step) in steps.iter().enumerate() {
            println!(
                "-- step {}: {}\n{};\n",
                i + 1,
                step.what,
                step.statement.sql
            );
        }
        println!("-- param user_id: String\n-- value user_id = {user_id:?}");
        return Ok(());
    }
    let engine = connect(cli, None)?;
    let before = engine.run(crate::forget::person_events(&s, Some(&db), user_id))?;
    println!(
        "forgetting `{user_id}` in `{db}`: {} events of theirs stored",
        before.single_string().unwrap_or_default()
    );
    for (i, step) in steps.iter().enumerate() {
        let started = std::time::Instant::now();
        engine.run(step.statement.clone())?;
        println!(
            "  {}/{} {} ({:.1} s)",
            i + 1,
            steps.len(),
            step.what,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
