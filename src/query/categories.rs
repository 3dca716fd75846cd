//! Revenue by product category: the metrics list's AOV "broken down by the types of product in
//! a cart", and which product mix drives high-value orders.

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange};
use super::orders::{Transactions, counted_rows};
use crate::error::Error;

/// Per product category and currency, over the counted purchases in the range:
///
/// - `orders`: orders with at least one line of the category; `revenue`: those orders' whole
///   revenue; `avg_order_value` = revenue / orders (the AOV of orders containing it);
///   `order_share`: % of all the currency's orders that contain it;
/// - `category_revenue`: price × quantity of the category's own lines; `quantity`: its units.
///
/// An order counts under every category it contains, so rows do not add up to the shop's
/// orders. An order's numbers are in its currency and a line's in its own (items may carry
/// their own): a row's order numbers and line numbers share the currency code, and a line in
/// another currency than its order appears under that currency. Orders without items appear
/// under no category; items without one under `''`.
pub fn revenue_by_category(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "revenue_by_category";
    let (params, _, _) = ctx.range_params(range)?;
    let orders = counted_rows(
        ctx,
        NAME,
        &["purchase"],
        &["event_id", "currency", "revenue"],
        Vec::new(),
        Transactions::InRange,
        true,
    )?;
    // The orders' lines, each once (an event stored twice is one order until merged).
    let lines = Select::new()
        .item(col("event_id"))
        .item(col("item_category").alias("category"))
        .item(col("currency"))
        .item((func("toInt64", [col("price")]) * col("quantity")).alias("line"))
        .item(col("quantity"))
        .from(ctx.table("event_items")?)
        .filter(ctx.is_role(NAME, "purchase")?)
        .filter(ctx.in_range(col("timestamp")))
        .filter(
            col("event_id").in_(Expr::Subquery(Box::new(
                Select::new()
                    .item(col("event_id"))
                    .from(TableRef::cte("orders")),
            ))),
        )
        .limit_by(int(1), vec![col("event_id"), col("item_index")]);
    // Each line converted at its day's rate when asked, as top-products does.
    let lines = super::money::lines_in_currency(
        ctx,
        lines,
        &["event_id", "category", "currency", "line", "quantity"],
        &["line"],
        col("timestamp"),
    )?;
    let order_categories = Select::new()
        .distinct()
        .item(col("event_id"))
        .item(col("category"))
        .from(TableRef::cte("lines"));
    let by_order = Select::new()
        .item(path(["c", "category"]).alias("category"))
        .item(path(["o", "currency"]).alias("currency"))
        .item(func("count", []).alias("orders"))
        .item(func("sum", [path(["o", "revenue"])]).alias("revenue"))
        .from(TableRef::cte("order_categories").aliased("c"))
        .join(
            JoinKind::Inner,
            TableRef::cte("orders").aliased("o"),
            path(["c", "event_id"]).eq(path(["o", "event_id"])),
        )
        .group_by([col("category"), col("currency")]);
    let by_line = Select::new()
        .item(col("category"))
        .item(col("currency"))
        .item(func("sum", [col("line")]).alias("category_revenue"))
        .item(func("sum", [col("quantity")]).alias("quantity"))
        .from(TableRef::cte("lines"))
        .group_by([col("category"), col("currency")]);
    let totals = Select::new()
        .item(col("currency"))
        .item(func("count", []).alias("all_orders"))
        .from(TableRef::cte("orders"))
        .group_by([col("currency")]);
    let query = Select::new()
        // Read three times (the lines' filter, the join, the totals): computed once.
        .with_once_as(
            once_names!("orders"),
            &["event_id", "currency", "revenue"],
            orders,
        )
        .with("lines", lines)
        .with("order_categories", order_categories)
        .with("by_order", by_order)
        .with("by_line", by_line)
        .with("totals", totals)
        .item(col("category"))
        .item(col("currency"))
        .item(func("toUInt64", [col("orders")]).alias("orders"))
        .item(func("toInt64", [col("revenue")]).alias("revenue"))
        .item(ratio(col("revenue"), col("orders")).alias("avg_order_value"))
        .item(percent(col("orders"), col("all_orders")).alias("order_share"))
        .item(func("toInt64", [col("category_revenue")]).alias("category_revenue"))
        .item(func("toUInt64", [col("quantity")]).alias("quantity"))
        .from(TableRef::cte("by_order"))
        .join_using(
            JoinKind::Full,
            TableRef::cte("by_line"),
            &["category", "currency"],
        )
        .join_using(JoinKind::Left, TableRef::cte("totals"), &["currency"])
        .order_by([
            asc(col("currency")),
            desc(col("revenue")),
            desc(col("category_revenue")),
            asc(col("category")),
        ]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// Lifetime value by the categories of each person's first order (the metrics list's "what
/// products drive repeat purchases"): per category and currency, the persons whose first
/// counted order ever (stitched across login; ties by event_id) contained the category, with
/// [`lifetime_value`](super::cohorts::lifetime_value)'s numbers over their orders in that
/// currency. A person counts under every category of their first order, so rows do not add up
/// to the shop; a first order without items, or items without a category, counts under `''`.
/// Reads the events (a rollup of sums per day does not know which order came first).
pub fn lifetime_value_by_first_category(ctx: &Context) -> Result<Report, Error> {
    const NAME: &str = "lifetime_value_by_first_category";
    let history = super::cohorts::history_purchases(ctx, NAME, super::cohorts::OrderIds::Yes)?;
    // Per person and currency, with the currency's first order; the person's first order is
    // the earliest of those (a window over the person's few rows), so the counted purchases
    // are computed once.
    let per_currency = Select::new()
        .item(col("person"))
        .item(col("currency"))
        .item(func("sum", [col("revenue")]).alias("person_revenue"))
        .item(func("count", []).alias("person_orders"))
        .item(func("argMin", [col("event_id"), col("key")]).alias("first_id"))
        .item(func("min", [col("key")]).alias("first_key"))
        .from(TableRef::cte("purchases"))
        .group_by([col("person"), col("currency")]);
    let first_order =
        func("argMin", [col("first_id"), col("first_key")]).over(vec![col("person")], Vec::new());
    // Every order's categories: a scan of the purchases' item lines, cheaper than building
    // the set of first orders again to narrow it.
    let order_categories = Select::new()
        .item(col("event_id"))
        .item(func("groupUniqArray", [col("item_category")]).alias("categories"))
        .from(ctx.table("event_items")?)
        .filter(ctx.is_role(NAME, "purchase")?)
        .group_by([col("event_id")]);
    let with_first = Select::new()
        .item(col("person"))
        .item(col("currency"))
        .item(col("person_revenue"))
        .item(col("person_orders"))
        .item(first_order.alias("first_order"))
        .from(TableRef::cte("per_currency"));
    let per_person = Select::new()
        .item(path(["p", "person"]).alias("person"))
        .item(path(["p", "currency"]).alias("currency"))
        .item(path(["p", "person_revenue"]).alias("person_revenue"))
        .item(path(["p", "person_orders"]).alias("person_orders"))
        .from(TableRef::cte("with_first").aliased("p"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("order_categories").aliased("c"),
            path(["p", "first_order"]).eq(path(["c", "event_id"])),
        )
        .array_join(
            func(
                "if",
                [
                    func("empty", [path(["c", "categories"])]),
                    Expr::Array(vec![str_lit("")]),
                    path(["c", "categories"]),
                ],
            )
            .alias("category"),
        );
    let query = history
        .with("per_currency", per_currency)
        .with("with_first", with_first)
        .with("order_categories", order_categories)
        .with("per_person", per_person.item(col("category")))
        .item(col("category"))
        .item(col("currency"));
    let query = super::cohorts::lifetime_measures(query)
        .group_by([col("category"), col("currency")])
        .order_by([
            asc(col("currency")),
            desc(col("total_revenue")),
            asc(col("category")),
        ]);
    Ok(Report {
        name: NAME.into(),
        query,
        params: Vec::new(),
    })
}
