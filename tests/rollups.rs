//! Reports that read a rollup give exactly what the event-scanning version gives, on data
//! written through `chx ingest` (which drops repeated purchase deliveries before they reach the
//! rollup).

mod common;

use chx::query::reports::{self, Granularity};
use chx::query::{Context, DateRange};
use serde_json::json;

#[test]
fn revenue_timeseries_from_the_rollup_equals_the_raw_version() {
    let (db, schema) = common::shop_db("rollup_timeseries");
    let mut rng = common::Rng(0xABCD_EF01_2345_6789u64);
    let mut rnd = |n: u64| rng.below(n);
    let mut lines = Vec::new();
    for i in 0..400 {
        let day = 1 + rnd(60);
        let ts = format!(
            "2026-{:02}-{:02}T{:02}:{:02}:00Z",
            1 + (day - 1) / 30,
            1 + (day - 1) % 30,
            rnd(24),
            rnd(60)
        );
        let (currency, revenue) = match rnd(3) {
            0 => ("USD", json!(format!("{}.{:02}", 1 + rnd(200), rnd(100)))),
            1 => ("EUR", json!(format!("{}.{:02}", 1 + rnd(200), rnd(100)))),
            _ => ("JPY", json!(100 + rnd(20_000))),
        };
        let ev = json!({"event_type": "purchase", "timestamp": ts, "transaction_id": format!("o{i}"), "revenue": revenue, "currency": currency, "user_id": format!("u{}", rnd(50))});
        lines.push(ev.to_string());
        if i % 7 == 0 {
            lines.push(ev.to_string()); // a retry, dropped by ingest
        }
    }
    let report = chx::ingest::ingest(&db.engine, &schema, &db.name, &lines.join("\n")).unwrap();
    assert!(report.duplicates_ignored > 50);
    let range = DateRange::Between {
        start: "2026-01-05".parse().unwrap(),
        end: "2026-02-25".parse().unwrap(),
    };
    let raw_ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let rollup_ctx = Context::new(&schema, Some(&db.name))
        .unwrap()
        .with_rollups(true);
    for (g, variant) in [
        (Granularity::Day, "day"),
        (Granularity::Week, "week"),
        (Granularity::Month, "month"),
    ] {
        let raw = reports::revenue_timeseries(&raw_ctx, &range, g).unwrap();
        let rolled = reports::revenue_timeseries(&rollup_ctx, &range, g).unwrap();
        assert!(
            rolled
                .sql()
                .contains("FROM t_rollup_timeseries.revenue_daily"),
            "{}",
            rolled.sql()
        );
        let a = db.engine.run(raw.statement()).unwrap().rows;
        let b = db.engine.run(rolled.statement()).unwrap().rows;
        assert!(a.len() >= 6, "{variant}");
        assert_eq!(a, b, "{variant}");
        if g == Granularity::Day {
            let r = reports::revenue_timeseries(
                &Context::new(&schema, Some("shop"))
                    .unwrap()
                    .with_rollups(true),
                &range,
                g,
            )
            .unwrap();
            common::snapshots("rollups")
                .bind(|| insta::assert_snapshot!("revenue_timeseries.rollup", r.to_sql_file()));
        }
    }
    common::assert_no_unreferenced_snapshots("rollups", &["revenue_timeseries.rollup".to_string()]);
}
