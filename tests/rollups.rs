//! Reports that read a rollup give exactly what the event-scanning version gives, on data
//! written through `chx ingest` (which drops repeated purchase deliveries before they reach the
//! rollup).

mod common;

use chx::query::reports::{self, Breakdown, Granularity};
use chx::query::{Context, DateRange};
use chx::query::{cohorts, customers};
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
        let (currency, revenue) = price(&mut rnd);
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
    let (raw_ctx, rollup_ctx) = raw_and_rollup(&schema, &db);
    for (g, variant) in [
        (Granularity::Day, "day"),
        (Granularity::Week, "week"),
        (Granularity::Month, "month"),
    ] {
        let raw = reports::revenue_timeseries(&raw_ctx, &range, g).unwrap();
        let rolled = reports::revenue_timeseries(&rollup_ctx, &range, g).unwrap();
        let (a, b) = rows_of_both(&db, &raw, &rolled, "t_rollup_timeseries.revenue_daily");
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
}

#[test]
fn revenue_by_channel_with_the_persons_rollup_equals_the_raw_version() {
    // Persons touched per channel from `channel_persons_daily`: exact for whole days whatever
    // ingest does, so the events go in directly, redeliveries and untagged events included.
    // Revenue, orders and purchasers from `channel_revenue_daily`: sums, exact when ingest
    // drops repeated purchases, so only other events are redelivered here.
    let (db, schema) = common::shop_db("rollup_channel");
    let mut rng = common::Rng(0x0123_4567_89AB_CDEFu64);
    let mut rnd = |n: u64| rng.below(n);
    let channels = [
        ("", "", ""),
        ("", "google", "organic"),
        ("spring", "email", "newsletter"),
        ("brand", "google", "cpc"),
        ("", "", "referral"),
    ];
    let mut rows = Vec::new();
    for i in 0..1500u64 {
        let day = rnd(70);
        // Some events sit exactly on the first and last millisecond of a day.
        let ms = match rnd(10) {
            0 => 0,
            1 => 86_399_999,
            _ => rnd(86_400_000),
        };
        let ts = chrono::DateTime::from_timestamp_millis(
            common::utc_ms(2026, 1, 1) + day as i64 * 86_400_000 + ms as i64,
        )
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string();
        let (campaign, source, medium) = channels[rnd(channels.len() as u64) as usize];
        let person = rnd(120);
        let (user, anon) = if rnd(2) == 0 {
            (format!("u{person}"), format!("a{person}"))
        } else {
            (String::new(), format!("a{person}"))
        };
        let event_type = ["page_view", "view_item", "purchase"][rnd(3) as usize];
        let row = json!({"event_id": format!("00000000-0000-4000-8000-{i:012}"), "event_type": event_type, "timestamp": ts, "user_id": user, "anonymous_id": anon, "utm_campaign": campaign, "utm_source": source, "utm_medium": medium, "transaction_id": if event_type == "purchase" { format!("o{i}") } else { String::new() }, "revenue": if event_type == "purchase" { 1000 + rnd(9000) } else { 0 }, "currency": "USD"});
        rows.push(row.to_string());
        if i % 11 == 0 && event_type != "purchase" {
            rows.push(row.to_string()); // an exact redelivery
        }
    }
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &rows.join("\n"))
        .unwrap();
    let (raw_ctx, rollup_ctx) = raw_and_rollup(&schema, &db);
    for (start, end) in [("2026-01-10", "2026-02-20"), ("2026-02-01", "2026-02-01")] {
        let range = DateRange::Between {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        };
        let raw = reports::revenue_by_channel(&raw_ctx, &range).unwrap();
        let rolled = reports::revenue_by_channel(&rollup_ctx, &range).unwrap();
        let (a, b) = rows_of_both(&db, &raw, &rolled, "t_rollup_channel.channel_persons_daily");
        assert!(
            rolled
                .sql()
                .contains("FROM t_rollup_channel.channel_revenue_daily")
        );
        assert!(!a.is_empty(), "{start}..{end}");
        assert_eq!(a, b, "{start}..{end}");
    }
    let r = reports::revenue_by_channel(
        &Context::new(&schema, Some("shop"))
            .unwrap()
            .with_rollups(true),
        &DateRange::default(),
    )
    .unwrap();
    common::snapshots("rollups")
        .bind(|| insta::assert_snapshot!("revenue_by_channel.rollup", r.to_sql_file()));
}

#[test]
fn revenue_breakdowns_from_the_rollup_equal_the_raw_versions() {
    // Written through `chx ingest`, which drops the retries; refunds share the rollup and must
    // not count, and coupons leave out orders without one.
    let (db, schema) = common::shop_db("rollup_breakdown");
    let mut rng = common::Rng(0x5EED_0FB1_2EA4_D00Du64);
    let mut rnd = |n: u64| rng.below(n);
    let mut lines = Vec::new();
    for i in 0..600 {
        let day = 1 + rnd(59);
        let ts = format!(
            "2026-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            1 + (day - 1) / 30,
            1 + (day - 1) % 30,
            rnd(24),
            rnd(60),
            rnd(60)
        );
        let (currency, revenue, discount) = match rnd(3) {
            0 => (
                "USD",
                json!(format!("{}.{:02}", 1 + rnd(200), rnd(100))),
                json!(format!("{}.{:02}", rnd(20), rnd(100))),
            ),
            1 => (
                "EUR",
                json!(format!("{}.{:02}", 1 + rnd(200), rnd(100))),
                json!("5.00"),
            ),
            _ => ("JPY", json!(100 + rnd(20_000)), json!(rnd(500))),
        };
        let coupon = ["", "", "SAVE10", "WELCOME"][rnd(4) as usize];
        let device = ["mobile", "desktop", "tablet", ""][rnd(4) as usize];
        let platform = ["web", "ios", "android"][rnd(3) as usize];
        let country = ["US", "DE", "JP", ""][rnd(4) as usize];
        let ev = json!({
            "event_type": "purchase", "timestamp": ts, "transaction_id": format!("o{i}"),
            "revenue": revenue, "currency": currency, "user_id": format!("u{}", rnd(50)),
            "device_type": device,
            "platform": platform,
            "country": country,
            "coupon_code": coupon,
            "discount": if coupon.is_empty() { json!(0) } else { discount },
        });
        lines.push(ev.to_string());
        if i % 7 == 0 {
            lines.push(ev.to_string()); // a retry, dropped by ingest
        }
        if i % 9 == 0 {
            let mut refund = ev.clone();
            refund["event_type"] = json!("refund");
            lines.push(refund.to_string());
        }
    }
    let report = chx::ingest::ingest(&db.engine, &schema, &db.name, &lines.join("\n")).unwrap();
    assert!(report.duplicates_ignored > 50);
    let (raw_ctx, rollup_ctx) = raw_and_rollup(&schema, &db);
    for by in [
        Breakdown::DeviceType,
        Breakdown::Platform,
        Breakdown::Country,
        Breakdown::Coupon,
    ] {
        for (start, end) in [("2026-01-05", "2026-02-25"), ("2026-01-20", "2026-01-20")] {
            let range = DateRange::Between {
                start: start.parse().unwrap(),
                end: end.parse().unwrap(),
            };
            let raw = reports::revenue_by(&raw_ctx, &range, by).unwrap();
            let rolled = reports::revenue_by(&rollup_ctx, &range, by).unwrap();
            let (a, b) = rows_of_both(
                &db,
                &raw,
                &rolled,
                "t_rollup_breakdown.revenue_breakdown_daily",
            );
            assert!(a.len() >= 3, "{by:?} {start}..{end}: {a:?}");
            assert_eq!(a, b, "{by:?} {start}..{end}");
        }
        let r = reports::revenue_by(
            &Context::new(&schema, Some("shop"))
                .unwrap()
                .with_rollups(true),
            &DateRange::default(),
            by,
        )
        .unwrap();
        let name = format!("{}.rollup", by.report_name());
        common::snapshots("rollups")
            .bind(|| insta::assert_snapshot!(name.clone(), r.to_sql_file()));
    }
}

#[test]
fn revenue_cohorts_and_lifetime_value_from_the_rollup_equal_the_raw_versions() {
    // Orders over five months from signed-in buyers and from anonymous ones, some of whom sign
    // in later (their earlier orders join them through the identity map) and one device shared
    // by two users (its anonymous orders follow the latest link); retries within 24 hours, and
    // refunds, which must not count.
    let (db, schema) = common::shop_db("rollup_cohorts");
    let mut rng = common::Rng(0xC0_4027_5EED_1234u64);
    let mut rnd = |n: u64| rng.below(n);
    let mut lines = Vec::new();
    for i in 0..500 {
        let day = rnd(150);
        let ts = format!(
            "2026-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            1 + day / 30,
            1 + day % 30,
            rnd(24),
            rnd(60),
            rnd(60)
        );
        let (currency, revenue) = price(&mut rnd);
        let mut ev = json!({
            "event_type": "purchase", "timestamp": ts, "transaction_id": format!("o{i}"),
            "revenue": revenue, "currency": currency,
        });
        if rnd(4) == 0 {
            ev["anonymous_id"] = json!(format!("a{}", rnd(15)));
        } else {
            ev["user_id"] = json!(format!("u{}", rnd(40)));
        }
        lines.push(ev.to_string());
        if i % 7 == 0 {
            lines.push(ev.to_string()); // a retry, dropped by ingest
        }
        if i % 11 == 0 {
            let mut refund = ev.clone();
            refund["event_type"] = json!("refund");
            lines.push(refund.to_string());
        }
    }
    // Logins: a0..a9 become users (a3 twice, the later link winning); a10..a14 stay anonymous.
    for (a, u, ts) in [
        ("a0", "u1", "2026-02-01T10:00:00Z"),
        ("a1", "u41", "2026-03-01T10:00:00Z"),
        ("a2", "u42", "2026-05-20T10:00:00Z"),
        ("a3", "u2", "2026-01-10T10:00:00Z"),
        ("a3", "u43", "2026-04-10T10:00:00Z"),
        ("a4", "u44", "2026-06-01T10:00:00Z"),
        ("a5", "u45", "2026-02-15T10:00:00Z"),
        ("a6", "u3", "2026-03-15T10:00:00Z"),
        ("a7", "u46", "2026-01-02T10:00:00Z"),
        ("a8", "u47", "2026-05-05T10:00:00Z"),
        ("a9", "u48", "2026-04-04T10:00:00Z"),
    ] {
        lines.push(
            json!({"event_type": "login", "timestamp": ts, "anonymous_id": a, "user_id": u})
                .to_string(),
        );
    }
    // In two inserts, so a buyer's day can sit in two parts of the rollup not merged yet.
    let (first, second) = lines.split_at(lines.len() / 2);
    let mut ignored = 0;
    for part in [first, second] {
        let report = chx::ingest::ingest(&db.engine, &schema, &db.name, &part.join("\n")).unwrap();
        ignored += report.duplicates_ignored;
    }
    assert!(ignored > 50);
    let (raw_ctx, rollup_ctx) = raw_and_rollup(&schema, &db);
    let rollup = "t_rollup_cohorts.person_revenue_daily";
    let raw = cohorts::revenue_cohorts(&raw_ctx, 12).unwrap();
    let rolled = cohorts::revenue_cohorts(&rollup_ctx, 12).unwrap();
    let (a, b) = rows_of_both(&db, &raw, &rolled, rollup);
    assert!(a.len() >= 6, "{a:?}");
    assert_eq!(a, b);
    assert!(
        !rolled.sql().contains("t_rollup_cohorts.events"),
        "{}",
        rolled.sql()
    );
    let raw = cohorts::lifetime_value(&raw_ctx).unwrap();
    let rolled = cohorts::lifetime_value(&rollup_ctx).unwrap();
    let (a, b) = rows_of_both(&db, &raw, &rolled, rollup);
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(a, b);
    // New and returning customers by week: a buyer's first day comes from the rollup's days.
    let spring = DateRange::Between {
        start: "2026-02-01".parse().unwrap(),
        end: "2026-05-31".parse().unwrap(),
    };
    let raw = customers::new_vs_returning(&raw_ctx, &spring, Granularity::Week).unwrap();
    let rolled = customers::new_vs_returning(&rollup_ctx, &spring, Granularity::Week).unwrap();
    let (a, b) = rows_of_both(&db, &raw, &rolled, rollup);
    assert!(a.len() >= 40, "{a:?}");
    assert_eq!(a, b);
    // By the hour the rollup's days cannot serve: the events are read.
    let day = DateRange::Between {
        start: "2026-03-10".parse().unwrap(),
        end: "2026-03-10".parse().unwrap(),
    };
    let raw = customers::new_vs_returning(&raw_ctx, &day, Granularity::Hour).unwrap();
    let rolled = customers::new_vs_returning(&rollup_ctx, &day, Granularity::Hour).unwrap();
    assert!(!rolled.sql().contains(rollup), "{}", rolled.sql());
    assert_eq!(db.report_rows(&raw), db.report_rows(&rolled));
    let shop = Context::new(&schema, Some("shop"))
        .unwrap()
        .with_rollups(true);
    for (name, r) in [
        (
            "revenue_cohorts.rollup",
            cohorts::revenue_cohorts(&shop, 6).unwrap(),
        ),
        (
            "lifetime_value.rollup",
            cohorts::lifetime_value(&shop).unwrap(),
        ),
        (
            "new_vs_returning.rollup",
            customers::new_vs_returning(&shop, &DateRange::default(), Granularity::Day).unwrap(),
        ),
    ] {
        common::snapshots("rollups").bind(|| insta::assert_snapshot!(name, r.to_sql_file()));
    }
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots(
        "rollups",
        &[
            "revenue_timeseries.rollup".to_string(),
            "revenue_by_channel.rollup".to_string(),
            "revenue_by_device.rollup".to_string(),
            "revenue_by_platform.rollup".to_string(),
            "revenue_by_country.rollup".to_string(),
            "revenue_by_coupon.rollup".to_string(),
            "revenue_cohorts.rollup".to_string(),
            "lifetime_value.rollup".to_string(),
            "new_vs_returning.rollup".to_string(),
            // tests/attribution.rs
            "lifetime_value_by_channel.rollup".to_string(),
            "acquisition_cost.rollup".to_string(),
        ],
    );
}

/// A context scanning the events and one reading rollups, on the test's database.
fn raw_and_rollup<'s>(
    schema: &'s chx::schema::Schema,
    db: &common::TestDb,
) -> (Context<'s>, Context<'s>) {
    let raw = Context::new(schema, Some(&db.name)).unwrap();
    let rollup = Context::new(schema, Some(&db.name))
        .unwrap()
        .with_rollups(true);
    (raw, rollup)
}

/// An order's currency and revenue as the ingest API takes it: USD or EUR with cents as a
/// decimal string, or whole yen.
fn price(rnd: &mut impl FnMut(u64) -> u64) -> (&'static str, serde_json::Value) {
    match rnd(3) {
        0 => ("USD", json!(format!("{}.{:02}", 1 + rnd(200), rnd(100)))),
        1 => ("EUR", json!(format!("{}.{:02}", 1 + rnd(200), rnd(100)))),
        _ => ("JPY", json!(100 + rnd(20_000))),
    }
}

/// The rows of the report scanning events and of the one reading `rollup` (which it must).
fn rows_of_both(
    db: &common::TestDb,
    raw: &chx::query::Report,
    rolled: &chx::query::Report,
    rollup: &str,
) -> (Vec<Vec<serde_json::Value>>, Vec<Vec<serde_json::Value>>) {
    assert!(
        rolled.sql().contains(&format!("FROM {rollup}")),
        "{}",
        rolled.sql()
    );
    (db.report_rows(raw), db.report_rows(rolled))
}

/// A rollup serves a revenue report only when its `where` keeps every purchase: a condition on
/// anything but the event type (or a list without `purchase`) makes the report scan events.
#[test]
fn a_rollup_whose_filter_drops_purchases_is_not_used() {
    let text = std::fs::read_to_string(common::repo_path("schema/ecommerce.yaml")).unwrap();
    let shipped = "    where: event_type IN ('purchase', 'refund')\n    dimensions:\n      - {name: day, expr: toDate(timestamp)}\n      - event_type\n      - currency\n      - device_type";
    assert!(text.contains(shipped), "the breakdown rollup's filter");
    let range = DateRange::default();
    for (filter, used) in [
        ("event_type IN ('purchase', 'refund')", true),
        ("event_type IN ('purchase')", true),
        ("event_type IN ('refund')", false),
        ("country = 'US'", false),
        ("event_type IN ('purchase') AND country = 'US'", false),
    ] {
        let yaml = text.replace(
            shipped,
            &shipped.replace("event_type IN ('purchase', 'refund')", filter),
        );
        let schema =
            chx::schema::from_source(&chx::diag::Source::new("ecommerce.yaml", yaml)).unwrap();
        let ctx = Context::new(&schema, Some("shop"))
            .unwrap()
            .with_rollups(true);
        let sql = reports::revenue_by(&ctx, &range, Breakdown::Country)
            .unwrap()
            .sql();
        assert_eq!(
            sql.contains("FROM shop.revenue_breakdown_daily"),
            used,
            "{filter}: {sql}"
        );
    }
}
