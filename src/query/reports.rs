//! The report catalogue. Each function builds one report's query; field names follow the seed
//! e-commerce API, with money in integer minor units and a `currency` column beside it.

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange, range_param};
use super::orders::counted_events;
use crate::error::Error;
use crate::sql::{Param, ParamValue};

pub use super::overview::{cart_abandonment, overview, user_journey, visit_to_order};

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
    pub(crate) fn bucket(self, ts: Expr, tz: &Name) -> Expr {
        let tz = Expr::Str(tz.clone());
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
    if ctx.rollups
        && let Some(query) = timeseries_from_rollup(ctx, granularity)?
    {
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
        .item(bucket.alias("date"))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("revenue"))
        .item(func("count", []).alias("orders"))
        .from(TableRef::Subquery {
            query: Box::new(orders),
            alias: "orders".into(),
        })
        .group_by([col("date"), col("currency")])
        .order_by(by_currency_then_date(fill));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// A revenue series' order: per currency, every period of the range (`fill`).
fn by_currency_then_date(fill: Fill) -> [OrderItem; 2] {
    [
        asc(col("currency")),
        OrderItem {
            expr: col("date"),
            desc: false,
            fill: Some(fill),
        },
    ]
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
        .item(
            func(
                "sum",
                [func("toInt64", [path(["items", "price"])]) * path(["items", "quantity"])],
            )
            .alias("revenue"),
        )
        .item(func("sum", [path(["items", "quantity"])]).alias("quantity"))
        .item(func("uniqExact", [path(["items", "transaction_id"])]).alias("orders"))
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
    let tagged = dims
        .map(|d| col(d).ne(str_lit("")))
        .into_iter()
        .reduce(Expr::or)
        .expect("three columns");
    let touched = match find_channel_rollup(ctx, &tagged) {
        Some(r) if ctx.rollups => Select::new()
            .items(dims.map(|d| SelectItem::from(col(d))))
            .item(func("uniqExactMerge", [col(r.persons.to_string())]).alias("persons"))
            .from(ctx.table(r.table)?)
            .filter(in_range_days(col(r.day.to_string())))
            .filter(tagged)
            .group_by(dims.map(col)),
        _ => Select::new()
            .items(dims.map(|d| SelectItem::from(col(d))))
            .item(func("uniqExact", [col("person_id")]).alias("persons"))
            .from(ctx.events()?)
            .filter(ctx.in_range(ctx.column(NAME, "timestamp")?))
            .filter(tagged)
            .group_by(dims.map(col)),
    };
    let by_channel = Select::new()
        .items(dims.map(|d| SelectItem::from(col(d))))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("revenue"))
        .item(func("count", []).alias("orders"))
        .item(func("uniqExact", [col("person_id")]).alias("purchasers"))
        .from(TableRef::cte("orders"))
        .group_by(dims.map(col).into_iter().chain([col("currency")]));
    let query = Select::new()
        .with("orders", orders)
        .with("touched", touched)
        .with("by_channel", by_channel)
        .item(path(["b", "utm_campaign"]).alias("campaign"))
        .item(path(["b", "utm_source"]).alias("source"))
        .item(path(["b", "utm_medium"]).alias("medium"))
        .item(path(["b", "currency"]).alias("currency"))
        .item(path(["b", "revenue"]).alias("revenue"))
        .item(path(["b", "orders"]).alias("orders"))
        .item(
            func(
                "if",
                [
                    path(["t", "persons"]).eq(int(0)),
                    Expr::Float(0.0),
                    Expr::Float(100.0) * path(["b", "purchasers"]) / path(["t", "persons"]),
                ],
            )
            .alias("conversion_rate"),
        )
        .item((path(["b", "revenue"]) / path(["b", "orders"])).alias("avg_order_value"))
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

/// A rollup that serves revenue by day and currency: fed by the events table, a `toDate(timestamp)`
/// Date dimension, `currency` and `event_type` dimensions, `sum(revenue)` and `count()`
/// measures; only in UTC, since its days are UTC days.
struct RevenueRollup<'a> {
    table: &'a str,
    day: &'a str,
    revenue: &'a str,
    count: &'a str,
}

/// The rollups fed by the events table, with their target table, in a UTC schema only (their
/// days are UTC days, and report ranges are whole days of the schema's time zone).
fn event_rollups<'a>(
    ctx: &Context<'a>,
) -> impl Iterator<Item = (&'a str, &'a crate::schema::ir::Rollup)> {
    use crate::schema::ir::ViewKind;
    let schema = ctx.schema;
    let events = schema
        .taxonomy
        .as_ref()
        .map_or("events", |t| t.table.as_str());
    let utc = ctx.timezone() == "UTC";
    schema.views.iter().filter_map(move |v| match &v.kind {
        ViewKind::Rollup(r) if utc && v.source == events => Some((v.target.as_str(), r)),
        _ => None,
    })
}

/// Schema expressions compare without their whitespace.
fn squeezed(expr: &str) -> String {
    expr.split_whitespace().collect()
}

/// The name of the rollup's dimension computed by `expr`.
fn rollup_dim<'a>(r: &'a crate::schema::ir::Rollup, expr: &str) -> Option<&'a str> {
    r.dimensions
        .iter()
        .find(|d| squeezed(&d.expr) == squeezed(expr))
        .map(|d| d.name.as_str())
}

/// The name of the rollup's `agg(expr)` measure (`expr` None: whatever its argument).
fn rollup_measure<'a>(
    r: &'a crate::schema::ir::Rollup,
    agg: &str,
    expr: Option<&str>,
) -> Option<&'a str> {
    r.measures
        .iter()
        .find(|m| m.agg == agg && expr.is_none_or(|e| m.expr.as_deref() == Some(e)))
        .map(|m| m.name.as_str())
}

/// The range's first day and the day after its last, for a rollup's Date column: report
/// ranges are whole days of the schema's (UTC, for rollups) time zone.
fn range_days() -> (Expr, Expr) {
    (
        func("toDate", [range_param("range_start")]),
        func("toDate", [range_param("range_end")]),
    )
}

fn in_range_days(day: Expr) -> Expr {
    let (start, end) = range_days();
    day.clone().ge(start).and(day.lt(end))
}

fn find_revenue_rollup<'a>(ctx: &Context<'a>) -> Option<RevenueRollup<'a>> {
    event_rollups(ctx).find_map(|(table, r)| {
        let day = rollup_dim(r, "toDate(timestamp)")?;
        rollup_dim(r, "currency").filter(|n| *n == "currency")?;
        rollup_dim(r, "event_type").filter(|n| *n == "event_type")?;
        let revenue = rollup_measure(r, "sum", Some("revenue"))?;
        let count = rollup_measure(r, "count", None)?;
        Some(RevenueRollup {
            table,
            day,
            revenue,
            count,
        })
    })
}

struct ChannelRollup<'a> {
    table: &'a str,
    day: &'a str,
    persons: &'a str,
}

/// A rollup of the events table by day and the three campaign columns (under their own names)
/// with `uniqExact(person_id)`, holding every campaign-tagged event (no filter, or exactly
/// `tagged`, the report's own condition): it gives revenue-by-channel's persons touched for
/// whole days.
fn find_channel_rollup<'a>(ctx: &Context<'a>, tagged: &Expr) -> Option<ChannelRollup<'a>> {
    let tagged = squeezed(&tagged.to_string());
    event_rollups(ctx).find_map(|(table, r)| {
        if r.filter.as_deref().is_some_and(|f| squeezed(f) != tagged) {
            return None;
        }
        let day = rollup_dim(r, "toDate(timestamp)")?;
        for c in ["utm_campaign", "utm_source", "utm_medium"] {
            rollup_dim(r, c).filter(|n| *n == c)?;
        }
        if r.dimensions.len() != 4 {
            return None;
        }
        let persons = rollup_measure(r, "uniqExact", Some("person_id"))?;
        Some(ChannelRollup {
            table,
            day,
            persons,
        })
    })
}

fn timeseries_from_rollup(
    ctx: &Context,
    granularity: Granularity,
) -> Result<Option<Select>, Error> {
    const NAME: &str = "revenue_timeseries";
    let Some(r) = find_revenue_rollup(ctx) else {
        return Ok(None);
    };
    let day = col(r.day.to_string());
    let bucket = |e: Expr| match granularity {
        Granularity::Day => e,
        Granularity::Week => func("toMonday", [e]),
        Granularity::WeekSunday => func("toStartOfWeek", [e, int(0)]),
        Granularity::Month => func("toStartOfMonth", [e]),
    };
    let (start_day, end_day) = range_days();
    let fill = Fill {
        from: bucket(start_day),
        to: bucket(
            end_day
                - Expr::Interval {
                    n: Box::new(int(1)),
                    unit: "DAY",
                },
        ) + granularity.step(),
        step: granularity.step(),
    };
    let query = Select::new()
        .item(bucket(day.clone()).alias("date"))
        .item(col("currency"))
        .item(func("sumMerge", [col(r.revenue.to_string())]).alias("revenue"))
        .item(func("countMerge", [col(r.count.to_string())]).alias("orders"))
        .from(ctx.table(r.table)?)
        .filter(ctx.is_role(NAME, "purchase")?)
        .filter(in_range_days(day))
        .group_by([col("date"), col("currency")])
        .order_by(by_currency_then_date(fill));
    Ok(Some(query))
}
