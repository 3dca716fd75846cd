//! `currency=base`: the same reports with every amount converted into the base currency (USD)
//! at the latest rate on or before its day, rounded half away from zero per amount. Checked
//! against the per-currency reports' own Rust references run over events converted here, with
//! integer arithmetic: rates with 18 decimals, a corrected day (the later row wins), gaps
//! between rate days, and a JPY rate that puts amounts exactly half a cent apart.

use chrono::{DateTime, NaiveDate, Utc};
use chx::query::money::{Currency, MISSING_RATE};
use chx::query::reports::{self, Breakdown, Granularity};
use serde_json::json;

use super::shop::*;
use super::{
    check_cart_abandonment, check_overview, check_revenue_by_category, check_revenue_by_channel,
    ctx, run, want_breakdown, want_timeseries, want_top_products,
};

/// (day, currency, rate, loaded_at) as inserted.
const RATES: [(&str, &str, &str, &str); 7] = [
    (
        "2026-02-20",
        "EUR",
        "1.083456789123456789",
        "2026-02-20 00:00:00.000",
    ),
    ("2026-03-05", "EUR", "1.1", "2026-03-05 00:00:00.000"),
    // The day's correction: it replaces the row above.
    (
        "2026-03-05",
        "EUR",
        "1.091234567",
        "2026-03-05 12:00:00.000",
    ),
    ("2026-03-17", "EUR", "1.0712", "2026-03-17 00:00:00.000"),
    // 590 yen (a hoodie) at 0.0065 is 383.5 cents.
    ("2026-02-20", "JPY", "0.0065", "2026-02-20 00:00:00.000"),
    (
        "2026-03-10",
        "JPY",
        "0.006712345678",
        "2026-03-10 00:00:00.000",
    ),
    ("2026-03-24", "JPY", "0.0065", "2026-03-24 00:00:00.000"),
];

const E18: i128 = 1_000_000_000_000_000_000;

/// Decimal text as an integer of 10^-18 units.
fn e18(text: &str) -> i128 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<18}");
    whole.parse::<i128>().unwrap() * E18 + frac.parse::<i128>().unwrap()
}

/// The rate a day's amounts in `currency` take: the latest rate day on or before it, and of
/// that day's rows the last loaded.
fn rate(currency: &str, day: NaiveDate) -> i128 {
    let (_, _, text, _) = RATES
        .iter()
        .filter(|(d, c, _, _)| *c == currency && d.parse::<NaiveDate>().unwrap() <= day)
        .max_by_key(|(d, _, _, loaded)| (*d, *loaded))
        .unwrap_or_else(|| panic!("no {currency} rate by {day}"));
    e18(text)
}

/// Minor units of `currency` on the day of `ms` in US cents: exact, then half away from zero.
/// Returns the cents and whether the exact value was a half.
fn to_cents(amount: i64, currency: &str, ms: i64) -> (i64, bool) {
    if currency == "USD" {
        return (amount, false);
    }
    let exponent = if currency == "JPY" { 0 } else { 2 };
    let day = DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .date_naive();
    let exact = amount as i128 * rate(currency, day) * 10i128.pow(2 - exponent);
    let (q, r) = (exact / E18, exact % E18);
    let rounded = if 2 * r.abs() >= E18 {
        q + exact.signum()
    } else {
        q
    };
    (rounded as i64, 2 * r.abs() == E18)
}

/// The fixture's events with every amount in US cents; also how many amounts were a half.
fn in_base(events: &[Ev]) -> (Vec<Ev>, usize) {
    let mut halves = 0;
    let mut cents = |amount: i64, e: &Ev| {
        let (c, half) = to_cents(amount, e.currency, e.ms);
        halves += half as usize;
        c
    };
    let converted = events
        .iter()
        .map(|e| {
            let mut c = e.clone();
            c.revenue = cents(e.revenue, e);
            c.discount = cents(e.discount, e);
            for it in &mut c.items {
                it.line = Some(cents(it.price * it.qty, e));
            }
            c.currency = "USD";
            c
        })
        .collect();
    (converted, halves)
}

#[test]
fn base_currency_reports_match_rust() {
    let f = load("base_currency");
    // The correction goes in first, in an insert of its own: the row that wins is the one
    // loaded last (`loaded_at`), not the one inserted last.
    let row = |(day, currency, rate, loaded_at): (&str, &str, &str, &str)| json!({"day": day, "currency": currency, "rate": rate, "loaded_at": loaded_at});
    crate::common::insert(&f.db, "currency_rates", [row(RATES[2])]);
    crate::common::insert(
        &f.db,
        "currency_rates",
        RATES
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, r)| row(*r)),
    );
    let (events, halves) = in_base(&f.events);
    assert!(halves > 0, "no amount falls on half a cent");
    let (range, _, _) = range();
    let base = ctx(&f).in_currency(Currency::Base);
    let r = reports::revenue_timeseries(&base, &range, Granularity::Day).unwrap();
    assert_eq!(run(&f, &r), want_timeseries(&events, Granularity::Day));
    let r = reports::top_products(&base, &range, 3).unwrap();
    assert_eq!(run(&f, &r), want_top_products(&events, 3));
    for by in [Breakdown::Country, Breakdown::Coupon] {
        let r = reports::revenue_by(&base, &range, by).unwrap();
        assert_eq!(run(&f, &r), want_breakdown(&events, by), "{by:?}");
    }
    check_overview(
        &events,
        &run(&f, &reports::overview(&base, &range).unwrap()),
    );
    check_cart_abandonment(
        &events,
        &run(&f, &reports::cart_abandonment(&base, &range).unwrap()),
    );
    check_revenue_by_channel(
        &events,
        &run(&f, &reports::revenue_by_channel(&base, &range).unwrap()),
    );
    check_revenue_by_category(
        &events,
        &run(
            &f,
            &chx::query::categories::revenue_by_category(&base, &range).unwrap(),
        ),
    );
    // Without a yen rate, a yen amount fails the report instead of counting as zero; per
    // currency, nothing needs a rate.
    f.db.engine
        .run(format!(
            "ALTER TABLE {}.currency_rates DELETE WHERE currency = 'JPY' SETTINGS mutations_sync = 1",
            f.db.name
        ))
        .unwrap();
    let r = reports::revenue_timeseries(&base, &range, Granularity::Day).unwrap();
    let err = f.db.engine.run(r.statement()).unwrap_err().to_string();
    assert!(err.contains(MISSING_RATE), "{err}");
    let r = reports::revenue_timeseries(&ctx(&f), &range, Granularity::Day).unwrap();
    assert_eq!(run(&f, &r), want_timeseries(&f.events, Granularity::Day));
}
