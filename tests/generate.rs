//! The generator into the real engine: every event lands (MVs fire), the numbers in ClickHouse
//! equal the numbers of the same stream computed in Rust, and the NDJSON it writes passes
//! `chx ingest`'s validation.

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chx::generate::{self, Generator, Options};
use serde_json::json;

fn opts(events: u64) -> Options {
    Options {
        events,
        days: 60,
        seed: 42,
        start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    }
}

#[test]
fn generated_events_land_with_the_numbers_of_the_stream() {
    let (db, schema) = common::shop_db("generate");
    let n = 150_000;
    let report = generate::load(&db.engine, &schema, &db.name, &opts(n), None).unwrap();
    eprintln!(
        "generated {} events in {:.2} s: {:.0} events/s (debug build)",
        report.events, report.seconds, report.events_per_second
    );
    assert_eq!(report.events, n);
    let mut g = Generator::new(opts(n));
    let mut per_currency: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut items = 0i64;
    // Paid channels' sessions per day: the clicks of the spend the generator loads.
    let mut sessions: BTreeMap<(i64, &str), std::collections::BTreeSet<String>> = BTreeMap::new();
    while g.next_session(&mut |e| {
        items += e.items.len() as i64;
        if ["cpc", "social", "newsletter"].contains(&e.utm.2) {
            sessions
                .entry((e.ms.div_euclid(86_400_000), e.utm.1))
                .or_default()
                .insert(e.session_id.to_string());
        }
        if e.event_type == "purchase" {
            let c = per_currency.entry(e.currency.to_string()).or_default();
            c.0 += e.revenue;
            c.1 += 1;
        }
    }) {}
    assert_eq!(common::count(&db.engine, "events"), n as i64);
    assert_eq!(common::count(&db.engine, "event_items"), items);
    let rows = db.engine.run("SELECT currency, sum(revenue), count() FROM events WHERE event_type = 'purchase' GROUP BY currency ORDER BY currency").unwrap().rows;
    let want: Vec<Vec<serde_json::Value>> = per_currency
        .into_iter()
        .map(|(c, (r, k))| vec![json!(c), json!(r), json!(k)])
        .collect();
    assert_eq!(rows, want);
    assert!(want.len() >= 5, "several currencies: {want:?}");
    // The two statements the generator writes besides events, snapshotted.
    for (name, stmt) in [
        ("spend_insert", generate::spend_insert(&schema, "shop")),
        (
            "rates_insert",
            generate::rates_insert(&schema, "shop", &opts(n)),
        ),
    ] {
        common::snapshots("generate").bind(|| insta::assert_snapshot!(name, stmt.sql));
    }
    // Ad spend: one row per paid channel and day, clicks = its sessions, spend in the
    // channel's billing currency at 80-120 % of its cost per click.
    let spend = db.engine.run("SELECT toInt64(toUnixTimestamp(toDateTime(day, 'UTC')) / 86400), utm_source, currency, spend, clicks FROM ad_spend ORDER BY 1, 2").unwrap().rows;
    assert_eq!(spend.len(), sessions.len());
    for (row, ((day, source), ids)) in spend.iter().zip(&sessions) {
        assert_eq!(row[..2], [json!(day), json!(source)]);
        let clicks = ids.len() as i64;
        assert_eq!(row[4], json!(clicks));
        let (currency, cpc) = match *source {
            "google" => ("USD", 85),
            "instagram" => ("EUR", 60),
            _ => ("USD", 4),
        };
        assert_eq!(row[2], json!(currency));
        let cost = row[3].as_i64().unwrap();
        assert!(
            cost * 100 >= clicks * cpc * 80 - 100 && cost * 100 <= clicks * cpc * 120 + 100,
            "{row:?}"
        );
    }
}

#[test]
fn the_ndjson_it_writes_is_valid_ingest_input() {
    let (db, schema) = common::shop_db("generate_ndjson");
    let scratch = common::shop_db("generate_ndjson_scratch").0;
    let path = common::scratch("gen.ndjson");
    generate::load(
        &scratch.engine,
        &schema,
        &scratch.name,
        &opts(5_000),
        Some(&path),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let report = chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    assert!(
        report.errors.is_empty(),
        "{:?}",
        &report.errors[..report.errors.len().min(3)]
    );
    assert_eq!(report.accepted + report.duplicates_ignored, 5_000);
    assert!(
        report.duplicates_ignored > 0,
        "the stream has repeated purchase deliveries"
    );
    // Amounts round-trip through decimal text exactly.
    let a = db
        .engine
        .run("SELECT sum(revenue) FROM events WHERE event_type = 'refund'")
        .unwrap()
        .single_i64()
        .unwrap();
    let b = scratch
        .engine
        .run("SELECT sum(revenue) FROM events WHERE event_type = 'refund'")
        .unwrap()
        .single_i64()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_failing_insert_stops_the_load_with_its_error() {
    // Both insert threads and the generator thread must stop: no hang, no partial success.
    let db = common::test_db("generate_failing");
    let schema = common::ecommerce();
    let err = generate::load(&db.engine, &schema, &db.name, &opts(600_000), None).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots(
        "generate",
        &["spend_insert".to_string(), "rates_insert".to_string()],
    );
}
