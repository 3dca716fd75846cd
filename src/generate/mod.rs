//! A synthetic shop: users and sessions over channels, devices and countries; Zipf product
//! popularity over a catalogue with categories, brands and variants; funnel drop-off from
//! view to purchase; coupons, shipping and tax; currencies by country (JPY included); refunds
//! days later; repeat purchasers; anonymous visitors who log in at checkout, or (a quarter of
//! them) buy as guests, whose orders join the user once that device signs in in another session;
//! duplicate purchase deliveries; late events; weekly and daily seasonality. Deterministic for a
//! seed; streamed in batches, so memory stays flat whatever the size.

mod batch;
mod load;
mod rng;

pub use batch::{Batch, Event, Item, Text, to_track_json};
pub use load::{LoadReport, load, rates_insert, spend_insert};
pub use rng::{Rng, Weighted};

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{Datelike, NaiveDate};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    pub events: u64,
    pub days: u32,
    pub seed: u64,
    /// First day (UTC).
    pub start: NaiveDate,
}

impl Options {
    /// `days` days of data whose last day is today (UTC), so that reports over the last N days
    /// (N <= days) find every day filled.
    pub fn ending_today(events: u64, days: u32, seed: u64) -> Options {
        let today = chrono::Utc::now().date_naive();
        Options {
            events,
            days,
            seed,
            start: today - chrono::Duration::days(days.max(1) as i64 - 1),
        }
    }
}

/// The share of anonymous visitors reaching checkout who buy as guests instead of logging in.
const GUEST_CHECKOUT: f64 = 0.25;

const CATEGORIES: [&str; 12] = [
    "Apparel",
    "Shoes",
    "Bags",
    "Home",
    "Kitchen",
    "Beauty",
    "Toys",
    "Books",
    "Garden",
    "Sports",
    "Electronics",
    "Jewelry",
];
const BRANDS: [&str; 16] = [
    "Acme",
    "Northwind",
    "Contoso",
    "Umbra",
    "Lumen",
    "Kite",
    "Orbit",
    "Fable",
    "Nimbus",
    "Pike",
    "Quill",
    "Rowan",
    "Sable",
    "Tide",
    "Vale",
    "Wren",
];
const VARIANTS: [&str; 6] = ["S", "M", "L", "XL", "Red", "Blue"];
/// (country, currency, minor units per USD cent ×100, share of users)
const COUNTRIES: [(&str, &str, i64, f64); 7] = [
    ("US", "USD", 100, 0.40),
    ("GB", "GBP", 79, 0.12),
    ("DE", "EUR", 92, 0.15),
    ("FR", "EUR", 92, 0.10),
    ("JP", "JPY", 150, 0.10),
    ("CA", "CAD", 136, 0.08),
    ("AU", "AUD", 152, 0.05),
];
/// (campaign, source, medium, referrer, share of sessions)
const CHANNELS: [(&str, &str, &str, &str, f64); 6] = [
    ("", "", "", "", 0.35),
    ("", "google", "organic", "https://www.google.com/", 0.20),
    ("spring-sale", "email", "newsletter", "", 0.15),
    (
        "brand-search",
        "google",
        "cpc",
        "https://www.google.com/",
        0.15,
    ),
    (
        "summer-drop",
        "instagram",
        "social",
        "https://instagram.com/",
        0.10,
    ),
    (
        "",
        "partner-blog",
        "referral",
        "https://blog.example.org/",
        0.05,
    ),
];
const DEVICES: [(&str, &str, f64); 4] = [
    ("mobile", "ios", 0.35),
    ("mobile", "android", 0.25),
    ("desktop", "web", 0.32),
    ("tablet", "ios", 0.08),
];
const COUPONS: [&str; 3] = ["SAVE10", "WELCOME", "VIP20"];
const SEARCHES: [&str; 8] = [
    "hoodie", "sneakers", "gift", "sale", "linen", "lamp", "mug", "backpack",
];

struct Product {
    id: Text,
    name: Text,
    category: &'static str,
    brand: &'static str,
    variant: &'static str,
    /// USD cents.
    price: i64,
}

/// The event stream; call [`Generator::next_session`] until it returns `false`.
pub struct Generator {
    opts: Options,
    rng: Rng,
    products: Vec<Product>,
    popularity: Weighted,
    users: Weighted,
    days: Weighted,
    hours: Weighted,
    countries: Weighted,
    channels: Weighted,
    devices: Weighted,
    emitted: u64,
    sessions: u64,
    orders: u64,
    /// Refunds and duplicate deliveries to emit later in the stream (late events).
    delayed: BinaryHeap<Reverse<Delayed>>,
    delays: u64,
}

/// An event queued for later delivery, ordered by time (then by queueing order: deterministic).
struct Delayed {
    ms: i64,
    seq: u64,
    event: Event,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.ms, self.seq) == (other.ms, other.seq)
    }
}

impl Eq for Delayed {}

impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ms, self.seq).cmp(&(other.ms, other.seq))
    }
}

impl Generator {
    pub fn new(opts: Options) -> Self {
        let mut rng = Rng::new(opts.seed);
        let n_products = 2_000usize;
        let products = (0..n_products)
            .map(|i| {
                let category = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
                Product {
                    id: format!("sku_{i:05}").into(),
                    name: format!("{category} item {i}").into(),
                    category,
                    brand: BRANDS[rng.below(BRANDS.len() as u64) as usize],
                    variant: VARIANTS[rng.below(VARIANTS.len() as u64) as usize],
                    price: 499 + (rng.unit().powi(3) * 19_500.0) as i64,
                }
            })
            .collect();
        let n_users = (opts.events / 25).max(500) as usize;
        // Weekly seasonality (weekends busier) with a slow upward trend.
        let days = Weighted::new((0..opts.days.max(1)).map(|d| {
            let day = opts.start + chrono::Duration::days(d as i64);
            let weekly = [1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.2]
                [day.weekday().num_days_from_monday() as usize];
            weekly * (1.0 + d as f64 / 365.0)
        }));
        // Daily curve: quiet nights, evening peak.
        let hours = Weighted::new((0..24).map(|h| {
            [
                0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.0, 1.0, 1.1, 1.2, 1.1, 1.0, 1.0,
                1.1, 1.2, 1.4, 1.6, 1.7, 1.5, 1.0, 0.5,
            ][h]
        }));
        Generator {
            rng,
            products,
            popularity: Weighted::zipf(n_products, 1.07),
            users: Weighted::zipf(n_users, 0.6),
            days,
            hours,
            countries: Weighted::new(COUNTRIES.iter().map(|c| c.3)),
            channels: Weighted::new(CHANNELS.iter().map(|c| c.4)),
            devices: Weighted::new(DEVICES.iter().map(|d| d.2)),
            emitted: 0,
            sessions: 0,
            orders: 0,
            delayed: BinaryHeap::new(),
            delays: 0,
            opts,
        }
    }

    fn delay(&mut self, event: Event) {
        self.delays += 1;
        self.delayed.push(Reverse(Delayed {
            ms: event.ms,
            seq: self.delays,
            event,
        }));
    }

    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    fn emit(&mut self, e: Event, out: &mut impl FnMut(&Event)) -> bool {
        if self.emitted >= self.opts.events {
            return false;
        }
        out(&e);
        self.emitted += 1;
        self.emitted < self.opts.events
    }

    /// Generate one session (and any delayed events now due); `false` once N events are out.
    pub fn next_session(&mut self, out: &mut impl FnMut(&Event)) -> bool {
        if self.emitted >= self.opts.events {
            return false;
        }
        self.sessions += 1;
        let r = &mut self.rng;
        let user = self.users.sample(r);
        // A user always shops from the same country (and so in the same currency).
        let (country, currency, rate, _) =
            COUNTRIES[self.countries.sample(&mut Rng::new(user as u64))];
        let (campaign, source, medium, referrer, _) = CHANNELS[self.channels.sample(r)];
        let (device_type, platform, _) = DEVICES[self.devices.sample(r)];
        // Days in order, as a live stream arrives (each day's share of the events follows its
        // weight); within a day sessions start at random hours, so events are out of order.
        let day = self
            .days
            .at(self.emitted as f64 / self.opts.events.max(1) as f64) as i64;
        let start = (self.opts.start + chrono::Duration::days(day))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
            + self.hours.sample(r) as i64 * 3_600_000
            + r.below(3_600_000) as i64;
        // Late arrivals: refunds and retries queued by earlier sessions, delivered once the
        // stream has reached their time (after events of later sessions that day).
        while self.delayed.peek().is_some_and(|d| d.0.ms <= start) {
            let Some(Reverse(d)) = self.delayed.pop() else {
                break;
            };
            if !self.emit(d.event, out) {
                return false;
            }
        }
        let r = &mut self.rng;
        let known = r.chance(0.4);
        let session_id: Text = format!("s{}", self.sessions).into();
        let anonymous_id: Text = format!("a{user}_{}", platform).into();
        let user_id: Text = format!("u{user}").into();
        let base = Event {
            session_id: session_id.clone(),
            anonymous_id: anonymous_id.clone(),
            user_id: if known {
                user_id.clone()
            } else {
                Text::default()
            },
            currency,
            utm: (campaign, source, medium),
            referrer,
            country,
            device_type,
            platform,
            ..Event::default()
        };
        let mut t = start;
        let mut step = |r: &mut Rng| {
            t += 5_000 + r.below(240_000) as i64;
            t
        };
        // USD cents × rate/100: cents for two-decimal currencies, whole yen for JPY (rate 150).
        let price_of = |p: &Product| p.price * rate / 100;
        let item_of = |p: &Product, q: u32| Item {
            item_id: p.id.clone(),
            item_name: p.name.clone(),
            item_category: p.category,
            item_brand: p.brand,
            item_variant: p.variant,
            price: price_of(p),
            quantity: q,
        };
        let mut events = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            let ms = step(&mut self.rng);
            events.push(Event {
                ms,
                event_type: "page_view",
                page_url: "https://shop.example.com/".into(),
                ..base.clone()
            });
        }
        if self.rng.chance(0.2) {
            let ms = step(&mut self.rng);
            let term = SEARCHES[self.rng.below(SEARCHES.len() as u64) as usize];
            events.push(Event {
                ms,
                event_type: "search",
                properties: vec![("search_term", term.to_string())],
                ..base.clone()
            });
        }
        let mut viewed = Vec::new();
        let views = 1 + (self.rng.unit().ln().abs() * 1.5) as usize;
        for _ in 0..views.min(8) {
            let p = self.popularity.sample(&mut self.rng);
            viewed.push(p);
            let ms = step(&mut self.rng);
            events.push(Event {
                ms,
                event_type: "view_item",
                items: vec![item_of(&self.products[p], 1)],
                ..base.clone()
            });
        }
        let mut logged_in = known;
        if self.rng.chance(0.32) {
            let cart_id: Text = format!("c{}", self.sessions).into();
            let mut cart: Vec<Item> = Vec::new();
            for &p in viewed.iter().take(1 + self.rng.below(2) as usize) {
                let item = item_of(&self.products[p], 1 + self.rng.below(3) as u32);
                let ms = step(&mut self.rng);
                events.push(Event {
                    ms,
                    event_type: "add_to_cart",
                    cart_id: cart_id.clone(),
                    items: vec![item.clone()],
                    ..base.clone()
                });
                cart.push(item);
            }
            if cart.len() > 1 && self.rng.chance(0.15) {
                let removed = cart.pop().expect("two items");
                let ms = step(&mut self.rng);
                events.push(Event {
                    ms,
                    event_type: "remove_from_cart",
                    cart_id: cart_id.clone(),
                    items: vec![removed],
                    ..base.clone()
                });
            }
            let mut funnel = |p: f64,
                              kind: &'static str,
                              me: &mut Self,
                              events: &mut Vec<Event>,
                              logged_in: &mut bool|
             -> bool {
                if !me.rng.chance(p) {
                    return false;
                }
                if kind == "begin_checkout" && !*logged_in && !me.rng.chance(GUEST_CHECKOUT) {
                    *logged_in = true; // anonymous visitors log in at checkout
                }
                let ms = step(&mut me.rng);
                let user = if *logged_in {
                    user_id.clone()
                } else {
                    Text::default()
                };
                events.push(Event {
                    ms,
                    event_type: kind,
                    cart_id: cart_id.clone(),
                    user_id: user,
                    ..base.clone()
                });
                true
            };
            if funnel(0.75, "view_cart", self, &mut events, &mut logged_in)
                && funnel(0.62, "begin_checkout", self, &mut events, &mut logged_in)
                && funnel(0.8, "add_payment_info", self, &mut events, &mut logged_in)
                && self.rng.chance(0.72)
            {
                self.orders += 1;
                let subtotal: i64 = cart.iter().map(|i| i.price * i.quantity as i64).sum();
                let coupon = if self.rng.chance(0.15) {
                    COUPONS[self.rng.below(3) as usize]
                } else {
                    ""
                };
                let discount = if coupon.is_empty() { 0 } else { subtotal / 10 };
                let shipping = if subtotal > 5_000 * rate / 100 {
                    0
                } else {
                    499 * rate / 100
                };
                let tax = if country == "US" {
                    (subtotal - discount) * 8 / 100
                } else {
                    0
                };
                let ms = step(&mut self.rng);
                let purchase = Event {
                    ms,
                    event_type: "purchase",
                    user_id: if logged_in {
                        user_id.clone()
                    } else {
                        Text::default()
                    },
                    cart_id: cart_id.clone(),
                    transaction_id: format!("o{}", self.orders).into(),
                    revenue: subtotal - discount + shipping + tax,
                    discount,
                    shipping,
                    tax,
                    coupon_code: coupon,
                    items: cart,
                    ..base.clone()
                };
                if self.rng.chance(0.02) {
                    // A retry of the same order minutes later: counted once.
                    let retry = Event {
                        ms: ms + 30_000 + self.rng.below(600_000) as i64,
                        ..purchase.clone()
                    };
                    self.delay(retry);
                }
                if self.rng.chance(0.06) {
                    let full = self.rng.chance(0.5);
                    let amount = if full {
                        purchase.revenue
                    } else {
                        purchase.revenue / 2
                    };
                    let later = ms + (1 + self.rng.below(20) as i64) * 86_400_000;
                    self.delay(Event {
                        ms: later,
                        event_type: "refund",
                        revenue: amount,
                        discount: 0,
                        shipping: 0,
                        tax: 0,
                        coupon_code: "",
                        items: Vec::new(),
                        cart_id: Text::default(),
                        ..purchase.clone()
                    });
                }
                events.push(purchase);
            }
        }
        for e in events {
            if !self.emit(e, out) {
                return false;
            }
        }
        true
    }
}

/// One exchange rate per generated currency (besides `base`) and day, from the day before the
/// first to the last: what one unit is worth in `base`, as decimal text with nine decimals (the
/// form `currency_rates` takes). Around the prices' own conversion (`COUNTRIES`), each currency
/// drifts by a seeded random walk of up to ±0.3 % a day. `exponent` gives a currency's minor
/// units (ISO 4217). Deterministic for a seed; integer arithmetic, so every machine writes the
/// same text.
pub fn rates(
    opts: &Options,
    base: &str,
    exponent: impl Fn(&str) -> Option<u8>,
) -> Vec<(NaiveDate, &'static str, String)> {
    const SCALE: i128 = 1_000_000_000;
    // Nano-USD per major unit: `rate` minor units per 100 US cents.
    let usd_nanos = |code: &str, rate: i64| -> i128 {
        let exp = exponent(code).unwrap_or(2) as u32;
        SCALE * 100 * 10i128.pow(exp) / (rate as i128 * 100)
    };
    let mut currencies: Vec<(&'static str, i128)> = Vec::new();
    for (_, code, rate, _) in COUNTRIES {
        if !currencies.iter().any(|(c, _)| *c == code) {
            currencies.push((code, usd_nanos(code, rate)));
        }
    }
    // The base's own worth in USD (SCALE when it is USD; a base chx does not generate is
    // taken at par).
    let base_nanos = currencies
        .iter()
        .find(|(c, _)| *c == base)
        .map_or(SCALE, |(_, n)| *n);
    let mut rng = Rng::new(opts.seed ^ 0x5241_5445);
    let mut drift_ppm = vec![0i128; currencies.len()];
    let mut out = Vec::new();
    for d in -1..opts.days.max(1) as i64 {
        let day = opts.start + chrono::Duration::days(d);
        for (i, (code, nanos)) in currencies.iter().enumerate() {
            drift_ppm[i] = (drift_ppm[i] + rng.range(-3_000, 3_000) as i128).clamp(-60_000, 60_000);
            if *code == base {
                continue;
            }
            let value = nanos * (1_000_000 + drift_ppm[i]) / 1_000_000 * SCALE / base_nanos;
            out.push((
                day,
                *code,
                format!("{}.{:09}", value / SCALE, value % SCALE),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, n: u64) -> Vec<Event> {
        let mut g = Generator::new(Options {
            events: n,
            days: 30,
            seed,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        });
        let mut out = Vec::new();
        while g.next_session(&mut |e| out.push(e.clone())) {}
        out
    }

    #[test]
    fn exactly_n_events_deterministically() {
        let a = run(1, 5_000);
        let b = run(1, 5_000);
        assert_eq!(a.len(), 5_000);
        assert_eq!(
            a.iter()
                .map(|e| (e.ms, e.event_type, e.revenue))
                .collect::<Vec<_>>(),
            b.iter()
                .map(|e| (e.ms, e.event_type, e.revenue))
                .collect::<Vec<_>>()
        );
        let c = run(2, 5_000);
        assert_ne!(
            a.iter().map(|e| e.ms).collect::<Vec<_>>(),
            c.iter().map(|e| e.ms).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_funnel_narrows_and_the_traps_are_there() {
        let ev = run(3, 200_000);
        let count = |k: &str| ev.iter().filter(|e| e.event_type == k).count();
        assert!(
            count("view_item") > count("add_to_cart")
                && count("add_to_cart") > count("begin_checkout")
                && count("begin_checkout") > count("purchase")
        );
        assert!(count("refund") > 0 && count("search") > 0 && count("remove_from_cart") > 0);
        let txs: Vec<&str> = ev
            .iter()
            .filter(|e| e.event_type == "purchase")
            .map(|e| &*e.transaction_id)
            .collect();
        let unique: std::collections::HashSet<&&str> = txs.iter().collect();
        assert!(unique.len() < txs.len(), "duplicate purchase deliveries");
        assert!(ev.iter().any(|e| e.currency == "JPY") && ev.iter().any(|e| e.currency == "EUR"));
        assert!(
            ev.windows(2).any(|w| w[1].ms < w[0].ms),
            "out-of-order arrival"
        );
        // Anonymous visitors who log in mid-journey: the same anonymous id, with and without user.
        assert!(
            ev.iter()
                .any(|e| e.user_id.is_empty() && !e.anonymous_id.is_empty())
        );
        assert!(
            ev.iter()
                .any(|e| e.event_type == "begin_checkout" && !e.user_id.is_empty())
        );
        // Guest orders, some on devices that sign in in another session (so they stitch).
        let signed_in_devices: std::collections::HashSet<&str> = ev
            .iter()
            .filter(|e| !e.user_id.is_empty())
            .map(|e| &*e.anonymous_id)
            .collect();
        let guest_devices: Vec<&str> = ev
            .iter()
            .filter(|e| e.event_type == "purchase" && e.user_id.is_empty())
            .map(|e| &*e.anonymous_id)
            .collect();
        assert!(!guest_devices.is_empty(), "guest orders");
        assert!(
            guest_devices.iter().any(|d| signed_in_devices.contains(d)),
            "guest orders on devices that sign in"
        );
        assert!(
            guest_devices.iter().any(|d| !signed_in_devices.contains(d)),
            "guest orders on devices that never sign in"
        );
    }
}
