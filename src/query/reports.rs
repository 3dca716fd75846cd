//! The report catalogue. Each function builds one report's query; field names follow the seed
//! e-commerce API, with money in integer minor units and a `currency` column beside it.

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange};
use super::orders::{counted_events, counted_ids};
use crate::error::Error;
use crate::sql::{Param, ParamValue};

/// Time buckets for time series and cohorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Day,
    /// Weeks start on Monday (ClickHouse `toMonday`).
    Week,
    /// Weeks start on Sunday (PostHog's default).
    WeekSunday,
    Month,
}

impl Granularity {
    /// The bucket an instant falls in, as a Date in the report's time zone.
    pub(crate) fn bucket(self, ts: Expr, tz: &str) -> Expr {
        let tz = str_lit(tz);
        match self {
            Granularity::Day => func("toDate", [ts, tz]),
            Granularity::Week => func("toMonday", [ts, tz]),
            Granularity::WeekSunday => func("toStartOfWeek", [ts, int(0), tz]),
            Granularity::Month => func("toStartOfMonth", [ts, tz]),
        }
    }

    fn step(self) -> Expr {
        match self {
            Granularity::Day => Expr::Interval {
                n: Box::new(int(1)),
                unit: "DAY",
            },
            Granularity::Week | Granularity::WeekSunday => Expr::Interval {
                n: Box::new(int(1)),
                unit: "WEEK",
            },
            Granularity::Month => Expr::Interval {
                n: Box::new(int(1)),
                unit: "MONTH",
            },
        }
    }
}

fn range_param(name: &str) -> Expr {
    Expr::Param {
        name: name.into(),
        ty: "DateTime64(3, 'UTC')".into(),
    }
}

/// Daily/weekly/monthly revenue and orders per currency; periods without orders are filled
/// with zero (per currency that has orders in the range).
pub fn revenue_timeseries(
    ctx: &Context,
    range: &DateRange,
    granularity: Granularity,
) -> Result<Report, Error> {
    const NAME: &str = "revenue_timeseries";
    let (params, _, _) = ctx.range_params(range)?;
    let tz = ctx.timezone();
    let orders = counted_events(
        ctx,
        NAME,
        &["purchase"],
        &["event_id", "timestamp", "currency", "revenue"],
    )?;
    let bucket = granularity.bucket(col("timestamp"), tz);
    let fill = Fill {
        from: granularity.bucket(range_param("range_start"), tz),
        to: granularity.bucket(
            range_param("range_end")
                - Expr::Interval {
                    n: Box::new(int(1)),
                    unit: "SECOND",
                },
            tz,
        ) + granularity.step(),
        step: granularity.step(),
    };
    let query = Select::new()
        .with("counted", counted_ids(ctx, NAME, &["purchase"])?)
        .item(bucket.alias("date"))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("revenue"))
        .item(func("count", []).alias("orders"))
        .from(TableRef::Subquery {
            query: Box::new(orders),
            alias: "orders".into(),
        })
        .group_by([col("date"), col("currency")])
        .order_by([
            asc(col("currency")),
            OrderItem {
                expr: col("date"),
                desc: false,
                fill: Some(fill),
            },
        ]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Best-selling products per currency: revenue (price × quantity, minor units), quantity and
/// orders of counted purchases; `limit` per currency, at most 100 (the seed API's maximum).
pub fn top_products(ctx: &Context, range: &DateRange, limit: u32) -> Result<Report, Error> {
    const NAME: &str = "top_products";
    if !(1..=100).contains(&limit) {
        return Err(Error::Report {
            message: format!("limit must be between 1 and 100, got {limit}"),
            help: "the seed API caps top-products at 100".into(),
        });
    }
    let (mut params, _, _) = ctx.range_params(range)?;
    params.push(Param::new(
        "limit",
        "UInt32",
        ParamValue::UInt(limit as u64),
    ));
    let is_purchase = ctx.is_role(NAME, "purchase")?;
    let items = Select::new()
        .items(
            [
                "event_id",
                "item_index",
                "timestamp",
                "transaction_id",
                "item_id",
                "item_name",
                "currency",
                "price",
                "quantity",
            ]
            .map(|c| SelectItem::from(col(c))),
        )
        .from(ctx.table("event_items")?)
        .filter(is_purchase)
        .filter(ctx.in_range(col("timestamp")))
        .filter(col("event_id").in_(col("counted")))
        .limit_by(int(1), vec![col("event_id"), col("item_index")]);
    let query = Select::new()
        .with("counted", counted_ids(ctx, NAME, &["purchase"])?)
        .item(col("item_id"))
        // Inside aggregates the input columns are qualified: an output alias (`quantity`) must
        // not capture the column of the same name.
        .item(
            func(
                "argMax",
                [path(&["items", "item_name"]), path(&["items", "timestamp"])],
            )
            .alias("item_name"),
        )
        .item(col("currency"))
        .item(
            func(
                "sum",
                [func("toInt64", [path(&["items", "price"])]) * path(&["items", "quantity"])],
            )
            .alias("revenue"),
        )
        .item(func("sum", [path(&["items", "quantity"])]).alias("quantity"))
        .item(func("uniqExact", [path(&["items", "transaction_id"])]).alias("orders"))
        .from(TableRef::Subquery {
            query: Box::new(items),
            alias: "items".into(),
        })
        .group_by([col("item_id"), col("currency")])
        .order_by([
            asc(col("currency")),
            desc(col("revenue")),
            asc(col("item_id")),
        ])
        .limit_by(
            Expr::Param {
                name: "limit".into(),
                ty: "UInt32".into(),
            },
            vec![col("currency")],
        );
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// What to break revenue down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakdown {
    DeviceType,
    Platform,
    Country,
    Coupon,
}

impl Breakdown {
    fn column(self) -> &'static str {
        match self {
            Breakdown::DeviceType => "device_type",
            Breakdown::Platform => "platform",
            Breakdown::Country => "country",
            Breakdown::Coupon => "coupon_code",
        }
    }

    pub fn report_name(self) -> &'static str {
        match self {
            Breakdown::DeviceType => "revenue_by_device",
            Breakdown::Platform => "revenue_by_platform",
            Breakdown::Country => "revenue_by_country",
            Breakdown::Coupon => "revenue_by_coupon",
        }
    }
}

/// Revenue and orders of counted purchases per value of a purchase-event column, per currency,
/// with `avg_order_value` (minor units). Coupons also report `avg_discount` (minor units) and
/// leave out orders without a coupon.
pub fn revenue_by(ctx: &Context, range: &DateRange, by: Breakdown) -> Result<Report, Error> {
    let name = by.report_name();
    let (params, _, _) = ctx.range_params(range)?;
    let dim = by.column();
    let mut columns = vec!["event_id", "timestamp", "currency", "revenue", dim];
    if by == Breakdown::Coupon {
        columns.push("discount");
    }
    let mut orders = counted_events(ctx, name, &["purchase"], &columns)?;
    if by == Breakdown::Coupon {
        orders = orders.filter(col(dim).ne(str_lit("")));
    }
    let mut query = Select::new()
        .with("counted", counted_ids(ctx, name, &["purchase"])?)
        .item(col(dim))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("revenue"))
        .item(func("count", []).alias("orders"));
    if by == Breakdown::Coupon {
        query = query
            .item(func("round", [func("avg", [col("discount")]), int(2)]).alias("avg_discount"));
    }
    // Qualified: inside an aggregate, `revenue` would mean the output alias above.
    let query = query.item(
        (func("sum", [path(&["orders", "revenue"])]) / func("count", [])).alias("avg_order_value"),
    );
    let query = query
        .from(TableRef::Subquery {
            query: Box::new(orders),
            alias: "orders".into(),
        })
        .group_by([col(dim), col("currency")])
        .order_by([asc(col("currency")), desc(col("revenue")), asc(col(dim))]);
    Ok(Report {
        name: name.into(),
        query,
        params,
    })
}

/// The seed API's overview, one row per currency (the base currency when nothing sold):
///
/// - `total_revenue`, `total_orders`: counted purchases in the range;
/// - `total_refunds`, `refund_amount`: counted refunds in the range (cash-flow view);
/// - `net_revenue`: `total_revenue` minus every counted refund of *these* orders, joined on
///   transaction_id, whenever it happened;
/// - `avg_order_value`: `total_revenue / total_orders` in minor units (0 without orders);
/// - `total_items_sold`: item quantities of the counted purchases;
/// - `cart_abandonment_rate`: % of carts (cart_id of add-to-cart events in the range) that no
///   purchase ever completed; `add_to_cart_rate`: % of persons who viewed an item in the range
///   that also added one to a cart. Both are the same on every row.
pub fn overview(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "overview";
    let (params, _, _) = ctx.range_params(range)?;
    let orders = counted_events(
        ctx,
        NAME,
        &["purchase"],
        &["event_id", "transaction_id", "currency", "revenue"],
    )?;
    let refunds = counted_events(
        ctx,
        NAME,
        &["refund"],
        &["event_id", "transaction_id", "currency", "revenue"],
    )?;
    let order_txs = Expr::Subquery(Box::new(
        Select::new()
            .item(col("transaction_id"))
            .from(TableRef::cte("orders")),
    ));
    let refunds_of_orders = super::orders::counted_events_in(
        ctx,
        NAME,
        &["refund"],
        &["event_id", "currency", "revenue"],
        "counted_order_refunds",
        false,
    )?;
    let items = Select::new()
        .item(col("event_id"))
        .item(col("item_index"))
        .item(col("quantity"))
        .from(ctx.table("event_items")?)
        .filter(
            col("event_id").in_(Expr::Subquery(Box::new(
                Select::new()
                    .item(col("event_id"))
                    .from(TableRef::cte("orders")),
            ))),
        )
        .limit_by(int(1), vec![col("event_id"), col("item_index")]);
    let cart = ctx.column(NAME, "cart_id")?;
    let person = ctx.column(NAME, "person_id")?;
    let ts = ctx.column(NAME, "timestamp")?;
    let carts = Select::new()
        .item(func("uniqExact", [cart.clone()]).alias("carts"))
        .item(
            func(
                "uniqExactIf",
                [
                    cart.clone(),
                    cart.clone().not_in(Expr::Subquery(Box::new(
                        Select::new()
                            .item(cart.clone())
                            .from(ctx.events()?)
                            .filter(ctx.is_role(NAME, "purchase")?)
                            .filter(cart.clone().ne(str_lit(""))),
                    ))),
                ],
            )
            .alias("abandoned"),
        )
        .from(ctx.events()?)
        .filter(ctx.is_role(NAME, "add_to_cart")?)
        .filter(ctx.in_range(ts.clone()))
        .filter(cart.ne(str_lit("")));
    let persons = Select::new()
        .item(
            func(
                "uniqExactIf",
                [person.clone(), ctx.is_role(NAME, "view_item")?],
            )
            .alias("viewers"),
        )
        .item(
            func(
                "uniqExactIf",
                [
                    person.clone(),
                    ctx.is_role(NAME, "add_to_cart")?.and(
                        person.clone().in_(Expr::Subquery(Box::new(
                            Select::new()
                                .item(person)
                                .from(ctx.events()?)
                                .filter(ctx.is_role(NAME, "view_item")?)
                                .filter(ctx.in_range(ts.clone())),
                        ))),
                    ),
                ],
            )
            .alias("adders"),
        )
        .from(ctx.events()?)
        .filter(ctx.in_range(ts));
    let currencies = Select::new()
        .item(
            func(
                "arrayJoin",
                [func(
                    "arrayDistinct",
                    [func(
                        "if",
                        [
                            func("empty", [func("groupArray", [col("currency")])]),
                            Expr::Array(vec![Expr::Str(ctx.schema.base_currency.clone())]),
                            func("groupArray", [col("currency")]),
                        ],
                    )],
                )],
            )
            .alias("currency"),
        )
        .from(TableRef::Subquery {
            query: Box::new(
                Select::new()
                    .item(col("currency"))
                    .from(TableRef::cte("orders")),
            ),
            alias: "o".into(),
        });
    let sum_by_currency = |from: &str, items: Vec<SelectItem>| -> TableRef {
        let mut q = Select::new().item(col("currency"));
        for i in items {
            q = q.item(i);
        }
        TableRef::Subquery {
            query: Box::new(q.from(TableRef::cte(from)).group_by([col("currency")])),
            alias: format!("{from}_totals"),
        }
    };
    let items_by_currency = TableRef::Subquery {
        query: Box::new(
            Select::new()
                .item(path(&["o", "currency"]))
                .item(func("sum", [path(&["i", "quantity"])]).alias("items_sold"))
                .from(TableRef::cte("items").aliased("i"))
                .join(
                    JoinKind::Inner,
                    TableRef::cte("orders").aliased("o"),
                    path(&["i", "event_id"]).eq(path(&["o", "event_id"])),
                )
                .group_by([path(&["o", "currency"])]),
        ),
        alias: "items_totals".into(),
    };
    let rate = |num: &str, den: &str| {
        func(
            "if",
            [
                col(den).eq(int(0)),
                Expr::Float(0.0),
                Expr::Float(100.0) * col(num) / col(den),
            ],
        )
    };
    let revenue = func("toInt64", [col("total_revenue")]);
    let query = Select::new()
        .with("counted", counted_ids(ctx, NAME, &["purchase", "refund"])?)
        .with("orders", orders)
        .with("refunds", refunds)
        .with(
            "counted_order_refunds",
            super::orders::counted_ids_of(ctx, NAME, &["refund"], Some(order_txs))?,
        )
        .with("order_refunds", refunds_of_orders)
        .with("items", items)
        .with("cart_totals", carts)
        .with("person_totals", persons)
        .with("currencies", currencies)
        .item(col("currency"))
        .item(revenue.clone().alias("total_revenue"))
        .item(
            (revenue.clone() - func("toInt64", [col("refunded_orders_amount")]))
                .alias("net_revenue"),
        )
        .item(func("toUInt64", [col("total_orders")]).alias("total_orders"))
        .item(func("toUInt64", [col("total_refunds")]).alias("total_refunds"))
        .item(func("toInt64", [col("refund_amount")]).alias("refund_amount"))
        .item(
            func(
                "if",
                [
                    col("total_orders").eq(int(0)),
                    Expr::Float(0.0),
                    revenue / col("total_orders"),
                ],
            )
            .alias("avg_order_value"),
        )
        .item(func("toUInt64", [col("items_sold")]).alias("total_items_sold"))
        .item(rate("abandoned", "carts").alias("cart_abandonment_rate"))
        .item(rate("adders", "viewers").alias("add_to_cart_rate"))
        .from(TableRef::cte("currencies"))
        .join_using(
            JoinKind::Left,
            sum_by_currency(
                "orders",
                vec![
                    func("sum", [col("revenue")]).alias("total_revenue"),
                    func("count", []).alias("total_orders"),
                ],
            ),
            &["currency"],
        )
        .join_using(
            JoinKind::Left,
            sum_by_currency(
                "refunds",
                vec![
                    func("sum", [col("revenue")]).alias("refund_amount"),
                    func("count", []).alias("total_refunds"),
                ],
            ),
            &["currency"],
        )
        .join_using(
            JoinKind::Left,
            sum_by_currency(
                "order_refunds",
                vec![func("sum", [col("revenue")]).alias("refunded_orders_amount")],
            ),
            &["currency"],
        )
        .join_using(JoinKind::Left, items_by_currency, &["currency"])
        .join(
            JoinKind::Inner,
            TableRef::cte("cart_totals"),
            int(1).eq(int(1)),
        )
        .join(
            JoinKind::Inner,
            TableRef::cte("person_totals"),
            int(1).eq(int(1)),
        )
        .order_by([asc(col("currency"))]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Carts started in the range (cart_id of add-to-cart events) and whether a purchase ever
/// completed them. One row per currency of the abandoned items' value (the net of items added
/// and removed in abandoned carts, minor units); the counts and rate repeat on every row.
pub fn cart_abandonment(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "cart_abandonment";
    let (params, _, _) = ctx.range_params(range)?;
    let cart = ctx.column(NAME, "cart_id")?;
    let ts = ctx.column(NAME, "timestamp")?;
    let carts = Select::new()
        .distinct()
        .item(cart.clone())
        .from(ctx.events()?)
        .filter(ctx.is_role(NAME, "add_to_cart")?)
        .filter(ctx.in_range(ts))
        .filter(cart.clone().ne(str_lit("")));
    let completed = Select::new()
        .distinct()
        .item(cart.clone())
        .from(ctx.events()?)
        .filter(ctx.is_role(NAME, "purchase")?)
        .filter(cart.clone().in_(col("carts")));
    let cart_events = Select::new()
        .item(col("event_id"))
        .item(func("if", [ctx.is_role(NAME, "add_to_cart")?, int(1), int(-1)]).alias("sign"))
        .from(ctx.events()?)
        .filter(
            ctx.is_role(NAME, "add_to_cart")?
                .or(ctx.is_role(NAME, "remove_from_cart")?),
        )
        .filter(cart.clone().in_(col("carts")))
        .filter(cart.not_in(col("completed")))
        .limit_by(int(1), vec![col("event_id")]);
    let items = Select::new()
        .item(path(&["i", "currency"]))
        .item(
            func(
                "sum",
                [path(&["c", "sign"])
                    * func("toInt64", [path(&["i", "price"])])
                    * path(&["i", "quantity"])],
            )
            .alias("abandoned_revenue"),
        )
        .from(TableRef::Subquery {
            query: Box::new(
                Select::new()
                    .items(
                        ["event_id", "item_index", "currency", "price", "quantity"]
                            .map(|c| SelectItem::from(col(c))),
                    )
                    .from(ctx.table("event_items")?)
                    .filter(
                        col("event_id").in_(Expr::Subquery(Box::new(
                            Select::new()
                                .item(col("event_id"))
                                .from(TableRef::cte("cart_events")),
                        ))),
                    )
                    .limit_by(int(1), vec![col("event_id"), col("item_index")]),
            ),
            alias: "i".into(),
        })
        .join(
            JoinKind::Inner,
            TableRef::cte("cart_events").aliased("c"),
            path(&["i", "event_id"]).eq(path(&["c", "event_id"])),
        )
        .group_by([path(&["i", "currency"])]);
    let counts = Select::new()
        .item(func("count", []).alias("total_carts"))
        .item(func("countIf", [col("cart_id").in_(col("completed"))]).alias("completed_carts"))
        .from(TableRef::cte("carts"));
    let rate = func(
        "if",
        [
            col("total_carts").eq(int(0)),
            Expr::Float(0.0),
            Expr::Float(100.0) * (col("total_carts") - col("completed_carts")) / col("total_carts"),
        ],
    );
    let query = Select::new()
        .with("carts", carts)
        .with("completed", completed)
        .with("cart_events", cart_events)
        .with("abandoned_items", items)
        .with("cart_counts", counts)
        .item(rate.alias("abandonment_rate"))
        .item((col("total_carts") - col("completed_carts")).alias("abandoned_carts"))
        .item(
            func(
                "ifNull",
                [
                    path(&["a", "currency"]),
                    Expr::Str(ctx.schema.base_currency.clone()),
                ],
            )
            .alias("currency"),
        )
        .item(
            func("ifNull", [path(&["a", "abandoned_revenue"]), int(0)]).alias("abandoned_revenue"),
        )
        .item(col("completed_carts"))
        .from(TableRef::cte("cart_counts"))
        .join(
            JoinKind::Left,
            TableRef::cte("abandoned_items").aliased("a"),
            int(1).eq(int(1)),
        )
        .order_by([asc(col("currency"))])
        .setting("join_use_nulls", "1");
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// One user's events in order (their anonymous history included once linked), with items as
/// `{item_id, item_name}` and ISO timestamps, like the seed API's user-journey.
pub fn user_journey(ctx: &Context, user_id: &str) -> Result<Report, Error> {
    const NAME: &str = "user_journey";
    let user = Expr::Param {
        name: "user_id".into(),
        ty: "String".into(),
    };
    let params = vec![Param::new(
        "user_id",
        "String",
        ParamValue::String(user_id.into()),
    )];
    let ts = ctx.column(NAME, "timestamp")?;
    let linked = Select::new()
        .item(col("anonymous_id"))
        .from(ctx.table("identities")?)
        .filter(col("user_id").eq(user.clone()));
    let item = func(
        "map",
        [
            str_lit("item_id"),
            func("tupleElement", [col("x"), str_lit("item_id")]),
            str_lit("item_name"),
            func("tupleElement", [col("x"), str_lit("item_name")]),
        ],
    );
    let query = Select::new()
        .item(ctx.event_column().alias("event_type"))
        .item(
            func(
                "formatDateTime",
                [ts.clone(), str_lit("%Y-%m-%dT%H:%i:%SZ"), str_lit("UTC")],
            )
            .alias("timestamp"),
        )
        .item(
            func(
                "arrayMap",
                [lambda(&["x"], item), ctx.column(NAME, "items")?],
            )
            .alias("items"),
        )
        .item(ctx.column(NAME, "transaction_id")?)
        .item(ctx.column(NAME, "revenue")?)
        .item(ctx.column(NAME, "currency")?)
        .from(ctx.events()?)
        .filter(
            ctx.column(NAME, "user_id")?.eq(user).or(ctx
                .column(NAME, "anonymous_id")?
                .ne(str_lit(""))
                .and(col("anonymous_id").in_(Expr::Subquery(Box::new(linked))))),
        )
        .order_by([asc(ts), asc(col("event_id"))])
        .limit_by(int(1), vec![col("event_id")]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Revenue and orders of counted purchases by the purchase's campaign/source/medium, per
/// currency, with `conversion_rate`: % of the persons who had any event with that channel in
/// the range who made one of these purchases, and `avg_order_value` (minor units) — the seed
/// recipe's "AOV by channel", which does not parse as published (two GROUP BY clauses).
pub fn revenue_by_channel(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "revenue_by_channel";
    let (params, _, _) = ctx.range_params(range)?;
    let dims = ["utm_campaign", "utm_source", "utm_medium"];
    let orders = counted_events(
        ctx,
        NAME,
        &["purchase"],
        &[
            "event_id",
            "currency",
            "revenue",
            "person_id",
            "utm_campaign",
            "utm_source",
            "utm_medium",
        ],
    )?;
    let touched = Select::new()
        .items(dims.map(|d| SelectItem::from(col(d))))
        .item(func("uniqExact", [col("person_id")]).alias("persons"))
        .from(ctx.events()?)
        .filter(ctx.in_range(ctx.column(NAME, "timestamp")?))
        .filter(
            dims.map(|d| col(d).ne(str_lit("")))
                .into_iter()
                .reduce(Expr::or)
                .expect("three columns"),
        )
        .group_by(dims.map(col));
    let by_channel = Select::new()
        .items(dims.map(|d| SelectItem::from(col(d))))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("revenue"))
        .item(func("count", []).alias("orders"))
        .item(func("uniqExact", [col("person_id")]).alias("purchasers"))
        .from(TableRef::cte("orders"))
        .group_by(dims.map(col).into_iter().chain([col("currency")]));
    let query = Select::new()
        .with("counted", counted_ids(ctx, NAME, &["purchase"])?)
        .with("orders", orders)
        .with("touched", touched)
        .with("by_channel", by_channel)
        .item(path(&["b", "utm_campaign"]).alias("campaign"))
        .item(path(&["b", "utm_source"]).alias("source"))
        .item(path(&["b", "utm_medium"]).alias("medium"))
        .item(path(&["b", "currency"]).alias("currency"))
        .item(path(&["b", "revenue"]).alias("revenue"))
        .item(path(&["b", "orders"]).alias("orders"))
        .item(
            func(
                "if",
                [
                    path(&["t", "persons"]).eq(int(0)),
                    Expr::Float(0.0),
                    Expr::Float(100.0) * path(&["b", "purchasers"]) / path(&["t", "persons"]),
                ],
            )
            .alias("conversion_rate"),
        )
        .item((path(&["b", "revenue"]) / path(&["b", "orders"])).alias("avg_order_value"))
        .from(TableRef::cte("by_channel").aliased("b"))
        .join_using(JoinKind::Left, TableRef::cte("touched").aliased("t"), &dims)
        .order_by([
            asc(col("currency")),
            desc(col("revenue")),
            asc(col("campaign")),
            asc(col("source")),
            asc(col("medium")),
        ]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Visit-to-order rate (the metrics stack's "combine Order Completed with page viewed"):
/// `visitors` (persons with a page view in the range), `purchasers` (those of them with a
/// counted purchase in the range) and `visit_to_order_rate` (%).
pub fn visit_to_order(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "visit_to_order";
    let (params, _, _) = ctx.range_params(range)?;
    let person = ctx.column(NAME, "person_id")?;
    let visitors = Select::new()
        .distinct()
        .item(person.clone())
        .from(ctx.events()?)
        .filter(ctx.is_role(NAME, "page_view")?)
        .filter(ctx.in_range(ctx.column(NAME, "timestamp")?));
    let buyers = counted_events(ctx, NAME, &["purchase"], &["event_id", "person_id"])?;
    let query = Select::new()
        .with("counted", counted_ids(ctx, NAME, &["purchase"])?)
        .with("visitors", visitors)
        .with("buyers", buyers)
        .item(func("count", []).alias("visitors"))
        .item(
            func(
                "countIf",
                [col("person_id").in_(Expr::Subquery(Box::new(
                    Select::new()
                        .item(col("person_id"))
                        .from(TableRef::cte("buyers")),
                )))],
            )
            .alias("purchasers"),
        )
        .item(
            func(
                "if",
                [
                    col("visitors").eq(int(0)),
                    Expr::Float(0.0),
                    Expr::Float(100.0) * col("purchasers") / col("visitors"),
                ],
            )
            .alias("visit_to_order_rate"),
        )
        .from(TableRef::cte("visitors"));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}
