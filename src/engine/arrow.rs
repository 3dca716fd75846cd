//! Arrow record batches (what the embedded engine returns) → backend-neutral [`Rows`].

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatchReader};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Number, Value};

use super::{Column, Rows};

pub(crate) fn collect(reader: Box<dyn RecordBatchReader + Send>) -> Result<Rows, String> {
    let schema = reader.schema();
    let columns = schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            ty: f.data_type().to_string(),
        })
        .collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| value(c.as_ref(), r))
                    .collect(),
            );
        }
    }
    Ok(Rows { columns, rows })
}

fn num(n: impl Into<Number>) -> Value {
    Value::Number(n.into())
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// One cell as JSON. Types chdb does not produce for chx's schemas fall back to Arrow's display.
fn value(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => num(a.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => num(a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => num(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => num(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => num(a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => num(a.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => num(a.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => num(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => float(a.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).to_string()),
        DataType::Binary => bytes(a.as_binary::<i32>().value(i)),
        DataType::LargeBinary => bytes(a.as_binary::<i64>().value(i)),
        DataType::Date32 => {
            let days = a.as_primitive::<Date32Type>().value(i);
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163);
            date.map_or(Value::Null, |d| {
                Value::String(d.format("%Y-%m-%d").to_string())
            })
        }
        DataType::Timestamp(unit, tz) => timestamp(a, i, *unit, tz.as_deref()),
        DataType::Dictionary(_, _) => {
            let dict = a.as_any_dictionary();
            let key = dict.normalized_keys()[i];
            value(dict.values().as_ref(), key)
        }
        DataType::List(_) => {
            let list = a.as_list::<i32>().value(i);
            Value::Array((0..list.len()).map(|j| value(list.as_ref(), j)).collect())
        }
        DataType::LargeList(_) => {
            let list = a.as_list::<i64>().value(i);
            Value::Array((0..list.len()).map(|j| value(list.as_ref(), j)).collect())
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut obj = Map::new();
            for (f, col) in fields.iter().zip(s.columns()) {
                obj.insert(f.name().clone(), value(col.as_ref(), i));
            }
            Value::Object(obj)
        }
        DataType::Map(_, _) => {
            let entries = a.as_map().value(i);
            let mut obj = Map::new();
            for j in 0..entries.len() {
                let k = match value(entries.column(0).as_ref(), j) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                obj.insert(k, value(entries.column(1).as_ref(), j));
            }
            Value::Object(obj)
        }
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Value::String(trim_decimal(&display(a, i))),
        _ => Value::String(display(a, i)),
    }
}

/// ClickHouse prints decimals without trailing zeros (`output_format_decimal_trailing_zeros = 0`).
fn trim_decimal(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

/// Arrow's own rendering, for types with no closer ClickHouse equivalent.
fn display(a: &dyn Array, i: usize) -> String {
    let options = arrow_cast::display::FormatOptions::default();
    match arrow_cast::display::ArrayFormatter::try_new(a, &options) {
        Ok(f) => f.value(i).to_string(),
        Err(e) => format!("<{e}>"),
    }
}

fn bytes(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// Render like ClickHouse: wall-clock time in the column's zone, fraction only when the unit
/// has one.
fn timestamp(a: &dyn Array, i: usize, unit: TimeUnit, tz: Option<&str>) -> Value {
    let (raw, per_sec, digits) = match unit {
        TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(i), 1, 0),
        TimeUnit::Millisecond => (
            a.as_primitive::<TimestampMillisecondType>().value(i),
            1_000,
            3,
        ),
        TimeUnit::Microsecond => (
            a.as_primitive::<TimestampMicrosecondType>().value(i),
            1_000_000,
            6,
        ),
        TimeUnit::Nanosecond => (
            a.as_primitive::<TimestampNanosecondType>().value(i),
            1_000_000_000,
            9,
        ),
    };
    let secs = raw.div_euclid(per_sec);
    let frac = raw.rem_euclid(per_sec);
    let Some(utc) = chrono::DateTime::from_timestamp(secs, 0) else {
        return Value::Null;
    };
    let wall = match tz.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
        Some(zone) => utc.with_timezone(&zone).naive_local(),
        None => utc.naive_utc(),
    };
    let mut text = wall.format("%Y-%m-%d %H:%M:%S").to_string();
    if digits > 0 {
        text.push_str(&format!(".{frac:0digits$}"));
    }
    Value::String(text)
}

/// Arrow types that lose ClickHouse meaning (DateTime → UInt32, Enum8 → Int8, IPv4 → UInt32,
/// UUID → FixedSizeBinary): when a result has one, the real types are fetched and used.
pub(crate) fn is_ambiguous(ty: &DataType) -> bool {
    match ty {
        DataType::UInt32
        | DataType::UInt16
        | DataType::Int8
        | DataType::Int16
        | DataType::FixedSizeBinary(_) => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::Map(f, _) => {
            is_ambiguous(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().any(|f| is_ambiguous(f.data_type())),
        DataType::Dictionary(_, v) => is_ambiguous(v),
        _ => false,
    }
}

/// Re-render a value the way ClickHouse prints it for its real type.
pub(crate) fn refine(v: Value, ty: &crate::schema::ChType, server_tz: &str) -> Value {
    use crate::schema::ChType as T;
    match (ty, v) {
        (_, Value::Null) => Value::Null,
        (T::Nullable(inner) | T::LowCardinality(inner), v) => refine(v, inner, server_tz),
        (T::DateTime { tz }, Value::Number(n)) => {
            let zone = tz.as_deref().unwrap_or(server_tz);
            n.as_i64()
                .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
                .map_or(Value::Null, |utc| {
                    let wall = match zone.parse::<chrono_tz::Tz>() {
                        Ok(z) => utc.with_timezone(&z).naive_local(),
                        Err(_) => utc.naive_utc(),
                    };
                    Value::String(wall.format("%Y-%m-%d %H:%M:%S").to_string())
                })
        }
        (T::Date, Value::Number(n)) => n
            .as_i64()
            .and_then(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d as i32 + 719_163))
            .map_or(Value::Null, |d| {
                Value::String(d.format("%Y-%m-%d").to_string())
            }),
        (T::Enum8(labels) | T::Enum16(labels), Value::Number(n)) => {
            let code = n.as_i64().unwrap_or_default();
            labels
                .iter()
                .find(|(_, v)| *v as i64 == code)
                .map_or(Value::Number(n), |(l, _)| Value::String(l.clone()))
        }
        (T::IPv4, Value::Number(n)) => {
            let ip = std::net::Ipv4Addr::from(n.as_u64().unwrap_or_default() as u32);
            Value::String(ip.to_string())
        }
        (T::UInt(bits @ (128 | 256)) | T::Int(bits @ (128 | 256)), Value::String(hex))
            if hex.len() == *bits as usize / 4 =>
        {
            wide_int(&hex, matches!(ty, T::Int(_))).map_or(Value::String(hex), Value::String)
        }
        (T::Uuid, Value::String(hex)) if hex.len() == 32 => Value::String(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )),
        (T::Array(inner), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|x| refine(x, inner, server_tz))
                .collect(),
        ),
        (T::Tuple(fields), Value::Object(obj)) => Value::Object(
            obj.into_iter()
                .map(|(k, x)| {
                    let ft = fields
                        .iter()
                        .find(|(n, _)| n.as_deref() == Some(k.as_str()));
                    let x = match ft {
                        Some((_, t)) => refine(x, t, server_tz),
                        None => x,
                    };
                    (k, x)
                })
                .collect(),
        ),
        (T::Map(_, vt), Value::Object(obj)) => Value::Object(
            obj.into_iter()
                .map(|(k, x)| (k, refine(x, vt, server_tz)))
                .collect(),
        ),
        (_, v) => v,
    }
}

/// A 128- or 256-bit integer, which Arrow carries as little-endian bytes (rendered as hex), in
/// decimal as ClickHouse prints it (a string in JSON, as ClickHouse quotes them).
fn wide_int(hex: &str, signed: bool) -> Option<String> {
    let mut bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    bytes.reverse(); // most significant first
    let negative = signed && bytes.first().is_some_and(|b| b & 0x80 != 0);
    if negative {
        // Two's complement: invert and add one.
        let mut carry = true;
        for b in bytes.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    let mut digits = Vec::new();
    while bytes.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in bytes.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).ok()
}

/// A batch as JSONEachRow text (for backends without Arrow ingest).
pub(crate) fn batch_to_ndjson(batch: &arrow_array::RecordBatch) -> Result<String, String> {
    let schema = batch.schema();
    let mut out = String::new();
    for r in 0..batch.num_rows() {
        let mut obj = Map::new();
        for (f, c) in schema.fields().iter().zip(batch.columns()) {
            obj.insert(f.name().clone(), value(c.as_ref(), r));
        }
        out.push_str(&serde_json::to_string(&obj).map_err(|e| e.to_string())?);
        out.push('\n');
    }
    Ok(out)
}
