//! Ordered funnels with exclusions as whole-array operations. Exclusions are judged per attempt,
//! so every step-0 event starts one, followed greedily: step k is the first step-k event after
//! step k-1, inside the start's window. Where this was a fold per start (O(events²) per person),
//! each step is now one pass over the person's sorted events (2.0 s → 0.8 s for four steps and
//! one exclusion at 10M events):
//! - `next_k[j]`: the first position at or after j with a step-k event, by filling positions
//!   backwards; `pos_k[i] = next_k[pos_{k-1}[i] + 1]` is then where the attempt from i reaches
//!   step k (0 when it does not, or outside the window);
//! - an attempt is excluded when the first exclusion event strictly later than its step a comes
//!   before its step b (or, without step b, inside the window); `same_time_end[j]`, the last
//!   position with event j's time, makes "strictly later" exact for equal timestamps, and
//!   `exclusion_after_x[j]` holds that event's time for every position, looked up once per
//!   attempt.

use super::{Funnel, LAMBDA_P, NEXT, POS, nth};
use crate::query::ast::*;

/// For each position of the sorted events, the nearest position at or after it whose event
/// satisfies `cond` (over `m`, its mask, and `j`, its position), else 0: the positions that
/// hold are kept and the rest filled backwards from the nearest one.
fn nearest_ahead(cond: Expr) -> Expr {
    func(
        "arrayReverseFill",
        [
            lambda(&["j"], col("j").gt(int(0))),
            func(
                "arrayMap",
                [
                    lambda(&["m", "j"], func("if", [cond, col("j"), int(0)])),
                    col("masks"),
                    func("arrayEnumerate", [col("masks")]),
                ],
            ),
        ],
    )
}

/// The first position at or after each position with a `bit` event.
fn next_with_bit(bit: i64) -> Expr {
    nearest_ahead(func("bitTest", [col("m"), int(bit)]))
}

fn at(array: impl Into<Name>, index: Expr) -> Expr {
    func("arrayElement", [col(array), index])
}

impl Funnel {
    /// The items of the `people` CTE after the sorted events: `pos_k` (where the attempt from each event reaches step k) and `clean` (whether
    /// no exclusion applies to it).
    pub(super) fn chain_items(&self, n: i64, end_ms: &Expr, window_ms: &Expr) -> Vec<SelectItem> {
        let mut items = Vec::new();
        let pos: Vec<Name> = (0..n).map(|k| nth(&POS, k)).collect();
        let next: Vec<Name> = (0..n).map(|k| nth(&NEXT, k)).collect();
        let count = func("length", [col("masks")]);
        items.push(
            func(
                "arrayMap",
                [
                    lambda(
                        &["t", "m", "j"],
                        func(
                            "if",
                            [
                                func("bitTest", [col("m"), int(0)])
                                    .and(col("t").lt(end_ms.clone())),
                                col("j"),
                                int(0),
                            ],
                        ),
                    ),
                    col("times_ms"),
                    col("masks"),
                    func("arrayEnumerate", [col("masks")]),
                ],
            )
            .alias(pos[0].clone()),
        );
        for k in 1..n as usize {
            items.push(next_with_bit(k as i64).alias(next[k].clone()));
            // The step-k event after the attempt's step k-1, if inside the start's window.
            let reach = at(next[k].clone(), col("p") + int(1));
            let ok = col("p")
                .gt(int(0))
                .and(col("p").lt(count.clone()))
                .and(reach.clone().gt(int(0)))
                .and(
                    (at("times_ms", reach.clone()) - at("times_ms", col("s")))
                        .le(window_ms.clone()),
                );
            items.push(
                func(
                    "arrayMap",
                    [
                        lambda(&["p", "s"], func("if", [ok, reach, int(0)])),
                        col(pos[k - 1].clone()),
                        col(pos[0].clone()),
                    ],
                )
                .alias(pos[k].clone()),
            );
        }
        // The last position sharing each event's time.
        items.push(
            nearest_ahead(
                col("j")
                    .eq(count.clone())
                    .or(at("times_ms", col("j") + int(1)).ne(at("times_ms", col("j")))),
            )
            .alias("same_time_end"),
        );
        // Per exclusion and position: the time of the first exclusion event strictly later
        // than that position's time (NONE when there is none), so each attempt then looks up
        // one value instead of walking index arrays (10M, one exclusion: 772 -> 692 ms).
        let none = int(i64::MAX);
        // The clean lambda's parameters: the `pos_k` arrays the exclusions name, then times.
        let mut steps: Vec<usize> = self
            .exclusions
            .iter()
            .flat_map(|e| [e.from_step, e.to_step])
            .collect();
        steps.sort_unstable();
        steps.dedup();
        let param = |step: usize| col(LAMBDA_P[steps.binary_search(&step).unwrap_or(0)]);
        let t = col(LAMBDA_P[steps.len()]);
        let mut excluded = Vec::new();
        for (x, e) in self.exclusions.iter().enumerate() {
            let from_here = Name::from(format!("exclusion_time_{x}"));
            let after = Name::from(format!("exclusion_after_{x}"));
            items.push(
                func(
                    "arrayReverseFill",
                    [
                        lambda(&["v"], col("v").lt(none.clone())),
                        func(
                            "arrayMap",
                            [
                                lambda(
                                    &["t", "m"],
                                    func(
                                        "if",
                                        [
                                            func("bitTest", [col("m"), int(32 + x as i64)]),
                                            col("t"),
                                            none.clone(),
                                        ],
                                    ),
                                ),
                                col("times_ms"),
                                col("masks"),
                            ],
                        ),
                    ],
                )
                .alias(from_here.clone()),
            );
            items.push(
                func(
                    "arrayMap",
                    [
                        lambda(
                            &["e"],
                            func(
                                "if",
                                [
                                    col("e").lt(count.clone()),
                                    at(from_here, col("e") + int(1)),
                                    none.clone(),
                                ],
                            ),
                        ),
                        col("same_time_end"),
                    ],
                )
                .alias(after.clone()),
            );
            let (a, b) = (param(e.from_step), param(e.to_step));
            let first = at(after, a.clone());
            excluded.push(a.gt(int(0)).and(func(
                "if",
                [
                    b.clone().gt(int(0)),
                    first.clone().lt(at("times_ms", b)),
                    (first - t.clone()).le(window_ms.clone()),
                ],
            )));
        }
        let any_excluded = excluded.into_iter().reduce(Expr::or).unwrap_or(int(0));
        let mut args = vec![lambda(
            &LAMBDA_P[..steps.len() + 1],
            Expr::Not(Box::new(any_excluded)),
        )];
        args.extend(steps.iter().map(|k| col(pos[*k].clone())));
        args.push(col("times_ms"));
        items.push(func("arrayMap", args).alias("clean"));
        // One pass over all the position arrays: how many steps each attempt reached.
        let params = &LAMBDA_P[..pos.len()];
        let reached = params
            .iter()
            .map(|p| col(*p).gt(int(0)))
            .reduce(|a, b| a + b)
            .unwrap_or(int(0));
        let mut args = vec![lambda(params, reached)];
        args.extend(pos.iter().map(|p| col(p.clone())));
        let steps = func("arrayMap", args);
        items.push(steps.alias("attempt_steps"));
        items
    }

    /// The items of the `reached` CTE after `person` and `bd`: the furthest step of a clean
    /// attempt (0 when an excluded attempt got further), and the times of the latest clean
    /// attempt that far.
    pub(super) fn chain_reached_items(n: i64) -> Vec<SelectItem> {
        let clean_steps = func(
            "arrayMap",
            [
                lambda(&["l", "c"], func("if", [col("c"), col("l"), int(0)])),
                col("attempt_steps"),
                col("clean"),
            ],
        );
        let times = (0..n)
            .map(|k| at("times_ms", at(nth(&POS, k), col("best"))))
            .collect();
        vec![
            func(
                "if",
                [
                    func("arrayMax", [clean_steps.clone()])
                        .ge(func("arrayMax", [col("attempt_steps")])),
                    func("arrayMax", [clean_steps]),
                    int(0),
                ],
            )
            .alias("level"),
            func(
                "arrayLastIndex",
                [
                    lambda(&["l", "c"], col("c").and(col("l").eq(col("level")))),
                    col("attempt_steps"),
                    col("clean"),
                ],
            )
            .alias("best"),
            Expr::Array(times).alias("times"),
        ]
    }
}
