//! Strict-order and unordered funnels, exclusions and breakdowns: each rule on a hand-made
//! journey, then random journeys against a plain Rust implementation of the same rules.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chx::query::funnel::{BreakdownAttribution, Funnel, FunnelMode, Step, StepEvent};
use chx::query::{Context, DateRange};
use serde_json::{Value, json};

struct E {
    user: String,
    kind: &'static str,
    ms: i64,
    country: &'static str,
}

fn t(date: &str, h: i64, m: i64) -> i64 {
    let d: NaiveDate = date.parse().unwrap();
    d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() + (h * 60 + m) * 60_000
}

fn e(user: &str, kind: &'static str, ms: i64) -> E {
    E {
        user: user.into(),
        kind,
        ms,
        country: "",
    }
}

fn setup(name: &str, events: &[E]) -> (common::TestDb, chx::schema::Schema) {
    let (db, schema) = common::shop_db(name);
    let body: String = events
        .iter()
        .map(|e| {
            let ts = DateTime::<Utc>::from_timestamp_millis(e.ms)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            json!({"event_type": e.kind, "timestamp": ts, "user_id": e.user, "country": e.country})
                .to_string()
                + "\n"
        })
        .collect();
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &body)
        .unwrap();
    (db, schema)
}

fn march() -> DateRange {
    DateRange::Between {
        start: "2026-03-01".parse().unwrap(),
        end: "2026-03-31".parse().unwrap(),
    }
}

fn run(db: &common::TestDb, schema: &chx::schema::Schema, f: &Funnel) -> Vec<Vec<Value>> {
    let r = f
        .compile(&Context::new(schema, Some(&db.name)).unwrap())
        .unwrap();
    db.report_rows(&r)
}

fn counts(rows: &[Vec<Value>]) -> Vec<i64> {
    rows.iter().map(|r| r[2].as_i64().unwrap()).collect()
}

/// A breakdown's rows as (value, step, persons).
fn value_step_count(rows: &[Vec<Value>]) -> Vec<(String, i64, i64)> {
    rows.iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_i64().unwrap(),
                r[3].as_i64().unwrap(),
            )
        })
        .collect()
}

fn three() -> Funnel {
    Funnel::new([
        Step::role("view_item"),
        Step::role("add_to_cart"),
        Step::role("purchase"),
    ])
    .window_days(1)
    .range(march())
}

#[test]
fn strict_order_and_unordered_rules() {
    let d = "2026-03-10";
    let events = vec![
        // s1: a search between view and cart breaks the strict attempt.
        e("s1", "view_item", t(d, 10, 0)),
        e("s1", "search", t(d, 10, 1)),
        e("s1", "add_to_cart", t(d, 10, 2)),
        // s2: consecutive steps.
        e("s2", "view_item", t(d, 10, 0)),
        e("s2", "add_to_cart", t(d, 10, 1)),
        e("s2", "purchase", t(d, 10, 2)),
        // s3: a repeated view starts a new attempt, which then converts.
        e("s3", "view_item", t(d, 10, 0)),
        e("s3", "view_item", t(d, 10, 5)),
        e("s3", "add_to_cart", t(d, 10, 6)),
        // s4: everything in reverse order within the window.
        e("s4", "purchase", t(d, 9, 0)),
        e("s4", "add_to_cart", t(d, 9, 30)),
        e("s4", "view_item", t(d, 10, 0)),
    ];
    let (db, schema) = setup("funnel_strict", &events);
    assert_eq!(
        counts(&run(&db, &schema, &three().mode(FunnelMode::Strict))),
        vec![4, 2, 1]
    );
    assert_eq!(counts(&run(&db, &schema, &three())), vec![4, 3, 1]);
    let unordered = run(&db, &schema, &three().mode(FunnelMode::Unordered));
    assert_eq!(counts(&unordered), vec![4, 4, 2]);
    assert_eq!(
        unordered[1][5],
        Value::Null,
        "no times between steps in unordered funnels"
    );
}

#[test]
fn exclusion_rules() {
    let d = "2026-03-10";
    let events = vec![
        // x1: removal between cart and purchase: excluded, gone from every step.
        e("x1", "view_item", t(d, 10, 0)),
        e("x1", "add_to_cart", t(d, 10, 1)),
        e("x1", "remove_from_cart", t(d, 10, 2)),
        e("x1", "purchase", t(d, 10, 3)),
        // x2: removal after the purchase: fine.
        e("x2", "view_item", t(d, 10, 0)),
        e("x2", "add_to_cart", t(d, 10, 1)),
        e("x2", "purchase", t(d, 10, 2)),
        e("x2", "remove_from_cart", t(d, 10, 3)),
        // x3: removal at the purchase's own timestamp does not exclude.
        e("x3", "view_item", t(d, 10, 0)),
        e("x3", "add_to_cart", t(d, 10, 1)),
        e("x3", "remove_from_cart", t(d, 10, 2)),
        e("x3", "purchase", t(d, 10, 2)),
        // x4: no purchase, removal inside the window: excluded.
        e("x4", "view_item", t(d, 10, 0)),
        e("x4", "add_to_cart", t(d, 10, 1)),
        e("x4", "remove_from_cart", t(d, 12, 0)),
        // x5: no purchase, removal after the window: not excluded.
        e("x5", "view_item", t(d, 10, 0)),
        e("x5", "add_to_cart", t(d, 10, 1)),
        e("x5", "remove_from_cart", t("2026-03-11", 11, 0)),
        // x6: an excluded attempt, then a clean one reaching the same step: kept.
        e("x6", "view_item", t(d, 10, 0)),
        e("x6", "add_to_cart", t(d, 10, 1)),
        e("x6", "remove_from_cart", t(d, 10, 2)),
        e("x6", "purchase", t(d, 10, 3)),
        e("x6", "view_item", t("2026-03-20", 10, 0)),
        e("x6", "add_to_cart", t("2026-03-20", 10, 1)),
        e("x6", "purchase", t("2026-03-20", 10, 2)),
        // x7: the furthest step only through an excluded attempt: excluded entirely.
        e("x7", "view_item", t(d, 10, 0)),
        e("x7", "add_to_cart", t(d, 10, 1)),
        e("x7", "remove_from_cart", t(d, 10, 2)),
        e("x7", "purchase", t(d, 10, 3)),
        e("x7", "view_item", t("2026-03-20", 10, 0)),
        e("x7", "add_to_cart", t("2026-03-20", 10, 1)),
    ];
    let (db, schema) = setup("funnel_exclusions", &events);
    let f = three().exclude(StepEvent::Role("remove_from_cart".into()), 1, 2);
    assert_eq!(counts(&run(&db, &schema, &f)), vec![4, 4, 3]);
    let ctx = Context::new(&schema, None).unwrap();
    for bad in [(2, 1), (1, 1), (0, 3)] {
        let err = three()
            .exclude(StepEvent::Role("remove_from_cart".into()), bad.0, bad.1)
            .compile(&ctx)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("is not a range of this 3-step funnel"),
            "{err}"
        );
    }
}

#[test]
fn breakdown_keeps_top_values_and_groups_the_rest() {
    let d = "2026-03-10";
    let mut events = Vec::new();
    for (i, country) in ["US", "US", "US", "DE", "DE", "FR", "", ""]
        .iter()
        .enumerate()
    {
        let u = format!("b{i}");
        events.push(E {
            user: u.clone(),
            kind: "view_item",
            ms: t(d, 10, 0),
            country,
        });
        if i % 2 == 0 || i == 5 {
            // The country of a later step is not the first touch. Each carter takes its own
            // number of minutes, so merged times show which persons they hold.
            events.push(E {
                user: u,
                kind: "add_to_cart",
                ms: t(d, 10, 5 + i as i64),
                country: "JP",
            });
        }
    }
    let (db, schema) = setup("funnel_breakdown", &events);
    let rows = run(&db, &schema, &three().breakdown("country", 2));
    let got = value_step_count(&rows);
    // b6 has no country on its view but "JP" on its cart: its first non-empty value is JP, so
    // Other holds FR, JP and "" at step 1 and b5 (FR) and b6 (JP) at step 2.
    let want = [
        ("DE", 1, 2),
        ("DE", 2, 1),
        ("DE", 3, 0),
        ("Other", 1, 3),
        ("Other", 2, 2),
        ("Other", 3, 0),
        ("US", 1, 3),
        ("US", 2, 2),
        ("US", 3, 0),
    ];
    assert_eq!(got, want.map(|(c, s, n)| (c.to_string(), s, n)).to_vec());
    // Seconds from view to cart, per breakdown row: the mean and the (interpolated) median of
    // the carters' gaps, (5 + i) minutes for b<i>; Other merges two values' persons.
    let gaps = |persons: &[i64]| -> (f64, f64) {
        let mut g: Vec<f64> = persons.iter().map(|i| (5 + i) as f64 * 60.0).collect();
        g.sort_by(f64::total_cmp);
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        let mid = (g.len() - 1) as f64 / 2.0;
        let median = (g[mid.floor() as usize] + g[mid.ceil() as usize]) / 2.0;
        (mean, median)
    };
    for (value, persons) in [("DE", &[4][..]), ("Other", &[5, 6]), ("US", &[0, 2])] {
        let row = rows
            .iter()
            .find(|r| r[0] == json!(value) && r[1] == json!(2))
            .unwrap();
        let (mean, median) = gaps(persons);
        assert!(
            (row[6].as_f64().unwrap() - mean).abs() < 1e-9,
            "{value}: {row:?}"
        );
        assert!(
            (row[7].as_f64().unwrap() - median).abs() < 1e-9,
            "{value}: {row:?}"
        );
    }

    // Last touch: every carter's last value is JP; the one-person values tie and sort by value,
    // so "" (b7, no country at all) takes the second place.
    let rows = run(
        &db,
        &schema,
        &three()
            .breakdown("country", 2)
            .breakdown_attribution(BreakdownAttribution::LastTouch),
    );
    let got = value_step_count(&rows);
    let want = [
        ("", 1, 1),
        ("", 2, 0),
        ("", 3, 0),
        ("JP", 1, 5),
        ("JP", 2, 5),
        ("JP", 3, 0),
        ("Other", 1, 2),
        ("Other", 2, 0),
        ("Other", 3, 0),
    ];
    assert_eq!(got, want.map(|(c, s, n)| (c.to_string(), s, n)).to_vec());
    // The value on step 2 (add to cart): JP for carters, "" for the others.
    let rows = run(
        &db,
        &schema,
        &three()
            .breakdown("country", 2)
            .breakdown_attribution(BreakdownAttribution::Step(1)),
    );
    let firsts: Vec<(String, i64)> = rows
        .iter()
        .filter(|r| r[1] == json!(1))
        .map(|r| (r[0].as_str().unwrap().to_string(), r[3].as_i64().unwrap()))
        .collect();
    assert_eq!(firsts, vec![(String::new(), 3), ("JP".to_string(), 5)]);
}

/// Reference for the per-start rules (ordered with exclusions, strict, unordered): persons per
/// step, and the mean milliseconds from the previous step of the attempts counted (the latest
/// clean attempt that got furthest), per step after the first (empty for unordered funnels).
fn reference(
    events: &[(String, i64, &str)],
    steps: &[&str],
    mode: FunnelMode,
    excl: &[(&str, usize, usize)],
    window: i64,
    from: i64,
    to: i64,
) -> (Vec<i64>, Vec<f64>) {
    let mut by: BTreeMap<&str, Vec<(i64, u64, &str)>> = BTreeMap::new();
    for (p, ms, kind) in events {
        if *ms < from || *ms >= to + window {
            continue;
        }
        let step = steps.iter().position(|s| s == kind);
        let is_excl = excl.iter().any(|x| x.0 == *kind);
        if step.is_none() && mode != FunnelMode::Strict && !is_excl {
            continue;
        }
        by.entry(p)
            .or_default()
            .push((*ms, step.map_or(1 << 40, |s| 1u64 << s), kind));
    }
    let n = steps.len();
    let mut counts = vec![0i64; n];
    let mut delay_sums = vec![0i64; n];
    for (_, mut ev) in by {
        ev.sort_by_key(|(ms, key, _)| (*ms, *key));
        let step_of = |k: &str| steps.iter().position(|s| *s == k);
        let mut best_all = 0;
        let mut best_clean = 0;
        let mut clean_attempts: Vec<Vec<i64>> = Vec::new();
        for (i, &(t0, _, k0)) in ev.iter().enumerate() {
            if t0 >= to {
                continue;
            }
            let level = match mode {
                FunnelMode::Unordered => {
                    if step_of(k0).is_none() {
                        continue;
                    }
                    let mut seen = std::collections::BTreeSet::new();
                    for &(t, _, k) in &ev {
                        if t >= t0
                            && t - t0 <= window
                            && let Some(s) = step_of(k)
                        {
                            seen.insert(s);
                        }
                    }
                    (seen.len(), true, vec![])
                }
                _ => {
                    if step_of(k0) != Some(0) {
                        continue;
                    }
                    let mut times = vec![t0];
                    for &(t, _, k) in &ev[i + 1..] {
                        let fits = times.len() < n
                            && step_of(k) == Some(times.len())
                            && t - t0 <= window
                            && t >= *times.last().unwrap();
                        if fits {
                            times.push(t);
                        } else if mode == FunnelMode::Strict && times.len() < n {
                            break;
                        }
                    }
                    let clean = !excl.iter().any(|&(kind, a, b)| {
                        ev.iter().any(|&(t, _, k)| {
                            k == kind
                                && times.len() > a
                                && t > times[a]
                                && if times.len() > b {
                                    t < times[b]
                                } else {
                                    t - times[0] <= window
                                }
                        })
                    });
                    (times.len(), clean, times)
                }
            };
            best_all = best_all.max(level.0);
            if level.1 {
                best_clean = best_clean.max(level.0);
                clean_attempts.push(level.2);
            }
        }
        let level = if best_clean >= best_all { best_all } else { 0 };
        for c in counts.iter_mut().take(level) {
            *c += 1;
        }
        if let Some(times) = clean_attempts.iter().rev().find(|t| t.len() == level) {
            for k in 1..times.len() {
                delay_sums[k] += times[k] - times[k - 1];
            }
        }
    }
    let means = match mode {
        FunnelMode::Unordered => vec![],
        _ => (1..n)
            .filter(|k| counts[*k] > 0)
            .map(|k| delay_sums[k] as f64 / counts[k] as f64)
            .collect(),
    };
    (counts, means)
}

#[test]
fn random_journeys_match_the_reference_in_every_mode() {
    let kinds = [
        "view_item",
        "add_to_cart",
        "begin_checkout",
        "purchase",
        "search",
        "remove_from_cart",
    ];
    let mut rng = common::Rng(0x0123_4567_89AB_CDEFu64);
    let mut rnd = |n: u64| rng.below(n);
    let mut events = Vec::new();
    for u in 0..200 {
        let mut ms = t("2026-02-27", 0, 0) + rnd(36 * 86_400) as i64 * 1000;
        let mut k = 0usize;
        for _ in 0..rnd(14) {
            events.push(E {
                user: format!("r{u}"),
                kind: kinds[k],
                ms,
                country: "",
            });
            k = match rnd(10) {
                0..=4 => (k + 1) % 4,
                5 => 4,
                6 => 5,
                7 => 0,
                _ => rnd(6) as usize,
            };
            // Now and then the next event shares this one's millisecond: ties between steps
            // (and with exclusions) are ordered by step, and judged by time.
            if rnd(6) != 0 {
                ms += (1 + rnd(20 * 3600)) as i64 * 1000;
            }
        }
    }
    let (db, schema) = setup("funnel_modes_random", &events);
    let tagged: Vec<(String, i64, &str)> = events
        .iter()
        .map(|e| (e.user.clone(), e.ms, e.kind))
        .collect();
    let steps = ["view_item", "add_to_cart", "begin_checkout", "purchase"];
    let (from, to) = (t("2026-03-01", 0, 0), t("2026-04-01", 0, 0));
    let window = 2 * 86_400_000;
    let base = Funnel::new(steps.map(Step::role))
        .window_days(2)
        .range(march());
    /// The funnel, and the rules the reference applies to it.
    type Case<'a> = (Funnel, FunnelMode, Vec<(&'a str, usize, usize)>);
    let cases: Vec<Case> = vec![
        (
            base.clone().mode(FunnelMode::Strict),
            FunnelMode::Strict,
            vec![],
        ),
        (
            base.clone().mode(FunnelMode::Unordered),
            FunnelMode::Unordered,
            vec![],
        ),
        (
            base.clone()
                .exclude(StepEvent::Role("remove_from_cart".into()), 1, 3),
            FunnelMode::Ordered,
            vec![("remove_from_cart", 1, 3)],
        ),
        // Two exclusions, one from the first step (its time is read at the start).
        (
            base.clone()
                .exclude(StepEvent::Role("search".into()), 0, 2)
                .exclude(StepEvent::Role("remove_from_cart".into()), 2, 3),
            FunnelMode::Ordered,
            vec![("search", 0, 2), ("remove_from_cart", 2, 3)],
        ),
        (base.clone(), FunnelMode::Ordered, vec![]),
    ];
    for (f, mode, excl) in cases {
        let rows = run(&db, &schema, &f);
        let (want, want_ms) = reference(&tagged, &steps, mode, &excl, window, from, to);
        assert_eq!(counts(&rows), want, "{mode:?} {excl:?}");
        assert!(
            want[0] > 40 && want[2] > 0,
            "{mode:?}: the data exercises the funnel: {want:?}"
        );
        if mode != FunnelMode::Unordered {
            let got_ms: Vec<f64> = rows[1..]
                .iter()
                .filter(|r| r[2].as_i64().unwrap() > 0)
                .map(|r| r[5].as_f64().unwrap() * 1000.0)
                .collect();
            assert_eq!(got_ms.len(), want_ms.len(), "{mode:?} {excl:?}");
            for (got, want) in got_ms.iter().zip(&want_ms) {
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{mode:?} {excl:?}: mean ms from the previous step {got_ms:?}, want {want_ms:?}"
                );
            }
        }
    }
}

#[test]
fn mode_sql_snapshots() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, Some("shop")).unwrap();
    let cases = [
        ("funnel.strict", three().mode(FunnelMode::Strict)),
        ("funnel.unordered", three().mode(FunnelMode::Unordered)),
        (
            "funnel.exclusion",
            three().exclude(StepEvent::Role("remove_from_cart".into()), 1, 2),
        ),
        ("funnel.breakdown", three().breakdown("country", 10)),
    ];
    for (name, f) in cases {
        let r = f.compile(&ctx).unwrap();
        common::snapshots("funnel_modes").bind(|| insta::assert_snapshot!(name, r.to_sql_file()));
    }
    common::assert_no_unreferenced_snapshots(
        "funnel_modes",
        &[
            "funnel.strict",
            "funnel.unordered",
            "funnel.exclusion",
            "funnel.breakdown",
        ]
        .map(String::from),
    );
}
