//! Revenue attribution to campaigns.
//!
//! A touch is an event of the same person carrying campaign data (utm campaign, source or
//! medium); an order (a counted purchase in the range) is credited to its person's touches in
//! `[t − window, t]`. Models: last click and first click (100 %), linear (1/n each),
//! position-based (1 touch 100 %, 2 touches 50/50, otherwise 40 % first, 40 % last and 20 %
//! split evenly over the middle: `0.2 / (n − 2)` each), time decay (weight `2^(−Δt/half_life)`,
//! Δt from touch to purchase, default half-life 7 days). Credits are minor units rounded down;
//! the remainder goes to the last touch, so every order's credits sum exactly to its revenue.
//! Orders without a touch in the window are reported as unattributed (`attributed = false`).

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange, range_param};
use super::orders::counted_events;
use crate::error::Error;
use crate::sql::{Param, ParamValue};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Model {
    LastClick,
    FirstClick,
    Linear,
    PositionBased,
    /// Half-life in seconds.
    TimeDecay {
        half_life_seconds: u64,
    },
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::LastClick => "last_click",
            Model::FirstClick => "first_click",
            Model::Linear => "linear",
            Model::PositionBased => "position_based",
            Model::TimeDecay { .. } => "time_decay",
        }
    }

    /// The seed API's default half-life for time decay: 7 days.
    pub fn time_decay() -> Model {
        Model::TimeDecay {
            half_life_seconds: 7 * 86_400,
        }
    }
}

/// Windows the seed API accepts, in days.
pub const WINDOWS: [u32; 5] = [7, 14, 30, 60, 90];

/// An order split between its touches in billionths: integer shares sum exactly.
const ORDER_SHARE: i64 = 1_000_000_000;

/// Rows: `campaign`, `source`, `medium`, `currency`, `revenue` (credited, minor units), `orders`
/// (credited share of orders), `pct_of_total` (% of the currency's revenue in the range),
/// `attributed` (false for the one row per currency of unattributed orders).
pub fn attribution(
    ctx: &Context,
    range: &DateRange,
    model: Model,
    window_days: u32,
) -> Result<Report, Error> {
    const NAME: &str = "attribution";
    let (query, params) = credited_channels(ctx, NAME, range, model, window_days)?;
    let query = query
        .item(path(["a", "campaign"]).alias("campaign"))
        .item(path(["a", "source"]).alias("source"))
        .item(path(["a", "medium"]).alias("medium"))
        .item(path(["a", "currency"]).alias("currency"))
        .item(path(["a", "revenue"]).alias("revenue"))
        .item(path(["a", "orders"]).alias("orders"))
        .item(
            // Credits sum exactly to each order's revenue, so the rows of a currency add up to
            // its total.
            (Expr::Float(100.0) * path(["a", "revenue"])
                / func("sum", [path(["a", "revenue"])])
                    .over(vec![path(["a", "currency"])], vec![]))
            .alias("pct_of_total"),
        )
        .item(func("toBool", [path(["a", "attributed"])]).alias("attributed"))
        .from(TableRef::cte("channel_rows").aliased("a"))
        .order_by(then_by_channel([
            asc(col("currency")),
            desc(col("attributed")),
            desc(col("revenue")),
        ]));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// The CTEs of [`attribution`] under `model` and a window of `window_days`, ending in
/// `channel_rows`: per `channel` ([`channel_key`]; with `campaign`, `source`, `medium`),
/// `currency` and `attributed`, the credited `revenue` (minor units) and `orders` (shares).
/// With the statement's parameters (the range and `window_ms`).
pub(super) fn credited_channels(
    ctx: &Context,
    report: &str,
    range: &DateRange,
    model: Model,
    window_days: u32,
) -> Result<(Select, Vec<Param>), Error> {
    if !WINDOWS.contains(&window_days) {
        return Err(Error::Report {
            message: format!(
                "attribution window must be one of 7, 14, 30, 60, 90 days, got {window_days}"
            ),
            help: "the seed API's default is 30".into(),
        });
    }
    let (mut params, _, _) = ctx.range_params(range)?;
    params.push(Param::new(
        "window_ms",
        "Int64",
        ParamValue::Int(window_days as i64 * 86_400_000),
    ));
    let window_ms = Expr::Param {
        name: "window_ms".into(),
        ty: "Int64".into(),
    };
    let dims = ["utm_campaign", "utm_source", "utm_medium"];
    for d in dims {
        ctx.column(report, d)?;
    }
    let orders = counted_events(
        ctx,
        report,
        &["purchase"],
        &[
            "event_id",
            "timestamp",
            "currency",
            "revenue",
            "user_id",
            "anonymous_id",
        ],
    )?;
    let order_people = Select::new()
        .item(path(["e", "event_id"]))
        .item(ctx.person_key("e", "i").alias("person"))
        .item(func("toUnixTimestamp64Milli", [path(["e", "timestamp"])]).alias("ms"))
        .item(path(["e", "currency"]))
        .item(path(["e", "revenue"]))
        .from(TableRef::cte("orders").aliased("e"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("order_identity").aliased("i"),
            ctx.identity_join("e", "i"),
        );
    // Touches are read only for ids that may belong to a buyer: the range's purchase
    // deliveries (a superset of its orders: a delivery deduplicated away still names its buyer)
    // give the signed-in buyers and the anonymous ones; the users those anonymous ids were
    // ever linked to are buyers too, and every anonymous id ever linked to a buyer may be theirs.
    // A superset, so `per_order` still joins each order to exactly its person's touches; no
    // stitched person has to be computed for the touches of everyone else, nor the deduplicated
    // orders again for a filter (10M: 983 -> 881 ms, the same rows). The sets are CTEs read
    // by name, so each is written once: as subqueries inlined at every use, the report took
    // 24 µs to build and render instead of 16.
    let deliveries = |id: &'static str, signed_in: bool| -> Result<Select, Error> {
        let user = path(["e", "user_id"]);
        Ok(Select::new()
            .item(path(["e", id]))
            .from(ctx.events()?.aliased("e"))
            .filter(ctx.is_role(report, "purchase")?)
            .filter(ctx.in_range(path(["e", "timestamp"])))
            .filter(if signed_in {
                user.ne(str_lit(""))
            } else {
                user.eq(str_lit(""))
            }))
    };
    let links =
        |id: &'static str, by: &'static str, among: &'static str| -> Result<Select, Error> {
            Ok(Select::new()
                .item(col(id))
                .from(ctx.table("identities")?)
                .filter(col(by).in_(col(among))))
        };
    let anonymous_buyers = deliveries("anonymous_id", false)?;
    let buyer_users = deliveries("user_id", true)?.union_all(links(
        "user_id",
        "anonymous_id",
        "anonymous_buyers",
    )?);
    let buyer_devices = Select::new()
        .item(col("anonymous_id"))
        .from(TableRef::cte("anonymous_buyers"))
        .union_all(links("anonymous_id", "user_id", "buyer_users")?);
    let range_start = range_param("range_start");
    let range_end = range_param("range_end");
    let touches = Select::new()
        .item(ctx.person_key("e", "i").alias("person"))
        .item(func("toUnixTimestamp64Milli", [path(["e", "timestamp"])]).alias("ms"))
        .item(channel_key(dims.map(|d| path(["e", d]))).alias("channel"))
        .from(ctx.events()?.aliased("e"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("identity").aliased("i"),
            ctx.identity_join("e", "i"),
        )
        // PREWHERE, so the query condition cache learns these granules (see funnel steps).
        .prewhere(
            dims.map(|d| path(["e", d]).ne(str_lit("")))
                .into_iter()
                .reduce(Expr::or)
                .expect("three columns"),
        )
        .prewhere(path(["e", "timestamp"]).ge(func(
            "subtractMilliseconds",
            [range_start, window_ms.clone()],
        )))
        .prewhere(path(["e", "timestamp"]).lt(range_end))
        .prewhere(func(
            "if",
            [
                path(["e", "user_id"]).ne(str_lit("")),
                path(["e", "user_id"]).in_(col("buyer_users")),
                path(["e", "anonymous_id"]).in_(col("buyer_devices")),
            ],
        ));
    // Each person with an order: their touches, oldest first (ties by channel, for
    // determinism: `channel_key` sorts as the tuple would), sorted once. Joining touches to
    // orders and grouping per order sorted a person's touches again for every order (10M:
    // 1320 -> 1050 ms for the whole report).
    let person_touches = Select::new()
        .item(col("person"))
        .item(
            func(
                "arraySort",
                [func(
                    "groupArray",
                    [Expr::Tuple(vec![col("ms"), col("channel")])],
                )],
            )
            .alias("pts"),
        )
        .from(TableRef::cte("touches"))
        .group_by([col("person")]);
    // Per order: its person's touches in the window. The lambda captures only the order's
    // time (a scalar), never an array.
    let touch_ms = func("tupleElement", [col("x"), int(1)]);
    let in_window = touch_ms
        .clone()
        .ge(path(["o", "ms"]) - window_ms)
        .and(touch_ms.le(path(["o", "ms"])));
    let per_order = Select::new()
        .item(path(["o", "event_id"]))
        .item(path(["o", "ms"]).alias("order_ms"))
        .item(path(["o", "currency"]).alias("currency"))
        .item(path(["o", "revenue"]).alias("revenue"))
        .item(
            func(
                "arrayFilter",
                [lambda(&["x"], in_window), path(["p", "pts"])],
            )
            .alias("ts"),
        )
        .item(func("length", [col("ts")]).alias("n"))
        // The orders (few, small rows) are the hash table; each person's touch array is read
        // once from the left rather than copied into a table (10M: 1060 -> 930 ms). A person
        // appears once in `person_touches`, so every order gets one row; without touches, `[]`.
        .from(TableRef::cte("person_touches").aliased("p"))
        .join(
            JoinKind::Right,
            TableRef::cte("order_people").aliased("o"),
            path(["o", "person"]).eq(path(["p", "person"])),
        );
    // Lambdas below capture only per-order scalars (`n`, `revenue`, `w_total`, `order_ms`),
    // each computed one query level before the lambda that reads it: a captured array (`ts`,
    // `w`) is copied once per element, O(touches²) per order, and `arraySum(w)` inside the
    // lambda ran once per element too. (A same-level alias could be inlined back into the
    // lambda as its array expression, so the levels are kept apart.)
    let n = col("n");
    let k = |i: i64| func("range", [int(i), n.clone() + int(1)]);
    let weights = match model {
        Model::LastClick => func(
            "arrayMap",
            [
                lambda(&["i"], func("toFloat64", [col("i").eq(n.clone())])),
                k(1),
            ],
        ),
        Model::FirstClick => func(
            "arrayMap",
            [
                lambda(&["i"], func("toFloat64", [col("i").eq(int(1))])),
                k(1),
            ],
        ),
        Model::Linear => func("arrayMap", [lambda(&["i"], Expr::Float(1.0)), k(1)]),
        // Integer weights in fifths of the middle share: 2(n−2) : 1 … 1 : 2(n−2) is 40/20/40.
        Model::PositionBased => func(
            "arrayMap",
            [
                lambda(
                    &["i"],
                    func(
                        "if",
                        [
                            n.clone().le(int(2)),
                            Expr::Float(1.0),
                            func(
                                "toFloat64",
                                [func(
                                    "if",
                                    [
                                        col("i").eq(int(1)).or(col("i").eq(n.clone())),
                                        int(2) * (n.clone() - int(2)),
                                        int(1),
                                    ],
                                )],
                            ),
                        ],
                    ),
                ),
                k(1),
            ],
        ),
        Model::TimeDecay { half_life_seconds } => func(
            "arrayMap",
            [
                lambda(
                    &["t"],
                    func(
                        "pow",
                        [
                            Expr::Float(2.0),
                            Expr::Float(0.0)
                                - (col("order_ms") - func("tupleElement", [col("t"), int(1)]))
                                    / Expr::Float(half_life_seconds as f64 * 1000.0),
                        ],
                    ),
                ),
                col("ts"),
            ],
        ),
    };
    // `amount` split by the weights in whole units, rounded down, the last touch taking what
    // rounding left: credits (minor units of the revenue) and order shares (billionths of an
    // order) add up exactly, and their sums do not depend on the engine's summation order.
    let split = |amount: Expr, alias: &'static str, parts: &'static str| {
        let floors = func(
            "arrayMap",
            [
                lambda(
                    &["wi", "i"],
                    func(
                        "if",
                        [
                            col("i").lt(n.clone()),
                            func(
                                "toInt64",
                                [func(
                                    "floor",
                                    [func("toFloat64", [amount.clone()]) * col("wi")
                                        / col("w_total")],
                                )],
                            ),
                            int(0),
                        ],
                    ),
                ),
                col("w"),
                func("arrayEnumerate", [col("w")]),
            ],
        );
        [
            floors.alias(parts),
            func(
                "arrayPushBack",
                [
                    func("arrayPopBack", [col(parts)]),
                    amount - func("arraySum", [func("arrayPopBack", [col(parts)])]),
                ],
            )
            .alias(alias),
        ]
    };
    // Each level passes the per-order columns the next one reads.
    let passing = |names: &[&'static str]| {
        Select::new().items(names.iter().map(|&c| SelectItem::from(col(c))))
    };
    let weighted = passing(&["event_id", "currency", "revenue", "ts", "n"])
        .item(weights.alias("w"))
        .from(TableRef::cte("per_order"));
    let totalled = passing(&["event_id", "currency", "revenue", "ts", "n", "w"])
        .item(func("arraySum", [col("w")]).alias("w_total"))
        .from(TableRef::subquery(weighted, "weighted"));
    let credited = passing(&["event_id", "currency", "revenue", "ts", "w", "w_total"])
        .items(split(col("revenue"), "credits", "c0"))
        .items(split(int(ORDER_SHARE), "shares", "s0"))
        .from(TableRef::subquery(totalled, "totalled"));
    let attributed = Select::new()
        .item(func("splitByString", [str_lit(SEPARATOR), col("channel")]).alias("parts"))
        .items(
            ["campaign", "source", "medium"]
                .into_iter()
                .enumerate()
                .map(|(i, name)| channel_part(i as i64 + 1).alias(name)),
        )
        .item(func("tupleElement", [col("touch"), int(2)]).alias("channel"))
        .item(col("currency"))
        .item(func("sum", [col("credit")]).alias("revenue"))
        .item((func("sum", [col("share")]) / Expr::Float(ORDER_SHARE as f64)).alias("orders"))
        .item(func("notEmpty", [col("ts")]).alias("attributed"))
        .from(TableRef::cte("credited"))
        // An order without touches is one row with an empty channel, its whole revenue
        // (`credits` is `[revenue]` then) and a share of 1: a single pass over `credited`
        // (ClickHouse evaluates a CTE once per reference, and `per_order` is the costly join).
        .array_join(
            func(
                "if",
                [
                    func("empty", [col("ts")]),
                    Expr::Array(vec![Expr::Tuple(vec![
                        func("toInt64", [int(0)]),
                        str_lit(NO_CHANNEL),
                    ])]),
                    col("ts"),
                ],
            )
            .alias("touch"),
        )
        .array_join(col("credits").alias("credit"))
        .array_join(
            func(
                "if",
                [
                    func("empty", [col("ts")]),
                    Expr::Array(vec![int(ORDER_SHARE)]),
                    col("shares"),
                ],
            )
            .alias("share"),
        )
        .group_by([col("channel"), col("currency"), col("attributed")]);
    // Touches are stitched only through the links of the anonymous ids the buyer filter lets
    // through (all their links, so the latest still wins): the only ids the join can probe.
    let identity = ctx.identity_cte_in(col("buyer_devices"))?;
    let query = Select::new()
        .with("anonymous_buyers", anonymous_buyers)
        .with("buyer_users", buyer_users)
        .with("buyer_devices", buyer_devices)
        .with("identity", identity)
        .with(
            "order_identity",
            ctx.identity_cte_in(col("anonymous_buyers"))?,
        )
        .with("orders", orders)
        .with("order_people", order_people)
        .with("touches", touches)
        .with("person_touches", person_touches)
        .with("per_order", per_order)
        .with("credited", credited)
        .with("channel_rows", attributed);
    Ok((query, params))
}

/// A touch's channel (campaign, source, medium) as one string: the three values with each NUL
/// escaped as NUL 0x01, joined by two NULs. Unambiguous, and it sorts as the tuple does, so
/// ties keep their order; one string instead of a tuple of three made the person arrays, the
/// per-order windows and the final grouping cheaper (10M: 759 -> 680 ms, same rows).
pub(super) fn channel_key(values: [Expr; 3]) -> Expr {
    let mut parts = Vec::with_capacity(5);
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            parts.push(str_lit(SEPARATOR));
        }
        parts.push(func("replaceAll", [v, str_lit("\0"), str_lit(ESCAPED_NUL)]));
    }
    func("concat", parts)
}

/// Between a [`channel_key`]'s values; never inside one.
const SEPARATOR: &str = "\0\0";
/// A NUL inside a value.
const ESCAPED_NUL: &str = "\0\u{1}";
/// The key of an order without touches: three empty values.
pub(super) const NO_CHANNEL: &str = "\0\0\0\0";

/// `leading` sort keys, then a channel's campaign, source and medium (a stable order for ties).
pub(super) fn then_by_channel<const N: usize>(leading: [OrderItem; N]) -> Vec<OrderItem> {
    leading
        .into_iter()
        .chain(["campaign", "source", "medium"].map(|c| asc(col(c))))
        .collect()
}

/// `q` with the `channel` key's three values as `campaign`, `source` and `medium`.
pub(super) fn channel_columns(q: Select) -> Select {
    key_parts(q, col("channel"), ["campaign", "source", "medium"])
}

/// Value `i` (1-based) of the key split into `parts`.
fn channel_part(i: i64) -> Expr {
    func(
        "replaceAll",
        [
            func("arrayElement", [col("parts"), int(i)]),
            str_lit(ESCAPED_NUL),
            str_lit("\0"),
        ],
    )
}

/// A [`channel_key`]'s three values split again (into `parts`, which `q` gets), as `names`.
pub(super) fn key_parts(q: Select, key: Expr, names: [&'static str; 3]) -> Select {
    q.with_expr("parts", func("splitByString", [str_lit(SEPARATOR), key]))
        .items(
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| channel_part(i as i64 + 1).alias(name)),
        )
}
