//! Schema applied, events ingested, materialized views and the rollup checked row for row
//! against values computed here in Rust from the same NDJSON (not through chx's ingest code).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chx::ddl::{self, DdlOptions};
use serde_json::{Map, Value};

const SNAPSHOTS: [&str; 1] = ["bad_events.errors"];

/// The sample events as plain JSON objects, with independently computed dedupe applied.
struct Expected {
    events: Vec<Map<String, Value>>,
}

fn exponent(currency: &str) -> i32 {
    match currency {
        "JPY" | "KRW" => 0,
        _ => 2,
    }
}

/// Minor units computed the simple way (values in the fixture have exact decimal forms).
fn minor(v: Option<&Value>, currency: &str) -> i64 {
    let x = match v {
        Some(Value::Number(n)) => n.as_f64().unwrap(),
        Some(Value::String(s)) => s.parse::<f64>().unwrap(),
        _ => return 0,
    };
    (x * 10f64.powi(exponent(currency))).round() as i64
}

fn ts_ms(e: &Map<String, Value>) -> i64 {
    chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn s<'a>(e: &'a Map<String, Value>, k: &str) -> &'a str {
    e.get(k).and_then(Value::as_str).unwrap_or("")
}

fn currency(e: &Map<String, Value>) -> String {
    match s(e, "currency") {
        "" => "USD".to_string(),
        c => c.to_uppercase(),
    }
}

fn expected(text: &str) -> Expected {
    let mut all: Vec<Map<String, Value>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap()
                .as_object()
                .unwrap()
                .clone()
        })
        .collect();
    all.sort_by_key(ts_ms);
    // A purchase/refund with a transaction_id already kept within the previous 24 h is dropped.
    let mut kept: Vec<Map<String, Value>> = Vec::new();
    for e in all {
        let t = s(&e, "event_type");
        let dup = (t == "purchase" || t == "refund")
            && kept.iter().any(|k| {
                s(k, "event_type") == t
                    && s(k, "transaction_id") == s(&e, "transaction_id")
                    && ts_ms(&e) - ts_ms(k) < 86_400_000
            });
        if !dup {
            kept.push(e);
        }
    }
    Expected { events: kept }
}

fn query_rows(db: &common::TestDb, sql: &str) -> Vec<Vec<Value>> {
    db.engine
        .run(sql)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .rows
}

fn apply(db: &common::TestDb) -> chx::schema::Schema {
    let schema = common::ecommerce();
    for s in ddl::compile(
        &schema,
        &DdlOptions::new().database(&db.name).if_not_exists(true),
    ) {
        db.engine.run(s.to_statement()).unwrap();
    }
    schema
}

#[test]
fn sample_events_fill_every_table_exactly() {
    let db = common::test_db("sample_events_fill_every_table");
    let schema = apply(&db);
    let text = std::fs::read_to_string(common::repo_path("schema/examples/events.ndjson")).unwrap();
    let report = chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    let exp = expected(&text);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.accepted, exp.events.len());
    assert_eq!(
        report.duplicates_ignored,
        text.lines().count() - exp.events.len()
    );

    // events
    let got = query_rows(
        &db,
        "SELECT toString(event_id), event_type, currency, revenue, discount, shipping, tax, person_id FROM events ORDER BY 1",
    );
    let mut want: Vec<Vec<Value>> = exp
        .events
        .iter()
        .map(|e| {
            let c = currency(e);
            let person = if s(e, "user_id").is_empty() {
                s(e, "anonymous_id")
            } else {
                s(e, "user_id")
            };
            vec![
                e["event_id"].clone(),
                e["event_type"].clone(),
                Value::from(c.clone()),
                Value::from(minor(e.get("revenue"), &c)),
                Value::from(minor(e.get("discount"), &c)),
                Value::from(minor(e.get("shipping"), &c)),
                Value::from(minor(e.get("tax"), &c)),
                Value::from(person),
            ]
        })
        .collect();
    want.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    assert_eq!(got, want);

    // event_items: one row per item, prices in minor units of the item's (or event's) currency
    let got = query_rows(
        &db,
        "SELECT toString(event_id), item_index, item_id, price, quantity, currency, transaction_id FROM event_items ORDER BY 1, 2",
    );
    let mut want = Vec::new();
    for e in &exp.events {
        for (i, item) in e
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let item = item.as_object().unwrap();
            let c = match s(item, "currency") {
                "" => currency(e),
                c => c.to_uppercase(),
            };
            want.push(vec![
                e["event_id"].clone(),
                Value::from(i as u64 + 1),
                item["item_id"].clone(),
                Value::from(minor(item.get("price"), &c)),
                Value::from(item.get("quantity").and_then(Value::as_u64).unwrap_or(1)),
                Value::from(c),
                Value::from(s(e, "transaction_id")),
            ]);
        }
    }
    want.sort_by(|a, b| (a[0].as_str(), a[1].as_u64()).cmp(&(b[0].as_str(), b[1].as_u64())));
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // event_properties: one row per property
    let got = query_rows(
        &db,
        "SELECT toString(event_id), key, value FROM event_properties ORDER BY 1, 2",
    );
    let mut want = Vec::new();
    for e in &exp.events {
        for (k, v) in e
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            want.push(vec![
                e["event_id"].clone(),
                Value::from(k.clone()),
                Value::from(text),
            ]);
        }
    }
    want.sort_by(|a, b| (a[0].as_str(), a[1].as_str()).cmp(&(b[0].as_str(), b[1].as_str())));
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // identities: every event that carries both ids links them
    let got: BTreeSet<(String, String)> =
        query_rows(&db, "SELECT anonymous_id, user_id FROM identities")
            .into_iter()
            .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
            .collect();
    let want: BTreeSet<(String, String)> = exp
        .events
        .iter()
        .filter(|e| !s(e, "anonymous_id").is_empty() && !s(e, "user_id").is_empty())
        .map(|e| (s(e, "anonymous_id").into(), s(e, "user_id").into()))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // revenue_daily rollup, read with its generated -Merge query
    let read = ddl::rollup_read_query(
        &schema,
        "revenue_daily_mv",
        &DdlOptions::new().database(&db.name),
    )
    .unwrap();
    let got = db.engine.run(read).unwrap();
    let mut want: BTreeMap<(String, String, String), [i64; 7]> = BTreeMap::new();
    for e in exp
        .events
        .iter()
        .filter(|e| matches!(s(e, "event_type"), "purchase" | "refund"))
    {
        let c = currency(e);
        let day = chrono::DateTime::from_timestamp_millis(ts_ms(e))
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let w = want
            .entry((day, s(e, "event_type").into(), c.clone()))
            .or_default();
        w[0] += minor(e.get("revenue"), &c);
        w[1] += minor(e.get("discount"), &c);
        w[2] += minor(e.get("shipping"), &c);
        w[3] += minor(e.get("tax"), &c);
        w[4] += 1;
        w[6] += e
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|i| i.get("quantity").and_then(Value::as_i64).unwrap_or(1))
            .sum::<i64>();
    }
    for ((day, t, c), w) in want.iter_mut() {
        let ids: BTreeSet<&str> = exp
            .events
            .iter()
            .filter(|e| s(e, "event_type") == t && currency(e) == *c)
            .filter(|e| {
                chrono::DateTime::from_timestamp_millis(ts_ms(e))
                    .unwrap()
                    .format("%Y-%m-%d")
                    .to_string()
                    == *day
            })
            .map(|e| s(e, "transaction_id"))
            .collect();
        w[5] = ids.len() as i64;
    }
    let want_rows: Vec<Vec<Value>> = want
        .into_iter()
        .map(|((d, t, c), w)| {
            let mut r = vec![Value::from(d), Value::from(t), Value::from(c)];
            r.extend(w.iter().map(|x| Value::from(*x)));
            r
        })
        .collect();
    assert!(want_rows.len() >= 4);
    let got_rows: Vec<Vec<Value>> = got
        .rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.as_u64().map(|u| Value::from(u as i64)).unwrap_or(v))
                .collect()
        })
        .collect();
    assert_eq!(got_rows, want_rows);

    // The rollup equals the same aggregation over the raw table.
    let raw = query_rows(
        &db,
        "SELECT toDate(timestamp) AS day, event_type, currency, sum(revenue), count() FROM events \
         WHERE event_type IN ('purchase', 'refund') GROUP BY day, event_type, currency ORDER BY day, event_type, currency",
    );
    let from_rollup: Vec<Vec<Value>> = got_rows
        .iter()
        .map(|r| {
            vec![
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[7].clone(),
            ]
        })
        .collect();
    let raw: Vec<Vec<Value>> = raw
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.as_u64().map(|u| Value::from(u as i64)).unwrap_or(v))
                .collect()
        })
        .collect();
    assert_eq!(raw, from_rollup);
}

/// Out of order across inserts: a purchase's repeat (two minutes later) arrives in one insert,
/// its original in the next. The original is ignored then, so the table holds one delivery and
/// the revenue rollup (which sums every stored purchase) equals the events; a delivery more
/// than 24 hours before the stored one is a new order and kept.
#[test]
fn an_original_arriving_after_its_repeat_is_ignored() {
    let db = common::test_db("ingest_out_of_order");
    let schema = apply(&db);
    let line = |ts: &str| {
        serde_json::json!({"event_type": "purchase", "timestamp": ts, "user_id": "u1", "transaction_id": "o1", "revenue": 19.99, "currency": "USD"})
            .to_string()
    };
    let first =
        chx::ingest::ingest(&db.engine, &schema, &db.name, &line("2026-03-02T10:02:00Z")).unwrap();
    assert_eq!((first.accepted, first.duplicates_ignored), (1, 0));
    let late =
        chx::ingest::ingest(&db.engine, &schema, &db.name, &line("2026-03-02T10:00:00Z")).unwrap();
    assert_eq!((late.accepted, late.duplicates_ignored), (0, 1));
    let earlier =
        chx::ingest::ingest(&db.engine, &schema, &db.name, &line("2026-03-01T10:01:00Z")).unwrap();
    assert_eq!((earlier.accepted, earlier.duplicates_ignored), (1, 0));
    let events = query_rows(&db, "SELECT count(), sum(revenue) FROM events");
    let rollup = query_rows(
        &db,
        "SELECT countMerge(events), sumMerge(amount) FROM revenue_daily",
    );
    assert_eq!(events, vec![vec![Value::from(2), Value::from(3998)]]);
    assert_eq!(rollup, events);
}

#[test]
fn ingesting_the_same_file_twice_adds_nothing() {
    let db = common::test_db("ingest_twice");
    let schema = apply(&db);
    let text = std::fs::read_to_string(common::repo_path("schema/examples/events.ndjson")).unwrap();
    let first = chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    let second = chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    assert_eq!(second.accepted, 0);
    assert_eq!(
        second.already_present + second.duplicates_ignored,
        text.lines().count()
    );
    let n = common::count(&db.engine, "events");
    assert_eq!(n as usize, first.accepted);
}

#[test]
fn bad_events_are_reported_by_line_and_valid_ones_inserted() {
    let db = common::test_db("bad_events");
    let schema = apply(&db);
    let text =
        std::fs::read_to_string(common::repo_path("tests/fixtures/events/bad.ndjson")).unwrap();
    let report = chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    let rendered: String = report
        .errors
        .iter()
        .map(|e| format!("bad.ndjson:{}: {}\n", e.line, e.message))
        .collect();
    common::snapshots("pipeline").bind(|| insta::assert_snapshot!("bad_events.errors", rendered));
    // The seed API's texts, word for word.
    let msg = |line: usize| {
        report
            .errors
            .iter()
            .find(|e| e.line == line)
            .map(|e| e.message.as_str())
    };
    assert_eq!(msg(2), Some("event_type is required"));
    assert_eq!(msg(3), Some("Invalid ecommerce event_type"));
    assert_eq!(
        msg(4),
        Some("transaction_id is required for purchase events")
    );
    assert_eq!(msg(5), Some("revenue is required for purchase events"));
    // Line 1 and the dotted-name purchase (line 16) are valid; everything else is rejected.
    assert_eq!(report.accepted, 2);
    assert_eq!(report.errors.len(), text.lines().count() - 2);
    let rows = query_rows(
        &db,
        "SELECT event_type, transaction_id, revenue, currency FROM events ORDER BY timestamp",
    );
    assert_eq!(
        rows[1],
        vec![
            Value::from("purchase"),
            Value::from("o4"),
            Value::from(2500),
            Value::from("EUR")
        ]
    );
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots("pipeline", &SNAPSHOTS.map(String::from));
}
