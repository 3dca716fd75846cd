//! Ordered funnels with exclusions as whole-array operations. Exclusions are judged per attempt,
//! so every step-0 event starts one, followed greedily: step k is the first step-k event after
//! step k-1, inside the start's window.
//!
//! Each attempt's steps are found backwards, one pass per step, with no lookups by position:
//! `chain_k[j]` is what the chain continuing from a step-k event at position j needs, as an
//! array of values (the times of steps k+1.., and for each exclusion from one of those steps
//! the time of its first exclusion event after that step; `NONE` where the chain stops). It is
//! the next step-(k+1) event's own time and values followed by its `chain_{k+1}`, filled
//! backwards to every earlier position. `chain_0` then holds every attempt whole at its start.
//! Before, each step looked the next step's position up per attempt (`pos_k[i] =
//! next_k[pos_{k-1}[i] + 1]`, then its time): 10M, six steps and one exclusion, 558 -> 470 ms.
//!
//! An attempt is excluded when the first exclusion event strictly later than its step a comes
//! before its step b (or, without step b, inside the window). `exclusion_after_x[j]` is that
//! event's time for an event at position j: the first exclusion at a later position, taken
//! from the last position with j's time, so that "strictly later" is exact for equal times.

use super::{CHAIN, Funnel, LAMBDA_P, nth};
use crate::query::ast::*;

/// Where a chain holds nothing: the chain stopped before this step, or no exclusion follows.
/// Compared as `value <= t + window`, which it never is.
const NONE: i64 = i64::MAX;

/// One value of a chain array.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    /// The time of step m.
    Time(usize),
    /// Exclusion x's first event after its from-step.
    Exclusion(usize),
}

/// `slot`'s (1-based) index among `slots` (`chain_0`'s).
fn index_in(slots: &[Slot], slot: Slot) -> Expr {
    let i = slots.iter().position(|s| *s == slot);
    int(i.map_or(0, |i| i as i64 + 1))
}

fn at(array: impl Into<Name>, index: Expr) -> Expr {
    func("arrayElement", [col(array), index])
}

/// `array` shifted one position to the left (each position reads the next one's value), with
/// `last` at the end.
fn from_next(array: Expr, last: Expr) -> Expr {
    func("arrayPushBack", [func("arrayPopFront", [array]), last])
}

impl Funnel {
    /// The values of `chain_k`, in order: for each step after k, its time and then the
    /// exclusions that start at it.
    fn chain_slots(&self, k: usize, n: usize) -> Vec<Slot> {
        let mut slots = Vec::new();
        for m in k + 1..n {
            slots.push(Slot::Time(m));
            slots.extend(self.exclusions_from(m).map(Slot::Exclusion));
        }
        slots
    }

    /// The numbers of the exclusions that start at step `k`.
    fn exclusions_from(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        self.exclusions
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.from_step == k)
            .map(|(x, _)| x)
    }

    /// The items of the `people` CTE after the sorted events: the chains, `attempt_steps` (how
    /// many steps the attempt from each position reached; 0 where none starts) and `clean`
    /// (whether no exclusion applies to it).
    pub(super) fn chain_items(&self, n: i64, end_ms: &Expr, window_ms: &Expr) -> Vec<SelectItem> {
        let n = n as usize;
        let mut items = Vec::new();
        let none = || int(NONE);
        items.push(from_next(col("times_ms"), none()).alias("next_time"));
        for x in 0..self.exclusions.len() {
            let from_here = Name::from(format!("exclusion_time_{x}"));
            // The first exclusion event at or after each position.
            items.push(
                func(
                    "arrayReverseFill",
                    [
                        lambda(&["v"], col("v").lt(none())),
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
                                            none(),
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
            // After the position: read at the last position of each time, filled back.
            items.push(
                func(
                    "arrayReverseFill",
                    [
                        lambda(&["v", "t", "u"], col("t").ne(col("u"))),
                        from_next(col(from_here), none()),
                        col("times_ms"),
                        col("next_time"),
                    ],
                )
                .alias(format!("exclusion_after_{x}")),
            );
        }
        // The chains, last step first. Lambda parameters: p0 the time, p1 the mask, p2 the
        // next chain (but for the last), then the exclusions that start at step k+1.
        let (t, m, v) = (col(LAMBDA_P[0]), col(LAMBDA_P[1]), col(LAMBDA_P[2]));
        for k in (0..n - 1).rev() {
            let has_next = k + 1 < n - 1;
            let mut head = vec![t.clone()];
            let mut args = vec![col("times_ms"), col("masks")];
            if has_next {
                args.push(col(nth(&CHAIN, k as i64 + 1)));
            }
            for x in self.exclusions_from(k + 1) {
                head.push(col(LAMBDA_P[args.len()]));
                args.push(col(format!("exclusion_after_{x}")));
            }
            let value = if has_next {
                func("arrayConcat", [Expr::Array(head), v.clone()])
            } else {
                Expr::Array(head)
            };
            // Other positions hold [] until filled; the end holds a stopped chain.
            let marked = func(
                "if",
                [
                    func("bitTest", [m.clone(), int(k as i64 + 1)]),
                    value,
                    Expr::Array(vec![]),
                ],
            );
            let mut map = vec![lambda(&LAMBDA_P[..args.len()], marked)];
            map.extend(args);
            let stopped = Expr::Array(vec![none(); self.chain_slots(k, n).len()]);
            items.push(
                func(
                    "arrayReverseFill",
                    [
                        lambda(&["c"], func("notEmpty", [col("c")])),
                        from_next(func("arrayMap", map), stopped),
                    ],
                )
                .alias(nth(&CHAIN, k as i64)),
            );
        }
        let slots = self.chain_slots(0, n);
        // Whether the attempt starting at time `t` with chain `c` (lambda parameters of
        // these names) reached `step`.
        let reached = |t: &'static str, c: &'static str, step: usize| match step {
            0 => int(1),
            m => at(c, index_in(&slots, Slot::Time(m))).le(col(t) + window_ms.clone()),
        };
        let steps = (0..n)
            .map(|m| reached("t", "c", m))
            .reduce(|a, b| a + b)
            .unwrap_or(int(0));
        let start = func("bitTest", [col("m"), int(0)]).and(col("t").lt(end_ms.clone()));
        items.push(
            func(
                "arrayMap",
                [
                    lambda(&["t", "m", "c"], func("if", [start, steps, int(0)])),
                    col("times_ms"),
                    col("masks"),
                    col(nth(&CHAIN, 0)),
                ],
            )
            .alias("attempt_steps"),
        );
        // The clean lambda's parameters: p0 the time, p1 the chain, then the times after
        // the exclusions that start at step 0.
        let (t, c) = (LAMBDA_P[0], LAMBDA_P[1]);
        let mut args = vec![col("times_ms"), col(nth(&CHAIN, 0))];
        let mut excluded = Vec::new();
        for (x, e) in self.exclusions.iter().enumerate() {
            let first = if e.from_step == 0 {
                args.push(col(format!("exclusion_after_{x}")));
                col(LAMBDA_P[args.len() - 1])
            } else {
                at(c, index_in(&slots, Slot::Exclusion(x)))
            };
            let to = at(c, index_in(&slots, Slot::Time(e.to_step)));
            excluded.push(reached(t, c, e.from_step).and(func(
                "if",
                [
                    reached(t, c, e.to_step),
                    first.clone().lt(to),
                    first.le(col(t) + window_ms.clone()),
                ],
            )));
        }
        let any_excluded = excluded.into_iter().reduce(Expr::or).unwrap_or(int(0));
        args.insert(
            0,
            lambda(&LAMBDA_P[..args.len()], Expr::Not(Box::new(any_excluded))),
        );
        items.push(func("arrayMap", args).alias("clean"));
        items
    }

    /// The items of the `reached` CTE after `person` and `bd`: the furthest step of a clean
    /// attempt (0 when an excluded attempt got further), and the times of the latest clean
    /// attempt that far (0 for the steps it did not reach).
    pub(super) fn chain_reached_items(&self, n: i64) -> Vec<SelectItem> {
        let clean_steps = func(
            "arrayMap",
            [
                lambda(&["l", "c"], func("if", [col("c"), col("l"), int(0)])),
                col("attempt_steps"),
                col("clean"),
            ],
        );
        let slots = self.chain_slots(0, n as usize);
        let mut times = vec![at("times_ms", col("best"))];
        times.extend((1..n as usize).map(|m| {
            let time = func(
                "arrayElement",
                [
                    at(nth(&CHAIN, 0), col("best")),
                    index_in(&slots, Slot::Time(m)),
                ],
            );
            func("if", [col("level").gt(int(m as i64)), time, int(0)])
        }));
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
