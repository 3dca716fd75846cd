//! Counted orders: purchases and refunds after the seed API's dedupe rule — an event repeating
//! a transaction_id within 24 hours of the last counted one is ignored; later repeats count
//! again. Exact redeliveries (same event_id) count once.

use super::ast::*;
use super::context::Context;
use crate::error::Error;

const DAY_MS: i64 = 86_400_000;

/// The amount columns of purchases and refunds (minor units of the event's currency).
const MONEY: &[&str] = &["revenue", "discount", "shipping", "tax"];

/// Whose events [`counted_rows`] decides on.
pub(crate) enum Transactions {
    /// Transactions with an event of the roles in the range.
    InRange,
    /// The transactions this set names (e.g. the refunds of the orders in a range, whenever
    /// they happened).
    Of(Expr),
    /// Every transaction: no set to build and probe (all-history reports; 15 % of a lifetime
    /// value at 10M events went to an `IN` list of every purchase's transaction).
    All,
}

/// An event's place in time as one number: its epoch milliseconds shifted above the low 64
/// bits of its event_id (UInt128), so ties at one millisecond go to the event whose id ends
/// lower (ids are unique and their low 64 bits random in v4 and v7 UUIDs; ids that differ only
/// there, like sequential ones, order as wholes). `min`/`argMin` over it beat the same over a
/// (time, event_id) tuple, which is compared as a tuple (lifetime value by channel at 10M
/// events: 2.3 s -> 0.98 s, same rows), and over a UInt256 of the whole id (first touches
/// per stored person: 589 -> 507 ms).
pub(super) fn time_order_key(ts: Expr, event_id: Expr) -> Expr {
    func(
        "bitOr",
        [
            func(
                "bitShiftLeft",
                [
                    func("toUInt128", [func("toUnixTimestamp64Milli", [ts])]),
                    int(64),
                ],
            ),
            func(
                "toUInt128",
                [func("toUInt64", [func("toUInt128", [event_id])])],
            ),
        ],
    )
}

/// The counted events of `roles` in the range, one row each, with the given columns.
pub(crate) fn counted_events(
    ctx: &Context,
    report: &str,
    roles: &[&str],
    columns: &[&'static str],
) -> Result<Select, Error> {
    counted_rows(
        ctx,
        report,
        roles,
        columns,
        Vec::new(),
        Transactions::InRange,
        true,
    )
}

/// The counted events of `roles` among `transactions`, one row each with `columns` and the
/// `derived` values (an expression over the event's columns, named), limited to the range when
/// asked. The dedupe fold carries the columns, so nothing reads the events again by id (a
/// third scan, an `IN` set and a `LIMIT 1 BY`: 10M revenue series 54 -> 45 ms).
/// A transaction's events are sorted by (time, event_id), so which of two at one millisecond
/// counts does not depend on read order; its first event always counts and seeds the fold.
/// An event stored twice has one time, so its copy is within 24 hours and dropped.
pub(crate) fn counted_rows(
    ctx: &Context,
    report: &str,
    roles: &[&str],
    columns: &[&'static str],
    derived: Vec<(&'static str, Expr)>,
    transactions: Transactions,
    only_in_range: bool,
) -> Result<Select, Error> {
    let mut names = Vec::new();
    for r in roles {
        names.extend_from_slice(ctx.role_events(report, r)?);
    }
    let types = super::context::names_tuple(&names);
    let ts = ctx.column(report, "timestamp")?;
    let tx = ctx.column(report, "transaction_id")?;
    // Carried per event: (ms, event_id, the timestamp when the range or a column needs it,
    // the other columns...).
    let mut carried = vec![
        func("toUnixTimestamp64Milli", [ts.clone()]),
        ctx.column(report, "event_id")?,
    ];
    // In the base currency, amounts need their currency and day (for the rate) beside them.
    let convert = ctx.converts() && columns.iter().any(|c| MONEY.contains(c));
    if only_in_range || convert || columns.contains(&"timestamp") {
        carried.push(ts.clone());
    }
    let mut out = Vec::with_capacity(columns.len() + 2);
    // What the conversion passes through (every report build pays for none of this).
    let mut output: Vec<Name> = Vec::new();
    let currency_added = convert && !columns.contains(&"currency");
    if convert {
        output.extend(columns.iter().map(|c| Name::from(*c)));
        output.extend(derived.iter().map(|(n, _)| Name::from(*n)));
        out.push(ctx.rate_day(func("tupleElement", [col("ev"), int(3)])));
    }
    let added: &[&'static str] = if currency_added { &["currency"] } else { &[] };
    for c in columns.iter().chain(added) {
        let at = match *c {
            "event_id" => 2,
            "timestamp" => 3,
            _ => {
                carried.push(ctx.column(report, c)?);
                carried.len()
            }
        };
        out.push(func("tupleElement", [col("ev"), int(at as i64)]).alias(*c));
    }
    for (name, e) in derived {
        carried.push(e);
        out.push(func("tupleElement", [col("ev"), int(carried.len() as i64)]).alias(name));
    }
    let x = |i: i64| func("tupleElement", [col("x"), int(i)]);
    let history = func(
        "arraySort",
        [
            lambda(&["x"], Expr::Tuple(vec![x(1), x(2)])),
            func("groupArray", [Expr::Tuple(carried)]),
        ],
    );
    let last_ms = func(
        "tupleElement",
        [func("arrayElement", [col("acc"), int(-1)]), int(1)],
    );
    let keep = func(
        "if",
        [
            (x(1) - last_ms).ge(int(DAY_MS)),
            func("arrayPushBack", [col("acc"), col("x")]),
            col("acc"),
        ],
    );
    let kept = func(
        "arrayFold",
        [
            lambda(&["acc", "x"], keep),
            func("arrayPopFront", [col("tx_history")]),
            Expr::Array(vec![func("arrayElement", [col("tx_history"), int(1)])]),
        ],
    );
    let mut folded = Select::new()
        .with_expr("tx_history", history)
        .item(func("arrayJoin", [kept]).alias("ev"))
        .from(ctx.events()?)
        .filter(ctx.event_column().in_(types.clone()));
    match transactions {
        Transactions::InRange => {
            let in_range_txs = Select::new()
                .item(tx.clone())
                .from(ctx.events()?)
                .filter(ctx.event_column().in_(types))
                .filter(ctx.in_range(ts));
            folded = folded.filter(tx.clone().in_(Expr::Subquery(Box::new(in_range_txs))));
        }
        Transactions::Of(set) => folded = folded.filter(tx.clone().in_(set)),
        Transactions::All => {}
    }
    // Per event name when the roles have several; with one (the usual case) the filter fixes
    // it, and a single String key takes ClickHouse's faster string hash table (10M cohorts'
    // dedupe of all purchases: 87 -> 70 ms).
    let folded = if names.len() > 1 {
        folded.group_by([ctx.event_column(), tx])
    } else {
        folded.group_by([tx])
    };
    let q = Select::new()
        .items(out)
        .from(TableRef::subquery(folded, "folded"));
    let q = if only_in_range {
        q.filter(ctx.in_range(func("tupleElement", [col("ev"), int(3)])))
    } else {
        q
    };
    if convert {
        super::money::converted(ctx, q, &output, MONEY)
    } else {
        Ok(q)
    }
}
