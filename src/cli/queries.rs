//! `chx report` and `chx build`: catalogue reports and named queries, run, printed or
//! written as SQL files.

use super::*;

/// `chx report`: build the report (catalogue, named query or template), then print its SQL or
/// run it.
pub(super) fn report(cli: &Cli, args: &ReportArgs) -> Result<(), Error> {
    let ReportArgs {
        name,
        list,
        params,
        format,
        queries,
        now,
        use_rollups,
        floor,
    } = args;
    if *list {
        return list_reports(queries);
    }
    let Some(name) = name else {
        return Err(Error::Usage {
            message: "give a report name, or --list".into(),
        });
    };
    let s = load_schema(&cli.schema)?;
    let db = database(cli, &s);
    let mut ctx = crate::query::Context::new(&s, Some(&db))?.with_rollups(*use_rollups);
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
        crate::query::template::render(&ctx, name, &template.display().to_string(), &text, &values)?
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
    let engine = connect(cli, None)?;
    let rows = engine.run(report.statement())?;
    let f = match format {
        ReportFormat::Json => Format::Json,
        ReportFormat::Csv => Format::Csv,
        _ => Format::Table,
    };
    print!("{}", render(&rows, f));
    Ok(())
}

/// `chx build`: one SQL file per named query, optionally checked by the engine's parser.
pub(super) fn build(cli: &Cli, args: &BuildArgs) -> Result<(), Error> {
    let BuildArgs {
        queries,
        out,
        check,
    } = args;
    let s = load_schema(&cli.schema)?;
    let db = database(cli, &s);
    let ctx = crate::query::Context::new(&s, Some(&db))?;
    let named = crate::query::named::load_dir(queries)?;
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.clone(),
        source,
    })?;
    // Each file as written: its path and text, so `--check` parses what was written (not
    // whatever else the folder holds) without reading it back.
    let mut written: Vec<(std::path::PathBuf, String)> = Vec::new();
    let mut write = |file: String, text: String| -> Result<(), Error> {
        let path = out.join(file);
        std::fs::write(&path, &text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        written.push((path, text));
        Ok(())
    };
    // A report's header names what the file came from instead of the report alone.
    let retitled = |report: &crate::query::Report, title: String| {
        report.to_sql_file().replacen(
            &format!("-- chx report: {}", report.name),
            &format!("-- {title}"),
            1,
        )
    };
    for q in &named {
        let report = crate::query::catalog::build(&ctx, &q.report, &q.params)?;
        let mut text = String::new();
        if let Some(d) = &q.description {
            text.push_str(&format!("-- {d}\n"));
        }
        text.push_str(&retitled(
            &report,
            format!("chx query: {} (report {})", q.name, report.name),
        ));
        write(format!("{}.sql", q.name), text)?;
    }
    let templates = crate::query::named::files_in(queries, &["sql"])?;
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
        write(
            format!("{stem}.sql"),
            retitled(&report, format!("chx template: {stem}")),
        )?;
    }
    // The seed API's DELETE /user/:userId: one file per statement, to run in order.
    match crate::forget::plan(&s, Some(&db), "") {
        Ok(steps) => {
            for (i, step) in steps.iter().enumerate() {
                write(
                    format!("delete_user.{:02}.sql", i + 1),
                    format!(
                        "-- chx delete-user: step {} of {} (run every step, in order): {}\n-- param user_id: String\n{}\n",
                        i + 1,
                        steps.len(),
                        step.what,
                        step.statement.sql
                    ),
                )?;
            }
        }
        Err(e) => println!("delete_user.*.sql not written: {e}"),
    }
    if *check {
        let engine = connect(cli, None)?;
        for (path, text) in &written {
            let sql: String = text
                .lines()
                .filter(|l| !l.starts_with("-- "))
                .collect::<Vec<_>>()
                .join("\n");
            engine.format_query(&sql).map_err(|e| Error::Report {
                message: format!("{}: {e}", path.display()),
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
        written.len(),
        out.display()
    );
    Ok(())
}

/// `chx report --list`: the catalogue with each report's parameters, then the named queries
/// and templates of `queries`.
fn list_reports(queries: &std::path::Path) -> Result<(), Error> {
    use crate::query::catalog::REPORTS;
    let width = REPORTS.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    println!("reports (--param NAME=VALUE; docs/reports.md says what each number means):");
    for (name, params) in REPORTS {
        let params = if params.is_empty() {
            "(no parameters)".to_string()
        } else {
            params.join(", ")
        };
        println!("  {name:width$}  {params}");
    }
    if !queries.is_dir() {
        return Ok(());
    }
    let named = crate::query::named::load_dir(queries)?;
    let templates = crate::query::named::files_in(queries, &["sql"])?;
    println!("\nnamed queries in {}:", queries.display());
    let stems: Vec<String> = templates
        .iter()
        .filter_map(|t| t.file_stem().map(|s| s.to_string_lossy().to_string()))
        .collect();
    let width = named
        .iter()
        .map(|q| q.name.len())
        .chain(stems.iter().map(String::len))
        .max()
        .unwrap_or(0);
    for q in &named {
        println!(
            "  {:width$}  {} ({})",
            q.name,
            q.description.as_deref().unwrap_or(""),
            q.report
        );
    }
    for (stem, t) in stems.iter().zip(&templates) {
        println!("  {stem:width$}  SQL template {}", t.display());
    }
    Ok(())
}
