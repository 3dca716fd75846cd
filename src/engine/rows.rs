//! Backend-neutral query results.

use serde_json::Value;

use crate::error::Error;

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    /// Type as the backend reports it (ClickHouse type over HTTP, Arrow type when embedded).
    pub ty: String,
}

/// A result set: column names and rows of JSON values. Integers stay exact (`i64`/`u64`),
/// timestamps are `YYYY-MM-DD hh:mm:ss[.fff]` in the column's time zone, like ClickHouse prints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The first column of the first row as text; for one-value queries.
    pub fn single_string(&self) -> Result<String, Error> {
        match self.rows.first().and_then(|r| r.first()) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Ok(v.to_string()),
            None => Err(Error::Engine {
                message: "query returned no rows where one value was expected".into(),
            }),
        }
    }

    /// The first column of the first row as an integer.
    pub fn single_i64(&self) -> Result<i64, Error> {
        let v = self.rows.first().and_then(|r| r.first());
        v.and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .ok_or_else(|| Error::Engine {
            message: format!("expected one integer, got {v:?}"),
        })
    }

    /// Rows as JSON objects keyed by column name (the shape of `--format json`).
    pub fn to_objects(&self) -> Vec<serde_json::Map<String, Value>> {
        self.rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.name.clone(), v.clone()))
                    .collect()
            })
            .collect()
    }

    /// A plain-text table for terminals: numbers right-aligned, floats shown to two decimals
    /// (two significant digits for smaller ones) so a percentage reads `42.89`, not
    /// `42.89353762244788`. JSON and CSV keep every digit.
    pub fn to_table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(table_value).collect())
            .collect();
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        // A column is numeric when every value in it is a number (NULLs aside).
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .all(|v| v.is_number() || v.is_null())
                    && self
                        .rows
                        .iter()
                        .any(|r| r.get(i).is_some_and(Value::is_number))
            })
            .collect();
        let line = |vals: Vec<&str>, align: bool| -> String {
            let parts: Vec<String> = vals
                .iter()
                .zip(&widths)
                .zip(&numeric)
                .map(|((v, w), num)| {
                    if align && *num {
                        format!("{v:>w$}", w = *w)
                    } else {
                        format!("{v:<w$}", w = *w)
                    }
                })
                .collect();
            format!("{}\n", parts.join(" | ").trim_end())
        };
        let mut out = line(
            self.columns.iter().map(|c| c.name.as_str()).collect(),
            false,
        );
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&format!("{}\n", rule.join("-+-")));
        for row in &cells {
            out.push_str(&line(row.iter().map(String::as_str).collect(), true));
        }
        out
    }

    /// RFC 4180 CSV with a header row.
    pub fn to_csv(&self) -> String {
        let esc = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| esc(&c.name)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let vals: Vec<String> = row.iter().map(|v| esc(&display_value(v))).collect();
            out.push_str(&vals.join(","));
            out.push('\n');
        }
        out
    }
}

/// A value as a table shows it: floats rounded for reading (see [`Rows::to_table`]).
fn table_value(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or_default();
            if x != 0.0 && x.abs() < 0.005 {
                // Two significant digits, trailing zeros dropped: 0.0012345 -> 0.0012.
                let decimals = (1 - x.abs().log10().floor() as i32).min(12) as usize;
                let text = format!("{x:.decimals$}");
                text.trim_end_matches('0').to_string()
            } else if x == 0.0 {
                "0.00".into() // also -0.0
            } else {
                // Two decimals everywhere else, so a column's points line up.
                format!("{x:.2}")
            }
        }
        other => display_value(other),
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_round_floats_and_right_align_numbers() {
        let rows = Rows {
            columns: ["name", "count", "pct"]
                .iter()
                .map(|n| Column {
                    name: n.to_string(),
                    ty: String::new(),
                })
                .collect(),
            rows: vec![
                vec![json!("view"), json!(27869), json!(100.0)],
                vec![json!("cart"), json!(11954), json!(42.89353762244788)],
                vec![json!("pay"), json!(3), json!(0.0012345)],
                vec![json!("none"), json!(null), json!(-0.001)],
                vec![json!("zero"), json!(0), json!(-0.0)],
            ],
        };
        assert_eq!(
            rows.to_table(),
            "name | count | pct\n\
             -----+-------+-------\n\
             view | 27869 | 100.00\n\
             cart | 11954 |  42.89\n\
             pay  |     3 | 0.0012\n\
             none |  NULL | -0.001\n\
             zero |     0 |   0.00\n"
        );
        // CSV and JSON keep every digit.
        assert!(rows.to_csv().contains("42.89353762244788"));
    }
}
