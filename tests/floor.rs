//! Report floors (the scans a report cannot avoid, with nothing computed): every catalogue
//! report has one, snapshotted and run on the engine, and the revenue series' floor counts the
//! rows a plain Rust count of the sample events says its three scans read.

mod common;

use std::collections::BTreeMap;

use chx::query::catalog::{self, REPORTS};
use chx::query::{Context, floor::floor};

fn params(name: &str) -> BTreeMap<String, String> {
    common::catalogue_params(name, "2026-01-01", "2026-01-31")
}

#[test]
fn every_catalogue_report_has_a_floor_that_runs() {
    let (db, schema) = common::shop_db("floor");
    let text = std::fs::read_to_string(common::repo_path("schema/examples/events.ndjson")).unwrap();
    chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let snap_ctx = Context::new(&schema, Some("shop")).unwrap();
    let mut rows = BTreeMap::new();
    for (name, _) in REPORTS {
        let report = catalog::build(&ctx, name, &params(name)).unwrap();
        let f = floor(&report, &ctx).unwrap_or_else(|| panic!("{name} has no floor"));
        let out = db
            .engine
            .run(f.statement())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", f.sql()));
        rows.insert(*name, out.rows[0][0].as_i64().unwrap());
        // Snapshots name the schema's database, not the test's.
        let shown = floor(
            &catalog::build(&snap_ctx, name, &params(name)).unwrap(),
            &snap_ctx,
        )
        .unwrap();
        common::snapshots("floor").bind(|| insta::assert_snapshot!(*name, shown.sql()));
    }
    // revenue-timeseries scans purchases twice: the range's transactions (the dedupe's IN
    // list) and their whole history (the dedupe itself, which carries the columns the report
    // sums; its IN condition needs a query and is left out of the floor). Stored purchases
    // are those ingest kept: it drops a repeat of a transaction within 24 hours.
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let purchases: Vec<(String, i64)> = events
        .iter()
        .filter(|e| e["event_type"] == "purchase")
        .map(|e| {
            let ts = e["timestamp"].as_str().unwrap();
            let ms = chrono::DateTime::parse_from_rfc3339(ts)
                .unwrap()
                .timestamp_millis();
            (e["transaction_id"].as_str().unwrap().to_string(), ms)
        })
        .collect();
    let stored = common::counted_within_24h(&purchases, |p| &p.0, |p| p.1);
    let january = |ms: i64| ms >= common::utc_ms(2026, 1, 1) && ms < common::utc_ms(2026, 2, 1);
    let in_january = stored.iter().filter(|p| january(p.1)).count() as i64;
    assert!(in_january > 0 && in_january < stored.len() as i64);
    assert!(stored.len() < purchases.len(), "the sample holds a repeat");
    assert_eq!(rows["revenue-timeseries"], in_january + stored.len() as i64);
}

#[test]
fn a_floor_keeps_only_conditions_on_the_scanned_table() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, Some("shop")).unwrap();
    let report = catalog::build(&ctx, "funnel", &params("funnel")).unwrap();
    let sql = floor(&report, &ctx).unwrap().sql();
    // The step events' names and the range stay; the mask (a computed alias) does not.
    assert!(sql.contains("e.event_type IN ('view_item'"), "{sql}");
    assert!(
        sql.contains("e.timestamp >= {range_start:DateTime64(3, 'UTC')}"),
        "{sql}"
    );
    assert!(!sql.contains("mask"), "{sql}");
    // The identity map's table is a scan of its own.
    assert!(sql.contains("FROM shop.identities"), "{sql}");
}

#[test]
fn no_unreferenced_snapshots() {
    let names: Vec<String> = REPORTS.iter().map(|(n, _)| n.to_string()).collect();
    common::assert_no_unreferenced_snapshots("floor", &names);
}
