//! Customer acquisition cost and return on ad spend per channel: the journey seed's "load ad
//! spend from Facebook and Google Ads ... and combine with app activity ... to build a CAC
//! model", and the metrics list's "get the best return on your ad spend". Spend comes from the
//! `ad_spend` table the shop loads. Acquisition cost credits each new customer to their
//! acquisition channel (their first touch ever, as lifetime value by channel has it); return on
//! ad spend credits every order's revenue as the attribution report does, under its models.

use super::Report;
use super::ast::*;
use super::attribution::{
    Model, NO_CHANNEL, channel_columns, channel_key, credited_channels, then_by_channel,
};
use super::cohorts::{OrderIds, history_purchases, with_first_touch};
use super::context::{Context, DateRange, range_param};
use crate::error::Error;

/// The table spend is read from.
pub const SPEND_TABLE: &str = "ad_spend";

/// Per channel (campaign, source, medium) and currency, over the range:
/// - `spend`, `impressions`, `clicks`: the `ad_spend` rows of the range's days (a restated day
///   counts once: the latest load of a day, channel and currency wins);
/// - `new_customers`: stitched persons whose first counted purchase ever falls in the range,
///   acquired by the channel of their first touch ever (no touch: the empty channel, direct),
///   in each currency they paid in within the range;
/// - `cac` = spend / new customers (minor units; NULL without new customers);
/// - `new_customer_revenue`: those customers' counted revenue in the range, and `roas` =
///   that / spend (NULL without spend);
/// - `new_customer_lifetime_revenue`: their counted revenue ever (to now, after the range
///   too), and `ltv_to_cac` = that / spend, which is average lifetime value over CAC.
///
/// A channel appears when it had spend or acquired someone. Amounts stay in their currency
/// (`currency=base`: spend and revenue converted at each day's rate, one row per channel).
pub fn acquisition_cost(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "acquisition_cost";
    let spent = spend_by_channel(ctx, "acquisition-cost")?;
    let (params, _, _) = ctx.range_params(range)?;
    let zero = || int(0);
    let spend = Select::new()
        .item(col("channel"))
        .item(col("currency"))
        .item(col("spend"))
        .item(col("impressions"))
        .item(col("clicks"))
        .item(zero().alias("customers"))
        .item(zero().alias("revenue"))
        .item(zero().alias("lifetime_revenue"))
        .from(TableRef::cte("spend"));

    // New customers: one group per person over all their counted purchases (first purchase
    // ever, and every purchase marked in or out of the range), kept when the first is in it.
    let in_range = |ts: Expr| {
        ts.clone()
            .ge(range_param("range_start"))
            .and(ts.lt(range_param("range_end")))
    };
    let per_person = Select::new()
        .item(col("person"))
        .item(func("min", [col("ts")]).alias("first_ts"))
        .item(
            func(
                "groupArray",
                [Expr::Tuple(vec![
                    col("currency"),
                    col("revenue"),
                    in_range(col("ts")),
                ])],
            )
            .alias("buys"),
        )
        .from(TableRef::cte("purchases"))
        .group_by([col("person")])
        .having(in_range(col("first_ts")));
    let buy = |i: i64| func("tupleElement", [col("b"), int(i)]);
    let new_customers = Select::new()
        .item(col("person"))
        .item(buy(1).alias("currency"))
        .item(func("sumIf", [buy(2), buy(3)]).alias("range_revenue"))
        .item(func("sum", [buy(2)]).alias("lifetime_revenue"))
        .from(TableRef::subquery(per_person, "p"))
        .array_join(col("buys").alias("b"))
        .group_by([col("person"), col("currency")])
        // A customer in each currency they paid in within the range.
        .having(func("countIf", [buy(3)]).gt(int(0)));
    let touched = path(["t", "channel"]);
    let acquired = Select::new()
        .item(
            func(
                "if",
                [
                    touched.clone().eq(str_lit("")),
                    str_lit(NO_CHANNEL),
                    touched,
                ],
            )
            .alias("channel"),
        )
        .item(path(["n", "currency"]).alias("currency"))
        .item(zero().alias("spend"))
        .item(zero().alias("impressions"))
        .item(zero().alias("clicks"))
        .item(func("count", []).alias("customers"))
        .item(func("sum", [path(["n", "range_revenue"])]).alias("revenue"))
        .item(func("sum", [path(["n", "lifetime_revenue"])]).alias("lifetime_revenue"))
        .from(TableRef::cte("new_customers").aliased("n"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("first_touch").aliased("t"),
            path(["n", "person"]).eq(path(["t", "person"])),
        )
        .group_by([col("channel"), col("currency")]);

    let history = with_first_touch(ctx, NAME, history_purchases(ctx, NAME, OrderIds::No)?)?
        .with("new_customers", new_customers)
        .with("spend", spent);
    let per_spend = |x: Expr| x / func("nullIf", [col("spend"), int(0)]);
    let query = channel_columns(history)
        .item(col("currency"))
        .item(func("sum", [col("spend")]).alias("spend"))
        .item(func("sum", [col("impressions")]).alias("impressions"))
        .item(func("sum", [col("clicks")]).alias("clicks"))
        .item(func("sum", [col("customers")]).alias("new_customers"))
        .item((col("spend") / func("nullIf", [col("new_customers"), int(0)])).alias("cac"))
        .item(func("sum", [col("revenue")]).alias("new_customer_revenue"))
        .item(per_spend(col("new_customer_revenue")).alias("roas"))
        .item(func("sum", [col("lifetime_revenue")]).alias("new_customer_lifetime_revenue"))
        .item(per_spend(col("new_customer_lifetime_revenue")).alias("ltv_to_cac"))
        .from(TableRef::subquery(spend.union_all(acquired), "rows"))
        .group_by([col("channel"), col("currency")])
        .order_by(then_by_channel([
            asc(col("currency")),
            desc(col("spend")),
            desc(col("new_customers")),
        ]));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Return on ad spend per channel under an attribution model (GA4's and the ad platforms'
/// ROAS): per channel (campaign, source, medium) and currency over the range, `spend`,
/// `impressions` and `clicks` (as [`acquisition_cost`] reads them), `attributed_revenue` and
/// `attributed_orders` (the revenue and order shares the [`attribution`] report credits to the
/// channel under `model` and `window_days`), `roas` = attributed revenue / spend,
/// `cost_per_order` = spend / attributed orders and `cost_per_click` = spend / clicks (NULL
/// without a denominator). Unattributed orders (no touch in the window) credit no channel and
/// are left out; a channel appears when it had spend or was credited.
///
/// [`attribution`]: super::attribution::attribution
pub fn return_on_ad_spend(
    ctx: &Context,
    range: &DateRange,
    model: Model,
    window_days: u32,
) -> Result<Report, Error> {
    const NAME: &str = "return_on_ad_spend";
    let spent = spend_by_channel(ctx, "roas")?;
    let (credited, params) = credited_channels(ctx, NAME, range, model, window_days)?;
    let rows = Select::new()
        .item(col("channel"))
        .item(col("currency"))
        .item(int(0).alias("spend"))
        .item(int(0).alias("impressions"))
        .item(int(0).alias("clicks"))
        .item(col("revenue"))
        .item(col("orders").alias("order_share"))
        .from(TableRef::cte("channel_rows"))
        .filter(col("attributed"))
        .union_all(
            Select::new()
                .item(col("channel"))
                .item(col("currency"))
                .item(col("spend"))
                .item(col("impressions"))
                .item(col("clicks"))
                .item(int(0).alias("revenue"))
                .item(Expr::Float(0.0).alias("order_share"))
                .from(TableRef::cte("spend")),
        );
    let per = |x: &'static str, y: &'static str| col(x) / func("nullIf", [col(y), int(0)]);
    let query = channel_columns(credited.with("spend", spent))
        .item(col("currency"))
        .item(func("sum", [col("spend")]).alias("spend"))
        .item(func("sum", [col("impressions")]).alias("impressions"))
        .item(func("sum", [col("clicks")]).alias("clicks"))
        .item(func("sum", [col("revenue")]).alias("attributed_revenue"))
        .item(func("sum", [col("order_share")]).alias("attributed_orders"))
        .item(per("attributed_revenue", "spend").alias("roas"))
        .item(per("spend", "attributed_orders").alias("cost_per_order"))
        .item(per("spend", "clicks").alias("cost_per_click"))
        .from(TableRef::subquery(rows, "rows"))
        .group_by([col("channel"), col("currency")])
        .order_by(then_by_channel([
            asc(col("currency")),
            desc(col("spend")),
            desc(col("attributed_revenue")),
        ]));
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// The range's spend per channel ([`channel_key`]) and currency: `spend`, `impressions` and
/// `clicks` of the `ad_spend` rows of the range's days (the table's merged view: a restated
/// day's later load replaces the earlier), converted when the report is in the base currency.
/// `report` names the report in errors.
fn spend_by_channel(ctx: &Context, report: &str) -> Result<Select, Error> {
    let tz = ctx.tz_name();
    let spend_table = ctx.schema.table(SPEND_TABLE).ok_or_else(|| Error::Report {
        message: format!("report `{report}` needs the table `{SPEND_TABLE}`"),
        help: format!(
            "declare `{SPEND_TABLE}` (day Date, utm_campaign, utm_source, utm_medium, currency String, spend Int64, impressions UInt64, clicks UInt64) as the shipped schema does"
        ),
    })?;
    let dims = ["utm_campaign", "utm_source", "utm_medium"];
    for c in dims
        .iter()
        .chain(&["day", "currency", "spend", "impressions", "clicks"])
    {
        if spend_table.column(c).is_none() {
            return Err(Error::Report {
                message: format!("report `{report}` needs column `{c}` in table `{SPEND_TABLE}`"),
                help: "add it to the table, as the shipped schema has it".into(),
            });
        }
    }
    let day_of = |p: &'static str| func("toDate", [range_param(p), Expr::Str(tz.clone())]);
    // One row per day, channel and currency.
    let spend_rows = Select::new()
        .item(channel_key(dims.map(col)).alias("channel"))
        .item(col("currency"))
        .item(col("spend"))
        .item(col("impressions"))
        .item(col("clicks"))
        .from(ctx.table(SPEND_TABLE)?.final_())
        .filter(
            col("day")
                .ge(day_of("range_start"))
                .and(col("day").lt(day_of("range_end"))),
        );
    let spend_rows = super::money::lines_in_currency(
        ctx,
        spend_rows,
        &["channel", "currency", "spend", "impressions", "clicks"],
        &["spend"],
        func("toDateTime", [col("day"), Expr::Str(tz.clone())]),
    )?;
    Ok(Select::new()
        .item(col("channel"))
        .item(col("currency"))
        .item(func("sum", [col("spend")]).alias("spend"))
        .item(func("sum", [col("impressions")]).alias("impressions"))
        .item(func("sum", [col("clicks")]).alias("clicks"))
        .from(TableRef::subquery(spend_rows, "s"))
        .group_by([col("channel"), col("currency")]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(yaml: &str) -> crate::schema::Schema {
        crate::schema::from_source(&crate::diag::Source::new("t.yaml", yaml)).unwrap()
    }

    #[test]
    fn the_spend_table_must_be_declared_with_its_columns() {
        let none = schema(
            "tables:\n  - name: events\n    columns: [{name: a, type: String}]\n    order_by: a\n",
        );
        let err = acquisition_cost(&Context::new(&none, None).unwrap(), &DateRange::Days(30))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "report `acquisition-cost` needs the table `ad_spend`"
        );
        let partial = schema(
            "tables:\n  - name: ad_spend\n    columns: [{name: day, type: Date}, {name: utm_campaign, type: String}, {name: utm_source, type: String}, {name: utm_medium, type: String}, {name: currency, type: String}, {name: spend, type: Int64}]\n    order_by: day\n",
        );
        let err = acquisition_cost(&Context::new(&partial, None).unwrap(), &DateRange::Days(30))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "report `acquisition-cost` needs column `impressions` in table `ad_spend`"
        );
    }
}
