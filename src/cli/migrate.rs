//! `chx migrate`: new, plan, apply, status, verify, diff --live, unlock.

use super::*;

pub(super) fn migrate_command(cli: &Cli, cmd: &MigrateCommand) -> Result<(), Error> {
    use crate::migrate::{self, Migrator, Problem};
    let schema = load_schema(&cli.schema)?;
    let db = database(cli, &schema);
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
