//! SQL templates in queries/*.sql: rendered with the schema-aware helpers, snapshotted, run on
//! the real engine, and their errors point at the template line.

mod common;

use std::collections::BTreeMap;

use chx::query::{Context, template};
use serde_json::json;

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn templates() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(common::repo_path("queries"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn shipped_templates_render_run_and_are_snapshotted() {
    let (db, schema) = common::shop_db("templates");
    let text = std::fs::read_to_string(common::repo_path("schema/examples/events.ndjson")).unwrap();
    chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let list = templates();
    assert!(list.len() >= 2);
    for (stem, source) in &list {
        let v = values(&[
            ("start", "2026-01-01"),
            ("end", "2026-02-28"),
            ("currency", "USD"),
        ]);
        let v: BTreeMap<String, String> = v
            .into_iter()
            .filter(|(k, _)| k != "currency" || source.contains("param(\"currency\""))
            .collect();
        let r = template::render(&ctx, stem, stem, source, &v).unwrap();
        let rows = db
            .engine
            .run(r.statement())
            .unwrap_or_else(|e| panic!("{stem}: {e}\n{}", r.sql()));
        assert!(!rows.is_empty(), "{stem} returns rows on the sample");
        let for_snapshot = template::render(
            &Context::new(&schema, Some("shop")).unwrap(),
            stem,
            stem,
            source,
            &BTreeMap::new(),
        )
        .unwrap();
        let name = format!("template.{stem}");
        common::snapshots("templates")
            .bind(|| insta::assert_snapshot!(name, for_snapshot.to_sql_file()));
    }
    // The numbers: USD purchases per day in the sample (the retry was dropped at ingest).
    let source = &list
        .iter()
        .find(|(s, _)| s == "revenue_per_day_in_currency")
        .unwrap()
        .1;
    let r = template::render(
        &ctx,
        "t",
        "t",
        source,
        &values(&[
            ("start", "2026-01-01"),
            ("end", "2026-02-28"),
            ("currency", "USD"),
        ]),
    )
    .unwrap();
    let rows = db.engine.run(r.statement()).unwrap().rows;
    assert_eq!(
        rows,
        vec![
            vec![json!("2026-01-15"), json!(4999), json!(49.99), json!(1)],
            vec![json!("2026-02-20"), json!(5900), json!(59.0), json!(1)]
        ]
    );
    let names: Vec<String> = list.iter().map(|(s, _)| format!("template.{s}")).collect();
    common::assert_no_unreferenced_snapshots("templates", &names);
}

#[test]
fn template_errors_name_the_line() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, None).unwrap();
    let err = |src: &str| {
        template::render(&ctx, "t", "q.sql", src, &BTreeMap::new())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("SELECT 1\nFROM {{ tabel(\"events\") }}"),
        "template q.sql: line 2: unknown function: tabel is unknown"
    );
    assert_eq!(
        err("SELECT {{ nope }}"),
        "template q.sql: line 1: undefined value: `nope` is undefined"
    );
    assert_eq!(
        err("SELECT {{ column(\"events\", \"revenu\") }}"),
        "template q.sql: line 1: invalid operation: table `events` has no column `revenu`"
    );
    assert_eq!(
        err("{{ events(\"teleport\") }}"),
        "template q.sql: line 1: invalid operation: no event plays role `teleport`"
    );
    assert_eq!(
        err("{{ param(\"x\", \"Strng\") }}"),
        "template q.sql: line 1: invalid operation: parameter `x`: type `Strng`: unknown type `Strng`"
    );
}

#[test]
fn parameter_values_never_enter_the_sql_text() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, None).unwrap();
    let evil = "'; DROP TABLE events; --";
    let r = template::render(
        &ctx,
        "t",
        "t",
        "SELECT {{ param(\"x\", \"String\") }} AS x",
        &values(&[("x", evil)]),
    )
    .unwrap();
    assert_eq!(r.sql(), "SELECT {x:String} AS x");
    let rows = common::engine().run(r.statement()).unwrap();
    assert_eq!(rows.rows[0][0], json!(evil));
}
