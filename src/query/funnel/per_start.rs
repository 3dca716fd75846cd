//! Strict, unordered and excluding funnels: every start event of a person followed greedily.

use super::{Funnel, FunnelMode};
use crate::query::ast::*;

impl Funnel {
    /// Every start event followed greedily; the person's level and times from their attempts.
    pub(super) fn per_start(&self, n: i64, end_ms: &Expr, window_ms: &Expr) -> Select {
        let ev_at = |i: Expr, field: i64| {
            func(
                "tupleElement",
                [func("arrayElement", [col("ev"), i]), int(field)],
            )
        };
        let x_ms = func("tupleElement", [col("x"), int(1)]);
        let x_mask = func("tupleElement", [col("x"), int(2)]);
        let t0 = ev_at(col("i"), 1);
        let in_window = (x_ms.clone() - t0.clone()).le(window_ms.clone());
        let later = func("arraySlice", [col("ev"), col("i") + int(1)]);
        let step_bits = Expr::Int((1i64 << n) - 1);
        let times_of = |a: Expr| func("tupleElement", [a, int(1)]);
        let (is_start, attempt) = match self.mode {
            FunnelMode::Ordered => {
                let len = func("length", [col("acc")]);
                let grow = len
                    .clone()
                    .lt(int(n))
                    .and(func("bitTest", [x_mask.clone(), len]))
                    .and(in_window.clone())
                    .and(x_ms.clone().ge(func("arrayElement", [col("acc"), int(-1)])));
                (
                    func("bitTest", [ev_at(col("i"), 2), int(0)]),
                    func(
                        "arrayFold",
                        [
                            lambda(
                                &["acc", "x"],
                                func(
                                    "if",
                                    [
                                        grow,
                                        func("arrayPushBack", [col("acc"), x_ms.clone()]),
                                        col("acc"),
                                    ],
                                ),
                            ),
                            later,
                            Expr::Array(vec![t0.clone()]),
                        ],
                    ),
                )
            }
            FunnelMode::Strict => {
                let times = func("tupleElement", [col("acc"), int(1)]);
                let len = func("length", [times.clone()]);
                let grow = func("tupleElement", [col("acc"), int(2)])
                    .and(len.clone().lt(int(n)))
                    .and(func("bitTest", [x_mask.clone(), len]))
                    .and(in_window.clone());
                let done = func("length", [times.clone()]).ge(int(n));
                (
                    func("bitTest", [ev_at(col("i"), 2), int(0)]),
                    times_of(func(
                        "arrayFold",
                        [
                            lambda(
                                &["acc", "x"],
                                func(
                                    "if",
                                    [
                                        grow,
                                        Expr::Tuple(vec![
                                            func("arrayPushBack", [times.clone(), x_ms.clone()]),
                                            int(1),
                                        ]),
                                        func(
                                            "if",
                                            [done, col("acc"), Expr::Tuple(vec![times, int(0)])],
                                        ),
                                    ],
                                ),
                            ),
                            later,
                            Expr::Tuple(vec![Expr::Array(vec![t0.clone()]), int(1)]),
                        ],
                    )),
                )
            }
            FunnelMode::Unordered => {
                // The steps done in [t0, t0 + window], as bits; "times" has one entry per step so
                // the level is its length (times between steps are not defined here).
                let union = func(
                    "arrayReduce",
                    [
                        str_lit("groupBitOr"),
                        func(
                            "arrayMap",
                            [
                                lambda(&["x"], func("bitAnd", [x_mask.clone(), step_bits.clone()])),
                                func(
                                    "arrayFilter",
                                    [
                                        lambda(
                                            &["x"],
                                            x_ms.clone().ge(t0.clone()).and(in_window.clone()),
                                        ),
                                        col("ev"),
                                    ],
                                ),
                            ],
                        ),
                    ],
                );
                (
                    func("bitAnd", [ev_at(col("i"), 2), step_bits.clone()]).ne(int(0)),
                    func(
                        "arrayResize",
                        [Expr::Array(vec![t0.clone()]), func("bitCount", [union])],
                    ),
                )
            }
        };
        // Exclusions: strictly after step a, and before step b or (without it) inside the window.
        let mut excluded = Vec::new();
        for (x, e) in self.exclusions.iter().enumerate() {
            let a = Expr::Int(e.from_step as i64 + 1);
            let b = Expr::Int(e.to_step as i64 + 1);
            let t = |i: Expr| func("arrayElement", [col("t"), i]);
            let cond = func("bitTest", [x_mask.clone(), Expr::Int(32 + x as i64)])
                .and(func("length", [col("t")]).ge(a.clone()))
                .and(x_ms.clone().gt(t(a)))
                .and(func(
                    "if",
                    [
                        func("length", [col("t")]).ge(b.clone()),
                        x_ms.clone().lt(t(b)),
                        (x_ms.clone() - t(Expr::Int(1))).le(window_ms.clone()),
                    ],
                ));
            excluded.push(func("arrayExists", [lambda(&["x"], cond), col("ev")]));
        }
        let clean = excluded
            .into_iter()
            .reduce(Expr::or)
            .map_or(Expr::Int(1), |e| func("not", [e]));
        let starts = func(
            "arrayFilter",
            [
                lambda(&["i"], is_start.and(t0.lt(end_ms.clone()))),
                func("arrayEnumerate", [col("ev")]),
            ],
        );
        // (times, clean) per start, oldest start first.
        let attempts = func(
            "arrayMap",
            [
                lambda(
                    &["i"],
                    func(
                        "arrayMap",
                        [
                            lambda(&["t"], Expr::Tuple(vec![col("t"), clean])),
                            Expr::Array(vec![attempt]),
                        ],
                    ),
                ),
                starts,
            ],
        );
        let flat = func("arrayFlatten", [attempts]);
        let len_of = |a: &'static str| func("length", [func("tupleElement", [col(a), int(1)])]);
        let max_all = func(
            "arrayMax",
            [func(
                "arrayMap",
                [
                    lambda(&["a"], len_of("a")),
                    func(
                        "arrayPushBack",
                        [
                            col("attempts"),
                            Expr::Tuple(vec![func("emptyArrayInt64", []), int(1)]),
                        ],
                    ),
                ],
            )],
        );
        let max_clean = func(
            "arrayMax",
            [func(
                "arrayMap",
                [
                    lambda(
                        &["a"],
                        func(
                            "if",
                            [
                                func("tupleElement", [col("a"), int(2)]),
                                len_of("a"),
                                int(0),
                            ],
                        ),
                    ),
                    func(
                        "arrayPushBack",
                        [
                            col("attempts"),
                            Expr::Tuple(vec![func("emptyArrayInt64", []), int(1)]),
                        ],
                    ),
                ],
            )],
        );
        let best = func(
            "arrayLast",
            [
                lambda(
                    &["a"],
                    func("tupleElement", [col("a"), int(2)]).and(len_of("a").eq(col("level"))),
                ),
                col("attempts"),
            ],
        );
        Select::new()
            .item(col("person"))
            .item(col("bd"))
            .item(flat.alias("attempts"))
            .item(func("if", [max_clean.clone().ge(max_all), max_clean, int(0)]).alias("level"))
            .item(func("tupleElement", [best, int(1)]).alias("times"))
            .from(TableRef::cte("people"))
    }
}
