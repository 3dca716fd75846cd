//! Traffic sources: the commerce analytics module's Marketing dashboard ("traffic sources,
//! campaign performance"). Sessions by where they came from, as GA4's session source / medium
//! reads it: the campaign's source and medium where the session's first event carries them,
//! else the referrer (search engines as organic, any other site as a referral), else direct.

use super::Report;
use super::ast::*;
use super::attribution::{channel_key, key_parts};
use super::context::{Context, DateRange, range_param, stitched_stored, stored_identity_join};
use super::orders::{counted_events, time_order_key};
use crate::error::Error;

/// Referrers counted as organic search (by the first significant part of their host, as
/// ClickHouse's `firstSignificantSubdomain` gives it: `google` for www.google.co.uk).
pub const SEARCH_ENGINES: [&str; 7] = [
    "google",
    "bing",
    "yahoo",
    "duckduckgo",
    "baidu",
    "yandex",
    "ecosia",
];

/// Social sites, by a label of the source (`facebook` in l.facebook.com), for the channel group.
pub const SOCIAL_SITES: [&str; 10] = [
    "facebook",
    "instagram",
    "twitter",
    "x",
    "linkedin",
    "pinterest",
    "tiktok",
    "reddit",
    "snapchat",
    "youtube",
];

/// GA4's default channel group of a session source and medium (as PostHog's channel type
/// also follows it), first rule that matches: Direct, Paid Search, Paid Social, Display, Paid
/// Other, Organic Social, Organic Search, Referral, Email, Affiliates, else Unassigned. Paid
/// media match `^(.*cp.*|ppc|retargeting|paid.*)$`; a search engine or social site is a
/// source with one of their names as a dot-separated label. Shopping, video, audio, SMS and
/// push groups need campaign names or site lists chx does not keep.
fn channel_group(source: Expr, medium: Expr) -> Expr {
    let labels = |names: &[&str]| str_lit(format!("(^|\\.)({})(\\.|$)", names.join("|")));
    let matches = |e: &Expr, pattern: Expr| func("match", [e.clone(), pattern]);
    let is_in = |e: &Expr, values: &[&'static str]| {
        e.clone()
            .in_(Expr::Tuple(values.iter().map(|v| str_lit(*v)).collect()))
    };
    let paid = matches(&medium, str_lit("^(.*cp.*|ppc|retargeting|paid.*)$"));
    let search = matches(&source, labels(&SEARCH_ENGINES));
    let social = matches(&source, labels(&SOCIAL_SITES));
    let email = ["email", "e-mail", "e_mail", "e mail"];
    func(
        "multiIf",
        [
            source
                .clone()
                .eq(str_lit("(direct)"))
                .and(is_in(&medium, &["(none)", "(not set)"])),
            str_lit("Direct"),
            search.clone().and(paid.clone()),
            str_lit("Paid Search"),
            social.clone().and(paid.clone()),
            str_lit("Paid Social"),
            is_in(
                &medium,
                &["display", "banner", "expandable", "interstitial", "cpm"],
            ),
            str_lit("Display"),
            paid,
            str_lit("Paid Other"),
            social.or(is_in(
                &medium,
                &[
                    "social",
                    "social-network",
                    "social-media",
                    "sm",
                    "social network",
                    "social media",
                ],
            )),
            str_lit("Organic Social"),
            search.or(medium.clone().eq(str_lit("organic"))),
            str_lit("Organic Search"),
            medium.clone().eq(str_lit("referral")),
            str_lit("Referral"),
            is_in(&source, &email).or(is_in(&medium, &email)),
            str_lit("Email"),
            medium.eq(str_lit("affiliate")),
            str_lit("Affiliates"),
            str_lit("Unassigned"),
        ],
    )
}

/// Per session source and medium over the range's sessions (events with a `session_id` in the
/// range, grouped by it; a session crossing the range's start counts with its events inside):
/// `sessions`, `visitors` (distinct stitched persons: the session's user, else its anonymous
/// id through the identity map), `pageviews` (page-view events), `pages_per_session`,
/// `bounce_rate` (% of sessions of one event), `converting_sessions` (with a counted purchase)
/// and `conversion_rate` (% of sessions), `orders` (counted purchases) and `revenue` (their
/// revenue per currency, a map; `currency=base`: one key). A session's source and medium come
/// from its first event (ties by event_id): `utm_source` / `utm_medium` when it carries a
/// campaign source or medium; else its referrer's host, `organic` for a search engine
/// (`SEARCH_ENGINES`, the source being the engine's name) or `referral` (the source being the
/// host without `www.`); else `(direct)` / `(none)`. Each row also has its GA4 default
/// `channel_group` (see `channel_group`). Rows by sessions, most first.
pub fn traffic_sources(ctx: &Context, range: &DateRange) -> Result<Report, Error> {
    const NAME: &str = "traffic_sources";
    let (params, _, _) = ctx.range_params(range)?;
    for c in [
        "session_id",
        "utm_source",
        "utm_medium",
        "referrer",
        "user_id",
        "anonymous_id",
    ] {
        ctx.check_column(NAME, c)?;
    }
    let ts = ctx.column(NAME, "timestamp")?;
    let in_range = ts
        .clone()
        .ge(range_param("range_start"))
        .and(ts.clone().lt(range_param("range_end")));
    // The first event's campaign source and medium and referrer as one string (an escaped
    // key: a tuple of three strings made the per-session argMin 40 % slower), the session's
    // origin computed from them once per session.
    let first = time_order_key(ts, ctx.column(NAME, "event_id")?);
    let origin = channel_key([col("utm_source"), col("utm_medium"), col("referrer")]);
    let sessions = Select::new()
        .item(col("session_id"))
        .item(func("argMin", [origin, first]).alias("origin"))
        .item(func("anyIf", [col("user_id"), col("user_id").ne(str_lit(""))]).alias("user"))
        .item(
            func(
                "anyIf",
                [col("anonymous_id"), col("anonymous_id").ne(str_lit(""))],
            )
            .alias("device"),
        )
        .item(func("countIf", [ctx.is_role(NAME, "page_view")?]).alias("pageviews"))
        .item(func("count", []).alias("events"))
        .from(ctx.events()?)
        .filter(in_range)
        .filter(col("session_id").ne(str_lit("")))
        .group_by([col("session_id")]);
    let (utm_source, utm_medium, referrer) = (col("o_source"), col("o_medium"), col("o_referrer"));
    let tagged = utm_source
        .clone()
        .ne(str_lit(""))
        .or(utm_medium.clone().ne(str_lit("")));
    let referred = referrer.clone().ne(str_lit(""));
    let engine = func("firstSignificantSubdomain", [referrer.clone()]);
    let search = engine.clone().in_(Expr::Tuple(
        SEARCH_ENGINES.iter().map(|e| str_lit(*e)).collect(),
    ));
    let source = func(
        "multiIf",
        [
            tagged.clone(),
            utm_source,
            search.clone(),
            engine,
            referred.clone(),
            func("domainWithoutWWW", [referrer]),
            str_lit("(direct)"),
        ],
    );
    let medium = func(
        "multiIf",
        [
            tagged,
            utm_medium,
            search,
            str_lit("organic"),
            referred,
            str_lit("referral"),
            str_lit("(none)"),
        ],
    );
    // Each session once, with its person as a stored id for the identity map.
    let stored = key_parts(
        Select::new().item(col("session_id")),
        col("origin"),
        ["o_source", "o_medium", "o_referrer"],
    )
    .item(source.alias("source"))
    .item(medium.alias("medium"))
    .item(
        func(
            "if",
            [col("user").ne(str_lit("")), col("user"), col("device")],
        )
        .alias("stored"),
    )
    .item(col("user").eq(str_lit("")).alias("anonymous"))
    .item(col("pageviews"))
    .item(col("events"))
    .from(TableRef::cte("sessions"));
    let orders = counted_events(
        ctx,
        NAME,
        &["purchase"],
        &["session_id", "currency", "revenue"],
    )?;
    let session_orders = Select::new()
        .item(col("session_id"))
        .item(func("count", []).alias("orders"))
        .item(
            func(
                "sumMap",
                [func(
                    "map",
                    [col("currency"), func("toInt64", [col("revenue")])],
                )],
            )
            .alias("revenue"),
        )
        .from(TableRef::cte("orders"))
        .filter(col("session_id").ne(str_lit("")))
        .group_by([col("session_id")]);
    let s = |c: &'static str| path(["s", c]);
    let o = |c: &'static str| path(["o", c]);
    let query = Select::new()
        .with("sessions", sessions)
        .with("session_rows", stored)
        .with("identity", ctx.identity_cte()?)
        .with("orders", orders)
        .with("session_orders", session_orders)
        .item(s("source").alias("source"))
        .item(s("medium").alias("medium"))
        .item(channel_group(col("source"), col("medium")).alias("channel_group"))
        .item(func("count", []).alias("sessions"))
        .item(func("uniqExact", [stitched_stored("s", "i")]).alias("visitors"))
        .item(func("sum", [s("pageviews")]).alias("pageviews"))
        .item(ratio(col("pageviews"), col("sessions")).alias("pages_per_session"))
        .item(
            percent(func("countIf", [s("events").eq(int(1))]), col("sessions"))
                .alias("bounce_rate"),
        )
        .item(func("countIf", [o("orders").gt(int(0))]).alias("converting_sessions"))
        .item(percent(col("converting_sessions"), col("sessions")).alias("conversion_rate"))
        .item(func("sum", [o("orders")]).alias("orders"))
        .item(func("sumMap", [o("revenue")]).alias("revenue"))
        .from(TableRef::cte("session_rows").aliased("s"))
        .join(
            JoinKind::LeftAny,
            TableRef::cte("identity").aliased("i"),
            stored_identity_join("s", "i"),
        )
        .join(
            JoinKind::LeftAny,
            TableRef::cte("session_orders").aliased("o"),
            s("session_id").eq(o("session_id")),
        )
        .group_by([col("source"), col("medium")])
        .order_by([
            desc(col("sessions")),
            asc(col("source")),
            asc(col("medium")),
        ]);
    Ok(Report {
        name: NAME.into(),
        query,
        params,
    })
}
