//! Attribution models against a plain Rust implementation: touches inside and outside the
//! window, anonymous touches before login, guest orders, orders with no touch, duplicate order deliveries,
//! several currencies. Every order's credits must sum exactly to its revenue. `spend` holds
//! the reports that set ad spend beside the same fixture.

#[path = "../common/mod.rs"]
mod common;
mod spend;

use std::collections::BTreeMap;

use chx::query::attribution::{self, Model};
use chx::query::money::Currency;
use chx::query::{Context, DateRange};
use serde_json::json;

#[derive(Clone, Debug)]
struct Ev {
    id: String,
    user: String,
    anon: String,
    kind: &'static str,
    ms: i64,
    tx: String,
    revenue: i64,
    currency: &'static str,
    channel: (&'static str, &'static str, &'static str),
}

const CHANNELS: [(&str, &str, &str); 6] = [
    ("spring-sale", "email", "newsletter"),
    ("winter", "google", "cpc"),
    ("retarget", "facebook", "paid_social"),
    ("", "partner", ""),
    // The report joins a channel's values with NULs (escaped inside values): these must come
    // back as they went in, apart from each other and from the channels above.
    ("x\0", "\0\0y", "\0"),
    ("x", "\0\u{1}", ""),
];

fn fixture() -> Vec<Ev> {
    let mut rng = common::Rng(0x1234_5678_9ABC_DEF1u64);
    let mut rnd = |n: u64| rng.below(n);
    let base = common::utc_ms(2026, 2, 1);
    let mut out = Vec::new();
    let mut ids = common::EventIds::default();
    let mut id = || ids.next_id();
    for p in 0..60 {
        let user = format!("u{p}");
        let anon = format!("a{p}");
        let currency = ["USD", "EUR", "JPY"][p % 3];
        // Touches over February and March; every third person's are anonymous (linked later).
        for _ in 0..rnd(6) {
            let anonymous = p % 3 == 0;
            out.push(Ev {
                id: id(),
                user: if anonymous {
                    String::new()
                } else {
                    user.clone()
                },
                anon: anon.clone(),
                kind: "page_view",
                ms: base + rnd(58 * 86_400) as i64 * 1000,
                tx: String::new(),
                revenue: 0,
                currency,
                channel: CHANNELS[rnd(CHANNELS.len() as u64) as usize],
            });
        }
        for k in 0..rnd(4) {
            let ev = Ev {
                id: id(),
                // Every fourth person's first order is a guest checkout: anonymous, stitched
                // to them by their other signed-in events when they have any.
                user: if p % 4 == 1 && k == 0 {
                    String::new()
                } else {
                    user.clone()
                },
                anon: anon.clone(),
                kind: "purchase",
                ms: base + (28 + rnd(31)) as i64 * 86_400_000 + rnd(86_400) as i64 * 1000,
                tx: format!("o{p}_{k}"),
                revenue: 1 + rnd(20_000) as i64,
                currency,
                // Some purchases carry their own campaign: a touch at the purchase itself.
                channel: if k == 2 { CHANNELS[0] } else { ("", "", "") },
            };
            if k == 1 {
                out.push(Ev {
                    id: id(),
                    ms: ev.ms + 120_000,
                    ..ev.clone()
                });
            }
            out.push(ev);
        }
    }
    // A shared device: "shared" signs in as buyer ub (who orders), later as un (who never
    // does). Its anonymous touches belong to un, the latest link, so ub's order gets none.
    for (user, kind, day, tx, revenue, channel) in [
        ("", "page_view", 33, "", 0, CHANNELS[1]),
        ("", "page_view", 36, "", 0, CHANNELS[2]),
        ("ub", "purchase", 40, "o_shared", 7_000, ("", "", "")),
        ("un", "page_view", 45, "", 0, ("", "", "")),
    ] {
        out.push(Ev {
            id: id(),
            user: user.into(),
            anon: "shared".into(),
            kind,
            ms: base + day * 86_400_000,
            tx: tx.into(),
            revenue,
            currency: "USD",
            channel,
        });
    }
    out
}

fn setup(name: &str) -> (common::TestDb, chx::schema::Schema, Vec<Ev>) {
    let (db, schema) = common::shop_db(name);
    let events = fixture();
    let body: String = events
        .iter()
        .map(|e| {
            let ts = common::ts_text(e.ms);
            json!({"event_id": e.id, "event_type": e.kind, "timestamp": ts, "user_id": e.user, "anonymous_id": e.anon, "transaction_id": e.tx,
                   "revenue": e.revenue, "currency": e.currency, "utm_campaign": e.channel.0, "utm_source": e.channel.1, "utm_medium": e.channel.2})
            .to_string()
                + "\n"
        })
        .collect();
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &body)
        .unwrap();
    (db, schema, events)
}

fn person(e: &Ev, all: &[Ev]) -> String {
    common::stitched_person(
        &e.user,
        &e.anon,
        all.iter().map(|x| (x.user.as_str(), x.anon.as_str(), x.ms)),
    )
}

type Channel = (&'static str, &'static str, &'static str);

/// Expected rows: (channel, currency) → (revenue, orders share); None channel = unattributed.
fn reference(
    events: &[Ev],
    model: Model,
    window_ms: i64,
    from: i64,
    to: i64,
) -> BTreeMap<(Option<Channel>, &'static str), (i64, f64)> {
    let purchases = events.iter().filter(|e| e.kind == "purchase");
    let orders: Vec<&Ev> = common::counted_within_24h(purchases, |e| &e.tx, |e| e.ms)
        .into_iter()
        .filter(|e| e.ms >= from && e.ms < to)
        .collect();
    let mut out: BTreeMap<(Option<Channel>, &str), (i64, f64)> = BTreeMap::new();
    for o in orders {
        let who = person(o, events);
        let mut touches: Vec<(i64, Channel)> = events
            .iter()
            .filter(|t| {
                t.channel != ("", "", "")
                    && t.ms >= from - window_ms
                    && t.ms < to
                    && person(t, events) == who
                    && t.ms >= o.ms - window_ms
                    && t.ms <= o.ms
            })
            .map(|t| (t.ms, t.channel))
            .collect();
        touches.sort();
        let n = touches.len();
        if n == 0 {
            let r = out.entry((None, o.currency)).or_default();
            r.0 += o.revenue;
            r.1 += 1e9;
            continue;
        }
        let w: Vec<f64> = match model {
            Model::LastClick => (1..=n).map(|i| (i == n) as u8 as f64).collect(),
            Model::FirstClick => (1..=n).map(|i| (i == 1) as u8 as f64).collect(),
            Model::Linear => vec![1.0; n],
            Model::PositionBased if n <= 2 => vec![1.0; n],
            Model::PositionBased => (1..=n)
                .map(|i| {
                    if i == 1 || i == n {
                        2.0 * (n as f64 - 2.0)
                    } else {
                        1.0
                    }
                })
                .collect(),
            Model::TimeDecay { half_life_seconds } => touches
                .iter()
                .map(|(t, _)| {
                    2f64.powf(0.0 - (o.ms - t) as f64 / (half_life_seconds as f64 * 1000.0))
                })
                .collect(),
        };
        let total: f64 = w.iter().sum();
        // Whole units by weight, rounded down, the last touch taking the rest.
        let split = |amount: i64| {
            let mut parts: Vec<i64> = w
                .iter()
                .map(|wi| (amount as f64 * wi / total).floor() as i64)
                .collect();
            let head: i64 = parts[..n - 1].iter().sum();
            parts[n - 1] = amount - head;
            parts
        };
        let credits = split(o.revenue);
        assert_eq!(credits.iter().sum::<i64>(), o.revenue);
        // Order shares in billionths of an order.
        let shares = split(1_000_000_000);
        for ((_, ch), (c, share)) in touches.iter().zip(credits.iter().zip(&shares)) {
            let r = out.entry((Some(*ch), o.currency)).or_default();
            r.0 += c;
            r.1 += *share as f64;
        }
    }
    // Unattributed orders count whole; shares become orders at the end, as the report does.
    for r in out.values_mut() {
        r.1 /= 1e9;
    }
    out
}

#[test]
fn every_model_matches_rust_and_credits_add_up() {
    let (db, schema, events) = setup("attribution");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    for model in MODELS {
        for window in [7u32, 30] {
            let r = attribution::attribution(&ctx, &march(), model, window).unwrap();
            if window == 30 {
                common::snapshots("attribution").bind(|| {
                    insta::assert_snapshot!(
                        format!("attribution.{}", model.name()),
                        r.to_sql_file()
                    )
                });
            }
            check(&db.report_rows(&r), &events, model, window);
        }
    }
    assert!(attribution::attribution(&ctx, &DateRange::Days(30), Model::LastClick, 10).is_err());
}

/// In the base currency: each order's revenue converted (one rate per currency here), then
/// split into credits that add up to it, as in its own currency.
#[test]
fn models_in_the_base_currency() {
    let (db, schema, events) = setup("attribution_base");
    insert_rates(&db);
    let ctx = Context::new(&schema, Some(&db.name))
        .unwrap()
        .in_currency(Currency::Base);
    let (converted, _) = spend::in_usd(&events, &[]);
    for model in [Model::LastClick, Model::PositionBased, Model::time_decay()] {
        let r = attribution::attribution(&ctx, &march(), model, 30).unwrap();
        check(&db.report_rows(&r), &converted, model, 30);
    }
}

/// Lifetime value by acquisition channel: each person's first touch over all history
/// (stitched: anonymous touches count for the user their device was last linked to), their
/// counted orders over all history, per channel and currency.
#[test]
fn lifetime_value_by_first_touch_channel_matches_rust() {
    let (db, schema, events) = setup("ltv_by_channel");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let r = chx::query::cohorts::lifetime_value_by_channel(&ctx).unwrap();
    common::snapshots("attribution")
        .bind(|| insta::assert_snapshot!("lifetime_value.by_channel", r.to_sql_file()));
    let first = first_touches(&events);
    let purchases = events.iter().filter(|e| e.kind == "purchase");
    let orders = common::counted_within_24h(purchases, |e| &e.tx, |e| e.ms);
    /// Each person's (revenue, orders) per (channel, currency).
    type PerChannel<'a> = BTreeMap<(Channel, &'a str), BTreeMap<String, (i64, i64)>>;
    let mut per: PerChannel = BTreeMap::new();
    for o in orders {
        let who = person(o, &events);
        let channel = first.get(&who).copied().unwrap_or(("", "", ""));
        let p = per
            .entry((channel, o.currency))
            .or_default()
            .entry(who)
            .or_default();
        p.0 += o.revenue;
        p.1 += 1;
    }
    let mut want: Vec<_> = per
        .into_iter()
        .map(|((ch, cur), persons)| {
            let users = persons.len() as i64;
            let revenue: i64 = persons.values().map(|p| p.0).sum();
            let orders: i64 = persons.values().map(|p| p.1).sum();
            let repeat = persons.values().filter(|p| p.1 >= 2).count() as f64;
            (cur, revenue, ch, users, orders, repeat)
        })
        .collect();
    want.sort_by(|a, b| a.0.cmp(b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let rows = db.report_rows(&r);
    assert_eq!(rows.len(), want.len());
    assert!(want.iter().any(|w| w.2 == ("", "", "")) && want.iter().any(|w| w.2 != ("", "", "")));
    for (row, (cur, revenue, ch, users, orders, repeat)) in rows.iter().zip(&want) {
        assert_eq!(
            row[..6],
            [
                json!(ch.0),
                json!(ch.1),
                json!(ch.2),
                json!(cur),
                json!(users),
                json!(revenue)
            ]
        );
        let n = *users as f64;
        assert!((row[6].as_f64().unwrap() - *revenue as f64 / n).abs() < 1e-9);
        assert!((row[7].as_f64().unwrap() - 100.0 * repeat / n).abs() < 1e-9);
        assert!((row[8].as_f64().unwrap() - *orders as f64 / n).abs() < 1e-9);
    }
}

/// Each stitched person's acquisition channel: their first touch ever, ties by event_id.
fn first_touches(events: &[Ev]) -> BTreeMap<String, Channel> {
    let mut first: BTreeMap<String, (i64, &str, Channel)> = BTreeMap::new();
    for t in events.iter().filter(|t| t.channel != ("", "", "")) {
        let f = first
            .entry(person(t, events))
            .or_insert((t.ms, &t.id, t.channel));
        if (t.ms, t.id.as_str()) < (f.0, f.1) {
            *f = (t.ms, &t.id, t.channel);
        }
    }
    first.into_iter().map(|(p, f)| (p, f.2)).collect()
}

/// One rate per currency besides USD, from before the fixture's first day.
fn insert_rates(db: &common::TestDb) {
    common::insert(
        db,
        "currency_rates",
        [("EUR", "1.0834"), ("JPY", "0.0067")].map(
            |(currency, rate)| json!({"day": "2026-01-01", "currency": currency, "rate": rate}),
        ),
    );
}

const MODELS: [Model; 5] = [
    Model::LastClick,
    Model::FirstClick,
    Model::Linear,
    Model::PositionBased,
    Model::TimeDecay {
        half_life_seconds: 7 * 86_400,
    },
];

fn march() -> DateRange {
    DateRange::Between {
        start: "2026-03-01".parse().unwrap(),
        end: "2026-03-31".parse().unwrap(),
    }
}

/// The report's rows against the reference over `events`: every credit and order share
/// exact, credits adding up to the orders' revenue per currency, percentages of that.
fn check(rows: &[Vec<serde_json::Value>], events: &[Ev], model: Model, window: u32) {
    let from = common::utc_ms(2026, 3, 1);
    let to = common::utc_ms(2026, 4, 1);
    let want = reference(events, model, window as i64 * 86_400_000, from, to);
    let mut got: BTreeMap<(Option<Channel>, String), (i64, f64)> = BTreeMap::new();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        let ch = (
            row[0].as_str().unwrap(),
            row[1].as_str().unwrap(),
            row[2].as_str().unwrap(),
        );
        let ch = CHANNELS.iter().find(|c| (c.0, c.1, c.2) == ch).copied();
        let attributed = row[7].as_bool().unwrap();
        assert_eq!(attributed, ch.is_some(), "{row:?}");
        let cur = row[3].as_str().unwrap().to_string();
        *totals.entry(cur.clone()).or_default() += row[4].as_i64().unwrap();
        got.insert(
            (ch, cur),
            (row[4].as_i64().unwrap(), row[5].as_f64().unwrap()),
        );
    }
    assert_eq!(got.len(), want.len(), "{model:?} {window}");
    for ((ch, cur), (rev, share)) in &want {
        let (g_rev, g_share) = got[&(*ch, cur.to_string())];
        // Exact for every model: ClickHouse's pow() and Rust's powf() agree on this data.
        assert_eq!(g_rev, *rev, "{model:?} {window} {ch:?} {cur}");
        // Exact too: shares are whole billionths of an order, summed as integers.
        assert_eq!(g_share, *share, "{model:?} {window} {ch:?} {cur}");
    }
    // Credits add up to exactly the revenue of the range's orders, per currency.
    let mut want_totals: BTreeMap<String, i64> = BTreeMap::new();
    for ((_, cur), (rev, _)) in &want {
        *want_totals.entry(cur.to_string()).or_default() += rev;
    }
    assert_eq!(totals, want_totals, "{model:?} {window}");
    for row in rows {
        let pct =
            100.0 * row[4].as_i64().unwrap() as f64 / want_totals[row[3].as_str().unwrap()] as f64;
        assert!((row[6].as_f64().unwrap() - pct).abs() < 1e-9);
    }
    assert!(want.keys().any(|(c, _)| c.is_none()) && want.keys().any(|(c, _)| c.is_some()));
}

#[test]
fn no_unreferenced_snapshots() {
    let names = [
        "last_click",
        "first_click",
        "linear",
        "position_based",
        "time_decay",
    ]
    .map(|m| format!("attribution.{m}"));
    let mut names = names.to_vec();
    names.push("lifetime_value.by_channel".to_string());
    names.push("acquisition_cost".to_string());
    names.push("acquisition_cost.base".to_string());
    names.push("roas".to_string());
    common::assert_no_unreferenced_snapshots("attribution", &names);
}
