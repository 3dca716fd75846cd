//! The report catalogue. Each function builds one report's query; field names follow the seed
//! e-commerce API, with money in integer minor units and a `currency` column beside it.

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange, count_distinct, range_param};
use super::orders::counted_events;
use super::rollups::{
    breakdown_from_rollup, channel_revenue_from_rollup, timeseries_from_rollup, touched_from_rollup,
};
use crate::error::Error;
use crate::sql::{Param, ParamValue};

pub use super::overview::{cart_abandonment, overview, user_journey};
pub use super::visits::{VisitBreakdown, visit_to_order, visit_to_order_by};

/// Time buckets for time series and cohorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Hours in the report's time zone; reports read the events for them (the rollups are
    /// daily).
    Hour,
    Day,
    /// Weeks start on Monday (ClickHouse `toMonday`).
    Week,
    /// Weeks start on Sunday (PostHog's default).
    WeekSunday,
    Month,
}

impl Granularity {
    /// The bucket an instant falls in, as a Date in the report's time zone (a DateTime for
    /// hours).
    pub(crate) fn bucket(self, ts: Expr, tz: &Name) -> Expr {
        let tz = Expr::Str(tz.clone());
        match self {
            Granularity::Hour => func("toStartOfHour", [ts, tz]),
            Granularity::Day => func("toDate", [ts, tz]),
            Granularity::Week => func("toMonday", [ts, tz]),
            Granularity::WeekSunday => func("toStartOfWeek", [ts, int(0), tz]),
            Granularity::Month => func("toStartOfMonth", [ts, tz]),
        }
    }

    /// WITH FILL over every period of the report's range (`range_start`, `range_end`).
    pub(super) fn range_fill(self, tz: &Name) -> Fill {
        Fill {
            from: self.bucket(range_param("range_start"), tz),
            to: self.bucket(
                range_param("range_end")
                    - Expr::Interval {
                        n: Box::new(int(1)),
                        unit: "SECOND",
                    },
                tz,
            ) + self.step(),
            step: self.step(),
        }
    }

    pub(super) fn step(self) -> Expr {
        match self {
            Granularity::Hour => Expr::Interval {
                n: Box::new(int(1)),
                unit: "HOUR",
            },
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

/// Daily/weekly/monthly revenue and orders per currency; periods without orders are filled
/// with zero (per currency that has orders in the range).
pub fn revenue_timeseries(
    ctx: &Context,
    range: &DateRange,
    granularity: Granularity,
) -> Result<Report, Error> {
    const NAME: &str = "revenue_timeseries";
    let (params, _, _) = ctx.range_params(range)?;
    let tz = &ctx.tz_name();
    if let Some(query) = timeseries_from_rollup(ctx, granularity)? {
        return Ok(Report {
            name: NAME.into(),
            query,
            params,
        });
    }
    let orders = counted_events(
        ctx,
        NAME,
        &["purchase"],
        &["event_id", "timestamp", "currency", "revenue"],
    )?;
    let bucket = granularity.bucket(col("timestamp"), tz);
    let fill = granularity.range_fill(tz);
    let query = Select::new()
        .item(bucket.alias("date"))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("revenue"))
        .item(func("count", []).alias("orders"))
        .from(TableRef::subquery(orders, "orders"))
        .group_by([col("date"), col("currency")])
        .order_by(by_currency_then_date(fill));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// A revenue series' order: per currency, every period of the range (`fill`).
pub(super) fn by_currency_then_date(fill: Fill) -> [OrderItem; 2] {
    [
        asc(col("currency")),
        OrderItem {
            expr: col("date"),
            desc: false,
            fill: Some(fill),
        },
    ]
}

/// The most rows a product list gives (the seed API's cap on top-products).
pub const MAX_LIMIT: u32 = 100;

/// A product list's `limit` (1 to [`MAX_LIMIT`]) as its `{limit:UInt32}` placeholder and
/// parameter.
pub(super) fn list_limit(limit: u32) -> Result<(Expr, Param), Error> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::Report {
            message: format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
            help: format!("the seed API caps product lists at {MAX_LIMIT}"),
        });
    }
    Ok((
        Expr::Param {
            name: "limit".into(),
            ty: "UInt32".into(),
        },
        Param::new("limit", "UInt32", ParamValue::UInt(limit as u64)),
    ))
}

/// Top-products' item lines: the first nine columns read from event_items, then each line's
/// amount.
const ITEM_COLUMNS: [&str; 10] = [
    "event_id",
    "item_index",
    "timestamp",
    "transaction_id",
    "item_id",
    "item_name",
    "currency",
    "price",
    "quantity",
    "line",
];

/// Best-selling products per currency: revenue (price × quantity, minor units), quantity and
/// orders of counted purchases; `limit` per currency, at most 100 (the seed API's maximum).
pub fn top_products(ctx: &Context, range: &DateRange, limit: u32) -> Result<Report, Error> {
    const NAME: &str = "top_products";
    let (limit, limit_param) = list_limit(limit)?;
    let (mut params, _, _) = ctx.range_params(range)?;
    params.push(limit_param);
    let is_purchase = ctx.is_role(NAME, "purchase")?;
    // Each line's amount (price × quantity, minor units); converted into the base currency
    // line by line when asked.
    let items = Select::new()
        .items(ITEM_COLUMNS[..9].iter().map(|c| SelectItem::from(col(*c))))
        .item((func("toInt64", [col("price")]) * col("quantity")).alias("line"))
        .from(ctx.table("event_items")?)
        .filter(is_purchase)
        .filter(ctx.in_range(col("timestamp")))
        .filter(col("event_id").in_(col("counted")))
        .limit_by(int(1), vec![col("event_id"), col("item_index")]);
    let items =
        super::money::lines_in_currency(ctx, items, &ITEM_COLUMNS, &["line"], col("timestamp"))?;
    let query = Select::new()
        .with(
            "counted",
            counted_events(ctx, NAME, &["purchase"], &["event_id"])?,
        )
        .item(col("item_id"))
        // Inside aggregates the input columns are qualified: an output alias (`quantity`) must
        // not capture the column of the same name.
        .item(
            func(
                "argMax",
                [path(["items", "item_name"]), path(["items", "timestamp"])],
            )
            .alias("item_name"),
        )
        .item(col("currency"))
        .item(func("sum", [path(["items", "line"])]).alias("revenue"))
        .item(func("sum", [path(["items", "quantity"])]).alias("quantity"))
        .item(count_distinct(path(["items", "transaction_id"])).alias("orders"))
        .from(TableRef::subquery(items, "items"))
        .group_by([col("item_id"), col("currency")])
        .order_by([
            asc(col("currency")),
            desc(col("revenue")),
            asc(col("item_id")),
        ])
        .limit_by(limit, vec![col("currency")]);
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
    pub(super) fn column(self) -> &'static str {
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
    if let Some(query) = breakdown_from_rollup(ctx, by)? {
        return Ok(Report {
            name: name.into(),
            query,
            params,
        });
    }
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
        (func("sum", [path(["orders", "revenue"])]) / func("count", [])).alias("avg_order_value"),
    );
    let query = query
        .from(TableRef::subquery(orders, "orders"))
        .group_by([col(dim), col("currency")])
        .order_by([asc(col("currency")), desc(col("revenue")), asc(col(dim))]);
    Ok(Report {
        name: name.into(),
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
    let tagged = dims
        .map(|d| col(d).ne(str_lit("")))
        .into_iter()
        .reduce(Expr::or)
        .expect("three columns");
    let touched = match touched_from_rollup(ctx, &tagged)? {
        Some(q) => q,
        None => Select::new()
            .items(dims.map(|d| SelectItem::from(col(d))))
            .item(count_distinct(col("person_id")).alias("persons"))
            .from(ctx.events()?)
            .filter(ctx.in_range(ctx.column(NAME, "timestamp")?))
            .filter(tagged)
            .group_by(dims.map(col)),
    };
    // Revenue, orders and purchasers per channel: from a rollup, or from the counted orders.
    let mut query = Select::new();
    let by_channel = match channel_revenue_from_rollup(ctx, NAME)? {
        Some(q) => q,
        None => {
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
            query = query.with("orders", orders);
            Select::new()
                .items(dims.map(|d| SelectItem::from(col(d))))
                .item(col("currency"))
                .item(func("sum", [col("revenue")]).alias("revenue"))
                .item(func("count", []).alias("orders"))
                .item(count_distinct(col("person_id")).alias("purchasers"))
                .from(TableRef::cte("orders"))
                .group_by(dims.map(col).into_iter().chain([col("currency")]))
        }
    };
    let query = query
        .with("touched", touched)
        .with("by_channel", by_channel)
        .item(path(["b", "utm_campaign"]).alias("campaign"))
        .item(path(["b", "utm_source"]).alias("source"))
        .item(path(["b", "utm_medium"]).alias("medium"))
        .item(path(["b", "currency"]).alias("currency"))
        .item(path(["b", "revenue"]).alias("revenue"))
        .item(path(["b", "orders"]).alias("orders"))
        .item(percent(path(["b", "purchasers"]), path(["t", "persons"])).alias("conversion_rate"))
        .item((path(["b", "revenue"]) / path(["b", "orders"])).alias("avg_order_value"))
        .from(TableRef::cte("by_channel").aliased("b"))
        .join_using(JoinKind::Left, TableRef::cte("touched").aliased("t"), &dims)
        .order_by(super::attribution::then_by_channel([
            asc(col("currency")),
            desc(col("revenue")),
        ]));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}
