//! Traffic sources against a plain Rust implementation: sessions whose first event carries a
//! campaign, a search engine's or a site's referrer, or nothing; later events of a session
//! with other origins (which must not count); a session crossing the range's start; events
//! without a session; visitors signing in mid-session and devices linked later; repeated
//! purchase deliveries; two currencies, and the base currency; GA4's default channel groups.

mod common;

use std::collections::BTreeMap;

use chx::query::money::Currency;
use chx::query::traffic::{SEARCH_ENGINES, SOCIAL_SITES, traffic_sources};
use chx::query::{Context, DateRange};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Ev {
    id: String,
    kind: &'static str,
    ms: i64,
    user: String,
    anon: String,
    session: String,
    referrer: &'static str,
    utm: (&'static str, &'static str),
    tx: String,
    revenue: i64,
    currency: &'static str,
}

/// Where a session's events may come from: campaign (source, medium), and a referrer.
const ORIGINS: [((&str, &str), &str); 13] = [
    (("google", "cpc"), "https://www.google.com/"),
    (("adnetwork", "display"), ""),
    (("coupons.example", "paid"), ""),
    (("", "newsletter"), ""),
    (("email", "newsletter"), ""),
    (("instagram", "social"), ""),
    (("partner", "affiliate"), ""),
    (("", ""), "https://www.google.com/search?q=shoes"),
    (("", ""), "https://duckduckgo.com/"),
    (("", ""), "https://blog.example.org/post/1"),
    (("", ""), "https://www.partner.com/deals"),
    (("", ""), ""),
    (("facebook", "paid_social"), ""),
];

fn fixture() -> Vec<Ev> {
    let mut rng = common::Rng(0x7EAF_F1C5_0123_4567);
    let mut ids = common::EventIds::default();
    let base = common::utc_ms(2026, 3, 1);
    let mut out = Vec::new();
    for s in 0..90u64 {
        let p = rng.below(30);
        let anon = format!("a{p}");
        let user = format!("u{p}");
        let currency = ["USD", "EUR"][(p % 2) as usize];
        // The first sessions start just before the range (their first in-range event then
        // starts them), the rest inside it.
        let mut ms = if s < 5 {
            base - 60_000
        } else {
            base + rng.below(30 * 86_400) as i64 * 1000
        };
        let events = 1 + rng.below(5);
        // Signs in at this event (never for some sessions).
        let login = rng.below(events + 2);
        for k in 0..events {
            // The first event's origin is the session's; later events carry others.
            let (utm, referrer) = ORIGINS[rng.below(ORIGINS.len() as u64) as usize];
            let kind = match rng.below(4) {
                0 => "view_item",
                _ => "page_view",
            };
            let signed_in = k >= login;
            out.push(Ev {
                id: ids.next_id(),
                kind,
                ms,
                user: if signed_in {
                    user.clone()
                } else {
                    String::new()
                },
                anon: anon.clone(),
                session: format!("s{s}"),
                referrer,
                utm,
                tx: String::new(),
                revenue: 0,
                currency,
            });
            ms += 30_000 + rng.below(600) as i64 * 1000;
        }
        if rng.below(3) == 0 {
            let order = Ev {
                id: ids.next_id(),
                kind: "purchase",
                ms,
                user: if login < events {
                    user.clone()
                } else {
                    String::new()
                },
                anon: anon.clone(),
                session: format!("s{s}"),
                referrer: "",
                utm: ("", ""),
                tx: format!("o{s}"),
                revenue: 100 + rng.below(20_000) as i64,
                currency,
            };
            // A repeated delivery a minute later: counted once.
            if s % 4 == 0 {
                out.push(Ev {
                    id: ids.next_id(),
                    ms: ms + 60_000,
                    ..order.clone()
                });
            }
            out.push(order);
        }
    }
    // Events without a session, and a device linked to its user after its sessions.
    for (k, (user, anon)) in [("", "a3"), ("u3", "a3"), ("u7", "a7")]
        .into_iter()
        .enumerate()
    {
        out.push(Ev {
            id: ids.next_id(),
            kind: "page_view",
            ms: base + 31 * 86_400_000 - 1000 * (k as i64 + 1),
            user: user.into(),
            anon: anon.into(),
            session: String::new(),
            referrer: "https://blog.example.org/",
            utm: ("", ""),
            tx: String::new(),
            revenue: 0,
            currency: "USD",
        });
    }
    out
}

fn setup(name: &str) -> (common::TestDb, chx::schema::Schema, Vec<Ev>) {
    let (db, schema) = common::shop_db(name);
    let events = fixture();
    common::insert(
        &db,
        "events",
        events.iter().map(|e| {
            json!({"event_id": e.id, "event_type": e.kind, "timestamp": common::ts_text(e.ms), "user_id": e.user,
                   "anonymous_id": e.anon, "session_id": e.session, "referrer": e.referrer, "utm_source": e.utm.0,
                   "utm_medium": e.utm.1, "transaction_id": e.tx, "revenue": e.revenue, "currency": e.currency})
        }),
    );
    (db, schema, events)
}

/// A referrer's host without `www.`, and its first significant label (`google` for
/// www.google.com): the fixture's hosts have one-label suffixes.
fn host(referrer: &str) -> (String, String) {
    let rest = referrer.split("://").nth(1).unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host).to_string();
    let labels: Vec<&str> = host.split('.').collect();
    let name = labels[labels.len().saturating_sub(2)].to_string();
    (host, name)
}

/// The session origin rule, plainly.
fn origin(e: &Ev) -> (String, String) {
    if !e.utm.0.is_empty() || !e.utm.1.is_empty() {
        return (e.utm.0.to_string(), e.utm.1.to_string());
    }
    if e.referrer.is_empty() {
        return ("(direct)".into(), "(none)".into());
    }
    let (host, name) = host(e.referrer);
    if SEARCH_ENGINES.contains(&name.as_str()) {
        (name, "organic".into())
    } else {
        (host, "referral".into())
    }
}

/// GA4's default channel group, plainly (first rule that matches).
fn channel_group(source: &str, medium: &str) -> &'static str {
    let labelled = |names: &[&str]| source.split('.').any(|l| names.contains(&l));
    let search = labelled(&SEARCH_ENGINES);
    let social = labelled(&SOCIAL_SITES);
    let paid = medium.contains("cp")
        || ["ppc", "retargeting"].contains(&medium)
        || medium.starts_with("paid");
    let email = ["email", "e-mail", "e_mail", "e mail"];
    let social_media = [
        "social",
        "social-network",
        "social-media",
        "sm",
        "social network",
        "social media",
    ];
    if source == "(direct)" && ["(none)", "(not set)"].contains(&medium) {
        "Direct"
    } else if search && paid {
        "Paid Search"
    } else if social && paid {
        "Paid Social"
    } else if ["display", "banner", "expandable", "interstitial", "cpm"].contains(&medium) {
        "Display"
    } else if paid {
        "Paid Other"
    } else if social || social_media.contains(&medium) {
        "Organic Social"
    } else if search || medium == "organic" {
        "Organic Search"
    } else if medium == "referral" {
        "Referral"
    } else if email.contains(&source) || email.contains(&medium) {
        "Email"
    } else if medium == "affiliate" {
        "Affiliates"
    } else {
        "Unassigned"
    }
}

/// (sessions, visitors, pageviews, one-event sessions, converting sessions, orders, revenue
/// per currency) per (source, medium) over [from, to).
type Row = (i64, i64, i64, i64, i64, i64, BTreeMap<String, i64>);

fn reference(events: &[Ev], from: i64, to: i64) -> BTreeMap<(String, String), Row> {
    let inside = |e: &&Ev| e.ms >= from && e.ms < to;
    let mut sessions: BTreeMap<&str, Vec<&Ev>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(inside)
        .filter(|e| !e.session.is_empty())
    {
        sessions.entry(&e.session).or_default().push(e);
    }
    let purchases = events.iter().filter(|e| e.kind == "purchase");
    let orders: Vec<&Ev> = common::counted_within_24h(purchases, |e| &e.tx, |e| e.ms)
        .into_iter()
        .filter(inside)
        .collect();
    let links = || {
        events
            .iter()
            .map(|x| (x.user.as_str(), x.anon.as_str(), x.ms))
    };
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    let mut visitors: BTreeMap<(String, String), std::collections::BTreeSet<String>> =
        BTreeMap::new();
    for (id, evs) in &sessions {
        let first = evs.iter().min_by_key(|e| (e.ms, e.id.as_str())).unwrap();
        let key = origin(first);
        let user = evs
            .iter()
            .find(|e| !e.user.is_empty())
            .map_or("", |e| &e.user);
        let person = common::stitched_person(user, &evs[0].anon, links());
        visitors.entry(key.clone()).or_default().insert(person);
        let r = rows.entry(key).or_default();
        r.0 += 1;
        r.2 += evs.iter().filter(|e| e.kind == "page_view").count() as i64;
        r.3 += (evs.len() == 1) as i64;
        let mine: Vec<&&Ev> = orders.iter().filter(|o| o.session == *id).collect();
        r.4 += !mine.is_empty() as i64;
        r.5 += mine.len() as i64;
        for o in mine {
            *r.6.entry(o.currency.to_string()).or_default() += o.revenue;
        }
    }
    for (key, persons) in visitors {
        rows.get_mut(&key).unwrap().1 = persons.len() as i64;
    }
    rows
}

fn check(got: &[Vec<Value>], want: &BTreeMap<(String, String), Row>) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    let mut order = Vec::new();
    for row in got {
        let key = (
            row[0].as_str().unwrap().to_string(),
            row[1].as_str().unwrap().to_string(),
        );
        let (sessions, visitors, pageviews, bounces, converting, orders, revenue) = &want[&key];
        assert_eq!(row[2], json!(channel_group(&key.0, &key.1)), "{key:?}");
        let row = &row[1..];
        assert_eq!(
            row[2..5],
            [json!(sessions), json!(visitors), json!(pageviews)],
            "{key:?}"
        );
        let pct = |n: i64| 100.0 * n as f64 / *sessions as f64;
        assert!((row[5].as_f64().unwrap() - *pageviews as f64 / *sessions as f64).abs() < 1e-9);
        assert!(
            (row[6].as_f64().unwrap() - pct(*bounces)).abs() < 1e-9,
            "{key:?}"
        );
        assert_eq!(row[7], json!(converting), "{key:?}");
        assert!((row[8].as_f64().unwrap() - pct(*converting)).abs() < 1e-9);
        assert_eq!(row[9], json!(orders), "{key:?}");
        assert_eq!(row[10], json!(revenue), "{key:?}");
        order.push((-sessions, key));
    }
    assert!(order.is_sorted(), "{order:?}");
}

fn march() -> DateRange {
    DateRange::Between {
        start: "2026-03-01".parse().unwrap(),
        end: "2026-03-31".parse().unwrap(),
    }
}

#[test]
fn traffic_sources_match_rust() {
    let (db, schema, events) = setup("traffic_sources");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let r = traffic_sources(&ctx, &march()).unwrap();
    common::snapshots("traffic")
        .bind(|| insta::assert_snapshot!("traffic_sources", r.to_sql_file()));
    let (from, to) = (common::utc_ms(2026, 3, 1), common::utc_ms(2026, 4, 1));
    let want = reference(&events, from, to);
    // Every kind of origin, and what the numbers must handle.
    for medium in [
        "cpc",
        "newsletter",
        "organic",
        "referral",
        "(none)",
        "paid_social",
    ] {
        assert!(want.keys().any(|(_, m)| m == medium), "{medium}");
    }
    assert!(
        want.keys()
            .any(|k| *k == ("duckduckgo".into(), "organic".into()))
    );
    assert!(
        want.keys()
            .any(|k| *k == ("blog.example.org".into(), "referral".into()))
    );
    let groups: std::collections::BTreeSet<&str> =
        want.keys().map(|(s, m)| channel_group(s, m)).collect();
    for g in [
        "Direct",
        "Display",
        "Paid Other",
        "Paid Search",
        "Paid Social",
        "Organic Social",
        "Organic Search",
        "Referral",
        "Email",
        "Affiliates",
        "Unassigned",
    ] {
        assert!(groups.contains(g), "{g}: {groups:?}");
    }
    assert!(want.values().any(|r| r.3 > 0) && want.values().any(|r| r.6.len() == 2));
    check(&db.report_rows(&r), &want);

    // In the base currency: one key, each order converted.
    common::insert(
        &db,
        "currency_rates",
        [json!({"day": "2026-01-01", "currency": "EUR", "rate": "1.0834"})],
    );
    let base = ctx.clone().in_currency(Currency::Base);
    let r = traffic_sources(&base, &march()).unwrap();
    let converted: Vec<Ev> = events
        .iter()
        .map(|e| Ev {
            revenue: match e.currency {
                "EUR" => (2 * e.revenue * 10_834 + 10_000) / 20_000,
                _ => e.revenue,
            },
            currency: "USD",
            ..e.clone()
        })
        .collect();
    check(&db.report_rows(&r), &reference(&converted, from, to));
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots("traffic", &["traffic_sources".to_string()]);
}
