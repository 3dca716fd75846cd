//! Retention matrices, revenue cohorts and lifetime value against plain Rust over the same
//! purchases (with retries to ignore, anonymous first purchases linked later, history before
//! the range).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chx::query::cohorts::{self, CohortMode, Retention};
use chx::query::customers;
use chx::query::funnel::StepEvent;
use chx::query::money::Currency;
use chx::query::reports::Granularity;
use chx::query::{Context, DateRange};
use serde_json::{Value, json};

#[derive(Clone)]
struct P {
    id: String,
    user: String,
    anon: String,
    kind: &'static str,
    ms: i64,
    tx: String,
    revenue: i64,
    currency: &'static str,
}

fn fixture() -> Vec<P> {
    let mut rng = common::Rng(0xDEAD_BEEF_CAFE_F00Du64);
    let mut rnd = |n: u64| rng.below(n);
    let start = common::utc_ms(2025, 10, 1);
    let mut out = Vec::new();
    let mut ids = common::EventIds::default();
    let mut id = || ids.next_id();
    for p in 0..70 {
        let user = format!("u{p}");
        let currency = ["USD", "EUR", "JPY"][p % 3];
        let mut t = start + rnd(190 * 86_400) as i64 * 1000;
        for k in 0..1 + rnd(6) {
            // The first purchase of every fifth person is anonymous; a later event links them.
            let anonymous = p % 5 == 0 && k == 0;
            let tx = format!("o{p}_{k}");
            let ev = P {
                id: id(),
                user: if anonymous {
                    String::new()
                } else {
                    user.clone()
                },
                anon: if p % 5 == 0 {
                    format!("a{p}")
                } else {
                    String::new()
                },
                kind: "purchase",
                ms: t,
                tx: tx.clone(),
                revenue: 100 + rnd(10_000) as i64,
                // Every seventh person pays in euros after their first order.
                currency: if p % 7 == 3 && k > 0 { "EUR" } else { currency },
            };
            if k == 1 {
                out.push(P {
                    id: id(),
                    ms: t + 60_000,
                    ..ev.clone()
                });
            }
            out.push(ev);
            if rnd(3) == 0 {
                out.push(P {
                    id: id(),
                    user: user.clone(),
                    anon: String::new(),
                    kind: "view_item",
                    ms: t - 3_600_000,
                    tx: String::new(),
                    revenue: 0,
                    currency,
                });
            }
            t += (1 + rnd(40 * 86_400)) as i64 * 1000;
        }
        if p % 5 == 0 {
            out.push(P {
                id: id(),
                user: user.clone(),
                anon: format!("a{p}"),
                kind: "view_item",
                ms: t,
                tx: String::new(),
                revenue: 0,
                currency,
            });
        }
    }
    out
}

fn setup(name: &str) -> (common::TestDb, chx::schema::Schema, Vec<P>) {
    let (db, schema) = common::shop_db(name);
    let events = fixture();
    let body: String = events
        .iter()
        .map(|e| {
            let ts = common::ts_text(e.ms);
            json!({"event_id": e.id, "event_type": e.kind, "timestamp": ts, "user_id": e.user, "anonymous_id": e.anon, "transaction_id": e.tx, "revenue": e.revenue, "currency": e.currency}).to_string() + "\n"
        })
        .collect();
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &body)
        .unwrap();
    (db, schema, events)
}

/// Person of an event: its user, else the user its anonymous id was ever linked to.
fn person(e: &P, events: &[P]) -> String {
    if !e.user.is_empty() {
        return e.user.clone();
    }
    events
        .iter()
        .find(|x| !x.user.is_empty() && x.anon == e.anon)
        .map_or(e.anon.clone(), |x| x.user.clone())
}

/// Purchases after the 24 h transaction rule.
fn counted(events: &[P]) -> Vec<P> {
    let purchases = events.iter().filter(|e| e.kind == "purchase");
    common::counted_within_24h(purchases, |e| &e.tx, |e| e.ms)
        .into_iter()
        .cloned()
        .collect()
}

fn day(ms: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .date_naive()
}

fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn retention_reference(
    events: &[P],
    mode: CohortMode,
    cumulative: bool,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, i64, i64, i64)> {
    let purchases: Vec<(String, NaiveDate)> = events
        .iter()
        .filter(|e| e.kind == "purchase" && day(e.ms) <= to)
        .map(|e| (person(e, events), day(e.ms)))
        .collect();
    let mut cohorts: BTreeMap<NaiveDate, BTreeSet<String>> = BTreeMap::new();
    match mode {
        CohortMode::Recurring => {
            for (p, d) in purchases.iter().filter(|(_, d)| *d >= from) {
                cohorts.entry(monday(*d)).or_default().insert(p.clone());
            }
        }
        CohortMode::FirstTime => {
            let mut first: BTreeMap<&str, NaiveDate> = BTreeMap::new();
            for (p, d) in &purchases {
                let f = first.entry(p).or_insert(*d);
                *f = (*f).min(*d);
            }
            for (p, d) in first {
                if monday(d) >= monday(from) {
                    cohorts.entry(monday(d)).or_default().insert(p.to_string());
                }
            }
        }
    }
    let returns: BTreeSet<(String, NaiveDate)> = purchases
        .iter()
        .filter(|(_, d)| *d >= from)
        .map(|(p, d)| (p.clone(), monday(*d)))
        .collect();
    let mut out = Vec::new();
    for (c, members) in &cohorts {
        let last = (monday(to) - *c).num_days() / 7;
        for j in 0..=last {
            let users = if j == 0 {
                members.len() as i64
            } else {
                members
                    .iter()
                    .filter(|p| {
                        returns.iter().any(|(q, w)| {
                            q == *p && {
                                let off = (*w - *c).num_days() / 7;
                                if cumulative { off >= j } else { off == j }
                            }
                        })
                    })
                    .count() as i64
            };
            out.push((*c, j, users, members.len() as i64));
        }
    }
    out
}

#[test]
fn retention_matches_rust_in_every_mode() {
    let (db, schema, events) = setup("retention");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let (from, to): (NaiveDate, NaiveDate) =
        ("2026-01-01".parse().unwrap(), "2026-02-28".parse().unwrap());
    let mut snapshots = Vec::new();
    for (mode, cumulative) in [
        (CohortMode::Recurring, false),
        (CohortMode::Recurring, true),
        (CohortMode::FirstTime, false),
    ] {
        let r = Retention::default()
            .mode(mode)
            .cumulative(cumulative)
            .range(DateRange::Between {
                start: from,
                end: to,
            })
            .compile(&ctx)
            .unwrap();
        let rows = db.report_rows(&r);
        let got: Vec<(NaiveDate, i64, i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().parse().unwrap(),
                    r[1].as_i64().unwrap(),
                    r[2].as_i64().unwrap(),
                    r[3].as_i64().unwrap(),
                )
            })
            .collect();
        let want = retention_reference(&events, mode, cumulative, from, to);
        assert_eq!(got, want, "{mode:?} cumulative={cumulative}");
        assert!(want.iter().any(|w| w.1 > 0 && w.2 > 0), "returns exist");
        // The report groups only cells that hold someone and fills in the rest: the data must
        // have empty cells, between filled ones where the counts may rise again (not
        // cumulative).
        let empty_before_a_return = |w: &(NaiveDate, i64, i64, i64)| {
            want.iter().any(|v| v.0 == w.0 && v.1 > w.1 && v.2 > 0)
        };
        assert!(
            want.iter()
                .any(|w| w.1 > 0 && w.2 == 0 && (cumulative || empty_before_a_return(w))),
            "empty cells exist"
        );
        for r in &rows {
            let pct = 100.0 * r[2].as_f64().unwrap() / r[3].as_f64().unwrap();
            assert!((r[4].as_f64().unwrap() - pct).abs() < 1e-9);
        }
        snapshots.push((
            format!(
                "retention.{mode:?}.{}",
                if cumulative { "cumulative" } else { "exact" }
            )
            .to_lowercase(),
            r.to_sql_file(),
        ));
    }
    let views = Retention::new(
        StepEvent::Role("view_item".into()),
        StepEvent::Role("purchase".into()),
    )
    .period(Granularity::Month)
    .compile(&ctx)
    .unwrap();
    db.engine.run(views.statement()).unwrap();
    snapshots.push((
        "retention.view_to_purchase_monthly".into(),
        views.to_sql_file(),
    ));
    for (name, sql) in snapshots {
        common::snapshots("cohorts").bind(|| insta::assert_snapshot!(name, sql));
    }
}

#[test]
fn revenue_cohorts_and_ltv_match_rust() {
    let (db, schema, events) = setup("revenue_cohorts");
    let now = Utc.with_ymd_and_hms(2026, 4, 15, 12, 0, 0).unwrap();
    let ctx = Context::new(&schema, Some(&db.name)).unwrap().at(now);
    let r = cohorts::revenue_cohorts(&ctx, 6).unwrap();
    common::snapshots("cohorts")
        .bind(|| insta::assert_snapshot!("revenue_cohorts.6_months", r.to_sql_file()));
    let want = want_revenue_cohorts(&events);
    assert!(want.len() >= 10 && want.iter().any(|w| w[3].as_object().unwrap().len() > 2));
    assert_eq!(db.report_rows(&r), want);
    let ltv = cohorts::lifetime_value(&ctx).unwrap();
    common::snapshots("cohorts")
        .bind(|| insta::assert_snapshot!("lifetime_value.default", ltv.to_sql_file()));
    check_lifetime_value(&events, &db.report_rows(&ltv));
}

/// In the base currency (USD) at one rate per currency: a person who paid in two currencies is
/// one cohort member and one purchasing user. The same references, over converted purchases.
#[test]
fn revenue_cohorts_and_ltv_in_the_base_currency() {
    let (db, schema, events) = setup("revenue_cohorts_base");
    common::insert(
        &db,
        "currency_rates",
        [("EUR", "1.0834"), ("JPY", "0.0067")].map(
            |(currency, rate)| json!({"day": "2025-01-01", "currency": currency, "rate": rate}),
        ),
    );
    let now = Utc.with_ymd_and_hms(2026, 4, 15, 12, 0, 0).unwrap();
    let ctx = Context::new(&schema, Some(&db.name))
        .unwrap()
        .at(now)
        .in_currency(Currency::Base);
    // Cents, half away from zero: EUR cents × 1.0834, yen × 0.67.
    let cents = |e: &P| -> i64 {
        let (num, den) = match e.currency {
            "EUR" => (10_834, 10_000),
            "JPY" => (67, 100),
            _ => (1, 1),
        };
        let x = e.revenue * num;
        (2 * x + den) / (2 * den)
    };
    let converted: Vec<P> = events
        .iter()
        .map(|e| P {
            revenue: cents(e),
            currency: "USD",
            ..e.clone()
        })
        .collect();
    let r = cohorts::revenue_cohorts(&ctx, 6).unwrap();
    assert_eq!(db.report_rows(&r), want_revenue_cohorts(&converted));
    let (range, from, to) = quarter();
    let r = customers::new_vs_returning(&ctx, &range, Granularity::Month).unwrap();
    check_new_vs_returning(
        &db.report_rows(&r),
        &want_new_vs_returning(&converted, from, to, Granularity::Month),
    );
    let ltv = cohorts::lifetime_value(&ctx).unwrap();
    let rows = db.report_rows(&ltv);
    assert_eq!(rows.len(), 1);
    check_lifetime_value(&converted, &rows);
    let per_currency =
        db.report_rows(&cohorts::lifetime_value(&ctx.clone().in_currency(Currency::Each)).unwrap());
    let users: i64 = per_currency.iter().map(|r| r[1].as_i64().unwrap()).sum();
    assert!(
        rows[0][1].as_i64().unwrap() < users,
        "a person who paid in two currencies counts once"
    );
}

/// Hourly retention over one day, by hand: hours are the periods (offsets in hours, the cohort
/// a DateTime), an anonymous first purchase joins its user through a later login, and a
/// purchase the day before makes its buyer a returning one (first-time cohorts leave them out).
#[test]
fn hourly_retention_by_hand() {
    let (db, schema) = common::shop_db("retention_hourly");
    let rows = [
        ("a", "", "purchase", "2026-03-02T10:15:00Z"),
        ("a", "", "purchase", "2026-03-02T10:50:00Z"),
        ("a", "", "purchase", "2026-03-02T12:05:00Z"),
        ("b", "", "purchase", "2026-03-02T11:59:59.999Z"),
        ("b", "", "purchase", "2026-03-02T12:00:00Z"),
        ("c", "", "purchase", "2026-03-01T09:00:00Z"),
        ("c", "", "purchase", "2026-03-02T10:30:00Z"),
        ("", "dev_d", "purchase", "2026-03-02T10:05:00Z"),
        ("d", "dev_d", "page_view", "2026-03-02T13:00:00Z"),
        ("d", "", "purchase", "2026-03-02T13:10:00Z"),
    ];
    common::insert(
        &db,
        "events",
        rows.iter().enumerate().map(|(i, (user, anon, kind, ts))| {
            let tx = if *kind == "purchase" {
                format!("t{i}")
            } else {
                String::new()
            };
            json!({"event_type": kind, "timestamp": ts, "user_id": user, "anonymous_id": anon,
                   "transaction_id": tx, "revenue": 100, "currency": "USD"})
        }),
    );
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let day: NaiveDate = "2026-03-02".parse().unwrap();
    // (cohort hour, offset) -> users, for the cells that hold someone.
    for (mode, sizes, cells) in [
        (
            CohortMode::Recurring,
            vec![(10, 3), (11, 1), (12, 2), (13, 1)],
            vec![(10, 2, 1), (10, 3, 1), (11, 1, 1)],
        ),
        (
            CohortMode::FirstTime,
            vec![(10, 2), (11, 1)],
            vec![(10, 2, 1), (10, 3, 1), (11, 1, 1)],
        ),
    ] {
        let r = Retention::default()
            .mode(mode)
            .period(Granularity::Hour)
            .range(DateRange::Between {
                start: day,
                end: day,
            })
            .compile(&ctx)
            .unwrap();
        let got = db.report_rows(&r);
        let mut want = Vec::new();
        for (hour, size) in &sizes {
            for offset in 0..=(23 - hour) {
                let users = if offset == 0 {
                    *size
                } else {
                    cells
                        .iter()
                        .find(|(h, o, _)| h == hour && *o == offset)
                        .map_or(0, |c| c.2)
                };
                want.push(vec![
                    json!(format!("2026-03-02 {hour:02}:00:00")),
                    json!(offset),
                    json!(users),
                    json!(size),
                    json!(100.0 * users as f64 / *size as f64),
                ]);
            }
        }
        assert_eq!(got, want, "{mode:?}");
    }
}

/// New and returning customers by week and by month over a quarter whose purchasers include
/// persons first seen months before it, anonymous first orders linked later, retries to
/// ignore, and persons who switch currency after their first order (new in one currency's
/// row, and then returning in another's).
#[test]
fn new_vs_returning_matches_rust() {
    let (db, schema, events) = setup("new_vs_returning");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let (range, from, to) = quarter();
    for (g, variant) in [(Granularity::Week, "week"), (Granularity::Month, "month")] {
        let r = customers::new_vs_returning(&ctx, &range, g).unwrap();
        common::snapshots("cohorts").bind(|| {
            insta::assert_snapshot!(format!("new_vs_returning.{variant}"), r.to_sql_file())
        });
        let want = want_new_vs_returning(&events, from, to, g);
        check_new_vs_returning(&db.report_rows(&r), &want);
        let total = |i: usize| want.iter().map(|w| w[i].as_i64().unwrap()).sum::<i64>();
        assert!(
            total(2) > 5 && total(3) > 5,
            "{variant}: new and returning customers"
        );
        let empty = want
            .iter()
            .any(|w| w[2].as_i64() == Some(0) && w[3].as_i64() == Some(0));
        assert!(
            empty || variant == "month",
            "weeks without a customer are filled"
        );
        assert!(
            total(5) + total(6) > total(2) + total(3),
            "{variant}: someone ordered twice in one period"
        );
    }
}

/// 2026-01-01 to 2026-03-31, as the report's range and as dates.
fn quarter() -> (DateRange, NaiveDate, NaiveDate) {
    let (from, to): (NaiveDate, NaiveDate) =
        ("2026-01-01".parse().unwrap(), "2026-03-31".parse().unwrap());
    (
        DateRange::Between {
            start: from,
            end: to,
        },
        from,
        to,
    )
}

/// Per currency and period of `from..=to`: date, currency, new and returning customers, the
/// returning rate, and each group's orders and revenue, every period filled. A customer is new
/// in the period of their first counted purchase ever, in any currency.
fn want_new_vs_returning(
    events: &[P],
    from: NaiveDate,
    to: NaiveDate,
    g: Granularity,
) -> Vec<Vec<Value>> {
    let bucket = |d: NaiveDate| match g {
        Granularity::Week => monday(d),
        Granularity::Month => d.with_day(1).unwrap(),
        _ => unreachable!("weeks and months are checked"),
    };
    let next = |d: NaiveDate| match g {
        Granularity::Week => d + Duration::days(7),
        _ => d.checked_add_months(chrono::Months::new(1)).unwrap(),
    };
    let orders = counted(events);
    let mut first: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for e in &orders {
        let f = first.entry(person(e, events)).or_insert(day(e.ms));
        *f = (*f).min(day(e.ms));
    }
    // (currency, period) -> person -> (orders, revenue)
    type Customers = BTreeMap<String, (i64, i64)>;
    let mut cells: BTreeMap<(&str, NaiveDate), Customers> = BTreeMap::new();
    for e in orders.iter().filter(|e| (from..=to).contains(&day(e.ms))) {
        let c = cells
            .entry((e.currency, bucket(day(e.ms))))
            .or_default()
            .entry(person(e, events))
            .or_default();
        c.0 += 1;
        c.1 += e.revenue;
    }
    let currencies: BTreeSet<&str> = cells.keys().map(|(c, _)| *c).collect();
    let mut want = Vec::new();
    for c in currencies {
        let mut d = bucket(from);
        while d <= bucket(to) {
            let (mut n, mut orders_n, mut revenue) = ([0i64; 2], [0i64; 2], [0i64; 2]);
            for (p, (o, r)) in cells.get(&(c, d)).into_iter().flatten() {
                let i = usize::from(bucket(first[p]) != d);
                n[i] += 1;
                orders_n[i] += o;
                revenue[i] += r;
            }
            let rate = if n[0] + n[1] == 0 {
                0.0
            } else {
                100.0 * n[1] as f64 / (n[0] + n[1]) as f64
            };
            want.push(vec![
                json!(d.to_string()),
                json!(c),
                json!(n[0]),
                json!(n[1]),
                json!(rate),
                json!(orders_n[0]),
                json!(orders_n[1]),
                json!(revenue[0]),
                json!(revenue[1]),
            ]);
            d = next(d);
        }
    }
    want
}

/// The report's rows against the reference's, the rate within float rounding.
fn check_new_vs_returning(got: &[Vec<Value>], want: &[Vec<Value>]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g[..4], w[..4]);
        assert_eq!(g[5..], w[5..], "{g:?}");
        assert!((g[4].as_f64().unwrap() - w[4].as_f64().unwrap()).abs() < 1e-9);
    }
}

/// Revenue cohorts (six months to 2026-04) computed from the events.
fn want_revenue_cohorts(events: &[P]) -> Vec<Vec<Value>> {
    let orders = counted(events);
    let month = |ms: i64| day(ms).with_day(1).unwrap();
    let mut first: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for e in &orders {
        let f = first.entry(person(e, events)).or_insert(month(e.ms));
        *f = (*f).min(month(e.ms));
    }
    let since: NaiveDate = "2025-11-01".parse().unwrap();
    let mut sizes: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for c in first.values().filter(|c| **c >= since) {
        *sizes.entry(*c).or_default() += 1;
    }
    let mut cells: BTreeMap<(std::cmp::Reverse<NaiveDate>, i64, &str), i64> = BTreeMap::new();
    for e in &orders {
        let c = first[&person(e, events)];
        if c >= since {
            let m = month(e.ms);
            let since_months =
                (m.year() - c.year()) as i64 * 12 + m.month() as i64 - c.month() as i64;
            *cells
                .entry((std::cmp::Reverse(c), since_months, e.currency))
                .or_default() += e.revenue;
        }
    }
    let mut grouped: BTreeMap<
        (std::cmp::Reverse<NaiveDate>, &str),
        serde_json::Map<String, Value>,
    > = BTreeMap::new();
    for ((c, m, cur), rev) in cells {
        grouped
            .entry((c, cur))
            .or_default()
            .insert(m.to_string(), json!(rev));
    }
    grouped
        .into_iter()
        .map(|((std::cmp::Reverse(c), cur), by_month)| {
            vec![
                json!(c.format("%Y-%m").to_string()),
                json!(cur),
                json!(sizes[&c]),
                Value::Object(by_month),
            ]
        })
        .collect()
}

/// Lifetime value's rows (one per currency) against the events.
fn check_lifetime_value(events: &[P], rows: &[Vec<Value>]) {
    let mut per: BTreeMap<&str, BTreeMap<String, (i64, i64)>> = BTreeMap::new();
    for e in &counted(events) {
        let p = per
            .entry(e.currency)
            .or_default()
            .entry(person(e, events))
            .or_default();
        p.0 += e.revenue;
        p.1 += 1;
    }
    assert_eq!(rows.len(), per.len());
    for (row, (cur, persons)) in rows.iter().zip(&per) {
        let users = persons.len() as f64;
        let total: i64 = persons.values().map(|p| p.0).sum();
        let orders_n: i64 = persons.values().map(|p| p.1).sum();
        let repeat = persons.values().filter(|p| p.1 >= 2).count() as f64;
        assert_eq!(row[..3], [json!(cur), json!(persons.len()), json!(total)]);
        assert!((row[3].as_f64().unwrap() - total as f64 / users).abs() < 1e-9);
        assert!((row[4].as_f64().unwrap() - 100.0 * repeat / users).abs() < 1e-9);
        assert!((row[5].as_f64().unwrap() - orders_n as f64 / users).abs() < 1e-9);
    }
}

#[test]
fn no_unreferenced_snapshots() {
    let names = [
        "retention.recurring.exact",
        "retention.recurring.cumulative",
        "retention.firsttime.exact",
        "retention.view_to_purchase_monthly",
        "revenue_cohorts.6_months",
        "lifetime_value.default",
        "new_vs_returning.week",
        "new_vs_returning.month",
    ];
    common::assert_no_unreferenced_snapshots("cohorts", &names.map(String::from));
}
