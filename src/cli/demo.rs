//! `chx demo`.

use super::*;

/// `chx demo`: a fresh database, a generated shop, every report of the catalogue.
pub(super) fn demo(cli: &Cli, events: u64, show_sql: bool) -> Result<(), Error> {
    let s = load_schema(&cli.schema)?;
    let db = "chx_demo";
    let engine = connect(cli, None)?;
    engine.run(format!("DROP DATABASE IF EXISTS {db}"))?;
    for st in ddl::compile(&s, &DdlOptions::new().database(db)) {
        engine.run(st.to_statement())?;
    }
    let days = 120u32;
    let opts = crate::generate::Options::ending_today(events, days, 7);
    let r = crate::generate::load(&engine, &s, db, &opts, None)?;
    println!(
        "generated {} events over {days} days into `{db}` in {:.2} s ({:.0} events/s)\n\n\
         Money is in integer minor units of the row's currency (cents; yen for JPY); times in\n\
         seconds; rates in percent.\n",
        r.events, r.seconds, r.events_per_second
    );
    let ctx = crate::query::Context::new(&s, Some(db))?;
    let journey_user = engine.run(format!("SELECT user_id FROM {db}.events WHERE event_type = 'purchase' AND user_id != '' ORDER BY user_id LIMIT 1"))?.single_string().unwrap_or_default();
    // Every report, then four again in the base currency (the generator wrote daily rates;
    // its social ads bill in EUR).
    let again = [
        ("overview", "currency"),
        ("lifetime-value", "currency"),
        ("acquisition-cost", "currency"),
        ("roas", "currency"),
    ];
    let runs = crate::query::catalog::REPORTS
        .iter()
        .map(|(name, _)| (*name, None))
        .chain(again.iter().map(|(name, p)| (*name, Some(*p))));
    for (name, convert) in runs {
        let mut params: std::collections::BTreeMap<String, String> = match name {
            "user-journey" => [("user_id".to_string(), journey_user.clone())].into(),
            "cohorts" | "lifetime-value" => Default::default(),
            "top-products" => [
                ("days".to_string(), "30".to_string()),
                ("limit".to_string(), "5".to_string()),
            ]
            .into(),
            _ => [("days".to_string(), "30".to_string())].into(),
        };
        if let Some(p) = convert {
            params.insert(p.to_string(), "base".to_string());
        }
        let report = crate::query::catalog::build(&ctx, name, &params)?;
        let started = std::time::Instant::now();
        let rows = engine.run(report.statement())?;
        let title = match convert {
            Some(_) => format!("{name}, currency=base ({})", s.base_currency),
            None => name.to_string(),
        };
        println!(
            "== {title} ({} rows, {:.0} ms)",
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
