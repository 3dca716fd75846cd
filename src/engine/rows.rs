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

    /// A plain-text table for terminals.
    pub fn to_table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(display_value).collect())
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
        let line = |vals: Vec<&str>| -> String {
            let parts: Vec<String> = vals
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}", w = *w))
                .collect();
            format!("{}\n", parts.join(" | ").trim_end())
        };
        let mut out = line(self.columns.iter().map(|c| c.name.as_str()).collect());
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&format!("{}\n", rule.join("-+-")));
        for row in &cells {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
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

fn display_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
