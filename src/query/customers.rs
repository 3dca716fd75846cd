//! New and returning customers per period: the commerce analytics module's Customers
//! dashboard ("New vs returning"). A customer is a stitched person with a counted purchase in
//! the period; they are new in the period of their first counted purchase ever (all history,
//! any currency) and returning in every later one, as Shopify's "new vs returning customers"
//! and GA4's new/returning split count them, on buyers instead of visitors.

use super::Report;
use super::ast::*;
use super::cohorts::{OrderIds, history_purchases};
use super::context::{Context, DateRange, range_param};
use super::reports::{Granularity, by_currency_then_date};
use crate::error::Error;

/// Per period of the range (`granularity`) and currency: `new_customers` and
/// `returning_customers` (persons with a counted purchase in that currency in the period,
/// split by whether their first counted purchase ever falls in the period),
/// `returning_customer_rate` (% of the period's customers who are returning), and each
/// group's `orders` and `revenue` (minor units). A person who paid in two currencies in a
/// period is a customer in both rows (`currency=base`: one row, counted once). Every period of
/// the range is present per currency that sold anything in it (zeros filled). Under
/// `--use-rollups` the per-buyer daily rollup stands in for the events, as for cohorts.
pub fn new_vs_returning(
    ctx: &Context,
    range: &DateRange,
    granularity: Granularity,
) -> Result<Report, Error> {
    const NAME: &str = "new_vs_returning";
    let (params, _, _) = ctx.range_params(range)?;
    let tz = ctx.tz_name();
    // By the hour, the purchases' own times: the per-buyer rollup keeps only their days.
    let events_only;
    let ctx = if granularity == Granularity::Hour && ctx.rollups {
        events_only = ctx.clone().with_rollups(false);
        &events_only
    } else {
        ctx
    };
    let history = history_purchases(ctx, NAME, OrderIds::No)?;
    let in_range = col("ts")
        .ge(range_param("range_start"))
        .and(col("ts").lt(range_param("range_end")));
    // One group per person over all their purchases (the identity join and the dedupe are
    // read once): the first purchase ever, and the purchases in the range to unroll.
    let per_person = Select::new()
        .item(col("person"))
        .item(func("min", [col("ts")]).alias("first_ts"))
        .item(
            func(
                "groupArrayIf",
                [
                    Expr::Tuple(vec![
                        col("ts"),
                        col("currency"),
                        col("revenue"),
                        col("orders"),
                    ]),
                    in_range,
                ],
            )
            .alias("buys"),
        )
        .from(TableRef::cte("purchases"))
        .group_by([col("person")])
        .having(func("notEmpty", [col("buys")]));
    let buy = |i: i64| func("tupleElement", [col("b"), int(i)]);
    let date = granularity.bucket(buy(1), &tz);
    // One row per period, currency and customer.
    let customers = Select::new()
        .item(date.alias("date"))
        .item(buy(2).alias("currency"))
        .item(col("person"))
        .item(
            granularity
                .bucket(col("first_ts"), &tz)
                .eq(col("date"))
                .alias("is_new"),
        )
        .item(func("sum", [buy(3)]).alias("revenue"))
        .item(func("sum", [buy(4)]).alias("orders"))
        .from(TableRef::subquery(per_person, "p"))
        .array_join(col("buys").alias("b"))
        .group_by([col("date"), col("currency"), col("person"), col("is_new")]);
    let returning = Expr::Not(Box::new(col("is_new")));
    let query = history
        .with("customers", customers)
        .item(col("date"))
        .item(col("currency"))
        .item(func("countIf", [col("is_new")]).alias("new_customers"))
        .item(func("countIf", [returning.clone()]).alias("returning_customers"))
        .item(
            percent(col("returning_customers"), func("count", [])).alias("returning_customer_rate"),
        )
        .item(func("sumIf", [col("orders"), col("is_new")]).alias("new_orders"))
        .item(func("sumIf", [col("orders"), returning.clone()]).alias("returning_orders"))
        .item(func("sumIf", [col("revenue"), col("is_new")]).alias("new_revenue"))
        .item(func("sumIf", [col("revenue"), returning]).alias("returning_revenue"))
        .from(TableRef::cte("customers"))
        .group_by([col("date"), col("currency")])
        .order_by(by_currency_then_date(granularity.range_fill(&tz)));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}
