//! Visit-to-order rate (the metrics stack's "combine Order Completed with page viewed"), for the
//! whole shop or broken down by marketing channel, product or product category, as the metrics
//! list asks. Visitors and purchasers are stitched persons, so an anonymous visitor who logs in
//! and buys is one visitor who ordered, not an anonymous visitor who never did plus a user.

use super::Report;
use super::ast::*;
use super::attribution::{NO_CHANNEL, channel_columns, channel_key, then_by_channel};
use super::context::{Context, DateRange, stitched_stored, stored_identity_join};
use super::orders::{counted_events, time_order_key};
use crate::error::Error;

/// What to break the visit-to-order rate down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitBreakdown {
    /// One row for the shop.
    None,
    /// Per visitor's channel in the range: the campaign, source and medium of their first
    /// event in the range carrying any (empty = none: direct). Rows partition the visitors.
    Channel,
    /// Per product: persons who viewed it (`view_item`) in the range, those of them who added
    /// it to a cart in the range, and those of them who bought it in a counted purchase in the
    /// range (the metrics stack's product view → add → purchase). A person counts under every
    /// product.
    Product,
    /// As `Product`, per `item_category`.
    Category,
}

/// `visitors` (persons with a page view in the range), `purchasers` (those of them with a
/// counted purchase in the range) and `visit_to_order_rate` (%), for the shop.
pub fn visit_to_order(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    visit_to_order_by(ctx, range, VisitBreakdown::None, super::reports::MAX_LIMIT)
}

/// Visit-to-order rate broken down by `by`; product and category rows are the `limit` with
/// the most visitors (ties by name).
pub fn visit_to_order_by(
    ctx: &Context,
    range: &DateRange,
    by: VisitBreakdown,
    limit: u32,
) -> Result<Report, Error> {
    match by {
        VisitBreakdown::None | VisitBreakdown::Channel => site(ctx, range, by),
        VisitBreakdown::Product => per_item(ctx, range, "item_id", limit),
        VisitBreakdown::Category => per_item(ctx, range, "item_category", limit),
    }
}

/// `select` over `rows` (aliased `s`: `stored`, a person_id, and `anonymous`) joined to the
/// identity map, so `stitched_stored("s", "i")` is each row's person.
fn joined_to_identity(select: Select, rows: TableRef) -> Select {
    select.from(rows.aliased("s")).join(
        JoinKind::LeftAny,
        TableRef::cte("identity").aliased("i"),
        stored_identity_join("s", "i"),
    )
}

fn rate() -> Expr {
    percent(col("purchasers"), col("visitors"))
}

/// The shop's rate, or per channel: one scan of the range's page views (and campaign-tagged
/// events for channels) and counted purchases, each row stitched and grouped by person. Per
/// channel the rows are grouped by stored person first, so each row's channel string passes
/// the join once per stored person (10M: 302 ms against 318 with a join per row); without
/// channels a join per row beats grouping twice (164 -> 143 ms).
fn site(ctx: &Context, range: &DateRange, by: VisitBreakdown) -> Result<Report, Error> {
    const NAME: &str = "visit_to_order";
    let (params, _, _) = ctx.range_params(range)?;
    let ts = ctx.column(NAME, "timestamp")?;
    let person = ctx.column(NAME, "person_id")?;
    ctx.column(NAME, "user_id")?;
    ctx.column(NAME, "anonymous_id")?;
    let viewed = ctx.is_role(NAME, "page_view")?;
    let channels = by == VisitBreakdown::Channel;
    let dims = ["utm_campaign", "utm_source", "utm_medium"];
    let mut visits = Select::new()
        .item(person.alias("stored"))
        .item(col("user_id").eq(str_lit("")).alias("anonymous"))
        .item(viewed.clone().alias("visited"))
        .item(int(0).alias("bought"));
    let mut bought = Select::new()
        .item(col("person_id").alias("stored"))
        .item(col("user_id").eq(str_lit("")).alias("anonymous"))
        .item(int(0).alias("visited"))
        .item(int(1).alias("bought"));
    let mut wanted = viewed;
    if channels {
        let mut tagged = Vec::with_capacity(3);
        for d in dims {
            ctx.check_column(NAME, d)?;
            tagged.push(col(d).ne(str_lit("")));
        }
        let tagged = tagged.into_iter().reduce(Expr::or).expect("three columns");
        // The first touch by `time_order_key`; an untagged row sorts after every touch.
        let key = time_order_key(ts.clone(), ctx.column(NAME, "event_id")?);
        let none = str_lit(NO_CHANNEL);
        visits = visits
            .item(func("if", [tagged.clone(), key, untouched()]).alias("touch"))
            .item(
                func(
                    "if",
                    [tagged.clone(), channel_key(dims.map(col)), none.clone()],
                )
                .alias("channel"),
            );
        bought = bought
            .item(untouched().alias("touch"))
            .item(none.alias("channel"));
        wanted = wanted.or(tagged);
    }
    let visits = visits
        .from(ctx.events()?)
        .filter(ctx.in_range(ts))
        .filter(wanted)
        .union_all(bought.from(TableRef::cte("buyers")));
    let mut persons = Select::new()
        .item(stitched_stored("s", "i").alias("person"))
        .item(func("max", [path(["s", "visited"])]).alias("visited"))
        .item(func("max", [path(["s", "bought"])]).alias("bought"));
    let mut query = Select::new()
        .with(
            "buyers",
            counted_events(
                ctx,
                NAME,
                &["purchase"],
                &["event_id", "person_id", "user_id"],
            )?,
        )
        .with("identity", ctx.identity_cte()?);
    let rows = if channels {
        let stored = Select::new()
            .item(col("stored"))
            .item(col("anonymous"))
            .item(func("max", [col("visited")]).alias("visited"))
            .item(func("max", [col("bought")]).alias("bought"))
            .item(func("argMin", [col("channel"), col("touch")]).alias("channel"))
            .item(func("min", [col("touch")]).alias("first"))
            .from(TableRef::subquery(visits, "v"))
            .group_by([col("stored"), col("anonymous")]);
        persons = persons
            .item(func("argMin", [path(["s", "channel"]), path(["s", "first"])]).alias("channel"));
        query = query.with("stored", stored);
        TableRef::cte("stored")
    } else {
        TableRef::subquery(visits, "s")
    };
    let persons = joined_to_identity(persons, rows).group_by([col("person")]);
    let mut query = query.with("persons", persons);
    if channels {
        query = channel_columns(query);
    }
    query = query
        .item(func("count", []).alias("visitors"))
        .item(func("countIf", [col("bought")]).alias("purchasers"))
        .item(rate().alias("visit_to_order_rate"))
        .from(TableRef::cte("persons"))
        .filter(col("visited"));
    if channels {
        query = query
            .group_by([col("channel")])
            .order_by(then_by_channel([desc(col("visitors"))]));
    }
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}

/// The key of a row that is not a touch: 2^127, after every `time_order_key` (ms < 2^63).
fn untouched() -> Expr {
    func("bitShiftLeft", [func("toUInt128", [int(1)]), int(127)])
}

/// Per product or category: item rows of the range's views, add-to-carts and counted
/// purchases, each stitched and grouped by item and person (10M, per product: 361 -> 277 ms
/// against grouping by item and stored person first and then again by person).
fn per_item(
    ctx: &Context,
    range: &DateRange,
    item: &'static str,
    limit: u32,
) -> Result<Report, Error> {
    let name = if item == "item_id" {
        "visit_to_order_by_product"
    } else {
        "visit_to_order_by_category"
    };
    let (limit, limit_param) = super::reports::list_limit(limit)?;
    let (mut params, _, _) = ctx.range_params(range)?;
    params.push(limit_param);
    let items = ctx.table("event_items")?;
    let viewed = ctx.is_role(name, "view_item")?;
    let purchased = ctx.is_role(name, "purchase")?;
    let added = ctx.is_role(name, "add_to_cart")?;
    let named = item == "item_id";
    let mut rows = Select::new()
        .item(col(item).alias("item"))
        .item(col("person_id").alias("stored"))
        .item(col("user_id").eq(str_lit("")).alias("anonymous"))
        .item(viewed.clone().alias("visited"))
        .item(added.clone().alias("added"))
        .item(purchased.clone().alias("bought"));
    let mut persons = Select::new()
        .item(path(["s", "item"]).alias("item"))
        .item(stitched_stored("s", "i").alias("person"))
        .item(func("max", [path(["s", "visited"])]).alias("visited"))
        .item(func("max", [path(["s", "added"])]).alias("added"))
        .item(func("max", [path(["s", "bought"])]).alias("bought"));
    let mut query = Select::new()
        .with(
            "counted",
            counted_events(ctx, name, &["purchase"], &["event_id"])?,
        )
        .with("identity", ctx.identity_cte()?);
    if named {
        // The product's latest non-empty name, with its time, per person and then per item.
        rows = rows.item(col("item_name")).item(col("timestamp"));
        let has_name = path(["s", "item_name"]).ne(str_lit(""));
        persons = persons
            .item(
                func(
                    "argMaxIf",
                    [
                        path(["s", "item_name"]),
                        path(["s", "timestamp"]),
                        has_name.clone(),
                    ],
                )
                .alias("name"),
            )
            .item(func("maxIf", [path(["s", "timestamp"]), has_name]).alias("named_at"));
    }
    let rows = rows
        .from(items)
        .filter(ctx.in_range(col("timestamp")))
        .filter(
            viewed
                .or(added)
                .or(purchased.and(col("event_id").in_(col("counted")))),
        );
    let persons = joined_to_identity(persons, TableRef::subquery(rows, "s"))
        .group_by([col("item"), col("person")]);
    query = query.with("persons", persons).item(col("item").alias(item));
    if named {
        query = query.item(func("argMax", [col("name"), col("named_at")]).alias("item_name"));
    }
    let query = query
        .item(func("countIf", [col("visited")]).alias("visitors"))
        .item(func("countIf", [col("visited").and(col("added"))]).alias("added_to_cart"))
        .item(func("countIf", [col("visited").and(col("bought"))]).alias("purchasers"))
        .item(rate().alias("visit_to_order_rate"))
        .from(TableRef::cte("persons"))
        .group_by([col("item")])
        .having(col("visitors").gt(int(0)))
        .order_by([desc(col("visitors")), asc(col(item))])
        .limit(limit);
    Ok(Report {
        name: name.into(),
        query,
        params,
    })
}
