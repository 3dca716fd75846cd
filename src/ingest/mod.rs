//! `chx ingest`: events in the seed API's track body shape (NDJSON, one event per line) →
//! validated rows of the events table.
//!
//! Each line is checked against the schema's taxonomy with the seed API's error texts
//! (`event_type is required`, `Invalid ecommerce event_type`, `transaction_id is required for
//! purchase events`, …). Amounts become integer minor units of their currency. Invalid lines are
//! reported with their line number and skipped; all valid lines are inserted. A purchase or
//! refund whose transaction_id was already seen within 24 hours (in the file or in the table) is
//! ignored and counted, as the seed API does; one arriving after a repeat of it within 24 hours
//! was stored (out of order) is ignored too, so the table never holds two deliveries of a
//! transaction within 24 hours and rollups' sums equal the reports' dedupe.

pub mod money;
mod track;

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Schema;
use crate::sql::{ParamValue, Statement, quote};

pub use track::{EventRow, parse_event};

/// One rejected line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LineError {
    /// 1-based line number in the input.
    pub line: usize,
    pub message: String,
}

/// What an ingest did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IngestReport {
    pub accepted: usize,
    /// Purchases/refunds repeating a transaction_id within 24 hours.
    pub duplicates_ignored: usize,
    /// Events whose event_id is already in the table (or earlier in the input): redeliveries.
    pub already_present: usize,
    pub errors: Vec<LineError>,
}

/// Parse and validate NDJSON text; no database involved.
pub fn parse_lines(schema: &Schema, text: &str) -> (Vec<(usize, EventRow)>, Vec<LineError>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("invalid JSON: {e}"))
            .and_then(|v| match v {
                Value::Object(obj) => parse_event(schema, &obj),
                _ => Err("each line must be a JSON object".to_string()),
            });
        match parsed {
            Ok(row) => rows.push((i + 1, row)),
            Err(message) => errors.push(LineError {
                line: i + 1,
                message,
            }),
        }
    }
    (rows, errors)
}

const DEDUPE_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Validate, dedupe and insert. `database` qualifies the events table.
pub fn ingest(
    engine: &Engine,
    schema: &Schema,
    database: &str,
    text: &str,
) -> Result<IngestReport, Error> {
    let taxonomy = schema.taxonomy.as_ref().ok_or_else(|| Error::Usage {
        message: "the schema has no taxonomy: ingest needs one to validate events".into(),
    })?;
    let table = schema.table(&taxonomy.table).ok_or_else(|| Error::Usage {
        message: format!("taxonomy table `{}` missing", taxonomy.table),
    })?;
    let (rows, mut errors) = parse_lines(schema, text);
    // Every field must have a column to land in; say so per line instead of dropping it.
    let mut valid: Vec<(usize, EventRow)> = Vec::new();
    for (line, row) in rows {
        match row
            .fields
            .keys()
            .find(|k| table.column(k).is_none_or(|c| !c.is_insertable()))
        {
            Some(missing) => errors.push(LineError {
                line,
                message: format!(
                    "field `{missing}` has no insertable column in table `{}`",
                    table.name
                ),
            }),
            None => valid.push((line, row)),
        }
    }
    let qualified = format!("{}.{}", quote::ident(database), quote::ident(&table.name));
    let (valid, already_present) = drop_known_event_ids(engine, &qualified, valid)?;
    let (kept, duplicates_ignored) = dedupe(engine, schema, &qualified, valid)?;
    let mut body = String::new();
    for (_, row) in &kept {
        body.push_str(
            &serde_json::to_string(&row.fields).map_err(|e| Error::Engine {
                message: e.to_string(),
            })?,
        );
        body.push('\n');
    }
    engine.insert_json_rows(&qualified, &body)?;
    errors.sort_by_key(|e| e.line);
    Ok(IngestReport {
        accepted: kept.len(),
        duplicates_ignored,
        already_present,
        errors,
    })
}

/// Skip events whose `event_id` is already stored or repeated in the input, so re-running an
/// ingest of the same file is harmless.
fn drop_known_event_ids(
    engine: &Engine,
    table: &str,
    rows: Vec<(usize, EventRow)>,
) -> Result<(Vec<(usize, EventRow)>, usize), Error> {
    let id_of = |r: &EventRow| {
        r.fields
            .get("event_id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let ids: Vec<ParamValue> = rows
        .iter()
        .filter_map(|(_, r)| id_of(r))
        .map(ParamValue::String)
        .collect();
    let mut known: std::collections::HashSet<String> = std::collections::HashSet::new();
    if !ids.is_empty() {
        let existing = engine.run(
            Statement::new(format!("SELECT DISTINCT toString(event_id) FROM {table} WHERE event_id IN {{ids:Array(UUID)}}"))
                .param("ids", "Array(UUID)", ParamValue::Array(ids)),
        )?;
        known.extend(
            existing
                .rows
                .iter()
                .filter_map(|r| r[0].as_str().map(str::to_string)),
        );
    }
    let before = rows.len();
    let kept: Vec<(usize, EventRow)> = rows
        .into_iter()
        .filter(|(_, r)| match id_of(r) {
            Some(id) => known.insert(id.to_ascii_lowercase()),
            None => true,
        })
        .collect();
    let skipped = before - kept.len();
    Ok((kept, skipped))
}

/// Drop purchases/refunds whose (event type, transaction_id) was seen within 24 h of theirs,
/// looking at the table (either side in time: the delivery stored first stays) and at
/// earlier lines of this input (taken in time order).
fn dedupe(
    engine: &Engine,
    schema: &Schema,
    table: &str,
    rows: Vec<(usize, EventRow)>,
) -> Result<(Vec<(usize, EventRow)>, usize), Error> {
    let taxonomy = schema.taxonomy.as_ref().expect("checked by caller");
    let dedupe_types: Vec<String> = ["purchase", "refund"]
        .iter()
        .flat_map(|r| taxonomy.events_for(r).iter().cloned())
        .collect();
    let ids: Vec<ParamValue> = rows
        .iter()
        .filter(|(_, r)| dedupe_types.contains(&r.event_type) && !r.transaction_id.is_empty())
        .map(|(_, r)| ParamValue::String(r.transaction_id.clone()))
        .collect();
    let mut seen: HashMap<(String, String), Vec<i64>> = HashMap::new();
    if !ids.is_empty() {
        let existing = engine.run(
            Statement::new(format!(
                "SELECT event_type, transaction_id, toUnixTimestamp64Milli(timestamp) AS ms FROM {table} \
                 WHERE event_type IN {{types:Array(String)}} AND transaction_id IN {{ids:Array(String)}}"
            ))
            .param("types", "Array(String)", ParamValue::Array(dedupe_types.iter().map(|t| t.as_str().into()).collect()))
            .param("ids", "Array(String)", ParamValue::Array(ids)),
        )?;
        for r in existing.rows {
            let (Some(t), Some(id), Some(ms)) = (r[0].as_str(), r[1].as_str(), r[2].as_i64())
            else {
                continue;
            };
            seen.entry((t.to_string(), id.to_string()))
                .or_default()
                .push(ms);
        }
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].1.timestamp_ms);
    let mut drop = vec![false; rows.len()];
    for i in order {
        let r = &rows[i].1;
        if !dedupe_types.contains(&r.event_type) || r.transaction_id.is_empty() {
            continue;
        }
        let key = (r.event_type.clone(), r.transaction_id.clone());
        let times = seen.entry(key).or_default();
        // Either side: a delivery arriving after its own repeat was stored (late, out of
        // order) is the repeat now. Keeping it too would leave two stored deliveries within
        // 24 h, which reports' dedupe would drop one of but rollups' sums would count twice.
        if times
            .iter()
            .any(|&t| (r.timestamp_ms - t).abs() < DEDUPE_WINDOW_MS)
        {
            drop[i] = true;
        } else {
            times.push(r.timestamp_ms);
        }
    }
    let dropped = drop.iter().filter(|d| **d).count();
    let kept = rows
        .into_iter()
        .zip(drop)
        .filter_map(|(r, d)| (!d).then_some(r))
        .collect();
    Ok((kept, dropped))
}

/// Helper for callers that build rows by hand (tests, generators).
pub fn rows_to_ndjson(rows: &[Map<String, Value>]) -> String {
    rows.iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}
