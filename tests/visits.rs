//! Visit-to-order rate, for the shop and by channel, product and category, and lifetime value
//! by the first order's categories, against a plain Rust computation over the same events: anonymous visitors who log in later (one person),
//! guest checkouts stitched by a later login, a shared device (its anonymous history belongs to
//! the latest user), an order retried within 24 h, an order counted just before the range whose
//! retry falls inside it (not a purchase in the range), events outside the range, touches on
//! events that are not page views, product names that change or arrive empty.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chx::query::categories;
use chx::query::reports::{self, VisitBreakdown};
use chx::query::{Context, DateRange, Report};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Ev {
    id: String,
    user: String,
    anon: String,
    kind: &'static str,
    ms: i64,
    tx: String,
    channel: Channel,
    /// (item_id, item_name, item_category)
    items: Vec<(&'static str, &'static str, &'static str)>,
}

type Channel = (&'static str, &'static str, &'static str);

const NONE: Channel = ("", "", "");
const CHANNELS: [Channel; 5] = [
    ("spring-sale", "email", "newsletter"),
    ("brand", "google", "cpc"),
    NONE,
    ("", "partner-blog", "referral"),
    NONE,
];

const PRODUCTS: [(&str, &str, &str); 6] = [
    ("sku_1", "T-Shirt", "Apparel"),
    ("sku_2", "Hoodie", "Apparel"),
    ("sku_3", "Runner", "Shoes"),
    ("sku_4", "Boot", "Shoes"),
    ("sku_5", "Tote", "Bags"),
    ("sku_6", "", "Bags"),
];

fn march() -> (DateRange, i64, i64) {
    (
        DateRange::Between {
            start: "2026-03-01".parse().unwrap(),
            end: "2026-03-31".parse().unwrap(),
        },
        common::utc_ms(2026, 3, 1),
        common::utc_ms(2026, 4, 1),
    )
}

fn fixture() -> Vec<Ev> {
    let mut rng = common::Rng(0x05EE_D0F7_1517_u64);
    let mut ids = common::EventIds::default();
    let mut out = Vec::new();
    // Every event gets its own second, so no two events tie on time.
    let mut clock = common::utc_ms(2026, 2, 24);
    let mut tick = |rng: &mut common::Rng| {
        clock += (1 + rng.below(3_600)) as i64 * 1000;
        clock
    };
    let mut order = 0;
    for p in 0..60 {
        let user = format!("u{p}");
        let anon = format!("a{p}");
        // Every fourth person never logs in; the others log in at a random visit.
        let login_at = if p % 4 == 0 { 99 } else { rng.below(3) };
        for visit in 0..1 + rng.below(4) {
            let signed_in = visit >= login_at;
            let ev = |kind, ms, id: String| Ev {
                id,
                user: if signed_in {
                    user.clone()
                } else {
                    String::new()
                },
                anon: anon.clone(),
                kind,
                ms,
                tx: String::new(),
                channel: NONE,
                items: Vec::new(),
            };
            let mut start = ev("page_view", tick(&mut rng), ids.next_id());
            start.channel = CHANNELS[rng.below(5) as usize];
            out.push(start);
            let mut viewed = Vec::new();
            for _ in 0..1 + rng.below(2) {
                let product = PRODUCTS[rng.below(6) as usize];
                let mut view = ev("view_item", tick(&mut rng), ids.next_id());
                view.items.push(product);
                // A touch that is not a page view: a campaign link straight to a product.
                if rng.below(8) == 0 {
                    view.channel = CHANNELS[0];
                }
                viewed.push(product);
                out.push(view);
                // Half the views lead to the cart.
                if rng.below(2) == 0 {
                    let mut add = ev("add_to_cart", tick(&mut rng), ids.next_id());
                    add.items.push(product);
                    out.push(add);
                }
            }
            if rng.below(3) == 0 {
                // A guest checkout when not signed in; one in four lines is a product the
                // person never viewed; names sometimes arrive empty.
                let mut buy = ev("purchase", tick(&mut rng), ids.next_id());
                buy.tx = format!("o{order}");
                order += 1;
                buy.items = viewed
                    .iter()
                    .map(|&(id, name, cat)| (id, if rng.below(3) == 0 { "" } else { name }, cat))
                    .collect();
                if rng.below(4) == 0 {
                    buy.items.push(PRODUCTS[rng.below(6) as usize]);
                }
                if rng.below(5) == 0 {
                    // A retry within 24 h: ignored.
                    let mut retry = buy.clone();
                    retry.id = ids.next_id();
                    retry.ms += 600_000;
                    out.push(retry);
                }
                out.push(buy);
            }
        }
    }
    // An order counted on the last day of February and retried on March 1st: the retry is not
    // a purchase in March, so its person is not a March purchaser (they visit in March).
    let feb = common::utc_ms(2026, 2, 28) + 23 * 3_600_000;
    for (kind, ms, tx, items) in [
        ("purchase", feb, "late", vec![PRODUCTS[0]]),
        ("purchase", feb + 2 * 3_600_000, "late", vec![PRODUCTS[0]]),
        ("page_view", feb + 5 * 3_600_000, "", vec![]),
        ("view_item", feb + 6 * 3_600_000, "", vec![PRODUCTS[0]]),
    ] {
        out.push(Ev {
            id: ids.next_id(),
            user: "late_buyer".into(),
            anon: "late_anon".into(),
            kind,
            ms,
            tx: tx.into(),
            channel: NONE,
            items,
        });
    }
    // A shared device: ua signs in on it and buys; ub signs in later (the latest link), so the
    // device's anonymous visits and views are ub's, and ub did not buy.
    let mar = common::utc_ms(2026, 3, 10);
    for (user, kind, hours, tx, channel, items) in [
        ("", "page_view", 0, "", CHANNELS[1], vec![]),
        ("", "view_item", 1, "", NONE, vec![PRODUCTS[4]]),
        ("ua", "purchase", 2, "shared_order", NONE, vec![PRODUCTS[4]]),
        ("ub", "page_view", 5, "", NONE, vec![]),
    ] {
        out.push(Ev {
            id: ids.next_id(),
            user: user.into(),
            anon: "shared".into(),
            kind,
            ms: mar + hours * 3_600_000,
            tx: tx.into(),
            channel,
            items,
        });
    }
    // Adding to a cart straight from a list, without viewing the product.
    out.push(Ev {
        id: ids.next_id(),
        user: "u1".into(),
        anon: "a1".into(),
        kind: "add_to_cart",
        ms: common::utc_ms(2026, 3, 11),
        tx: String::new(),
        channel: NONE,
        items: vec![PRODUCTS[3]],
    });
    // An order without items: its buyer's first order has no category.
    out.push(Ev {
        id: ids.next_id(),
        user: "plain".into(),
        anon: "plain_anon".into(),
        kind: "purchase",
        ms: common::utc_ms(2026, 3, 12),
        tx: "no_items".into(),
        channel: NONE,
        items: Vec::new(),
    });
    // A name changed during the range: the latest one is the product's name.
    let mut renamed = out
        .iter()
        .rfind(|e| e.kind == "view_item" && e.items[0].0 == "sku_1")
        .unwrap()
        .clone();
    renamed.id = ids.next_id();
    renamed.ms = common::utc_ms(2026, 3, 30);
    renamed.items = vec![("sku_1", "Tee", "Apparel")];
    out.push(renamed);
    out
}

fn setup(name: &str) -> (common::TestDb, chx::schema::Schema, Vec<Ev>) {
    let (db, schema) = common::shop_db(name);
    let events = fixture();
    common::insert(
        &db,
        "events",
        events.iter().map(|e| {
            json!({"event_id": e.id, "event_type": e.kind, "timestamp": common::ts_text(e.ms),
                   "user_id": e.user, "anonymous_id": e.anon, "transaction_id": e.tx,
                   "revenue": revenue(e), "currency": currency(e), "utm_campaign": e.channel.0,
                   "utm_source": e.channel.1, "utm_medium": e.channel.2,
                   "items": e.items.iter().map(|(id, name, cat)| json!({"item_id": id, "item_name": name,
                            "item_category": cat, "price": 1000, "quantity": 1})).collect::<Vec<_>>()})
        }),
    );
    (db, schema, events)
}

/// An order's currency: every third person pays in euros; others pay some orders in pounds,
/// so their first order's currency is not that of all their orders.
fn currency(e: &Ev) -> &'static str {
    match e.anon.trim_start_matches('a').parse::<u32>() {
        Ok(n) if n % 3 == 0 => "EUR",
        _ if e.tx.ends_with('7') || e.tx.ends_with('2') => "GBP",
        _ => "USD",
    }
}

/// An order's revenue, different from order to order.
fn revenue(e: &Ev) -> i64 {
    100 + (e.ms / 1000) % 5000 + 1000 * e.items.len() as i64
}

fn person(e: &Ev, all: &[Ev]) -> String {
    common::stitched_person(
        &e.user,
        &e.anon,
        all.iter().map(|x| (x.user.as_str(), x.anon.as_str(), x.ms)),
    )
}

struct Reference<'a> {
    events: &'a [Ev],
    /// March's page views, views of items and counted purchases.
    visits: Vec<&'a Ev>,
    views: Vec<&'a Ev>,
    adds: Vec<&'a Ev>,
    orders: Vec<&'a Ev>,
    from: i64,
    to: i64,
}

impl<'a> Reference<'a> {
    fn new(events: &'a [Ev]) -> Self {
        let (_, from, to) = march();
        let in_range = |e: &&Ev| e.ms >= from && e.ms < to;
        let purchases: Vec<&Ev> = events.iter().filter(|e| e.kind == "purchase").collect();
        let orders = common::counted_within_24h(purchases.iter().copied(), |e| &e.tx, |e| e.ms)
            .into_iter()
            .filter(in_range)
            .collect();
        let of = |kind: &str| {
            events
                .iter()
                .filter(|e| e.kind == kind)
                .filter(in_range)
                .collect()
        };
        Reference {
            events,
            visits: of("page_view"),
            views: of("view_item"),
            adds: of("add_to_cart"),
            orders,
            from,
            to,
        }
    }

    fn person(&self, e: &Ev) -> String {
        person(e, self.events)
    }

    fn buyers(&self) -> BTreeSet<String> {
        self.orders.iter().map(|e| self.person(e)).collect()
    }

    /// Visitors by their first touch in the range.
    fn by_channel(&self) -> BTreeMap<Channel, BTreeSet<String>> {
        let mut first: BTreeMap<String, (i64, Channel)> = BTreeMap::new();
        for e in self
            .events
            .iter()
            .filter(|e| e.ms >= self.from && e.ms < self.to && e.channel != NONE)
        {
            let f = first.entry(self.person(e)).or_insert((i64::MAX, NONE));
            if e.ms < f.0 {
                *f = (e.ms, e.channel);
            }
        }
        let mut out: BTreeMap<Channel, BTreeSet<String>> = BTreeMap::new();
        for v in &self.visits {
            let p = self.person(v);
            let ch = first.get(&p).map_or(NONE, |f| f.1);
            out.entry(ch).or_default().insert(p);
        }
        out
    }

    /// (viewers, adders, buyers) per product or category (`key` picks it from an item).
    fn by_item(
        &self,
        key: impl Fn(&(&str, &str, &str)) -> String,
    ) -> BTreeMap<String, [BTreeSet<String>; 3]> {
        let mut out: BTreeMap<String, [BTreeSet<String>; 3]> = BTreeMap::new();
        for (i, events) in [&self.views, &self.adds, &self.orders]
            .into_iter()
            .enumerate()
        {
            for e in events {
                for it in &e.items {
                    out.entry(key(it)).or_default()[i].insert(self.person(e));
                }
            }
        }
        out
    }

    /// The latest non-empty name of a product among the range's views and counted orders.
    fn name(&self, id: &str) -> &'static str {
        self.views
            .iter()
            .chain(&self.orders)
            .flat_map(|e| e.items.iter().map(move |it| (e.ms, it)))
            .filter(|(_, it)| it.0 == id && !it.1.is_empty())
            .max_by_key(|(ms, _)| *ms)
            .map_or("", |(_, it)| it.1)
    }
}

fn rate(buyers: usize, visitors: usize) -> f64 {
    if visitors == 0 {
        0.0
    } else {
        100.0 * buyers as f64 / visitors as f64
    }
}

/// The last three columns: visitors, purchasers, rate.
fn check_counts(row: &[Value], visitors: &BTreeSet<String>, buyers: &BTreeSet<String>) {
    let n = row.len();
    let purchasers = visitors.intersection(buyers).count();
    assert_eq!(
        row[n - 3..n - 1],
        [json!(visitors.len()), json!(purchasers)],
        "{row:?}"
    );
    let got = row[n - 1].as_f64().unwrap();
    assert!(
        (got - rate(purchasers, visitors.len())).abs() < 1e-9,
        "{row:?}"
    );
}

fn build(f: &Context, by: VisitBreakdown, limit: u32) -> Report {
    let r = reports::visit_to_order_by(f, &march().0, by, limit).unwrap();
    let name = format!("{}.{}", r.name, format!("{by:?}").to_lowercase());
    common::snapshots("visits").bind(|| insta::assert_snapshot!(name, r.to_sql_file()));
    r
}

fn run(db: &common::TestDb, r: &Report) -> Vec<Vec<Value>> {
    db.engine
        .run(r.statement())
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", r.name, r.sql()))
        .rows
}

#[test]
fn the_fixture_has_its_traps() {
    let events = fixture();
    let want = Reference::new(&events);
    let visitors: BTreeSet<String> = want.visits.iter().map(|e| want.person(e)).collect();
    let stored: BTreeSet<String> = want
        .visits
        .iter()
        .map(|e| {
            if e.user.is_empty() {
                e.anon.clone()
            } else {
                e.user.clone()
            }
        })
        .collect();
    // Stitching merges visitors: fewer persons than stored ids.
    assert!(
        visitors.len() + 5 < stored.len(),
        "{} {}",
        visitors.len(),
        stored.len()
    );
    // Guest orders whose person is a user by a later login.
    assert!(
        want.orders
            .iter()
            .any(|e| e.user.is_empty() && want.person(e).starts_with('u'))
    );
    assert!(!want.buyers().contains("late_buyer") && visitors.contains("late_buyer"));
    assert!(want.buyers().contains("ua") && !visitors.contains("ua") && visitors.contains("ub"));
    assert_eq!(want.name("sku_1"), "Tee");
    // Someone added a product to a cart without viewing it, and someone bought one so.
    let items = want.by_item(|it| it.0.to_string());
    assert!(items.values().any(|[v, a, _]| !a.is_subset(v)));
    assert!(items.values().any(|[v, _, b]| !b.is_subset(v)));
}

#[test]
fn the_shop_matches_rust() {
    let (db, schema, events) = setup("visit_to_order_shop");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let r = build(&ctx, VisitBreakdown::None, 20);
    let want = Reference::new(&events);
    let visitors = want.visits.iter().map(|e| want.person(e)).collect();
    let rows = run(&db, &r);
    assert_eq!(rows.len(), 1);
    check_counts(&rows[0], &visitors, &want.buyers());
    // The catalogue's default is the same report.
    assert_eq!(
        reports::visit_to_order(&ctx, &march().0).unwrap().sql(),
        r.sql()
    );
}

#[test]
fn by_channel_matches_rust() {
    let (db, schema, events) = setup("visit_to_order_by_channel");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let rows = run(&db, &build(&ctx, VisitBreakdown::Channel, 20));
    let want = Reference::new(&events);
    let buyers = want.buyers();
    let mut expected: Vec<_> = want.by_channel().into_iter().collect();
    expected.sort_by(|(c1, v1), (c2, v2)| v2.len().cmp(&v1.len()).then(c1.cmp(c2)));
    assert!(expected.len() >= 4);
    assert_eq!(rows.len(), expected.len());
    for (row, (ch, visitors)) in rows.iter().zip(&expected) {
        assert_eq!(row[..3], [json!(ch.0), json!(ch.1), json!(ch.2)]);
        check_counts(row, visitors, &buyers);
    }
    // The channels partition the visitors.
    let total: u64 = rows.iter().map(|r| r[3].as_u64().unwrap()).sum();
    let shop = run(&db, &reports::visit_to_order(&ctx, &march().0).unwrap());
    assert_eq!(json!(total), shop[0][0]);
}

#[test]
fn by_product_and_category_match_rust() {
    let (db, schema, events) = setup("visit_to_order_by_item");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let want = Reference::new(&events);
    for (by, limit) in [(VisitBreakdown::Product, 4), (VisitBreakdown::Category, 20)] {
        let rows = run(&db, &build(&ctx, by, limit));
        let key = |it: &(&str, &str, &str)| {
            if by == VisitBreakdown::Product {
                it.0
            } else {
                it.2
            }
            .to_string()
        };
        let mut expected: Vec<_> = want
            .by_item(key)
            .into_iter()
            .filter(|(_, [viewers, _, _])| !viewers.is_empty())
            .collect();
        expected.sort_by(|(k1, v1), (k2, v2)| v2[0].len().cmp(&v1[0].len()).then(k1.cmp(k2)));
        expected.truncate(limit as usize);
        assert_eq!(rows.len(), expected.len(), "{by:?}");
        for (row, (k, [viewers, adders, buyers])) in rows.iter().zip(&expected) {
            assert_eq!(row[0], json!(k));
            if by == VisitBreakdown::Product {
                assert_eq!(row[1], json!(want.name(k)), "{k}");
            }
            // Someone added or bought without viewing: not one of the product's visitors.
            let n = row.len();
            assert_eq!(
                row[n - 3],
                json!(viewers.intersection(adders).count()),
                "{row:?}"
            );
            let mut counts = row.clone();
            counts.remove(n - 3);
            check_counts(&counts, viewers, buyers);
        }
    }
    assert!(reports::visit_to_order_by(&ctx, &march().0, VisitBreakdown::Product, 101).is_err());
}

#[test]
fn lifetime_value_by_first_category_matches_rust() {
    let (db, schema, events) = setup("lifetime_value_by_first_category");
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    let r = categories::lifetime_value_by_first_category(&ctx).unwrap();
    common::snapshots("visits")
        .bind(|| insta::assert_snapshot!("lifetime_value_by_first_category", r.to_sql_file()));
    let rows = run(&db, &r);
    // Every counted order of all history, by stitched person.
    let purchases: Vec<&Ev> = events.iter().filter(|e| e.kind == "purchase").collect();
    let orders = common::counted_within_24h(purchases.iter().copied(), |e| &e.tx, |e| e.ms);
    let mut first: BTreeMap<String, &Ev> = BTreeMap::new();
    let mut per_person: BTreeMap<(String, &str), (i64, i64)> = BTreeMap::new();
    for e in &orders {
        let p = person(e, &events);
        let f = first.entry(p.clone()).or_insert(e);
        if e.ms < f.ms {
            *f = e;
        }
        let a = per_person.entry((p, currency(e))).or_default();
        a.0 += revenue(e);
        a.1 += 1;
    }
    // (category, currency) -> (users, revenue, repeaters, orders)
    let mut agg: BTreeMap<(&str, &str), (i64, i64, i64, i64)> = BTreeMap::new();
    for ((p, cur), (rev, n)) in &per_person {
        let mut cats: BTreeSet<&str> = first[p].items.iter().map(|it| it.2).collect();
        if cats.is_empty() {
            cats.insert("");
        }
        for c in cats {
            let a = agg.entry((c, cur)).or_default();
            a.0 += 1;
            a.1 += rev;
            a.2 += (*n >= 2) as i64;
            a.3 += n;
        }
    }
    let mut want: Vec<_> = agg.into_iter().collect();
    want.sort_by(|((c1, k1), a1), ((c2, k2), a2)| {
        k1.cmp(k2).then(a2.1.cmp(&a1.1)).then(c1.cmp(c2))
    });
    assert!(want.len() >= 6, "{want:?}");
    assert_eq!(rows.len(), want.len());
    let close = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-9;
    for (g, ((cat, cur), (users, rev, repeaters, n))) in rows.iter().zip(&want) {
        assert_eq!(
            g[..4],
            [json!(cat), json!(cur), json!(users), json!(rev)],
            "{g:?}"
        );
        assert!(close(&g[4], *rev as f64 / *users as f64), "{g:?}");
        assert!(
            close(&g[5], 100.0 * *repeaters as f64 / *users as f64),
            "{g:?}"
        );
        assert!(close(&g[6], *n as f64 / *users as f64), "{g:?}");
    }
    // Some person's later orders add categories their first order did not have, and some
    // stitched person's first order was a guest checkout.
    assert!(orders.iter().any(|e| {
        let p = person(e, &events);
        e.items
            .iter()
            .any(|it| !first[&p].items.iter().any(|f| f.2 == it.2))
    }));
    assert!(
        first
            .values()
            .any(|e| e.user.is_empty() && person(e, &events) != e.anon)
    );
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots(
        "visits",
        &[
            "visit_to_order.none",
            "visit_to_order.channel",
            "visit_to_order_by_product.product",
            "visit_to_order_by_category.category",
            "lifetime_value_by_first_category",
        ]
        .map(String::from),
    );
}
