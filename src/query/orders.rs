//! Counted orders: purchases and refunds after the seed API's dedupe rule — an event repeating
//! a transaction_id within 24 hours of the last counted one is ignored; later repeats count
//! again. Exact redeliveries (same event_id) count once.

use super::ast::*;
use super::context::Context;
use crate::error::Error;

const DAY_MS: i64 = 86_400_000;

/// `SELECT event_id` of the counted events of `roles` whose transaction appears in the range.
/// Earlier history of those transactions is read too, so a repeat just inside the range is
/// recognised as one.
pub(crate) fn counted_ids(ctx: &Context, report: &str, roles: &[&str]) -> Result<Select, Error> {
    counted_ids_of(ctx, report, roles, Transactions::InRange)
}

/// Whose events [`counted_ids_of`] decides on.
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

/// Like [`counted_ids`], for the given transactions.
pub(crate) fn counted_ids_of(
    ctx: &Context,
    report: &str,
    roles: &[&str],
    transactions: Transactions,
) -> Result<Select, Error> {
    let mut names = Vec::new();
    for r in roles {
        names.extend_from_slice(ctx.role_events(report, r)?);
    }
    let types = super::context::names_tuple(&names);
    let ts = ctx.column(report, "timestamp")?;
    let tx = ctx.column(report, "transaction_id")?;
    let id = ctx.column(report, "event_id")?;
    let last = |acc: Expr| {
        func(
            "tupleElement",
            [func("arrayElement", [acc, int(-1)]), int(1)],
        )
    };
    let keep = func(
        "if",
        [
            func("empty", [col("acc")])
                .or((func("tupleElement", [col("x"), int(1)]) - last(col("acc"))).ge(int(DAY_MS))),
            func("arrayPushBack", [col("acc"), col("x")]),
            col("acc"),
        ],
    );
    let history = func(
        "arraySort",
        [
            lambda(&["x"], func("tupleElement", [col("x"), int(1)])),
            func(
                "groupArray",
                [Expr::Tuple(vec![
                    func("toUnixTimestamp64Milli", [ts.clone()]),
                    id,
                ])],
            ),
        ],
    );
    let empty = func(
        "CAST",
        [Expr::Array(vec![]), Expr::Str(ctx.counted_acc_type.clone())],
    );
    let kept = func("arrayFold", [lambda(&["acc", "x"], keep), history, empty]);
    let mut q = Select::new()
        .item(func("tupleElement", [func("arrayJoin", [kept]), int(2)]).alias("event_id"))
        .from(ctx.events()?)
        .filter(ctx.event_column().in_(types.clone()));
    match transactions {
        Transactions::InRange => {
            let in_range_txs = Select::new()
                .item(tx.clone())
                .from(ctx.events()?)
                .filter(ctx.event_column().in_(types))
                .filter(ctx.in_range(ts));
            q = q.filter(tx.clone().in_(Expr::Subquery(Box::new(in_range_txs))));
        }
        Transactions::Of(set) => q = q.filter(tx.clone().in_(set)),
        Transactions::All => {}
    }
    Ok(q.group_by([ctx.event_column(), tx]))
}

/// The counted events of `roles` in the range, one row each, with the given columns.
pub(crate) fn counted_events(
    ctx: &Context,
    report: &str,
    roles: &[&str],
    columns: &[&'static str],
) -> Result<Select, Error> {
    counted_events_in(ctx, report, roles, columns, "counted", true)
}

/// Counted events whose ids are in the CTE `counted`, optionally limited to the range.
pub(crate) fn counted_events_in(
    ctx: &Context,
    report: &str,
    roles: &[&str],
    columns: &[&'static str],
    counted: &str,
    only_in_range: bool,
) -> Result<Select, Error> {
    let mut is_role = Vec::new();
    for r in roles {
        is_role.push(ctx.is_role(report, r)?);
    }
    let mut q = Select::new();
    for c in columns {
        q = q.item(ctx.column(report, c)?);
    }
    let is_role = is_role
        .into_iter()
        .reduce(|a, b| a.or(b))
        .unwrap_or(Expr::Int(0));
    let mut q = q.from(ctx.events()?).filter(is_role);
    if only_in_range {
        q = q.filter(ctx.in_range(ctx.column(report, "timestamp")?));
    }
    Ok(q.filter(col("event_id").in_(col(counted.to_string())))
        .limit_by(int(1), vec![col("event_id")]))
}
