//! Retention matrices and revenue cohorts.
//!
//! Retention (PostHog/Amplitude rules): cohort row i holds the persons who did the start event
//! in period i (`Recurring`, the default) or whose first-ever start event — all history, not
//! only the range — fell in period i (`FirstTime`). Column 0 is the cohort size; column j
//! counts cohort members who did the return event in period i + j (`cumulative`: in i + j or
//! any later period). Every cell up to the last period of the range is present (zeros
//! included). Persons are stitched across login as in funnels.

use chrono::Datelike;

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange, range_param, stitched_stored, stored_identity_join};
use super::funnel::StepEvent;
use super::orders::{Transactions, counted_rows};
use super::reports::Granularity;
use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CohortMode {
    /// A person joins every period's cohort in which they did the start event.
    #[default]
    Recurring,
    /// A person joins the cohort of their first-ever start event only.
    FirstTime,
}

/// A retention matrix definition; defaults: purchase → purchase, weekly, recurring.
#[derive(Clone, Debug, PartialEq)]
pub struct Retention {
    pub(crate) start: StepEvent,
    pub(crate) ret: StepEvent,
    pub(crate) period: Granularity,
    pub(crate) mode: CohortMode,
    pub(crate) cumulative: bool,
    pub(crate) range: DateRange,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            start: StepEvent::Role("purchase".into()),
            ret: StepEvent::Role("purchase".into()),
            period: Granularity::Week,
            mode: CohortMode::Recurring,
            cumulative: false,
            range: DateRange::default(),
        }
    }
}

impl Retention {
    pub fn new(start: StepEvent, ret: StepEvent) -> Self {
        Retention {
            start,
            ret,
            ..Retention::default()
        }
    }
    pub fn period(mut self, p: Granularity) -> Self {
        self.period = p;
        self
    }
    pub fn mode(mut self, m: CohortMode) -> Self {
        self.mode = m;
        self
    }
    pub fn cumulative(mut self, yes: bool) -> Self {
        self.cumulative = yes;
        self
    }
    pub fn range(mut self, r: DateRange) -> Self {
        self.range = r;
        self
    }

    /// Rows: `cohort` (period start), `period_offset`, `users`, `cohort_size`, `percentage`.
    pub fn compile(&self, ctx: &Context) -> Result<Report, Error> {
        const NAME: &str = "retention";
        let (params, _, _) = ctx.range_params(&self.range)?;
        let tz = &ctx.tz_name();
        let matches = |ev: &StepEvent| ctx.matches_event(NAME, ev, "e");
        ctx.column(NAME, "timestamp")?;
        let range_start = range_param("range_start");
        let range_end = range_param("range_end");
        let either = ctx.matches_any_event(NAME, [&self.start, &self.ret], "e")?;
        // Recurring cohorts and every return count only events in the range, so only those are
        // read; first-time cohorts need each person's first start event of all history.
        let in_range = match self.mode {
            CohortMode::Recurring => path(["e", "timestamp"])
                .ge(range_start.clone())
                .and(path(["e", "timestamp"]).lt(range_end.clone())),
            CohortMode::FirstTime => path(["e", "timestamp"]).lt(range_end.clone()),
        };
        let ev = Select::new()
            .item(ctx.person_key("e", "i").alias("person"))
            .item(path(["e", "timestamp"]).alias("ts"))
            .item(matches(&self.start)?.alias("is_start"))
            .item(matches(&self.ret)?.alias("is_return"))
            .from(ctx.events()?.aliased("e"))
            .join(
                JoinKind::LeftAny,
                TableRef::cte("identity").aliased("i"),
                ctx.identity_join("e", "i"),
            )
            // PREWHERE, so the query condition cache learns these granules (see funnel steps).
            .prewhere(either.clone())
            .prewhere(in_range.clone());
        let identity = if ctx.is_order_event(&self.start) && ctx.is_order_event(&self.ret) {
            ctx.identity_cte_for(either.and(in_range))?
        } else {
            ctx.identity_cte()?
        };
        let bucket = |e: Expr| self.period.bucket(e, tz);
        let offset = |from: Expr, to: Expr| match self.period {
            Granularity::Hour => func("dateDiff", [str_lit("hour"), from, to]),
            Granularity::Day => func("dateDiff", [str_lit("day"), from, to]),
            Granularity::Week | Granularity::WeekSunday => func(
                "intDiv",
                [func("dateDiff", [str_lit("day"), from, to]), int(7)],
            ),
            Granularity::Month => func("dateDiff", [str_lit("month"), from, to]),
        };
        // One pass over `ev` per person (it was read twice and joined with itself): the
        // person's cohorts and the periods they returned in, as arrays.
        let cohorts = match self.mode {
            CohortMode::Recurring => func(
                "groupUniqArrayIf",
                [
                    bucket(col("ts")),
                    col("is_start").and(col("ts").ge(range_start.clone())),
                ],
            ),
            // `minIf` of no rows is 1970-01-01, not NULL: only persons with a start have one.
            CohortMode::FirstTime => func(
                "if",
                [
                    func("countIf", [col("is_start")]).gt(int(0)),
                    Expr::Array(vec![bucket(func("minIf", [col("ts"), col("is_start")]))]),
                    // Typed by the other branch: Date periods, or DateTime hours.
                    Expr::Array(vec![]),
                ],
            ),
        };
        let per_person = Select::new()
            .item(col("person"))
            .item(cohorts.alias("cohorts"))
            .item(
                func(
                    "groupUniqArrayIf",
                    [
                        bucket(col("ts")),
                        col("is_return").and(col("ts").ge(range_start.clone())),
                    ],
                )
                .alias("periods"),
            )
            .from(TableRef::cte("ev"))
            .group_by([col("person")]);
        // Each cohort member's return offsets (> 0) as an array.
        let member = Select::new()
            .item(col("person"))
            .item(col("cohort"))
            .item(
                func(
                    "arrayMap",
                    [
                        lambda(&["p"], offset(col("cohort"), col("p"))),
                        func(
                            "arrayFilter",
                            [lambda(&["p"], col("p").gt(col("cohort"))), col("periods")],
                        ),
                    ],
                )
                .alias("offsets"),
            )
            .from(TableRef::subquery(per_person, "pp"))
            .array_join(col("cohorts").alias("cohort"))
            .filter(col("cohort").ge(bucket(range_start.clone())));
        let last_period = bucket(
            range_end
                - Expr::Interval {
                    n: Box::new(int(1)),
                    unit: "SECOND",
                },
        );
        // Each member counts in period 0 and in the periods they returned in (cumulative: every
        // period up to their last return), so only the cells that hold someone are grouped;
        // WITH FILL then adds the empty ones, up to each cohort's last period. Expanding every
        // member over every period of the range instead cost about 10 % of the report.
        let member_cells = if self.cumulative {
            func(
                "range",
                [func(
                    "arrayMax",
                    [func("arrayPushFront", [col("offsets"), int(0)])],
                ) + int(1)],
            )
        } else {
            func("arrayPushFront", [col("offsets"), int(0)])
        };
        let cells = Select::new()
            .item(col("cohort"))
            .item(col("cell").alias("period_offset"))
            .item(func("count", []).alias("users"))
            .from(TableRef::cte("members"))
            .array_join(member_cells.alias("cell"))
            .group_by([col("cohort"), col("period_offset")])
            .order_by([
                asc(col("cohort")),
                OrderItem {
                    expr: col("period_offset"),
                    desc: false,
                    fill: Some(Fill {
                        from: int(0),
                        to: offset(bucket(range_start.clone()), last_period.clone()) + int(1),
                        step: int(1),
                    }),
                },
            ]);
        let query = Select::new()
            .with("identity", identity)
            .with("ev", ev)
            .with("members", member)
            .item(col("cohort"))
            .item(col("period_offset"))
            .item(col("users"))
            // Every member is in period 0, so the largest cell of a cohort is its size.
            .item(
                func("max", [col("users")])
                    .over(vec![col("cohort")], vec![])
                    .alias("cohort_size"),
            )
            .item((Expr::Float(100.0) * col("users") / col("cohort_size")).alias("percentage"))
            .from(TableRef::subquery(cells, "cells"))
            .filter(col("period_offset").le(offset(col("cohort"), last_period)))
            .order_by([asc(col("cohort")), asc(col("period_offset"))]);
        Ok(Report {
            name: NAME.into(),
            query,
            params,
        })
    }
}

/// The seed API's revenue cohorts: persons grouped by the month of their first counted
/// purchase (all history); revenue (per currency, minor units) by months since that month, for
/// the cohorts of the last `months` months. Rows: `month` (YYYY-MM), `months_since`, `currency`,
/// `users` (cohort size), `revenue`.
pub fn revenue_cohorts(ctx: &Context, months: u32) -> Result<Report, Error> {
    const NAME: &str = "revenue_cohorts";
    if !(1..=120).contains(&months) {
        return Err(Error::Report {
            message: format!("months must be between 1 and 120, got {months}"),
            help: "the seed API's default is 6".into(),
        });
    }
    // The range covers the cohorts' months up to today.
    let today = ctx.now.with_timezone(&ctx.tz).date_naive();
    let first = today.with_day0(0).unwrap_or(today) - chrono::Months::new(months - 1);
    let range = DateRange::Between {
        start: first,
        end: today,
    };
    let (params, _, _) = ctx.range_params(&range)?;
    let tz = ctx.tz_name();
    let query = history_purchases(ctx, NAME, OrderIds::No)?;
    // One group per person: the cohort (month of the first purchase) and the purchases as an
    // array, unrolled into the cells; `n = 1` marks one row per person, so summing it per month
    // gives the cohort's size. `purchases` (the identity join, the dedupe) is read once. Window
    // functions for a person's first purchase and a cohort's distinct persons did the same in
    // one read but cost more: 10M events, from the rollup 67 -> 51 ms (raw: the same).
    let buy = |i: i64| func("tupleElement", [col("b"), int(i)]);
    let per_person = Select::new()
        .item(
            func(
                "toStartOfMonth",
                [func("min", [col("ts")]), Expr::Str(tz.clone())],
            )
            .alias("cohort"),
        )
        .item(
            func(
                "groupArray",
                [Expr::Tuple(vec![
                    col("ts"),
                    col("currency"),
                    col("revenue"),
                ])],
            )
            .alias("buys"),
        )
        .from(TableRef::cte("purchases"))
        .group_by([col("person")])
        .having(col("cohort").ge(func(
            "toStartOfMonth",
            [range_param("range_start"), Expr::Str(tz.clone())],
        )));
    let cells = Select::new()
        .item(func("formatDateTime", [col("cohort"), str_lit("%Y-%m")]).alias("month"))
        .item(
            func(
                "dateDiff",
                [
                    str_lit("month"),
                    col("cohort"),
                    func("toStartOfMonth", [buy(1), Expr::Str(tz.clone())]),
                ],
            )
            .alias("months_since"),
        )
        .item(buy(2).alias("currency"))
        .item(func("countIf", [col("n").eq(int(1))]).alias("firsts"))
        .item(func("sum", [buy(3)]).alias("revenue"))
        .from(TableRef::subquery(per_person, "p"))
        .array_join(col("buys").alias("b"))
        .array_join(func("arrayEnumerate", [col("buys")]).alias("n"))
        .group_by([col("month"), col("months_since"), col("currency")]);
    let cells_sorted = func(
        "arraySort",
        [func(
            "groupArray",
            [Expr::Tuple(vec![col("months_since"), col("revenue")])],
        )],
    );
    let query = query
        .with("cells", cells)
        .item(col("month"))
        .item(col("currency"))
        // Every cohort member's first purchase is in exactly one of the month's cells.
        .item(
            func("sum", [func("sum", [col("firsts")])])
                .over(vec![col("month")], vec![])
                .alias("users"),
        )
        .item(
            func(
                "mapFromArrays",
                [
                    func(
                        "arrayMap",
                        [
                            lambda(
                                &["x"],
                                func("toString", [func("tupleElement", [col("x"), int(1)])]),
                            ),
                            cells_sorted.clone(),
                        ],
                    ),
                    func(
                        "arrayMap",
                        [
                            lambda(&["x"], func("tupleElement", [col("x"), int(2)])),
                            cells_sorted,
                        ],
                    ),
                ],
            )
            .alias("revenue_by_month"),
        )
        .from(TableRef::cte("cells"))
        .group_by([col("month"), col("currency")])
        .order_by([desc(col("month")), asc(col("currency"))]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Lifetime value per currency over all history: `total_purchasing_users` (persons with a
/// counted purchase in that currency), `total_revenue`, `avg_ltv` = revenue / users (minor
/// units); plus `repeat_purchase_rate` (% of those persons with 2+ orders) and
/// `purchase_frequency` (orders per person).
pub fn lifetime_value(ctx: &Context) -> Result<Report, Error> {
    const NAME: &str = "lifetime_value";
    let history = history_purchases(ctx, NAME, OrderIds::No)?;
    let per_person = Select::new()
        .item(col("person"))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("person_revenue"))
        .item(func("sum", [col("orders")]).alias("person_orders"))
        .from(TableRef::cte("purchases"))
        .group_by([col("person"), col("currency")]);
    let query = lifetime_measures(history.with("per_person", per_person).item(col("currency")))
        .group_by([col("currency")])
        .order_by([asc(col("currency"))]);
    Ok(Report {
        name: NAME.into(),
        query,
        params: Vec::new(),
    })
}

/// Lifetime value by acquisition channel (the metrics list's "CLV by marketing channel"): each
/// person's channel is the campaign, source and medium of their first touch over all history
/// (their first event carrying any of them, stitched across login; ties by event_id), and
/// empty for persons never touched (direct). Per channel and currency, the same numbers as
/// [`lifetime_value`]. Reads every campaign-tagged event, or under `--use-rollups` the
/// first-touch rollup (`person_first_touch` in the shipped schema).
pub fn lifetime_value_by_channel(ctx: &Context) -> Result<Report, Error> {
    use super::attribution::{channel_columns, then_by_channel};
    const NAME: &str = "lifetime_value_by_channel";
    let history = with_first_touch(ctx, NAME, history_purchases(ctx, NAME, OrderIds::No)?)?;
    let per_person = Select::new()
        .item(path(["p", "person"]).alias("person"))
        .item(path(["p", "currency"]).alias("currency"))
        .item(path(["t", "channel"]).alias("channel"))
        .item(func("sum", [path(["p", "revenue"])]).alias("person_revenue"))
        .item(func("sum", [path(["p", "orders"])]).alias("person_orders"))
        .from(TableRef::cte("purchases").aliased("p"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("first_touch").aliased("t"),
            path(["p", "person"]).eq(path(["t", "person"])),
        )
        .group_by([
            path(["p", "person"]),
            path(["p", "currency"]),
            path(["t", "channel"]),
        ]);
    let query = history.with("per_person", per_person);
    let query = channel_columns(query).item(col("currency"));
    let query = lifetime_measures(query)
        .group_by([col("channel"), col("currency")])
        .order_by(then_by_channel([
            asc(col("currency")),
            desc(col("total_revenue")),
        ]));
    Ok(Report {
        name: NAME.into(),
        query,
        params: Vec::new(),
    })
}

/// `query` with each stitched person's acquisition channel: CTEs `touch_identity`,
/// `stored_touch` and `first_touch` (`person`, `channel`: the [`channel_key`] of the person's
/// first touch ever, their first event carrying a campaign, source or medium; ties by
/// event_id). Persons never touched have no row. Reads every campaign-tagged event, or a
/// first-touch rollup when the context reads rollups and the schema has one
/// (`rollups::stored_touch_from_rollup`: at 10M events 780 -> 210 ms for lifetime value by
/// channel).
///
/// [`channel_key`]: super::attribution::channel_key
pub(super) fn with_first_touch(
    ctx: &Context,
    report: &str,
    query: Select,
) -> Result<Select, Error> {
    use super::attribution::channel_key;
    let dims = ["utm_campaign", "utm_source", "utm_medium"];
    let mut tagged = Vec::with_capacity(3);
    for d in dims {
        ctx.check_column(report, d)?;
        tagged.push(col(d).ne(str_lit("")));
    }
    // First touch per stored person (user_id, else anonymous_id), then per stitched person:
    // the join to the identity map runs on one row per stored person instead of one per
    // touch, and the order key is one number (`time_order_key`). Ties at one millisecond go
    // to the event_id that ends lower (see `time_order_key`).
    let order_key = super::orders::time_order_key(
        ctx.column(report, "timestamp")?,
        ctx.column(report, "event_id")?,
    );
    let tagged = tagged
        .into_iter()
        .reduce(Expr::or)
        .unwrap_or(int(0).eq(int(1)));
    let channel = channel_key(dims.map(col));
    let stored = match super::rollups::stored_touch_from_rollup(ctx, &tagged, &channel, &order_key)?
    {
        Some(rows) => rows,
        None => Select::new()
            .item(ctx.column(report, "person_id")?.alias("stored"))
            .item(col("user_id").eq(str_lit("")).alias("anonymous"))
            .item(func("argMin", [channel, order_key.clone()]).alias("channel"))
            .item(func("min", [order_key]).alias("first"))
            .from(ctx.events()?)
            .filter(tagged)
            .group_by([col("stored"), col("anonymous")]),
    };
    let first_touch = Select::new()
        .item(stitched_stored("s", "i").alias("person"))
        .item(func("argMin", [path(["s", "channel"]), path(["s", "first"])]).alias("channel"))
        .from(TableRef::cte("stored_touch").aliased("s"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("touch_identity").aliased("i"),
            stored_identity_join("s", "i"),
        )
        .group_by([col("person")]);
    Ok(query
        .with("touch_identity", ctx.identity_cte()?)
        .with("stored_touch", stored)
        .with("first_touch", first_touch))
}

/// Lifetime value's numbers over `per_person` (one row per person and group: their revenue and
/// orders), after `q`'s grouping columns.
pub(super) fn lifetime_measures(q: Select) -> Select {
    q.item(func("count", []).alias("total_purchasing_users"))
        .item(func("sum", [col("person_revenue")]).alias("total_revenue"))
        .item((func("sum", [col("person_revenue")]) / func("count", [])).alias("avg_ltv"))
        .item(
            (Expr::Float(100.0) * func("countIf", [col("person_orders").ge(int(2))])
                / func("count", []))
            .alias("repeat_purchase_rate"),
        )
        .item((func("sum", [col("person_orders")]) / func("count", [])).alias("purchase_frequency"))
        .from(TableRef::cte("per_person"))
}

/// Whether [`history_purchases`] gives each order's id (and so reads the events).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderIds {
    No,
    Yes,
}

/// A query holding the CTEs of cohort and lifetime reports for every counted purchase of all
/// history with its
/// stitched person: `counted` (the purchases, deduplicated, with their columns), `identity`
/// (the links of the anonymous purchases' ids only) and `purchases` (person, ts, currency,
/// revenue, orders). Under `--use-rollups`, a per-buyer daily rollup gives `counted` (one row
/// per buyer and day, `orders` in it) and its anonymous ids narrow `identity`: no event is read.
/// With [`OrderIds::Yes`], each purchase also has its `event_id` and `key` (`time_order_key`),
/// read from the events (a rollup has no orders, only days).
pub(super) fn history_purchases(
    ctx: &Context,
    report: &str,
    ids: OrderIds,
) -> Result<Select, Error> {
    let rollup = match ids {
        OrderIds::No => super::rollups::history_purchases_from_rollup(ctx, report)?,
        OrderIds::Yes => None,
    };
    let (counted, identity, orders) = match rollup {
        Some((rows, anonymous_ids)) => (
            rows,
            ctx.identity_cte_among(anonymous_ids)?,
            path(["e", "orders"]),
        ),
        None => {
            let mut columns = vec![
                "user_id",
                "anonymous_id",
                "timestamp",
                "currency",
                "revenue",
            ];
            if ids == OrderIds::Yes {
                columns.push("event_id");
            }
            (
                counted_rows(
                    ctx,
                    report,
                    &["purchase"],
                    &columns,
                    Vec::new(),
                    Transactions::All,
                    false,
                )?,
                ctx.identity_cte_for(ctx.is_role(report, "purchase")?)?,
                int(1),
            )
        }
    };
    let mut purchases = Select::new()
        .item(ctx.person_key("e", "i").alias("person"))
        .item(path(["e", "timestamp"]).alias("ts"))
        .item(path(["e", "currency"]).alias("currency"))
        .item(path(["e", "revenue"]).alias("revenue"))
        .item(orders.alias("orders"));
    if ids == OrderIds::Yes {
        purchases = purchases
            .item(path(["e", "event_id"]).alias("event_id"))
            .item(
                super::orders::time_order_key(path(["e", "timestamp"]), path(["e", "event_id"]))
                    .alias("key"),
            );
    }
    let purchases = purchases.from(TableRef::cte("counted").aliased("e")).join(
        JoinKind::LeftAny,
        TableRef::cte("identity").aliased("i"),
        ctx.identity_join("e", "i"),
    );
    Ok(Select::new()
        .with("counted", counted)
        .with("identity", identity)
        .with("purchases", purchases))
}
