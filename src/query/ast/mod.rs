//! chx's own SQL AST for the ClickHouse SELECTs reports need, rendered through `Display`:
//! compact with `{}`, one clause per line with `{:#}`. Values never appear in it as text: user
//! values are [`Expr::Param`] placeholders; the only literals are chx's own constants and
//! schema-derived names, written by the audited functions in [`crate::sql::quote`].

mod expr;
mod name;
mod select;
mod write;

pub use expr::*;
pub use name::Name;
pub use select::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_compact_and_pretty() {
        let q = Select::new()
            .item(col("day"))
            .item(func("sum", [col("revenue")]).alias("revenue"))
            .item(
                pfunc(
                    "windowFunnel",
                    [int(86400)],
                    [col("t"), col("a").eq(str_lit("x'y"))],
                )
                .alias("level"),
            )
            .from(TableRef::table(Some("shop".into()), "events"))
            .filter(col("event_type").eq(Expr::Param {
                name: "t".into(),
                ty: "String".into(),
            }))
            .filter(((col("a") + int(1)) * int(2)).gt(int(3)))
            .group_by([col("day")])
            .order_by([OrderItem {
                expr: col("day"),
                desc: false,
                fill: Some(Fill {
                    from: int(1),
                    to: int(3),
                    step: int(1),
                }),
            }]);
        assert_eq!(
            q.to_string(),
            "SELECT day, sum(revenue) AS revenue, windowFunnel(86400)(t, a = 'x\\'y') AS level FROM shop.events \
             WHERE event_type = {t:String} AND (a + 1) * 2 > 3 GROUP BY day ORDER BY day WITH FILL FROM 1 TO 3 STEP 1"
        );
        assert_eq!(
            format!("{q:#}"),
            "SELECT\n    day,\n    sum(revenue) AS revenue,\n    windowFunnel(86400)(t, a = 'x\\'y') AS level\nFROM shop.events\n\
             WHERE event_type = {t:String} AND (a + 1) * 2 > 3\nGROUP BY day\nORDER BY day WITH FILL FROM 1 TO 3 STEP 1"
        );
    }

    /// Building a report moves and frees a few hundred nodes: their sizes are what the
    /// compiler's ≤ 20 µs per report rests on (benches/compiler.rs), so a new variant that
    /// grows them should be a decision, not an accident.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn nodes_stay_small() {
        assert_eq!(std::mem::size_of::<Name>(), 16);
        assert_eq!(std::mem::size_of::<Expr>(), 48);
        assert_eq!(std::mem::size_of::<Select>(), 8);
    }

    #[test]
    fn parenthesizes_by_precedence() {
        let e = col("a") - (col("b") - col("c"));
        assert_eq!(e.to_string(), "a - (b - c)");
        let e = col("a").or(col("b")).and(col("c"));
        assert_eq!(e.to_string(), "(a OR b) AND c");
    }
}
