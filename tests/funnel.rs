//! Funnels: each rule of ANALYTICS-SEMANTICS pinned by a small hand-made journey, then a
//! random-journey fixture checked against a plain Rust implementation of the same rules.

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chx::query::funnel::{Funnel, Step};
use chx::query::{Context, DateRange};
use serde_json::{Value, json};

struct E {
    user: &'static str,
    anon: &'static str,
    kind: &'static str,
    ms: i64,
}

fn t(date: &str, h: i64, m: i64, s: i64) -> i64 {
    let d: NaiveDate = date.parse().unwrap();
    d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() + ((h * 60 + m) * 60 + s) * 1000
}

fn insert(db: &common::TestDb, events: &[E]) {
    let body: String = events
        .iter()
        .map(|e| {
            let ts = common::ts_text(e.ms);
            json!({"event_type": e.kind, "timestamp": ts, "user_id": e.user, "anonymous_id": e.anon, "transaction_id": if e.kind == "purchase" { format!("tx_{}_{}", e.user, e.ms) } else { String::new() }}).to_string() + "\n"
        })
        .collect();
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &body)
        .unwrap();
}

fn setup(name: &str) -> (common::TestDb, chx::schema::Schema) {
    let (db, schema) = common::shop_db(name);
    (db, schema)
}

fn march() -> DateRange {
    DateRange::Between {
        start: "2026-03-01".parse().unwrap(),
        end: "2026-03-31".parse().unwrap(),
    }
}

fn counts(db: &common::TestDb, schema: &chx::schema::Schema, f: &Funnel) -> Vec<Vec<Value>> {
    let r = f
        .compile(&Context::new(schema, Some(&db.name)).unwrap())
        .unwrap();
    db.report_rows(&r)
}

#[test]
fn each_rule_on_a_hand_made_journey() {
    let (db, schema) = setup("funnel_rules");
    let d = "2026-03-10";
    let events = vec![
        // p1 converts fully: 5 min, then 55 min.
        E {
            user: "p1",
            anon: "",
            kind: "view_item",
            ms: t(d, 10, 0, 0),
        },
        E {
            user: "p1",
            anon: "",
            kind: "add_to_cart",
            ms: t(d, 10, 5, 0),
        },
        E {
            user: "p1",
            anon: "",
            kind: "purchase",
            ms: t(d, 11, 0, 0),
        },
        // p2 skips the cart: the purchase alone is no step 2.
        E {
            user: "p2",
            anon: "",
            kind: "view_item",
            ms: t(d, 10, 0, 0),
        },
        E {
            user: "p2",
            anon: "",
            kind: "purchase",
            ms: t(d, 10, 30, 0),
        },
        // p3 adds to cart one second after the 1-day window.
        E {
            user: "p3",
            anon: "",
            kind: "view_item",
            ms: t(d, 10, 0, 0),
        },
        E {
            user: "p3",
            anon: "",
            kind: "add_to_cart",
            ms: t("2026-03-11", 10, 0, 1),
        },
        // p4 adds to cart exactly at the window's edge (inclusive).
        E {
            user: "p4",
            anon: "",
            kind: "view_item",
            ms: t(d, 10, 0, 0),
        },
        E {
            user: "p4",
            anon: "",
            kind: "add_to_cart",
            ms: t("2026-03-11", 10, 0, 0),
        },
        // p5's cart event comes before the view: ignored.
        E {
            user: "p5",
            anon: "",
            kind: "add_to_cart",
            ms: t(d, 9, 0, 0),
        },
        E {
            user: "p5",
            anon: "",
            kind: "view_item",
            ms: t(d, 10, 0, 0),
        },
        // p6 does two steps in the same millisecond (inserted cart first).
        E {
            user: "p6",
            anon: "",
            kind: "add_to_cart",
            ms: t(d, 12, 0, 0),
        },
        E {
            user: "p6",
            anon: "",
            kind: "view_item",
            ms: t(d, 12, 0, 0),
        },
        // p7 sends the same view twice: still one person at step 1.
        E {
            user: "p7",
            anon: "",
            kind: "view_item",
            ms: t(d, 13, 0, 0),
        },
        E {
            user: "p7",
            anon: "",
            kind: "view_item",
            ms: t(d, 13, 0, 0),
        },
        // p8 browses anonymously, then buys logged in: one person through all steps.
        E {
            user: "",
            anon: "a8",
            kind: "view_item",
            ms: t(d, 14, 0, 0),
        },
        E {
            user: "",
            anon: "a8",
            kind: "add_to_cart",
            ms: t(d, 14, 10, 0),
        },
        E {
            user: "p8",
            anon: "a8",
            kind: "purchase",
            ms: t(d, 15, 0, 0),
        },
        // p9 entered before the range: not in this funnel.
        E {
            user: "p9",
            anon: "",
            kind: "view_item",
            ms: t("2026-02-28", 23, 0, 0),
        },
        E {
            user: "p9",
            anon: "",
            kind: "add_to_cart",
            ms: t("2026-03-01", 1, 0, 0),
        },
        // p10 enters on the last day and converts after the range end, inside the window.
        E {
            user: "p10",
            anon: "",
            kind: "view_item",
            ms: t("2026-03-31", 23, 0, 0),
        },
        E {
            user: "p10",
            anon: "",
            kind: "add_to_cart",
            ms: t("2026-04-01", 1, 0, 0),
        },
        // p11's first attempt runs out of window; the second one converts.
        E {
            user: "p11",
            anon: "",
            kind: "view_item",
            ms: t("2026-03-12", 8, 0, 0),
        },
        E {
            user: "p11",
            anon: "",
            kind: "view_item",
            ms: t("2026-03-14", 8, 0, 0),
        },
        E {
            user: "p11",
            anon: "",
            kind: "add_to_cart",
            ms: t("2026-03-14", 9, 0, 0),
        },
    ];
    insert(&db, &events);
    let f = Funnel::new([
        Step::role("view_item"),
        Step::role("add_to_cart"),
        Step::role("purchase"),
    ])
    .window_days(1)
    .range(march());
    let rows = counts(&db, &schema, &f);
    let got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[2].as_i64().unwrap()))
        .collect();
    assert_eq!(got, vec![(1, 10), (2, 6), (3, 2)]);
    assert_eq!(rows[0][1], json!("view_item"));
    assert_eq!(rows[1][3].as_f64().unwrap(), 60.0);
    assert!((rows[2][3].as_f64().unwrap() - 100.0 * 2.0 / 6.0).abs() < 1e-9);
    assert!((rows[2][4].as_f64().unwrap() - 20.0).abs() < 1e-9);
    // Time to convert, over the persons who reached each step: view→cart for p1, p4, p6, p8,
    // p10, p11 (300, 86400, 0, 600, 7200, 3600 s); cart→purchase for p1 and p8 (3300, 3000 s).
    assert_eq!(rows[1][5].as_f64().unwrap(), 98_100.0 / 6.0);
    assert_eq!(rows[1][6].as_f64().unwrap(), 2100.0);
    assert_eq!(rows[2][5].as_f64().unwrap(), 3150.0);
    assert_eq!(rows[2][6].as_f64().unwrap(), 3150.0);

    // One event never satisfies two steps: a second view is needed for view → view.
    let twice = Funnel::new([Step::role("view_item"), Step::role("view_item")])
        .window_days(30)
        .range(march());
    let rows = counts(&db, &schema, &twice);
    let persons_with_two_views = 2; // p7 (two identical events) and p11
    assert_eq!(rows[1][2].as_i64().unwrap(), persons_with_two_views);

    // A non-positive window means the default 14 days.
    assert_eq!(Funnel::ecommerce().window_seconds(0), Funnel::ecommerce());
}

/// Reference: for each person and each step-0 event in range, follow the steps greedily
/// (earliest next event not before the previous step, within t0 + window, one event per
/// step); the person's level is the best attempt's.
fn reference(
    events: &[(String, i64, usize)],
    steps: usize,
    window_ms: i64,
    from: i64,
    to: i64,
) -> (Vec<i64>, Vec<Vec<f64>>) {
    let mut by_person: BTreeMap<&str, Vec<(i64, usize)>> = BTreeMap::new();
    for (p, ms, step) in events {
        by_person.entry(p).or_default().push((*ms, *step));
    }
    let mut counts = vec![0i64; steps];
    let mut deltas: Vec<Vec<f64>> = vec![Vec::new(); steps];
    for (_, mut evs) in by_person {
        evs.sort();
        let mut best: Option<Vec<i64>> = None;
        for (i, &(t0, s)) in evs.iter().enumerate() {
            if s != 0 || t0 < from || t0 >= to {
                continue;
            }
            let mut times = vec![t0];
            let mut j = i + 1;
            while times.len() < steps && j < evs.len() {
                let (tj, sj) = evs[j];
                if tj - t0 > window_ms {
                    break;
                }
                if sj == times.len() && tj >= *times.last().unwrap() {
                    times.push(tj);
                }
                j += 1;
            }
            if best.as_ref().is_none_or(|b| times.len() >= b.len()) {
                best = Some(times);
            }
        }
        if let Some(b) = best {
            for k in 0..b.len() {
                counts[k] += 1;
                if k > 0 {
                    deltas[k].push((b[k] - b[k - 1]) as f64 / 1000.0);
                }
            }
        }
    }
    (counts, deltas)
}

#[test]
fn random_journeys_match_the_reference() {
    let (db, schema) = setup("funnel_random");
    let kinds = ["view_item", "add_to_cart", "begin_checkout", "purchase"];
    let mut rng = common::Rng(0x2545_F491_4F6C_DD1Du64);
    let mut rnd = |n: u64| rng.below(n);
    let users: Vec<&'static str> = (0..150)
        .map(|i| &*Box::leak(format!("u{i}").into_boxed_str()))
        .collect();
    let mut events = Vec::new();
    for u in &users {
        let mut ms = t("2026-02-27", 0, 0, 0) + rnd(40 * 86_400) as i64 * 1000;
        let mut k = 0usize;
        for _ in 0..rnd(12) {
            // Mostly forward through the funnel, sometimes back, repeated or skipping; seconds
            // to a day and a half apart, so some attempts run out of the 2-day window.
            events.push(E {
                user: u,
                anon: "",
                kind: kinds[k],
                ms,
            });
            // Repeats (the runs chx drops before its fold) are common, as in shop traffic.
            k = match rnd(12) {
                0..=5 => (k + 1).min(3),
                6..=8 => k,
                9 => 0,
                _ => rnd(4) as usize,
            };
            // One in five events shares the previous one's millisecond (ties order by step).
            if rnd(5) != 0 {
                ms += (1 + rnd(36 * 3600)) as i64 * 1000;
            }
        }
    }
    insert(&db, &events);
    let f = Funnel::new(kinds.map(Step::role))
        .window_days(2)
        .range(march());
    let rows = counts(&db, &schema, &f);
    let tagged: Vec<(String, i64, usize)> = events
        .iter()
        .map(|e| {
            (
                e.user.to_string(),
                e.ms,
                kinds.iter().position(|k| *k == e.kind).unwrap(),
            )
        })
        .collect();
    let (want, deltas) = reference(
        &tagged,
        4,
        2 * 86_400_000,
        t("2026-03-01", 0, 0, 0),
        t("2026-04-01", 0, 0, 0),
    );
    let got: Vec<i64> = rows.iter().map(|r| r[2].as_i64().unwrap()).collect();
    assert_eq!(got, want);
    assert!(
        want[0] > 50 && want[3] > 0,
        "the fixture exercises every step: {want:?}"
    );
    assert!(got.windows(2).all(|w| w[0] >= w[1]), "monotonic: {got:?}");
    for k in 1..4 {
        let avg = deltas[k].iter().sum::<f64>() / deltas[k].len() as f64;
        assert!(
            (rows[k][5].as_f64().unwrap() - avg).abs() < 1e-6,
            "avg step {k}: {} vs {avg}",
            rows[k][5]
        );
    }
}

#[test]
fn funnel_sql_snapshots() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, Some("shop")).unwrap();
    let ecommerce = Funnel::ecommerce()
        .range(DateRange::Days(30))
        .compile(&ctx)
        .unwrap();
    common::snapshots("funnel")
        .bind(|| insta::assert_snapshot!("funnel.ecommerce", ecommerce.to_sql_file()));
    let filtered = Funnel::new([
        Step::role("search").where_property("search_term", "hoodie"),
        Step::role("purchase"),
    ])
    .window_days(7)
    .compile(&ctx)
    .unwrap();
    common::snapshots("funnel")
        .bind(|| insta::assert_snapshot!("funnel.property_filter", filtered.to_sql_file()));
    // The engine's own parser accepts both.
    for r in [ecommerce, filtered] {
        common::engine().format_query(&r.sql()).unwrap();
    }
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots(
        "funnel",
        &[
            "funnel.ecommerce".to_string(),
            "funnel.property_filter".to_string(),
        ],
    );
}
