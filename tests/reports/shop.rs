//! The reports test's shop: events full of traps (see `fixture`), loaded into a test database,
//! and the plain Rust rule for which purchases count.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chx::query::DateRange;
use serde_json::{Value, json};

use crate::common;

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) price: i64,
    pub(crate) qty: i64,
    /// The line's amount where it is not price × quantity (converted into another currency).
    pub(crate) line: Option<i64>,
}

impl Item {
    /// What the line costs: price × quantity, unless converted.
    pub(crate) fn amount(&self) -> i64 {
        self.line.unwrap_or(self.price * self.qty)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Ev {
    pub(crate) id: String,
    pub(crate) ms: i64,
    pub(crate) kind: &'static str,
    pub(crate) tx: String,
    pub(crate) revenue: i64,
    pub(crate) discount: i64,
    pub(crate) currency: &'static str,
    pub(crate) person: String,
    pub(crate) device: &'static str,
    pub(crate) country: &'static str,
    pub(crate) coupon: &'static str,
    pub(crate) cart: String,
    pub(crate) channel: (&'static str, &'static str, &'static str),
    pub(crate) items: Vec<Item>,
}

pub(crate) const CHANNELS: [(&str, &str, &str); 5] = [
    ("spring-sale", "email", "newsletter"),
    ("winter", "google", "cpc"),
    ("", "", ""),
    ("retarget", "facebook", "paid_social"),
    ("", "", ""),
];

pub(crate) fn channel_of(person: &str) -> (&'static str, &'static str, &'static str) {
    let n: usize = person.trim_start_matches("user_").parse().unwrap_or(0);
    CHANNELS[n % CHANNELS.len()]
}

use common::Rng;

pub(crate) const START: &str = "2026-03-01";
pub(crate) const END: &str = "2026-03-31";

pub(crate) fn ms(date: &str, secs: i64) -> i64 {
    let d: NaiveDate = date.parse().unwrap();
    d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() + secs * 1000
}

pub(crate) fn fixture() -> Vec<Ev> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let currencies = [("USD", 100), ("EUR", 100), ("JPY", 1)];
    let devices = ["mobile", "desktop", "tablet"];
    let countries = ["US", "DE", "JP", "GB"];
    let coupons = ["", "", "SAVE10", "WELCOME"];
    let products = [
        ("sku_1", "T-Shirt", 2499),
        ("sku_2", "Hoodie", 5900),
        ("sku_3", "Cap", 1950),
        ("sku_4", "Socks", 799),
    ];
    let mut out = Vec::new();
    let mut ids = common::EventIds::default();
    let mut id = || ids.next_id();
    // 120 orders spread from 2026-02-27 to 2026-04-02 (some outside the range on purpose).
    for i in 0..120 {
        let day = -2 + rng.below(35) as i64;
        let t = ms("2026-03-01", day * 86_400 + rng.below(86_400) as i64);
        let (currency, unit) = currencies[rng.below(3) as usize];
        let mut items = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let (pid, name, price) = products[rng.below(4) as usize];
            let price = if unit == 1 { price / 10 } else { price };
            items.push(Item {
                id: pid.into(),
                name: name.into(),
                price,
                qty: 1 + rng.below(3) as i64,
                line: None,
            });
        }
        let revenue = items.iter().map(|it| it.price * it.qty).sum();
        let coupon = coupons[rng.below(4) as usize];
        let ev = Ev {
            id: id(),
            ms: t,
            kind: "purchase",
            tx: format!("order_{i}"),
            revenue,
            discount: if coupon.is_empty() {
                0
            } else {
                100 + rng.below(500) as i64
            },
            currency,
            person: format!("user_{}", rng.below(40)),
            device: devices[rng.below(3) as usize],
            country: countries[rng.below(4) as usize],
            coupon,
            cart: format!("cart_{i}"),
            channel: ("", "", ""),
            items,
        };
        // Two of three orders carry the person's campaign; the rest arrive without one.
        let ev = Ev {
            channel: if i % 3 == 0 {
                ("", "", "")
            } else {
                channel_of(&ev.person)
            },
            ..ev
        };
        // The browsing before the order: a view 20 minutes and an add-to-cart 10 minutes before.
        let browse = |kind: &'static str, before: i64, id: String| Ev {
            id,
            ms: t - before,
            kind,
            tx: String::new(),
            revenue: 0,
            discount: 0,
            coupon: "",
            channel: channel_of(&ev.person),
            ..ev.clone()
        };
        out.push(browse("page_view", 1_800_000, id()));
        out.push(browse("view_item", 1_200_000, id()));
        out.push(browse("add_to_cart", 600_000, id()));
        // Traps: a retry of the same order minutes later (ignored), a repeat two days later
        // (a new purchase), an exact redelivery of the same event (counted once).
        match i % 10 {
            3 => out.push(Ev {
                id: id(),
                ms: t + 300_000,
                ..ev.clone()
            }),
            5 => out.push(Ev {
                id: id(),
                ms: t + 2 * 86_400_000,
                ..ev.clone()
            }),
            7 => out.push(ev.clone()),
            _ => {}
        }
        if i % 6 == 0 {
            let partial = if i % 12 == 0 {
                ev.revenue
            } else {
                ev.revenue / 2
            };
            out.push(Ev {
                id: id(),
                ms: t + 3 * 86_400_000,
                kind: "refund",
                revenue: partial,
                discount: 0,
                coupon: "",
                items: Vec::new(),
                ..ev.clone()
            });
        }
        out.push(ev);
    }
    // Carts nobody bought, and persons who only looked.
    for i in 0..40 {
        let t = ms("2026-03-01", -86_400 + rng.below(34 * 86_400) as i64);
        let person = format!("user_{}", 30 + rng.below(30));
        let kind = match i % 4 {
            0 => "view_item",
            3 => "page_view",
            _ => "add_to_cart",
        };
        let (currency, _) = currencies[rng.below(3) as usize];
        out.push(Ev {
            id: id(),
            ms: t,
            kind,
            tx: String::new(),
            revenue: 0,
            discount: 0,
            currency,
            device: devices[0],
            country: countries[0],
            coupon: "",
            cart: if kind == "add_to_cart" {
                format!("lost_cart_{i}")
            } else {
                String::new()
            },
            channel: channel_of(&person),
            items: vec![Item {
                id: "sku_1".into(),
                name: "T-Shirt".into(),
                price: 2499,
                qty: 1 + (i % 2) as i64,
                line: None,
            }],
            person,
        });
        if i % 8 == 1 {
            // Half of what went into this cart comes out again.
            let mut removal = out.last().unwrap().clone();
            removal.id = id();
            removal.kind = "remove_from_cart";
            removal.ms += 60_000;
            removal.items[0].qty = 1;
            out.push(removal);
        }
    }
    // Out of order: insert in a shuffled order.
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// A product's category: two share one, one has its own, one has none.
pub(crate) fn category_of(id: &str) -> &'static str {
    match id {
        "sku_1" | "sku_2" => "Apparel",
        "sku_3" => "Accessories",
        _ => "",
    }
}

pub(crate) fn to_row(e: &Ev) -> Value {
    let t = DateTime::<Utc>::from_timestamp_millis(e.ms)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string();
    json!({
        "event_id": e.id, "timestamp": t, "event_type": e.kind, "transaction_id": e.tx, "revenue": e.revenue,
        "discount": e.discount, "currency": e.currency, "user_id": e.person, "device_type": e.device,
        "country": e.country, "coupon_code": e.coupon, "cart_id": e.cart,
        "utm_campaign": e.channel.0, "utm_source": e.channel.1, "utm_medium": e.channel.2,
        "items": e.items.iter().map(|it| json!({"item_id": it.id, "item_name": it.name, "item_category": category_of(&it.id), "price": it.price, "quantity": it.qty})).collect::<Vec<_>>(),
    })
}

pub(crate) struct Fixture {
    pub(crate) db: common::TestDb,
    pub(crate) events: Vec<Ev>,
    pub(crate) schema: chx::schema::Schema,
}

pub(crate) fn load(name: &str) -> Fixture {
    let (db, schema) = common::shop_db(name);
    let events = fixture();
    let body: String = events
        .iter()
        .map(|e| to_row(e).to_string() + "\n")
        .collect();
    db.engine
        .insert_json_rows(&format!("{}.events", db.name), &body)
        .unwrap();
    Fixture { db, events, schema }
}

pub(crate) fn range() -> (DateRange, i64, i64) {
    (
        DateRange::Between {
            start: START.parse().unwrap(),
            end: END.parse().unwrap(),
        },
        ms(START, 0),
        ms(END, 86_400),
    )
}

/// The seed API's rule, computed the plain way: per (kind, transaction) in time order, an event
/// within 24 h of the last counted one is dropped; one event_id counts once.
pub(crate) fn counted(events: &[Ev], kind: &str, from: i64, to: i64) -> Vec<Ev> {
    let in_range_txs: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.kind == kind && e.ms >= from && e.ms < to)
        .map(|e| e.tx.as_str())
        .collect();
    let mut seen_ids = BTreeSet::new();
    let delivered = events.iter().filter(|e| {
        e.kind == kind && in_range_txs.contains(e.tx.as_str()) && seen_ids.insert(e.id.clone())
    });
    common::counted_within_24h(delivered, |e| &e.tx, |e| e.ms)
        .into_iter()
        .filter(|e| e.ms >= from && e.ms < to)
        .cloned()
        .collect()
}
