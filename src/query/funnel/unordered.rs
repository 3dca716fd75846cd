//! Unordered funnels: from each step event in the range, how many different steps the person
//! does within its window (that event's time included); the person counts at the best start.
//!
//! Over the person's sorted events, the window of the event at i starts at
//! `same_time_start[i]` (the first event at its time), and step k is done in it when the first
//! step-k event from there (`next_k`, filled backwards) is no later than the window's end. A
//! few passes per step instead of filtering all events per start: the old form held
//! O(events²) values for a busy person (1.5 GB peak for four steps at 10M events, now 0.5 GB).

use super::chain::{Look, at, nearest, next_with_bit};
use super::{Funnel, NEXT, nth};
use crate::query::ast::*;

impl Funnel {
    /// The items of the `people` CTE after the sorted events: `same_time_start` and `next_k`
    /// for every step.
    pub(super) fn unordered_items(n: i64) -> Vec<SelectItem> {
        let mut items = vec![
            nearest(
                Look::Back,
                col("j")
                    .eq(int(1))
                    .or(at("times_ms", col("j") - int(1)).ne(at("times_ms", col("j")))),
            )
            .alias("same_time_start"),
        ];
        for k in 0..n {
            items.push(next_with_bit(k).alias(nth(&NEXT, k)));
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
        let from = at("same_time_start", col("j"));
        let done = (0..n)
            .map(|k| {
                let first = at(nth(&NEXT, k), from.clone());
                func(
                    "toUInt8",
                    [first
                        .clone()
                        .gt(int(0))
                        .and((at("times_ms", first) - col("t")).le(window_ms.clone()))],
                )
            })
            .reduce(|a, b| a + b)
            .unwrap_or(int(0));
        let per_start = func(
            "arrayMap",
            [
                lambda(
                    &["t", "m", "j"],
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
                func("arrayEnumerate", [col("masks")]),
            ],
        );
        vec![
            func("arrayMax", [func("arrayPushBack", [per_start, int(0)])]).alias("level"),
            func("emptyArrayInt64", []).alias("times"),
        ]
    }
}
