//! Reports in the base currency (`currency=base`). The seed API answers in one currency, and
//! some of its numbers cannot be made from per-currency rows afterwards: a person who paid in
//! two currencies is one purchasing user, and one cohort member.
//!
//! Each amount is converted at the latest rate on or before its day (in the report's time zone)
//! in `currency_rates`, then rounded to base minor units, half away from zero, before anything
//! adds it up: a ledger's conversion, so totals stay sums of integers and an order's converted
//! revenue is the same in every report. Rates are Decimal(38, 18) and the product is Decimal
//! (exact up to the rounding); an amount whose currency has no rate by its day fails the query
//! rather than counting as zero. Amounts already in the base currency need no rate.

use super::ast::*;
use super::context::Context;
use crate::error::Error;

/// Which currency a report's amounts are in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Currency {
    /// Each amount in its own currency, one row per currency (the default).
    #[default]
    Each,
    /// Every amount converted into the schema's base currency.
    Base,
}

/// The table rates are read from.
pub const RATES_TABLE: &str = "currency_rates";

/// The column [`converted`] expects beside the amounts: the day whose rate applies.
pub(crate) const RATE_DAY: &str = "rate_day";

/// The error an amount without a rate raises (ClickHouse's `throwIf` takes a constant).
pub const MISSING_RATE: &str = "chx: an amount's currency has no rate in currency_rates on or before its day; load its rates, or report per currency";

impl Context<'_> {
    /// Whether this context converts amounts into the base currency.
    pub(crate) fn converts(&self) -> bool {
        self.currency == Currency::Base
    }

    /// The day an instant's rate is looked up for, in the report's time zone, as [`RATE_DAY`].
    pub(crate) fn rate_day(&self, ts: Expr) -> SelectItem {
        func("toDate", [ts, Expr::Str(self.tz_name())]).alias(RATE_DAY)
    }
}

/// Decimal literal `toDecimal32('text', 4)`: exact, where a Float would not be.
fn decimal(text: impl Into<Name>) -> Expr {
    func("toDecimal32", [str_lit(text), int(4)])
}

/// Each currency's rates with the factor from its minor units to the base currency's:
/// `rate × 10^(base exponent − its exponent)` (USD base: JPY × 100, BHD × 0.1).
fn rates(ctx: &Context) -> Result<Select, Error> {
    let base = ctx
        .schema
        .currency_exponent(&ctx.schema.base_currency)
        .unwrap_or(2) as i32;
    // Currencies grouped by their shift, so the SQL names each exponent class once.
    let mut shifts: Vec<(i32, Vec<Expr>)> = Vec::new();
    for (code, exp) in &ctx.schema.currencies {
        let shift = base - *exp as i32;
        if shift == 0 {
            continue;
        }
        match shifts.iter_mut().find(|(s, _)| *s == shift) {
            Some((_, codes)) => codes.push(str_lit(code)),
            None => shifts.push((shift, vec![str_lit(code)])),
        }
    }
    shifts.sort_by_key(|(s, _)| *s);
    let multiplier = if shifts.is_empty() {
        decimal("1")
    } else {
        let mut branches = Vec::with_capacity(2 * shifts.len() + 1);
        for (shift, codes) in shifts {
            branches.push(col("currency").in_(Expr::Tuple(codes)));
            branches.push(decimal(power_of_ten(shift)));
        }
        branches.push(decimal("1"));
        func("multiIf", branches)
    };
    let missing = |what: String| Error::Report {
        message: format!("`currency=base` needs {what}"),
        help: format!(
            "declare `{RATES_TABLE}` (day Date, currency String, rate Decimal) as the shipped schema does, or report per currency"
        ),
    };
    let table = ctx.schema.table(RATES_TABLE).ok_or_else(|| {
        missing(format!(
            "the table `{RATES_TABLE}`, and the schema has none"
        ))
    })?;
    for c in ["day", "currency", "rate"] {
        if table.column(c).is_none() {
            return Err(missing(format!("column `{c}` in table `{RATES_TABLE}`")));
        }
    }
    Ok(Select::new()
        .item(col("day"))
        .item(col("currency"))
        .item((col("rate") * multiplier).alias("factor"))
        // A corrected rate replaces the day's earlier row (ReplacingMergeTree): read merged,
        // or the join could take either. A few rows per currency and day.
        .from(ctx.table(RATES_TABLE)?.final_()))
}

/// `10^shift` as decimal text (`shift` in -4..=4: ISO 4217 exponents are 0..4).
fn power_of_ten(shift: i32) -> String {
    if shift >= 0 {
        format!("1{}", "0".repeat(shift as usize))
    } else {
        format!("0.{}1", "0".repeat((-shift - 1) as usize))
    }
}

/// Item lines (`rows`, giving `columns`, each with its `ts`) with their `money` columns
/// converted at the rate of `ts`'s day when the report converts; as they are otherwise.
pub(crate) fn lines_in_currency(
    ctx: &Context,
    rows: Select,
    columns: &[&'static str],
    money: &[&'static str],
    ts: Expr,
) -> Result<Select, Error> {
    if !ctx.converts() {
        return Ok(rows);
    }
    let names: Vec<Name> = columns.iter().map(|c| Name::from(*c)).collect();
    converted(ctx, rows.item(ctx.rate_day(ts)), &names, money)
}

/// `rows` with every column of `money` converted into the base currency and `currency` set to
/// it; the other `columns` (rows' output, in order) pass through and [`RATE_DAY`], which rows
/// must give, is dropped.
pub(crate) fn converted(
    ctx: &Context,
    rows: Select,
    columns: &[Name],
    money: &[&'static str],
) -> Result<Select, Error> {
    let base = str_lit(&ctx.schema.base_currency);
    let o = |c: &Name| path([Name::from("o"), c.clone()]);
    let currency = Name::from("currency");
    let in_base = o(&currency).eq(base.clone());
    let missing = o(&currency)
        .ne(base.clone())
        .and(path(["r", "currency"]).eq(str_lit("")));
    let mut q = Select::new();
    for c in columns {
        if c.as_str() == RATE_DAY {
            continue;
        }
        let item = if c.as_str() == "currency" {
            base.clone().alias("currency")
        } else if money.contains(&c.as_str()) {
            func(
                "if",
                [
                    in_base.clone(),
                    o(c),
                    func(
                        "toInt64",
                        [func("round", [o(c) * path(["r", "factor"]), int(0)])],
                    ) + func("throwIf", [missing.clone(), str_lit(MISSING_RATE)]),
                ],
            )
            .alias(c.clone())
        } else {
            o(c).alias(c.clone())
        };
        q = q.item(item);
    }
    Ok(q.from(TableRef::subquery(rows, "o")).join(
        JoinKind::AsofLeft,
        TableRef::subquery(rates(ctx)?, "r"),
        o(&currency)
            .eq(path(["r", "currency"]))
            .and(o(&Name::from(RATE_DAY)).ge(path(["r", "day"]))),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(yaml: &str) -> crate::schema::Schema {
        crate::schema::from_source(&crate::diag::Source::new("t.yaml", yaml)).unwrap()
    }

    #[test]
    fn the_rates_table_must_be_declared_with_its_columns() {
        let none = schema(
            "tables:\n  - name: events\n    columns: [{name: a, type: String}]\n    order_by: a\n",
        );
        let err = rates(&Context::new(&none, None).unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`currency=base` needs the table `currency_rates`, and the schema has none"
        );
        let partial = schema(
            "tables:\n  - name: currency_rates\n    columns: [{name: day, type: Date}, {name: currency, type: String}]\n    order_by: day\n",
        );
        let err = rates(&Context::new(&partial, None).unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`currency=base` needs column `rate` in table `currency_rates`"
        );
    }

    #[test]
    fn minor_units_shift_by_exponent_class() {
        let s = schema(
            "base_currency: USD\ncurrencies: {CLF: 4}\ntables:\n  - name: currency_rates\n    columns: [{name: day, type: Date}, {name: currency, type: String}, {name: rate, type: \"Decimal(38, 18)\"}]\n    order_by: day\n",
        );
        let sql = rates(&Context::new(&s, None).unwrap())
            .unwrap()
            .to_sql(false);
        assert!(
            sql.contains("currency IN ('CLF'), toDecimal32('0.01', 4)"),
            "{sql}"
        );
        assert!(
            sql.contains("'JPY'") && sql.contains("toDecimal32('100', 4)"),
            "{sql}"
        );
        assert!(sql.contains("FROM currency_rates FINAL"), "{sql}");
    }

    #[test]
    fn powers_of_ten_are_exact_decimal_text() {
        let got: Vec<String> = (-4..=4).map(power_of_ten).collect();
        assert_eq!(
            got,
            [
                "0.0001", "0.001", "0.01", "0.1", "1", "10", "100", "1000", "10000"
            ]
        );
    }
}
