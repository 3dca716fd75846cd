//! Unordered funnels: from each step event in the range, how many different steps the person
//! does within its window (that event's time included); the person counts at the best start.
//!
//! Over the person's sorted events, the window of the event at i starts at the first event at
//! its time, and step k is done in it when the first step-k event from there (`next_time_k`,
//! filled backwards, then taken from the first event of each time) is no later than the
//! window's end. A few passes per step instead of filtering all events per start: the old
//! form held O(events²) values for a busy person (1.5 GB peak for four steps at 10M events,
//! now 0.5 GB).

use super::{Funnel, NEXT_TIME, nth};
use crate::query::ast::*;

/// `reached`'s lambda parameters: the event's time and mask, then `next_time_k` per step.
static PARAMS: [&str; 32] = {
    let mut p = [""; 32];
    p[0] = "t";
    p[1] = "m";
    let mut k = 0;
    while k < 30 {
        p[k + 2] = NEXT_TIME[k];
        k += 1;
    }
    p
};

impl Funnel {
    /// The items of the `people` CTE after the sorted events: `group_start` (the first event
    /// of each time) and `next_time_k` for every step: the time of the first step-k event at
    /// or after the first event of this event's time (-1: none). Built by fills, not by
    /// indexing captured arrays, which copied them per element (17 % of a 10M funnel).
    pub(super) fn unordered_items(n: i64) -> Vec<SelectItem> {
        let mut items = vec![
            func(
                "arrayMap",
                [
                    lambda(&["t", "tp"], col("tp").ne(col("t"))),
                    col("times_ms"),
                    func("arrayShiftRight", [col("times_ms"), int(1)]),
                ],
            )
            .alias("group_start"),
        ];
        for k in 0..n {
            // The next step-k time at or after each position, filled backwards...
            let at_or_after = func(
                "arrayReverseFill",
                [
                    lambda(&["v"], col("v").ge(int(0))),
                    func(
                        "arrayMap",
                        [
                            lambda(
                                &["m", "t"],
                                func(
                                    "if",
                                    [func("bitTest", [col("m"), int(k)]), col("t"), int(-1)],
                                ),
                            ),
                            col("masks"),
                            col("times_ms"),
                        ],
                    ),
                ],
            );
            // ...then each time group takes its first position's value.
            items.push(
                func(
                    "arrayFill",
                    [
                        lambda(&["v", "s"], col("s")),
                        at_or_after,
                        col("group_start"),
                    ],
                )
                .alias(nth(&NEXT_TIME, k)),
            );
        }
        items
    }

    /// The items of the `reached` CTE after `person` and `bd`: `level`, and `times` (empty:
    /// there is no order to time).
    pub(super) fn unordered_reached_items(
        n: i64,
        end_ms: &Expr,
        window_ms: &Expr,
    ) -> Vec<SelectItem> {
        let step_bits = Expr::Int((1i64 << n) - 1);
        let done = (0..n)
            .map(|k| {
                let next = col(nth(&NEXT_TIME, k));
                func(
                    "toUInt8",
                    [next
                        .clone()
                        .ge(int(0))
                        .and((next - col("t")).le(window_ms.clone()))],
                )
            })
            .reduce(|a, b| a + b)
            .unwrap_or(int(0));
        let mut args = vec![
            lambda(
                &PARAMS[..n as usize + 2],
                func(
                    "if",
                    [
                        func("bitAnd", [col("m"), step_bits])
                            .ne(int(0))
                            .and(col("t").lt(end_ms.clone())),
                        done,
                        int(0),
                    ],
                ),
            ),
            col("times_ms"),
            col("masks"),
        ];
        args.extend((0..n).map(|k| col(nth(&NEXT_TIME, k))));
        let per_start = func("arrayMap", args);
        vec![
            func("arrayMax", [func("arrayPushBack", [per_start, int(0)])]).alias("level"),
            func("emptyArrayInt64", []).alias("times"),
        ]
    }
}
