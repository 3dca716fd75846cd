//! A ClickHouse server over HTTP, through the official `clickhouse` crate.
//!
//! Results are fetched as `JSONCompactEachRowWithNamesAndTypes` so they come back in the same
//! [`Rows`] shape as the embedded engine's; parameters travel as `param_<name>` settings with the
//! exact text the embedded engine receives.

use serde_json::Value;

use super::{Backend, Column, Rows};
use crate::error::Error;
use crate::sql::Statement;

pub struct HttpBackend {
    client: clickhouse::Client,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl HttpBackend {
    pub fn new(
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        database: Option<&str>,
        compression: bool,
    ) -> Result<Self, Error> {
        let mut client = clickhouse::Client::default()
            .with_url(url)
            .with_compression(if compression {
                clickhouse::Compression::Lz4
            } else {
                clickhouse::Compression::None
            })
            // Keep 64-bit integers as JSON numbers, as the embedded engine returns them.
            .with_setting("output_format_json_quote_64bit_integers", "0")
            .with_setting("output_format_json_quote_decimals", "1");
        if let Some(user) = user {
            client = client.with_user(user);
        }
        if let Some(password) = password {
            client = client.with_password(password);
        }
        if let Some(db) = database {
            client = client.with_database(db);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "tokio runtime".into(),
                source,
            })?;
        Ok(HttpBackend {
            client,
            url: url.to_string(),
            runtime,
        })
    }

    fn query(&self, stmt: &Statement) -> clickhouse::query::Query {
        let mut q = self.client.query_raw(&stmt.sql);
        for p in &stmt.params {
            q = q.with_setting(format!("param_{}", p.name), p.value.to_param_text());
        }
        q
    }
}

fn http_error(e: clickhouse::error::Error, sql: &str) -> Error {
    match e {
        clickhouse::error::Error::BadResponse(body) => Error::from_server(body, sql),
        other => Error::Http {
            message: other.to_string(),
        },
    }
}

impl Backend for HttpBackend {
    fn describe(&self) -> String {
        format!("ClickHouse server at {}", self.url)
    }

    fn run(&self, stmt: &Statement) -> Result<Rows, Error> {
        let q = self.query(stmt);
        let bytes = self.runtime.block_on(async {
            let mut cursor = q.fetch_bytes("JSONCompactEachRowWithNamesAndTypes")?;
            cursor.collect().await
        });
        let bytes = bytes.map_err(|e| http_error(e, &stmt.sql))?;
        parse_compact(&bytes).map_err(|message| Error::Engine { message })
    }

    fn insert_json_rows(&self, table: &str, ndjson: &str) -> Result<(), Error> {
        let sql = format!("INSERT INTO {table} FORMAT JSONEachRow\n{ndjson}");
        self.runtime
            .block_on(self.client.query_raw(&sql).execute())
            .map_err(|e| http_error(e, &format!("INSERT INTO {table} FORMAT JSONEachRow")))
    }
}

/// Parse `JSONCompactEachRowWithNamesAndTypes`: a names line, a types line, then one JSON array
/// per row. An empty body (DDL) is an empty result.
fn parse_compact(bytes: &[u8]) -> Result<Rows, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(names) = lines.next() else {
        return Ok(Rows::default());
    };
    let names: Vec<String> = serde_json::from_str(names).map_err(|e| e.to_string())?;
    let types: Vec<String> = match lines.next() {
        Some(l) => serde_json::from_str(l).map_err(|e| e.to_string())?,
        None => vec![String::new(); names.len()],
    };
    let columns = names
        .into_iter()
        .zip(types)
        .map(|(name, ty)| Column { name, ty })
        .collect();
    let rows = lines
        .map(|l| serde_json::from_str::<Vec<Value>>(l).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    Ok(Rows { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compact_rows() {
        let body = b"[\"a\",\"b\"]\n[\"UInt64\",\"String\"]\n[1,\"x\"]\n[2,\"y\"]\n";
        let rows = parse_compact(body).unwrap();
        assert_eq!(rows.columns[1].ty, "String");
        assert_eq!(rows.rows[1][0], serde_json::json!(2));
        assert!(parse_compact(b"").unwrap().is_empty());
    }
}
