//! Reports on a fixture full of traps, checked against values computed here in Rust from the
//! same events: duplicate purchase deliveries within 24 h (ignored), a repeat after 24 h
//! (counted), exact redeliveries of one event_id, three currencies including JPY, refunds,
//! out-of-order inserts, events just outside the range. Every report's SQL is snapshotted.

mod base_currency;
#[path = "../common/mod.rs"]
mod common;
mod shop;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chx::query::categories;
use chx::query::reports::{self, Breakdown, Granularity};
use chx::query::{Context, DateRange, Report};
use serde_json::{Value, json};

use shop::*;

fn run(f: &Fixture, r: &Report) -> Vec<Vec<Value>> {
    f.db.engine
        .run(r.statement())
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", r.name, r.sql()))
        .rows
}

fn ctx(f: &Fixture) -> Context<'_> {
    Context::new(&f.schema, Some(&f.db.name)).unwrap()
}

fn snapshot(r: &Report, variant: &str) {
    let name = format!("{}.{variant}", r.name);
    common::snapshots("reports").bind(|| insta::assert_snapshot!(name, r.to_sql_file()));
}

const SNAPSHOTS: [&str; 13] = [
    "revenue_by_category.default",
    "revenue_timeseries.hour",
    "cart_abandonment.default",
    "user_journey.default",
    "revenue_by_channel.default",
    "overview.default",
    "revenue_timeseries.day",
    "revenue_timeseries.week",
    "revenue_timeseries.month",
    "top_products.default",
    "revenue_by_device.default",
    "revenue_by_country.default",
    "revenue_by_coupon.default",
];

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots("reports", &SNAPSHOTS.map(String::from));
}

#[test]
fn the_fixture_has_its_traps() {
    let ev = fixture();
    let purchases = ev.iter().filter(|e| e.kind == "purchase").count();
    let (_, from, to) = range();
    let c = counted(
        &ev,
        "purchase",
        ev.iter().map(|e| e.ms).min().unwrap(),
        to + 10 * 86_400_000,
    );
    assert!(
        purchases > c.len() + 10,
        "duplicates are in the fixture: {purchases} vs {}",
        c.len()
    );
    assert!(ev.iter().any(|e| e.ms < from) && ev.iter().any(|e| e.ms >= to));
}

fn bucket(ms: i64, g: Granularity) -> NaiveDate {
    let d = DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .date_naive();
    match g {
        Granularity::Day => d,
        Granularity::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
        Granularity::WeekSunday => d - Duration::days(d.weekday().num_days_from_sunday() as i64),
        Granularity::Month => d.with_day(1).unwrap(),
        Granularity::Hour => unreachable!("hours have their own test"),
    }
}

fn next(d: NaiveDate, g: Granularity) -> NaiveDate {
    match g {
        Granularity::Day => d + Duration::days(1),
        Granularity::Week | Granularity::WeekSunday => d + Duration::days(7),
        Granularity::Month => d.checked_add_months(chrono::Months::new(1)).unwrap(),
        Granularity::Hour => unreachable!("hours have their own test"),
    }
}

#[test]
fn revenue_timeseries_matches_rust() {
    let f = load("revenue_timeseries");
    let (range, _, _) = range();
    for (g, variant) in [
        (Granularity::Day, "day"),
        (Granularity::Week, "week"),
        (Granularity::Month, "month"),
    ] {
        let r = reports::revenue_timeseries(&ctx(&f), &range, g).unwrap();
        snapshot(&r, variant);
        assert_eq!(run(&f, &r), want_timeseries(&f.events, g), "{variant}");
    }
}

/// By the hour: the events' own times (no rollup knows hours), every hour of the range present
/// per currency that sold anything.
#[test]
fn hourly_revenue_timeseries_matches_rust() {
    let f = load("revenue_timeseries_hourly");
    let (range, from, to) = range();
    let r = reports::revenue_timeseries(&ctx(&f), &range, Granularity::Hour).unwrap();
    snapshot(&r, "hour");
    let hour = |ms: i64| ms - ms.rem_euclid(3_600_000);
    let mut sums: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
    let orders = counted(&f.events, "purchase", from, to);
    for e in &orders {
        let s = sums.entry((e.currency, hour(e.ms))).or_default();
        s.0 += e.revenue;
        s.1 += 1;
    }
    let currencies: BTreeSet<&str> = orders.iter().map(|e| e.currency).collect();
    let mut want = Vec::new();
    for c in currencies {
        for h in (from..to).step_by(3_600_000) {
            let (rev, n) = sums.get(&(c, h)).copied().unwrap_or_default();
            let text = DateTime::<Utc>::from_timestamp_millis(h)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            want.push(vec![json!(text), json!(c), json!(rev), json!(n)]);
        }
    }
    assert!(sums.values().any(|s| s.1 >= 2), "two orders in one hour");
    assert_eq!(run(&f, &r), want);
    let rolled = ctx(&f).with_rollups(true);
    let r = reports::revenue_timeseries(&rolled, &range, Granularity::Hour).unwrap();
    assert!(!r.sql().contains("revenue_daily"), "{}", r.sql());
}

/// Revenue and orders per currency and period of the range, every period filled.
fn want_timeseries(events: &[Ev], g: Granularity) -> Vec<Vec<Value>> {
    let (_, from, to) = range();
    let mut sums: BTreeMap<(&str, NaiveDate), (i64, i64)> = BTreeMap::new();
    let orders = counted(events, "purchase", from, to);
    for e in &orders {
        let s = sums.entry((e.currency, bucket(e.ms, g))).or_default();
        s.0 += e.revenue;
        s.1 += 1;
    }
    let currencies: BTreeSet<&str> = orders.iter().map(|e| e.currency).collect();
    let mut want = Vec::new();
    for c in currencies {
        let mut d = bucket(from, g);
        while d <= bucket(to - 1, g) {
            let (rev, n) = sums.get(&(c, d)).copied().unwrap_or_default();
            want.push(vec![json!(d.to_string()), json!(c), json!(rev), json!(n)]);
            d = next(d, g);
        }
    }
    want
}

#[test]
fn top_products_matches_rust() {
    let f = load("top_products");
    let (range, _, _) = range();
    let r = reports::top_products(&ctx(&f), &range, 3).unwrap();
    snapshot(&r, "default");
    let want = want_top_products(&f.events, 3);
    assert_eq!(want.len(), 9);
    assert_eq!(run(&f, &r), want);
    assert!(reports::top_products(&ctx(&f), &range, 101).is_err());
}

/// The `limit` best-selling products per currency of the range's counted purchases.
fn want_top_products(events: &[Ev], limit: usize) -> Vec<Vec<Value>> {
    let (_, from, to) = range();
    /// revenue, quantity, transactions, name
    type ProductTotals = (i64, i64, BTreeSet<String>, String);
    let mut agg: HashMap<(&str, String), ProductTotals> = HashMap::new();
    for e in counted(events, "purchase", from, to) {
        for it in &e.items {
            let a = agg.entry((e.currency, it.id.clone())).or_default();
            a.0 += it.amount();
            a.1 += it.qty;
            a.2.insert(e.tx.clone());
            a.3 = it.name.clone();
        }
    }
    let mut rows: Vec<_> = agg.into_iter().collect();
    rows.sort_by(|((c1, i1), a1), ((c2, i2), a2)| {
        c1.cmp(c2).then(a2.0.cmp(&a1.0)).then(i1.cmp(i2))
    });
    let mut per_currency: HashMap<&str, usize> = HashMap::new();
    rows.into_iter()
        .filter(|((c, _), _)| {
            let n = per_currency.entry(c).or_default();
            *n += 1;
            *n <= limit
        })
        .map(|((c, id), (rev, qty, txs, name))| {
            vec![
                json!(id),
                json!(name),
                json!(c),
                json!(rev),
                json!(qty),
                json!(txs.len()),
            ]
        })
        .collect()
}

#[test]
fn revenue_breakdowns_match_rust() {
    let f = load("revenue_breakdowns");
    let (range, _, _) = range();
    for by in [Breakdown::DeviceType, Breakdown::Country, Breakdown::Coupon] {
        let r = reports::revenue_by(&ctx(&f), &range, by).unwrap();
        snapshot(&r, "default");
        let want = want_breakdown(&f.events, by);
        assert!(!want.is_empty());
        assert_eq!(run(&f, &r), want, "{}", r.name);
    }
}

/// Revenue, orders (and average discount, by coupon) per currency and value of `by`.
fn want_breakdown(events: &[Ev], by: Breakdown) -> Vec<Vec<Value>> {
    let (_, from, to) = range();
    let orders = counted(events, "purchase", from, to);
    let mut agg: BTreeMap<(&str, &str), (i64, i64, i64)> = BTreeMap::new();
    for e in &orders {
        let dim = match by {
            Breakdown::DeviceType => e.device,
            Breakdown::Country => e.country,
            Breakdown::Coupon => e.coupon,
            Breakdown::Platform => unreachable!(),
        };
        if by == Breakdown::Coupon && dim.is_empty() {
            continue;
        }
        let a = agg.entry((e.currency, dim)).or_default();
        a.0 += e.revenue;
        a.1 += 1;
        a.2 += e.discount;
    }
    let mut rows: Vec<_> = agg.into_iter().collect();
    rows.sort_by(|((c1, d1), a1), ((c2, d2), a2)| {
        c1.cmp(c2).then(a2.0.cmp(&a1.0)).then(d1.cmp(d2))
    });
    rows.into_iter()
        .map(|((c, d), (rev, n, disc))| {
            let mut row = vec![json!(d), json!(c), json!(rev), json!(n)];
            if by == Breakdown::Coupon {
                let avg = (disc as f64 / n as f64 * 100.0).round() / 100.0;
                row.push(json!(avg));
            }
            row.push(json!(rev as f64 / n as f64));
            row
        })
        .collect()
}

#[test]
fn a_report_needing_a_missing_role_is_a_compile_error() {
    let schema = chx::schema::from_source(&chx::diag::Source::new(
        "mini.yaml",
        "tables:\n  - name: events\n    columns:\n      - {name: event_type, type: String}\n      - {name: timestamp, type: DateTime}\n      - {name: properties, type: \"Map(String, String)\"}\n    order_by: timestamp\ntaxonomy:\n  events:\n    - {name: signup}\n",
    ))
    .unwrap();
    let err = reports::revenue_timeseries(
        &Context::new(&schema, None).unwrap(),
        &DateRange::Days(7),
        Granularity::Day,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "report `revenue_timeseries` needs an event with role `purchase`, and the schema's taxonomy maps none"
    );
}

#[test]
fn overview_matches_rust() {
    let f = load("overview");
    let (range, _, _) = range();
    let r = reports::overview(&ctx(&f), &range).unwrap();
    snapshot(&r, "default");
    check_overview(&f.events, &run(&f, &r));
}

/// The overview's rows against its numbers computed from `events`.
fn check_overview(events: &[Ev], rows: &[Vec<Value>]) {
    let (_, from, to) = range();
    let orders = counted(events, "purchase", from, to);
    let refunds = counted(events, "refund", from, to);
    let order_txs: BTreeSet<&str> = orders.iter().map(|e| e.tx.as_str()).collect();
    let all_refunds = counted(events, "refund", i64::MIN / 2, i64::MAX / 2);
    let mut per: BTreeMap<&str, [i64; 6]> = BTreeMap::new();
    for e in &orders {
        let p = per.entry(e.currency).or_default();
        p[0] += e.revenue;
        p[1] += 1;
        p[5] += e.items.iter().map(|i| i.qty).sum::<i64>();
    }
    for e in &refunds {
        let p = per.entry(e.currency).or_default();
        p[2] += 1;
        p[3] += e.revenue;
    }
    for e in all_refunds
        .iter()
        .filter(|e| order_txs.contains(e.tx.as_str()))
    {
        per.entry(e.currency).or_default()[4] += e.revenue;
    }
    let in_range = |e: &&Ev| e.ms >= from && e.ms < to;
    let (carts, abandoned) = carts_and_abandoned(events, from, to);
    let abandoned = abandoned.len();
    let viewers: BTreeSet<&str> = events
        .iter()
        .filter(in_range)
        .filter(|e| e.kind == "view_item")
        .map(|e| e.person.as_str())
        .collect();
    let adders: BTreeSet<&str> = events
        .iter()
        .filter(in_range)
        .filter(|e| e.kind == "add_to_cart" && viewers.contains(e.person.as_str()))
        .map(|e| e.person.as_str())
        .collect();
    let abandonment = 100.0 * abandoned as f64 / carts.len() as f64;
    let atc = 100.0 * adders.len() as f64 / viewers.len() as f64;
    assert_eq!(rows.len(), per.len());
    for (row, (currency, p)) in rows.iter().zip(&per) {
        let ints: Vec<i64> = [1, 2, 3, 4, 5, 7]
            .iter()
            .map(|i| row[*i].as_i64().unwrap())
            .collect();
        assert_eq!(row[0], json!(currency));
        assert_eq!(
            ints,
            vec![p[0], p[0] - p[4], p[1], p[2], p[3], p[5]],
            "{currency}"
        );
        assert!((row[6].as_f64().unwrap() - p[0] as f64 / p[1] as f64).abs() < 1e-9);
        assert!(
            (row[8].as_f64().unwrap() - abandonment).abs() < 1e-9,
            "{} vs {abandonment}",
            row[8]
        );
        assert!(
            (row[9].as_f64().unwrap() - atc).abs() < 1e-9,
            "{} vs {atc}",
            row[9]
        );
    }
    assert!(abandoned > 0 && abandoned < carts.len());
    assert!(
        per.values().any(|p| p[4] > 0 && p[4] != p[3]),
        "refunds of range orders differ from refunds in range"
    );
}

/// Carts started (add to cart) in the range, and those no purchase ever completed.
fn carts_and_abandoned(events: &[Ev], from: i64, to: i64) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let carts: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.ms >= from && e.ms < to)
        .filter(|e| e.kind == "add_to_cart" && !e.cart.is_empty())
        .map(|e| e.cart.as_str())
        .collect();
    let bought: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.kind == "purchase")
        .map(|e| e.cart.as_str())
        .collect();
    let abandoned = carts
        .iter()
        .copied()
        .filter(|c| !bought.contains(c))
        .collect();
    (carts, abandoned)
}

#[test]
fn cart_abandonment_matches_rust() {
    let f = load("cart_abandonment");
    let (range, _, _) = range();
    let r = reports::cart_abandonment(&ctx(&f), &range).unwrap();
    snapshot(&r, "default");
    check_cart_abandonment(&f.events, &run(&f, &r));
}

/// Cart abandonment's rows against its numbers computed from `events`.
fn check_cart_abandonment(events: &[Ev], rows: &[Vec<Value>]) {
    let (_, from, to) = range();
    let (carts, abandoned) = carts_and_abandoned(events, from, to);
    let mut value: BTreeMap<&str, i64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for e in events.iter().filter(|e| {
        abandoned.contains(e.cart.as_str()) && matches!(e.kind, "add_to_cart" | "remove_from_cart")
    }) {
        if !seen.insert(e.id.clone()) {
            continue;
        }
        let sign = if e.kind == "add_to_cart" { 1 } else { -1 };
        for it in &e.items {
            *value.entry(e.currency).or_default() += sign * it.amount();
        }
    }
    let completed = carts.len() - abandoned.len();
    let rate = 100.0 * abandoned.len() as f64 / carts.len() as f64;
    let want: Vec<Vec<Value>> = value
        .iter()
        .map(|(c, v)| {
            vec![
                json!(rate),
                json!(abandoned.len()),
                json!(c),
                json!(v),
                json!(completed),
            ]
        })
        .collect();
    assert_eq!(rows.len(), want.len());
    for (g, w) in rows.iter().zip(&want) {
        assert!((g[0].as_f64().unwrap() - rate).abs() < 1e-9);
        assert_eq!(g[1..], w[1..]);
    }
    assert!(abandoned.len() > 5 && completed > 5);
}

#[test]
fn revenue_by_channel_matches_rust() {
    let f = load("revenue_by_channel");
    let (range, _, _) = range();
    let r = reports::revenue_by_channel(&ctx(&f), &range).unwrap();
    snapshot(&r, "default");
    check_revenue_by_channel(&f.events, &run(&f, &r));
}

/// Revenue by channel's rows against its numbers computed from `events`.
fn check_revenue_by_channel(events: &[Ev], rows: &[Vec<Value>]) {
    let (_, from, to) = range();
    let orders = counted(events, "purchase", from, to);
    let mut touched: BTreeMap<(&str, &str, &str), BTreeSet<&str>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.ms >= from && e.ms < to && e.channel != ("", "", ""))
    {
        touched
            .entry(e.channel)
            .or_default()
            .insert(e.person.as_str());
    }
    /// revenue, orders, purchasers
    type ChannelTotals = (i64, i64, BTreeSet<String>);
    let mut agg: BTreeMap<((&str, &str, &str), &str), ChannelTotals> = BTreeMap::new();
    for e in &orders {
        let a = agg.entry((e.channel, e.currency)).or_default();
        a.0 += e.revenue;
        a.1 += 1;
        a.2.insert(e.person.clone());
    }
    let mut want: Vec<_> = agg.into_iter().collect();
    want.sort_by(|((ch1, c1), a1), ((ch2, c2), a2)| {
        c1.cmp(c2).then(a2.0.cmp(&a1.0)).then(ch1.cmp(ch2))
    });
    assert_eq!(rows.len(), want.len());
    for (g, ((ch, c), (rev, n, buyers))) in rows.iter().zip(&want) {
        assert_eq!(
            g[..6],
            [
                json!(ch.0),
                json!(ch.1),
                json!(ch.2),
                json!(c),
                json!(rev),
                json!(n)
            ]
        );
        let persons = touched.get(ch).map_or(0, |p| p.len());
        let rate = if persons == 0 {
            0.0
        } else {
            100.0 * buyers.len() as f64 / persons as f64
        };
        assert!(
            (g[6].as_f64().unwrap() - rate).abs() < 1e-9,
            "{ch:?}: {} vs {rate}",
            g[6]
        );
    }
}

#[test]
fn revenue_by_category_matches_rust() {
    let f = load("revenue_by_category");
    let (range, _, _) = range();
    let r = categories::revenue_by_category(&ctx(&f), &range).unwrap();
    snapshot(&r, "default");
    check_revenue_by_category(&f.events, &run(&f, &r));
}

/// Revenue by category's rows against its numbers computed from `events`: an order counts
/// once under each category it contains, with its whole revenue.
fn check_revenue_by_category(events: &[Ev], rows: &[Vec<Value>]) {
    let (_, from, to) = range();
    let mut all: BTreeMap<&str, i64> = BTreeMap::new();
    /// orders, revenue, category revenue, quantity
    type CategoryTotals = (i64, i64, i64, i64);
    let mut agg: BTreeMap<(&str, &str), CategoryTotals> = BTreeMap::new();
    for e in counted(events, "purchase", from, to) {
        *all.entry(e.currency).or_default() += 1;
        let categories: BTreeSet<&str> = e.items.iter().map(|it| category_of(&it.id)).collect();
        for c in categories {
            let a = agg.entry((c, e.currency)).or_default();
            a.0 += 1;
            a.1 += e.revenue;
        }
        for it in &e.items {
            let a = agg.entry((category_of(&it.id), e.currency)).or_default();
            a.2 += it.amount();
            a.3 += it.qty;
        }
    }
    let mut want: Vec<_> = agg.into_iter().collect();
    want.sort_by(|((c1, k1), a1), ((c2, k2), a2)| {
        k1.cmp(k2)
            .then(a2.1.cmp(&a1.1))
            .then(a2.2.cmp(&a1.2))
            .then(c1.cmp(c2))
    });
    // Every category shows up, the uncategorised one included.
    let categories: BTreeSet<&str> = want.iter().map(|((c, _), _)| *c).collect();
    assert_eq!(categories.len(), 3);
    assert_eq!(rows.len(), want.len());
    for (g, ((cat, cur), (orders, revenue, lines, qty))) in rows.iter().zip(&want) {
        assert_eq!(
            g[..4],
            [json!(cat), json!(cur), json!(orders), json!(revenue)]
        );
        assert_eq!(g[6..], [json!(lines), json!(qty)]);
        let close = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-9;
        assert!(close(&g[4], *revenue as f64 / *orders as f64), "{g:?}");
        assert!(
            close(&g[5], 100.0 * *orders as f64 / all[cur] as f64),
            "{g:?}"
        );
    }
}

#[test]
fn user_journey_follows_the_person_across_login() {
    let (db, schema) = common::shop_db("user_journey");
    let rows = [
        json!({"event_id": "00000000-0000-4000-8000-000000000001", "event_type": "view_item", "timestamp": "2026-01-15 10:30:00.000", "anonymous_id": "anon_1", "items": [{"item_id": "sku_1", "item_name": "T-Shirt", "price": 2499, "quantity": 1}]}),
        json!({"event_id": "00000000-0000-4000-8000-000000000002", "event_type": "add_to_cart", "timestamp": "2026-01-15 10:31:00.000", "anonymous_id": "anon_1", "items": [{"item_id": "sku_1", "item_name": "", "price": 2499, "quantity": 1}]}),
        json!({"event_id": "00000000-0000-4000-8000-000000000003", "event_type": "purchase", "timestamp": "2026-01-15 10:35:00.000", "anonymous_id": "anon_1", "user_id": "user_123", "transaction_id": "order_456", "revenue": 4999, "currency": "USD"}),
        // An exact redelivery, and another person's event.
        json!({"event_id": "00000000-0000-4000-8000-000000000003", "event_type": "purchase", "timestamp": "2026-01-15 10:35:00.000", "anonymous_id": "anon_1", "user_id": "user_123", "transaction_id": "order_456", "revenue": 4999, "currency": "USD"}),
        json!({"event_id": "00000000-0000-4000-8000-000000000004", "event_type": "view_item", "timestamp": "2026-01-15 10:32:00.000", "anonymous_id": "anon_2"}),
        // A shared device: another user logged in on anon_1 before user_123 did. That event is
        // theirs (and anon_1's last link is user_123, so its anonymous history stays with them).
        json!({"event_id": "00000000-0000-4000-8000-000000000005", "event_type": "view_item", "timestamp": "2026-01-10 09:00:00.000", "anonymous_id": "anon_1", "user_id": "user_999"}),
    ];
    let body: String = rows.iter().map(|r| r.to_string() + "\n").collect();
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &body)
        .unwrap();
    let r =
        reports::user_journey(&Context::new(&schema, Some(&db.name)).unwrap(), "user_123").unwrap();
    snapshot(&r, "default");
    let got = db.engine.run(r.statement()).unwrap();
    let objs: Vec<Value> = got.to_objects().into_iter().map(Value::Object).collect();
    assert_eq!(
        objs,
        vec![
            json!({"event_type": "view_item", "timestamp": "2026-01-15T10:30:00Z", "items": [{"item_id": "sku_1", "item_name": "T-Shirt"}], "transaction_id": "", "revenue": 0, "currency": ""}),
            json!({"event_type": "add_to_cart", "timestamp": "2026-01-15T10:31:00Z", "items": [{"item_id": "sku_1", "item_name": ""}], "transaction_id": "", "revenue": 0, "currency": ""}),
            json!({"event_type": "purchase", "timestamp": "2026-01-15T10:35:00Z", "items": [], "transaction_id": "order_456", "revenue": 4999, "currency": "USD"}),
        ]
    );
}

/// Two deliveries of one order at the same millisecond with different event_ids: the lower
/// event_id is the one counted, whichever arrives first, in every report that counts orders
/// (the series sums its revenue, top products lists its items).
#[test]
fn a_tie_at_one_millisecond_counts_the_lower_event_id() {
    let (db, schema) = common::shop_db("same_ms_tie");
    let t = ms("2026-03-10", 12 * 3600);
    let order = |id: &str, revenue: i64, sku: &str, name: &str| Ev {
        id: id.into(),
        ms: t,
        kind: "purchase",
        tx: "order_tie".into(),
        revenue,
        discount: 0,
        currency: "USD",
        person: "user_tie".into(),
        device: "mobile",
        country: "US",
        coupon: "",
        cart: "cart_tie".into(),
        channel: ("", "", ""),
        items: vec![Item {
            id: sku.into(),
            name: name.into(),
            price: revenue,
            qty: 1,
            line: None,
        }],
    };
    // The higher id arrives first, and each delivery in its own insert (its own part).
    let later = order(
        "00000000-0000-4000-8000-000000000002",
        700,
        "sku_2",
        "Hoodie",
    );
    let earlier = order(
        "00000000-0000-4000-8000-000000000001",
        500,
        "sku_1",
        "T-Shirt",
    );
    for e in [&later, &earlier] {
        db.engine
            .insert_json_rows(&format!("{}.events", db.name), &to_row(e).to_string())
            .unwrap();
    }
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let (range, _, _) = range();
    let series = reports::revenue_timeseries(&ctx, &range, Granularity::Month).unwrap();
    let rows = db.engine.run(series.statement()).unwrap().rows;
    assert_eq!(
        rows,
        vec![vec![
            json!("2026-03-01"),
            json!("USD"),
            json!(500),
            json!(1)
        ]]
    );
    let top = reports::top_products(&ctx, &range, 5).unwrap();
    let rows = db.engine.run(top.statement()).unwrap().rows;
    assert_eq!(
        rows,
        vec![vec![
            json!("sku_1"),
            json!("T-Shirt"),
            json!("USD"),
            json!(500),
            json!(1),
            json!(1)
        ]]
    );
}
