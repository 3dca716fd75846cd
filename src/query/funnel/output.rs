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
/// rest merged into 'Other'. One row per value holds every step's count and the delays' mean
/// and median as aggregate states (arrays, one element per step); the values are ranked, the
/// rows of a bucket merged element-wise, and each bucket unrolled into a row per step. Reads
/// `reached` once (a `top` CTE over it computed the whole funnel twice), and the cells are as
/// few as the values: ranking and merging a (value, step) row per cell through window
/// functions cost a sixth of the report (10M, 6 steps by country: 497 -> 413 ms).
fn breakdown_output(query: Select, n: i64, names: Vec<Expr>, timed: bool, limit: u32) -> Select {
    let delays = timed && n > 1;
    let mut cells = step_terms(Select::new(), n, delays).item(col("bd")).item(
        Expr::Array((0..n).map(|k| func("countIf", [reached_step(k)])).collect()).alias("counts"),
    );
    if delays {
        cells = cells
            .item(
                Expr::Array(
                    (1..n)
                        .map(|k| func("avgIfState", [delay(k), reached_step(k)]))
                        .collect(),
                )
                .alias("avg_states"),
            )
            .item(
                Expr::Array(
                    (1..n)
                        .map(|k| {
                            pfunc(
                                "quantileExactInclusiveIfState",
                                [Expr::Float(0.5)],
                                [delay(k), reached_step(k)],
                            )
                        })
                        .collect(),
                )
                .alias("median_states"),
            );
    }
    let cells = cells.from(TableRef::cte("reached")).group_by([col("bd")]);
    let first = |counts: &'static str| func("arrayElement", [col(counts), int(1)]);
    let mut columns = vec![col("bd"), col("counts")];
    if delays {
        columns.extend([col("avg_states"), col("median_states")]);
    }
    let ranked = Select::new()
        .items(columns.into_iter().map(SelectItem::from))
        .item(
            Expr::Over(Box::new(Window {
                func: func("dense_rank", []),
                partition_by: vec![],
                order_by: vec![desc(first("counts")), asc(col("bd"))],
                frame: None,
            }))
            .alias("bd_rank"),
        )
        .from(TableRef::cte("cells"));
    let mut buckets = Select::new()
        .item(
            func(
                "if",
                [
                    first("counts")
                        .gt(int(0))
                        .and(col("bd_rank").le(int(limit as i64))),
                    col("bd"),
                    str_lit("Other"),
                ],
            )
            .alias("breakdown"),
        )
        .item(func("sumForEach", [col("counts")]).alias("bucket_counts"));
    if delays {
        buckets = buckets
            .item(func("avgIfMergeForEach", [col("avg_states")]).alias("avgs"))
            .item(
                pfunc(
                    "quantileExactInclusiveIfMergeForEach",
                    [Expr::Float(0.5)],
                    [col("median_states")],
                )
                .alias("medians"),
            );
    }
    let buckets = buckets
        .from(TableRef::subquery(ranked, "ranked"))
        .group_by([col("breakdown")]);
    let at_step = |array: &'static str, index: Expr| func("arrayElement", [col(array), index]);
    let previous = func(
        "if",
        [
            col("step").eq(int(1)),
            col("count"),
            at_step("bucket_counts", col("step") - int(1)),
        ],
    );
    let after_first = |array: &'static str| {
        if delays {
            func(
                "if",
                [
                    col("step").eq(int(1)),
                    Expr::Float(0.0),
                    seconds(at_step(array, col("step") - int(1))),
                ],
            )
        } else if timed {
            Expr::Float(0.0)
        } else {
            Expr::Raw("NULL".into())
        }
    };
    let group = [col("breakdown"), col("step")];
    query
        .with("cells", cells)
        .with("buckets", buckets)
        .item(col("breakdown"))
        .item(col("step"))
        .item(func("arrayElement", [Expr::Array(names), col("step")]).alias("name"))
        .item(at_step("bucket_counts", col("step")).alias("count"))
        .item(pct(previous).alias("percentage"))
        .item(pct(first("bucket_counts")).alias("pct_of_first"))
        .item(after_first("avgs").alias("avg_seconds_from_previous"))
        .item(after_first("medians").alias("median_seconds_from_previous"))
        .from(TableRef::cte("buckets"))
        .array_join(func("range", [int(1), int(n + 1)]).alias("step"))
        .order_by(group.into_iter().map(asc))
}

/// Whether step k (0-based) was reached, and its delay after step k-1 in milliseconds (a
/// name each, as each is used by several aggregates: a smaller statement to build and print;
/// ClickHouse computes a repeated expression once either way). Delays are aggregated in
/// integer milliseconds and turned into seconds after: an integer sum is exact, so a mean
/// does not change with the engine's summation order.
fn step_terms(mut select: Select, n: i64, delays: bool) -> Select {
    for k in 0..n {
        select = select.with_expr(nth(&REACHED_STEP, k), col("level").ge(int(k + 1)));
    }
    if delays {
        for k in 1..n {
            select = select.with_expr(
                nth(&DELAY, k),
                func("arrayElement", [col("times"), int(k + 1)])
                    - func("arrayElement", [col("times"), int(k)]),
            );
        }
    }
    select
}

fn reached_step(k: i64) -> Expr {
    col(nth(&REACHED_STEP, k))
}

fn delay(k: i64) -> Expr {
    col(nth(&DELAY, k))
}

/// 0 of 0 (a step nobody reached after one nobody reached) is NaN: reported as 0.
fn pct(den: Expr) -> Expr {
    func(
        "ifNotFinite",
        [Expr::Float(100.0) * col("count") / den, Expr::Float(0.0)],
    )
}

/// Without a breakdown: one pass over `reached` computes every step's count, mean and median
/// as columns of a single row, which is then unrolled into a row per step. An ARRAY JOIN over
/// `reached` copied every person's times to each step first (10M: 6 steps 411 -> 375 ms,
/// with an exclusion 684 -> 606 ms).
fn totals_output(query: Select, n: i64, names: Vec<Expr>, timed: bool) -> Select {
    let mut totals = step_terms(Select::new(), n, timed);
    for k in 0..n {
        totals = totals.item(func("countIf", [reached_step(k)]).alias(nth(&COUNT, k)));
    }
    if timed {
        for k in 1..n {
            totals = totals
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
        .from(TableRef::subquery(totals, "totals"))
        .array_join(func("range", [int(1), int(n + 1)]).alias("step"))
        .order_by([asc(col("step"))])
}

/// Milliseconds to seconds.
fn seconds(ms: Expr) -> Expr {
    ms / Expr::Float(1000.0)
}
