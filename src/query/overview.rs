//! Store-health reports: the overview, cart abandonment and one user's journey.

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange, count_distinct, count_distinct_if};
use super::orders::{Transactions, counted_events, counted_rows};
use crate::error::Error;
use crate::sql::{Param, ParamValue};

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
    // Each order carries its items' total quantity (from `items`, the event's own array):
    // looking its items up in event_items by event_id, then joining them back to the orders,
    // cost a scan and a join (10M: 279 -> 257 ms).
    ctx.column(NAME, "items")?;
    let orders = counted_rows(
        ctx,
        NAME,
        &["purchase"],
        &["event_id", "transaction_id", "currency", "revenue"],
        vec![(
            "items_sold",
            func("arraySum", [path(["items", "quantity"])]),
        )],
        Transactions::InRange,
        true,
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
    // Every counted refund of these orders, whenever it happened.
    let refunds_of_orders = counted_rows(
        ctx,
        NAME,
        &["refund"],
        &["event_id", "currency", "revenue"],
        Vec::new(),
        Transactions::Of(order_txs),
        false,
    )?;
    let cart = ctx.column(NAME, "cart_id")?;
    let person = ctx.column(NAME, "person_id")?;
    let ts = ctx.column(NAME, "timestamp")?;
    let carts = Select::new()
        .item(count_distinct(cart.clone()).alias("carts"))
        .item(
            count_distinct_if(
                cart.clone(),
                cart.clone().not_in(Expr::Subquery(Box::new(
                    Select::new()
                        .item(cart.clone())
                        .from(ctx.events()?)
                        .filter(ctx.is_role(NAME, "purchase")?)
                        .filter(cart.clone().ne(str_lit(""))),
                ))),
            )
            .alias("abandoned"),
        )
        .from(ctx.events()?)
        .filter(ctx.is_role(NAME, "add_to_cart")?)
        .filter(ctx.in_range(ts.clone()))
        .filter(cart.ne(str_lit("")));
    // One aggregation by person over just the two event types: 3.5x faster at 10M events
    // than two uniqExact sets over every event plus an IN set of viewers.
    let viewed = ctx.is_role(NAME, "view_item")?;
    let added = ctx.is_role(NAME, "add_to_cart")?;
    let per_person = Select::new()
        .item(person.clone())
        .item(func("max", [viewed.clone()]).alias("viewed"))
        .item(func("max", [added.clone()]).alias("added"))
        .from(ctx.events()?)
        .filter(viewed.or(added))
        .filter(ctx.in_range(ts))
        .group_by([person]);
    let persons = Select::new()
        .item(func("countIf", [col("viewed")]).alias("viewers"))
        .item(func("countIf", [col("viewed").and(col("added"))]).alias("adders"))
        .from(TableRef::subquery(per_person, "p"));
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
                            Expr::Array(vec![Expr::Str((&ctx.schema.base_currency).into())]),
                            func("groupArray", [col("currency")]),
                        ],
                    )],
                )],
            )
            .alias("currency"),
        )
        .from(TableRef::subquery(
            Select::new()
                .item(col("currency"))
                .from(TableRef::cte("orders")),
            "o",
        ));
    let sum_by_currency = |from: &'static str, items: Vec<SelectItem>| -> TableRef {
        let mut q = Select::new().item(col("currency"));
        for i in items {
            q = q.item(i);
        }
        TableRef::subquery(
            q.from(TableRef::cte(from)).group_by([col("currency")]),
            Name::concat(from, "_totals"),
        )
    };
    let rate = |num: &'static str, den: &'static str| percent(col(num), col(den));
    let revenue = func("toInt64", [col("total_revenue")]);
    let query = Select::new()
        // Read three times below (totals, currencies, refunds of these orders): computed once,
        // 426 -> 346 ms at 10M events (when it was read four times).
        .with_once_as(
            once_names!("orders"),
            &[
                "event_id",
                "transaction_id",
                "currency",
                "revenue",
                "items_sold",
            ],
            orders,
        )
        .with("refunds", refunds)
        .with("order_refunds", refunds_of_orders)
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
        .item(ratio(revenue, col("total_orders")).alias("avg_order_value"))
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
                    func("sum", [col("items_sold")]).alias("items_sold"),
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
        .filter(ctx.in_range(ts.clone()))
        .filter(cart.clone().ne(str_lit("")));
    let completed = Select::new()
        .distinct()
        .item(cart.clone())
        .from(ctx.events()?)
        .filter(ctx.is_role(NAME, "purchase")?)
        .filter(cart.clone().in_(col("carts")));
    let added = ctx.is_role(NAME, "add_to_cart")?;
    let removed = ctx.is_role(NAME, "remove_from_cart")?;
    // The abandoned carts' add and remove events, each once (a redelivery is the same event),
    // with their items' prices, quantities and currencies read as subcolumns of `items`: one
    // scan of the events, where looking their items up in event_items by event_id took two
    // (10M: 155 -> 128 ms). An item without its own currency is priced in the event's.
    ctx.column(NAME, "items")?;
    let sign = func("if", [added.clone(), int(1), int(-1)]);
    let mut cart_events = Select::new()
        .item(sign.alias("sign"))
        .item(col("currency").alias("event_currency"))
        .item(path(["items", "price"]).alias("prices"))
        .item(path(["items", "quantity"]).alias("quantities"))
        .item(path(["items", "currency"]).alias("currencies"))
        .from(ctx.events()?)
        .filter(added.or(removed))
        .filter(cart.clone().in_(col("carts")))
        .filter(cart.not_in(col("completed")))
        .limit_by(int(1), vec![col("event_id")]);
    let currency = func(
        "if",
        [
            col("item_currency").ne(str_lit("")),
            col("item_currency"),
            col("event_currency"),
        ],
    );
    let line = col("sign") * func("toInt64", [col("price")]) * col("quantity");
    if ctx.converts() {
        cart_events = cart_events.item(ctx.rate_day(ts.clone()));
    }
    let lines = Select::new()
        .item(currency.alias("currency"))
        .from(TableRef::subquery(cart_events, "cart_events"))
        .array_join(col("prices").alias("price"))
        .array_join(col("quantities").alias("quantity"))
        .array_join(col("currencies").alias("item_currency"));
    let items = if ctx.converts() {
        // Each line converted at its event's day's rate, then summed.
        let each = lines
            .item(line.alias("line"))
            .item(col(super::money::RATE_DAY));
        Select::new()
            .item(col("currency"))
            .item(func("sum", [col("line")]).alias("abandoned_revenue"))
            .from(TableRef::subquery(
                super::money::converted(ctx, each, &["currency".into(), "line".into()], &["line"])?,
                "lines",
            ))
    } else {
        lines.item(func("sum", [line]).alias("abandoned_revenue"))
    }
    .group_by([col("currency")]);
    let counts = Select::new()
        .item(func("count", []).alias("total_carts"))
        .item(func("countIf", [col("cart_id").in_(col("completed"))]).alias("completed_carts"))
        .from(TableRef::cte("carts"));
    let rate = percent(
        col("total_carts") - col("completed_carts"),
        col("total_carts"),
    );
    let query = Select::new()
        // Read three times (completed, abandoned_items, cart_counts): computed once, 280-310 ->
        // 220-235 ms at 10M events. `completed` is read twice: once too, 176 -> 157 ms.
        .with_once_as(once_names!("carts"), &["cart_id"], carts)
        .with_once_as(once_names!("completed"), &["cart_id"], completed)
        .with("abandoned_items", items)
        .with("cart_counts", counts)
        .item(rate.alias("abandonment_rate"))
        .item((col("total_carts") - col("completed_carts")).alias("abandoned_carts"))
        .item(
            func(
                "ifNull",
                [
                    path(["a", "currency"]),
                    Expr::Str((&ctx.schema.base_currency).into()),
                ],
            )
            .alias("currency"),
        )
        .item(func("ifNull", [path(["a", "abandoned_revenue"]), int(0)]).alias("abandoned_revenue"))
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
/// `{item_id, item_name}` and ISO timestamps, like the seed API's user-journey. The person is
/// stitched as in every other report, so another user's events on a shared device are not in
/// it. `person_id` narrows the read to the user's own id and the anonymous ids linked to them
/// before the exact test. It is the events key's third column, after event type and day, so
/// the key alone still touches every (type, day) block; a projection ordered by person_id
/// (the shipped schema's `events_by_person`) makes it a lookup.
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
    ctx.column(NAME, "user_id")?;
    ctx.column(NAME, "anonymous_id")?;
    let candidates = Select::new().item(user.clone()).union_all(
        Select::new()
            .item(col("device"))
            .from(TableRef::cte("identity"))
            .filter(col("linked_user").eq(user.clone())),
    );
    // The two item fields as subcolumns: reading the whole `items` tuple array (13 fields)
    // cost a quarter of a journey.
    ctx.column(NAME, "items")?;
    let items = func(
        "arrayMap",
        [
            lambda(
                &["id", "name"],
                func(
                    "map",
                    [
                        str_lit("item_id"),
                        col("id"),
                        str_lit("item_name"),
                        col("name"),
                    ],
                ),
            ),
            path(["e", "items", "item_id"]),
            path(["e", "items", "item_name"]),
        ],
    );
    // Only the anonymous ids ever linked to this user can stitch to them: their identities
    // alone (the table's key starts with anonymous_id), not every link in the shop — about a
    // fifth off a journey at 10M events.
    // The map is keyed by the ids' hashes; the candidates need the ids themselves.
    let identity = ctx
        .identity_cte()?
        .item(func("any", [col("anonymous_id")]).alias("device"))
        .filter(
            col("anonymous_id").in_(Expr::Subquery(Box::new(
                Select::new()
                    .item(col("anonymous_id"))
                    .from(ctx.table("identities")?)
                    .filter(col("user_id").eq(user.clone())),
            ))),
        );
    let query = Select::new()
        .with("identity", identity)
        .item(ctx.event_column().alias("event_type"))
        .item(
            func(
                "formatDateTime",
                [ts.clone(), str_lit("%Y-%m-%dT%H:%i:%SZ"), str_lit("UTC")],
            )
            .alias("timestamp"),
        )
        .item(items.alias("items"))
        .item(ctx.column(NAME, "transaction_id")?)
        .item(ctx.column(NAME, "revenue")?)
        .item(ctx.column(NAME, "currency")?)
        .from(ctx.events()?.aliased("e"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("identity").aliased("i"),
            ctx.identity_join("e", "i"),
        )
        // PREWHERE, so the query condition cache learns these granules (see funnel steps).
        .prewhere(
            ctx.column(NAME, "person_id")?
                .in_(Expr::Subquery(Box::new(candidates))),
        )
        .filter(ctx.person("e", "i").eq(user))
        .order_by([asc(ts), asc(col("event_id"))])
        .limit_by(int(1), vec![col("event_id")]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}
