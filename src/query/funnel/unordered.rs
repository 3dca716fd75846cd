//! Unordered funnels: from each step event in the range, how many different steps the person
//! does within its window (that event included); the person counts at the best start.
//! O(events²) per person, which is exact for this rule.

use super::Funnel;
use crate::query::ast::*;

impl Funnel {
    /// The items of the `reached` CTE after `person` and `bd`, from the sorted events `ev` of
    /// `people`: `level`, and `times` (empty: there is no order to time).
    pub(super) fn unordered_reached_items(
        n: i64,
        end_ms: &Expr,
        window_ms: &Expr,
    ) -> Vec<SelectItem> {
        let ms = |e: &'static str| func("tupleElement", [col(e), int(1)]);
        let step_bits = Expr::Int((1i64 << n) - 1);
        let steps_of = |e: &'static str| {
            func(
                "bitAnd",
                [func("tupleElement", [col(e), int(2)]), step_bits.clone()],
            )
        };
        let in_window = func(
            "arrayFilter",
            [
                lambda(
                    &["x"],
                    ms("x")
                        .ge(ms("s"))
                        .and((ms("x") - ms("s")).le(window_ms.clone())),
                ),
                col("ev"),
            ],
        );
        let done = func(
            "bitCount",
            [func(
                "arrayReduce",
                [
                    str_lit("groupBitOr"),
                    func("arrayMap", [lambda(&["x"], steps_of("x")), in_window]),
                ],
            )],
        );
        let per_start = func(
            "arrayMap",
            [
                lambda(
                    &["s"],
                    func(
                        "if",
                        [
                            steps_of("s").ne(int(0)).and(ms("s").lt(end_ms.clone())),
                            done,
                            int(0),
                        ],
                    ),
                ),
                col("ev"),
            ],
        );
        vec![
            func("arrayMax", [func("arrayPushBack", [per_start, int(0)])]).alias("level"),
            func("emptyArrayInt64", []).alias("times"),
        ]
    }
}
