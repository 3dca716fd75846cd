//! The funnel's rows from `reached` (per person: `level`, the furthest step reached, and
//! `times`, the milliseconds of each step of the attempt that got there): per step, the
//! persons who reached it, percentages of the previous and of the first step, and the mean
//! and median seconds from the previous step (NULL for unordered funnels, which have no
//! order between steps).

use super::{AVG, COUNT, DELAY, Funnel, FunnelMode, MEDIAN, REACHED_STEP, nth};
use crate::query::ast::*;

impl Funnel {
    /// `query` (the CTEs up to `reached`) completed with the report's rows, per breakdown
    /// value when there is one.
    pub(super) fn output(&self, query: Select, n: i64) -> Select {
        let names: Vec<Expr> = self.steps.iter().map(|s| Expr::Str(s.label())).collect();
        let timed = self.mode != FunnelMode::Unordered;
        match &self.breakdown {
            None => totals_output(query, n, names, timed),
            Some((_, limit)) => breakdown_output(query, n, names, timed, *limit),
        }
    }
}

/// Per breakdown value: the top `limit` values are those with the most persons at step 1, the
/// rest merged into 'Other'. Ranking the (value, step) cells, with the times kept as aggregate
/// states, then merging reads `reached` once: a `top` CTE over `reached` computed the whole
/// funnel twice (2x the time).
fn breakdown_output(query: Select, n: i64, names: Vec<Expr>, timed: bool, limit: u32) -> Select {
    let group = [col("breakdown"), col("step")];
    let partition = vec![col("breakdown")];
    let count = func("countIf", [col("level").ge(col("step"))]);
    // Delays are aggregated in integer milliseconds and turned into seconds after: an
    // integer sum is exact, so a mean does not change with the engine's summation order.
    let delta = func("arrayElement", [col("times"), col("step")])
        - func("arrayElement", [col("times"), col("step") - int(1)]);
    let has_prev = col("level").ge(col("step")).and(col("step").gt(int(1)));
    let whole = Some("ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING");
    // The windows and percentages read the `count` column by its alias (written once).
    let prev_count = Expr::Over(Box::new(Window {
        func: func("lagInFrame", [col("count"), int(1), col("count")]),
        partition_by: partition.clone(),
        order_by: vec![asc(col("step"))],
        frame: whole,
    }));
    let first_count = Expr::Over(Box::new(Window {
        func: func("first_value", [col("count")]),
        partition_by: partition,
        order_by: vec![asc(col("step"))],
        frame: whole,
    }));
    // 0 of 0 (a step nobody reached after one nobody reached) is NaN: reported as 0.
    let pct = |den: Expr| {
        func(
            "ifNotFinite",
            [Expr::Float(100.0) * col("count") / den, Expr::Float(0.0)],
        )
    };
    let after_first = |e: Expr| func("if", [col("step").eq(int(1)), Expr::Float(0.0), e]);
    let steps_join = || func("range", [int(1), int(n + 1)]).alias("step");
    let mut cells = Select::new()
        .item(col("bd"))
        .item(col("step"))
        .item(count.alias("count"));
    if timed {
        cells = cells
            .item(func("avgIfState", [delta.clone(), has_prev.clone()]).alias("avg_state"))
            .item(
                pfunc(
                    "quantileExactInclusiveIfState",
                    [Expr::Float(0.5)],
                    [delta, has_prev],
                )
                .alias("median_state"),
            );
    }
    let cells = cells
        .from(TableRef::cte("reached"))
        .array_join(steps_join())
        .group_by([col("bd"), col("step")]);
    let cell_columns = || {
        let mut c = vec![col("bd"), col("step"), col("count")];
        if timed {
            c.extend([col("avg_state"), col("median_state")]);
        }
        c
    };
    let with_first = Select::new()
        .items(cell_columns().into_iter().map(SelectItem::from))
        .item(
            Expr::Over(Box::new(Window {
                func: func("maxIf", [col("count"), col("step").eq(int(1))]),
                partition_by: vec![col("bd")],
                order_by: vec![],
                frame: None,
            }))
            .alias("first_count"),
        )
        .from(TableRef::cte("cells"));
    let ranked = Select::new()
        .items(cell_columns().into_iter().map(SelectItem::from))
        .item(col("first_count"))
        .item(
            Expr::Over(Box::new(Window {
                func: func("dense_rank", []),
                partition_by: vec![],
                order_by: vec![desc(col("first_count")), asc(col("bd"))],
                frame: None,
            }))
            .alias("bd_rank"),
        )
        .from(TableRef::Subquery {
            query: Box::new(with_first),
            alias: "cells_first".into(),
        });
    let (avg, median) = if timed {
        (
            after_first(seconds(func("avgIfMerge", [col("avg_state")]))),
            after_first(seconds(pfunc(
                "quantileExactInclusiveIfMerge",
                [Expr::Float(0.5)],
                [col("median_state")],
            ))),
        )
    } else {
        (Expr::Raw("NULL".into()), Expr::Raw("NULL".into()))
    };
    query
        .with("cells", cells)
        .with("ranked", ranked)
        .item(
            func(
                "if",
                [
                    col("first_count")
                        .gt(int(0))
                        .and(col("bd_rank").le(int(limit as i64))),
                    col("bd"),
                    str_lit("Other"),
                ],
            )
            .alias("breakdown"),
        )
        .item(col("step"))
        .item(func("arrayElement", [Expr::Array(names), col("step")]).alias("name"))
        .item(func("sum", [col("count")]).alias("count"))
        .item(pct(prev_count).alias("percentage"))
        .item(pct(first_count).alias("pct_of_first"))
        .item(avg.alias("avg_seconds_from_previous"))
        .item(median.alias("median_seconds_from_previous"))
        .from(TableRef::cte("ranked"))
        .group_by(group.clone())
        .order_by(group.into_iter().map(asc))
}

/// Without a breakdown: one pass over `reached` computes every step's count, mean and median
/// as columns of a single row, which is then unrolled into a row per step. An ARRAY JOIN over
/// `reached` copied every person's times to each step first (10M: 6 steps 411 -> 375 ms,
/// with an exclusion 684 -> 606 ms).
fn totals_output(query: Select, n: i64, names: Vec<Expr>, timed: bool) -> Select {
    // Whether step k (0-based) was reached, and its delay after step k-1 in milliseconds:
    // named once, as each is used by several aggregates (a smaller statement to build and
    // print; ClickHouse computes a repeated expression once either way).
    let reached_step = |k: i64| col(nth(&REACHED_STEP, k));
    let delay = |k: i64| col(nth(&DELAY, k));
    let mut totals = Select::new();
    for k in 0..n {
        totals = totals.with_expr(nth(&REACHED_STEP, k), col("level").ge(int(k + 1)));
    }
    for k in 0..n {
        totals = totals.item(func("countIf", [reached_step(k)]).alias(nth(&COUNT, k)));
    }
    if timed {
        for k in 1..n {
            totals = totals
                .with_expr(
                    nth(&DELAY, k),
                    func("arrayElement", [col("times"), int(k + 1)])
                        - func("arrayElement", [col("times"), int(k)]),
                )
                .item(func("avgIf", [delay(k), reached_step(k)]).alias(nth(&AVG, k)))
                .item(
                    pfunc(
                        "quantileExactInclusiveIf",
                        [Expr::Float(0.5)],
                        [delay(k), reached_step(k)],
                    )
                    .alias(nth(&MEDIAN, k)),
                );
        }
    }
    let totals = totals.from(TableRef::cte("reached"));
    let per_step = |family, first: Expr| {
        let mut values = vec![first];
        values.extend((1..n).map(|k| col(nth(family, k))));
        func("arrayElement", [Expr::Array(values), col("step")])
    };
    let counts = || Expr::Array((0..n).map(|k| col(nth(&COUNT, k))).collect());
    // 0 of 0 (a step nobody reached after one nobody reached) is NaN: reported as 0.
    let pct = |den: Expr| {
        func(
            "ifNotFinite",
            [Expr::Float(100.0) * col("count") / den, Expr::Float(0.0)],
        )
    };
    let previous = func(
        "if",
        [
            col("step").eq(int(1)),
            col("count"),
            func("arrayElement", [counts(), col("step") - int(1)]),
        ],
    );
    let (avg, median) = if timed {
        (
            seconds(per_step(&AVG, Expr::Float(0.0))),
            seconds(per_step(&MEDIAN, Expr::Float(0.0))),
        )
    } else {
        (Expr::Raw("NULL".into()), Expr::Raw("NULL".into()))
    };
    query
        .item(col("step"))
        .item(func("arrayElement", [Expr::Array(names), col("step")]).alias("name"))
        .item(func("arrayElement", [counts(), col("step")]).alias("count"))
        .item(pct(previous).alias("percentage"))
        .item(pct(col(nth(&COUNT, 0))).alias("pct_of_first"))
        .item(avg.alias("avg_seconds_from_previous"))
        .item(median.alias("median_seconds_from_previous"))
        .from(TableRef::Subquery {
            query: Box::new(totals),
            alias: "totals".into(),
        })
        .array_join(func("range", [int(1), int(n + 1)]).alias("step"))
        .order_by([asc(col("step"))])
}

/// Milliseconds to seconds.
fn seconds(ms: Expr) -> Expr {
    ms / Expr::Float(1000.0)
}
