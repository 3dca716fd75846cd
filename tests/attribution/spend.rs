//! Ad spend beside the attribution fixture: acquisition cost (CAC) and return on ad spend per
//! channel against Rust, and the first-touch rollup against the scan.

use super::*;

/// A day's spend on a channel as an ad platform reports it (loaded at `loaded`: a restated day
/// is loaded again later).
#[derive(Clone, Debug)]
pub(super) struct Spend {
    day: u32,
    channel: Channel,
    currency: &'static str,
    spend: i64,
    impressions: u64,
    clicks: u64,
    loaded: u32,
}

/// Spend from Feb 26 to Apr 3 (days of March and beyond, as day-of-year offsets from Mar 1)
/// on the paid channels, one of them with NULs in its values, and a channel that acquires
/// no one; a quarter of the days restated by a later load.
fn spend_fixture() -> Vec<Spend> {
    let mut rng = common::Rng(0x5EED_5BE0_u64);
    let paid = [
        (CHANNELS[0], "USD"),
        (CHANNELS[1], "USD"),
        (CHANNELS[2], "EUR"),
        (CHANNELS[4], "USD"),
        (("ghost", "bing", "cpc"), "USD"),
    ];
    let mut out = Vec::new();
    for day in 0..37u32 {
        for (channel, currency) in paid {
            let mut row = Spend {
                day,
                channel,
                currency,
                spend: 100 + rng.below(90_000) as i64,
                impressions: rng.below(50_000),
                clicks: rng.below(900),
                loaded: 0,
            };
            if rng.below(4) == 0 {
                out.push(row.clone());
                row.spend = 100 + rng.below(90_000) as i64;
                row.clicks = rng.below(900);
                row.loaded = 1;
            }
            out.push(row);
        }
    }
    out
}

/// Spend rows' date: day 0 is Feb 26.
fn spend_day(day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 2, 26).unwrap() + chrono::Duration::days(day as i64)
}

/// (spend, impressions, clicks) per (channel, currency) over the days `first_day` to
/// `last_day`: a restated day at its latest load only.
fn spent(
    spend: &[Spend],
    (first_day, last_day): (chrono::NaiveDate, chrono::NaiveDate),
) -> BTreeMap<(Channel, &'static str), (i64, u64, u64)> {
    let mut out: BTreeMap<(Channel, &'static str), (i64, u64, u64)> = BTreeMap::new();
    for s in spend {
        let d = spend_day(s.day);
        let restated = spend
            .iter()
            .any(|t| t.day == s.day && t.channel == s.channel && t.loaded > s.loaded);
        if d < first_day || d > last_day || restated {
            continue;
        }
        let w = out.entry((s.channel, s.currency)).or_default();
        w.0 += s.spend;
        w.1 += s.impressions;
        w.2 += s.clicks;
    }
    out
}

/// (spend, impressions, clicks, new customers, their range revenue, their lifetime revenue)
type Acquisition = (i64, u64, u64, i64, i64, i64);

/// Acquisition cost's rows over the days `first_day` to `last_day` (UTC) by (channel,
/// currency).
fn want_acquisition<'a>(
    events: &'a [Ev],
    spend: &[Spend],
    (first_day, last_day): (chrono::NaiveDate, chrono::NaiveDate),
) -> BTreeMap<(Channel, &'a str), Acquisition> {
    let mut want: BTreeMap<(Channel, &str), Acquisition> = spent(spend, (first_day, last_day))
        .into_iter()
        .map(|(k, (spend, impressions, clicks))| (k, (spend, impressions, clicks, 0, 0, 0)))
        .collect();
    let ms = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();
    let (from, to) = (ms(first_day), ms(last_day) + 86_400_000);
    let touch = first_touches(events);
    let purchases = events.iter().filter(|e| e.kind == "purchase");
    let orders = common::counted_within_24h(purchases, |e| &e.tx, |e| e.ms);
    let mut per: BTreeMap<String, Vec<&Ev>> = BTreeMap::new();
    for o in orders {
        per.entry(person(o, events)).or_default().push(o);
    }
    for (who, orders) in per {
        let first = orders.iter().map(|o| o.ms).min().unwrap();
        if first < from || first >= to {
            continue;
        }
        let channel = touch.get(&who).copied().unwrap_or(("", "", ""));
        let mut by_currency: BTreeMap<&str, (bool, i64, i64)> = BTreeMap::new();
        for o in orders {
            let c = by_currency.entry(o.currency).or_default();
            let inside = o.ms >= from && o.ms < to;
            c.0 |= inside;
            c.1 += if inside { o.revenue } else { 0 };
            c.2 += o.revenue;
        }
        for (currency, (bought, revenue, lifetime)) in by_currency {
            if bought {
                let w = want.entry((channel, currency)).or_default();
                w.3 += 1;
                w.4 += revenue;
                w.5 += lifetime;
            }
        }
    }
    want
}

/// The expected entry for a report row that starts with campaign, source, medium, currency.
fn wanted<'a, V>(
    want: &'a BTreeMap<(Channel, &str), V>,
    row: &[serde_json::Value],
) -> (&'a (Channel, &'a str), &'a V) {
    let text = |i: usize| row[i].as_str().unwrap();
    want.iter()
        .find(|((c, k), _)| *c == (text(0), text(1), text(2)) && *k == text(3))
        .unwrap_or_else(|| panic!("unexpected row {row:?}"))
}

/// The report's rows against [`want_acquisition`]: every number, the ratios, NULL where a
/// ratio has no denominator, and the order (currency, spend desc, new customers desc).
fn check_acquisition(
    rows: &[Vec<serde_json::Value>],
    want: &BTreeMap<(Channel, &str), Acquisition>,
) {
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    let mut keys = Vec::new();
    for row in rows {
        let (&(channel, currency), w) = wanted(want, row);
        let (spend, impressions, clicks, customers, revenue, lifetime) = *w;
        assert_eq!(
            row[4..8],
            [
                json!(spend),
                json!(impressions),
                json!(clicks),
                json!(customers)
            ],
            "{channel:?} {currency}"
        );
        assert_eq!(row[9], json!(revenue), "{channel:?} {currency}");
        assert_eq!(row[11], json!(lifetime), "{channel:?} {currency}");
        let ratio = |v: &serde_json::Value, num: i64, den: i64| match den {
            0 => assert!(v.is_null(), "{channel:?} {currency}: {v}"),
            _ => assert!((v.as_f64().unwrap() - num as f64 / den as f64).abs() < 1e-9),
        };
        ratio(&row[8], spend, customers);
        ratio(&row[10], revenue, spend);
        ratio(&row[12], lifetime, spend);
        keys.push((currency, -spend, -customers, channel));
    }
    assert!(keys.is_sorted(), "{keys:?}");
}

/// The fixture's events and its spend, loaded.
fn setup_with_spend(name: &str) -> (common::TestDb, chx::schema::Schema, Vec<Ev>, Vec<Spend>) {
    let (db, schema, events) = setup(name);
    let spend = spend_fixture();
    insert_spend(&db, &spend);
    (db, schema, events, spend)
}

fn march_day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// Each load in its own insert (one insert's rows are merged as they are written).
fn insert_spend(db: &common::TestDb, spend: &[Spend]) {
    for load in [0, 1] {
        common::insert(
        db,
        "ad_spend",
        spend.iter().filter(|s| s.loaded == load).map(|s| {
            json!({"day": spend_day(s.day).to_string(), "utm_campaign": s.channel.0, "utm_source": s.channel.1,
                   "utm_medium": s.channel.2, "currency": s.currency, "spend": s.spend, "impressions": s.impressions,
                   "clicks": s.clicks, "loaded_at": format!("2026-04-0{} 00:00:00.000", 5 + s.loaded)})
        }),
    );
    }
}

/// Acquisition cost (CAC, ROAS) per channel: spend of the range's days (restated days once,
/// at their latest load), new customers (first counted purchase ever in the range, stitched)
/// by their first touch ever, their revenue in the range and ever; per currency, and in the
/// base currency.
#[test]
fn acquisition_cost_matches_rust() {
    use chx::query::acquisition::acquisition_cost;
    let (db, schema, events, spend) = setup_with_spend("acquisition_cost");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    // Mid-March: some first orders fall before the range (not new), some customers' later
    // orders after it (lifetime revenue, not the range's).
    let days = (march_day(10), march_day(25));
    let range = DateRange::Between {
        start: days.0,
        end: days.1,
    };
    let r = acquisition_cost(&ctx, &range).unwrap();
    common::snapshots("attribution")
        .bind(|| insta::assert_snapshot!("acquisition_cost", r.to_sql_file()));
    let want = want_acquisition(&events, &spend, days);
    // The fixture has what the numbers must handle: spend without customers, customers without
    // spend (direct, and untagged channels), customers who bought again after the range.
    assert!(
        want.values().any(|w| w.0 > 0 && w.3 == 0) && want.values().any(|w| w.0 == 0 && w.3 > 0)
    );
    assert!(want.values().any(|w| w.5 > w.4));
    assert!(want.keys().any(|(c, _)| *c == ("", "", "")));
    check_acquisition(&db.report_rows(&r), &want);

    insert_rates(&db);
    let base = ctx.clone().in_currency(Currency::Base);
    let r = acquisition_cost(&base, &range).unwrap();
    common::snapshots("attribution")
        .bind(|| insta::assert_snapshot!("acquisition_cost.base", r.to_sql_file()));
    let (converted, spend_usd) = in_usd(&events, &spend);
    let want = want_acquisition(&converted, &spend_usd, days);
    check_acquisition(&db.report_rows(&r), &want);
}

/// (spend, impressions, clicks, attributed revenue, attributed order shares)
type Roas = (i64, u64, u64, i64, f64);

/// Return on ad spend under three attribution models: the range's spend per channel beside
/// the revenue and order shares the attribution reference credits to it (unattributed orders
/// left out), the ratios NULL without a denominator; per currency, and in the base currency.
#[test]
fn return_on_ad_spend_matches_rust() {
    use chx::query::acquisition::return_on_ad_spend;
    let (db, schema, events, spend) = setup_with_spend("roas");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let march_days = (march_day(1), march_day(31));
    let check_roas =
        |rows: &[Vec<serde_json::Value>], events: &[Ev], spend: &[Spend], model: Model| {
            let (from, to) = (common::utc_ms(2026, 3, 1), common::utc_ms(2026, 4, 1));
            let mut want: BTreeMap<(Channel, &str), Roas> = spent(spend, march_days)
                .into_iter()
                .map(|(k, (s, i, c))| (k, (s, i, c, 0, 0.0)))
                .collect();
            for ((channel, currency), (revenue, share)) in
                reference(events, model, 30 * 86_400_000, from, to)
            {
                if let Some(channel) = channel {
                    let w = want.entry((channel, currency)).or_default();
                    w.3 += revenue;
                    w.4 += share;
                }
            }
            assert!(want.values().any(|w| w.0 > 0 && w.3 > 0) && want.values().any(|w| w.0 == 0));
            assert!(
                want.values().any(|w| w.0 > 0 && w.3 == 0),
                "a channel with spend and no credit"
            );
            assert_eq!(rows.len(), want.len(), "{model:?} {rows:?}");
            let mut keys = Vec::new();
            for row in rows {
                let (&(channel, currency), &(spend, impressions, clicks, revenue, orders)) =
                    wanted(&want, row);
                assert_eq!(
                    row[4..8],
                    [
                        json!(spend),
                        json!(impressions),
                        json!(clicks),
                        json!(revenue)
                    ],
                    "{model:?} {channel:?} {currency}"
                );
                assert!(
                    (row[8].as_f64().unwrap() - orders).abs() < 1e-9,
                    "{model:?} {row:?}"
                );
                let ratio = |v: &serde_json::Value, num: f64, den: f64| match den == 0.0 {
                    true => assert!(v.is_null(), "{model:?} {channel:?}: {v}"),
                    false => assert!(
                        (v.as_f64().unwrap() - num / den).abs() < 1e-9,
                        "{model:?} {v}"
                    ),
                };
                ratio(&row[9], revenue as f64, spend as f64);
                ratio(&row[10], spend as f64, orders);
                ratio(&row[11], spend as f64, clicks as f64);
                keys.push((currency, -spend, -revenue, channel));
            }
            assert!(keys.is_sorted(), "{keys:?}");
        };
    for model in [Model::LastClick, Model::Linear, Model::time_decay()] {
        let r = return_on_ad_spend(&ctx, &march(), model, 30).unwrap();
        if model == Model::LastClick {
            common::snapshots("attribution")
                .bind(|| insta::assert_snapshot!("roas", r.to_sql_file()));
        }
        check_roas(&db.report_rows(&r), &events, &spend, model);
    }
    insert_rates(&db);
    let (events, spend) = in_usd(&events, &spend);
    let base = ctx.clone().in_currency(Currency::Base);
    let r = return_on_ad_spend(&base, &march(), Model::LastClick, 30).unwrap();
    check_roas(&db.report_rows(&r), &events, &spend, Model::LastClick);
}

/// The fixture's events and spend converted as [`insert_rates`]'s rates convert them (cents,
/// half away from zero: EUR cents × 1.0834, yen × 0.67).
pub(super) fn in_usd(events: &[Ev], spend: &[Spend]) -> (Vec<Ev>, Vec<Spend>) {
    let usd = |currency: &str, amount: i64| {
        let (num, den) = match currency {
            "EUR" => (10_834, 10_000),
            "JPY" => (67, 100),
            _ => (1, 1),
        };
        (2 * amount * num + den) / (2 * den)
    };
    let events = events
        .iter()
        .map(|e| Ev {
            revenue: usd(e.currency, e.revenue),
            currency: "USD",
            ..e.clone()
        })
        .collect();
    let spend = spend
        .iter()
        .map(|s| Spend {
            spend: usd(s.currency, s.spend),
            currency: "USD",
            ..s.clone()
        })
        .collect();
    (events, spend)
}

/// Under `--use-rollups`, first touches come from `person_first_touch` (one row per stored
/// person) and orders from `person_revenue_daily`: lifetime value by channel and acquisition
/// cost read no event, and equal the scans. The fixture goes through ingest (which drops the
/// repeated deliveries the purchase rollup would count) in two inserts, so a person's touches
/// can sit in two parts of the rollup not merged yet.
#[test]
fn first_touches_from_the_rollup_equal_the_scan() {
    use chx::query::acquisition::acquisition_cost;
    use chx::query::cohorts::lifetime_value_by_channel;
    let (db, schema) = common::shop_db("first_touch_rollup");
    // Out of time order as the fixture lists them: a repeat listed before its original, at
    // times in the other insert (ingest then keeps the delivery stored first).
    let lines: Vec<String> = fixture()
        .iter()
        .map(|e| {
            json!({"event_id": e.id, "event_type": e.kind, "timestamp": common::ts_text(e.ms), "user_id": e.user,
                   "anonymous_id": e.anon, "transaction_id": e.tx, "revenue": e.revenue, "currency": e.currency,
                   "utm_campaign": e.channel.0, "utm_source": e.channel.1, "utm_medium": e.channel.2})
            .to_string()
        })
        .collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    for part in [first, second] {
        chx::ingest::ingest(&db.engine, &schema, &db.name, &part.join("\n")).unwrap();
    }
    insert_spend(&db, &spend_fixture());
    let raw = Context::new(&schema, Some(&db.name)).unwrap();
    let rolled = raw.clone().with_rollups(true);
    let events = format!("{}.events", db.name);
    for (name, scan, rollup) in [
        (
            "lifetime value by channel",
            lifetime_value_by_channel(&raw).unwrap(),
            lifetime_value_by_channel(&rolled).unwrap(),
        ),
        (
            "acquisition cost",
            acquisition_cost(&raw, &march()).unwrap(),
            acquisition_cost(&rolled, &march()).unwrap(),
        ),
    ] {
        let sql = rollup.sql();
        assert!(
            sql.contains("person_first_touch") && !sql.contains(&events),
            "{name}: {sql}"
        );
        let rows = db.report_rows(&scan);
        assert!(rows.len() >= 6, "{name}: {rows:?}");
        assert_eq!(rows, db.report_rows(&rollup), "{name}");
    }
    let shop = Context::new(&schema, Some("shop"))
        .unwrap()
        .with_rollups(true);
    common::snapshots("rollups").bind(|| {
        insta::assert_snapshot!(
            "lifetime_value_by_channel.rollup",
            lifetime_value_by_channel(&shop).unwrap().to_sql_file()
        );
        insta::assert_snapshot!(
            "acquisition_cost.rollup",
            acquisition_cost(&shop, &march()).unwrap().to_sql_file()
        );
    });
}
