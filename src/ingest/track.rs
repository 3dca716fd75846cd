//! One track body → one events-table row, or the seed API's error text.

use serde_json::{Map, Value, json};

use super::money::to_minor_units;
use crate::schema::Schema;
use crate::schema::taxonomy::EventType;
use crate::schema::types::ChType;

/// A validated event, as the JSON object to insert plus the fields dedupe needs.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub fields: Map<String, Value>,
    pub event_type: String,
    pub transaction_id: String,
    pub timestamp_ms: i64,
}

/// Top-level fields of a track body and the column each lands in.
const STRING_FIELDS: &[&str] = &[
    "transaction_id",
    "user_id",
    "anonymous_id",
    "session_id",
    "cart_id",
    "coupon_code",
];
const MONEY_FIELDS: &[&str] = &["revenue", "discount", "shipping", "tax"];
const CONTEXT_FIELDS: &[&str] = &[
    "country",
    "device_type",
    "platform",
    "ip",
    "user_agent",
    "referrer",
    "page_url",
];
const CAMPAIGN_FIELDS: &[(&str, &str)] = &[
    ("campaign", "utm_campaign"),
    ("source", "utm_source"),
    ("medium", "utm_medium"),
    ("term", "utm_term"),
    ("content", "utm_content"),
];
const ITEM_STRINGS: &[&str] = &[
    "item_id",
    "item_name",
    "item_category",
    "item_brand",
    "item_variant",
    "item_list_name",
    "item_list_id",
    "item_image_url",
    "coupon_code",
];

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_field(obj: &Map<String, Value>, key: &str, what: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{what} must be a string")),
    }
}

fn amount(v: &Value, what: &str, exponent: u8) -> Result<i64, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(format!("{what} must be a number")),
    };
    to_minor_units(&text, exponent).map_err(|e| format!("{what}: {e}"))
}

/// Timestamps: RFC 3339 (`2026-01-15T10:30:00Z`), ClickHouse text (`2026-01-15 10:30:00.123`,
/// read as UTC) or epoch milliseconds.
fn parse_timestamp(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| "timestamp must be epoch milliseconds or an ISO 8601 string".into()),
        Value::String(s) => {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                return Ok(t.timestamp_millis());
            }
            for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
                    return Ok(t.and_utc().timestamp_millis());
                }
            }
            Err(format!(
                "timestamp `{s}` is not ISO 8601 (e.g. 2026-01-15T10:30:00Z)"
            ))
        }
        _ => Err("timestamp must be epoch milliseconds or an ISO 8601 string".into()),
    }
}

fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// Whether a string value parses as a scalar ClickHouse type, for typed properties.
fn fits_scalar(value: &str, ty: &ChType) -> bool {
    match ty.base() {
        ChType::Int(bits) => value
            .parse::<i128>()
            .is_ok_and(|v| bits_fit(v, *bits, true)),
        ChType::UInt(bits) => value
            .parse::<i128>()
            .is_ok_and(|v| v >= 0 && bits_fit(v, *bits, false)),
        ChType::Float32 | ChType::Float64 => value.parse::<f64>().is_ok(),
        ChType::Decimal { scale, .. } => to_minor_units(value, *scale).is_ok(),
        ChType::Bool => matches!(value, "true" | "false" | "0" | "1"),
        ChType::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        ChType::DateTime { .. } | ChType::DateTime64 { .. } => {
            parse_timestamp(&Value::String(value.into())).is_ok()
        }
        ChType::Uuid => value.len() == 36 && value.chars().filter(|c| *c == '-').count() == 4,
        _ => true,
    }
}

fn bits_fit(v: i128, bits: u16, signed: bool) -> bool {
    if bits >= 64 {
        return if signed {
            i64::try_from(v).is_ok()
        } else {
            u64::try_from(v).is_ok()
        };
    }
    if signed {
        let half = 1i128 << (bits - 1);
        (-half..half).contains(&v)
    } else {
        v < (1i128 << bits)
    }
}

const KNOWN_FIELDS: &[&str] = &[
    "event_type",
    "event_id",
    "timestamp",
    "transaction_id",
    "revenue",
    "currency",
    "user_id",
    "anonymous_id",
    "session_id",
    "cart_id",
    "coupon_code",
    "discount",
    "shipping",
    "tax",
    "items",
    "properties",
    "context",
    "campaign",
    "country",
    "device_type",
    "platform",
    "ip",
    "user_agent",
    "referrer",
    "page_url",
    "utm_campaign",
    "utm_source",
    "utm_medium",
    "utm_term",
    "utm_content",
];

/// Validate one track body against the taxonomy and build its row.
pub fn parse_event(schema: &Schema, obj: &Map<String, Value>) -> Result<EventRow, String> {
    let taxonomy = schema
        .taxonomy
        .as_ref()
        .ok_or("the schema has no taxonomy")?;
    if let Some(unknown) = obj.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field `{unknown}`"));
    }
    let name = match obj.get("event_type") {
        None | Some(Value::Null) => return Err("event_type is required".into()),
        Some(Value::String(s)) if s.is_empty() => return Err("event_type is required".into()),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("Invalid ecommerce event_type".into()),
    };
    let event: &EventType = taxonomy
        .event(&name)
        .ok_or("Invalid ecommerce event_type")?;
    let mut f = Map::new();
    f.insert(taxonomy.event_column.clone(), json!(event.name));

    // Required fields, in the seed API's words.
    for req in &event.required {
        let present = match obj.get(req) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        if !present {
            return Err(format!("{req} is required for {} events", event.name));
        }
    }

    let currency = match string_field(obj, "currency", "currency")? {
        Some(c) => c.to_ascii_uppercase(),
        None => schema.base_currency.clone(),
    };
    let exponent = schema.currency_exponent(&currency).ok_or_else(|| {
        format!("Invalid currency: {currency} (not an ISO 4217 code the schema knows)")
    })?;
    f.insert("currency".into(), json!(currency));

    let timestamp_ms = match obj.get("timestamp") {
        None | Some(Value::Null) => chrono::Utc::now().timestamp_millis(),
        Some(v) => parse_timestamp(v)?,
    };
    f.insert("timestamp".into(), json!(format_ms(timestamp_ms)));
    if let Some(id) = string_field(obj, "event_id", "event_id")? {
        if id.len() != 36 || id.chars().filter(|c| *c == '-').count() != 4 {
            return Err(format!("event_id `{id}` is not a UUID"));
        }
        f.insert("event_id".into(), json!(id));
    }
    for key in STRING_FIELDS {
        if let Some(v) = string_field(obj, key, key)? {
            f.insert(key.to_string(), json!(v));
        }
    }
    for key in MONEY_FIELDS {
        if let Some(v) = obj.get(*key).filter(|v| !v.is_null()) {
            f.insert(key.to_string(), json!(amount(v, key, exponent)?));
        }
    }

    // Context: top level or under `context`.
    let context = match obj.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(_) => return Err("context must be an object".into()),
    };
    if let Some(k) = context
        .keys()
        .find(|k| !CONTEXT_FIELDS.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown field `context.{k}` (known: {})",
            CONTEXT_FIELDS.join(", ")
        ));
    }
    for key in CONTEXT_FIELDS {
        let v = string_field(obj, key, key)?.or(string_field(
            &context,
            key,
            &format!("context.{key}"),
        )?);
        if let Some(v) = v {
            if *key == "ip" {
                let ip: std::net::IpAddr = v
                    .parse()
                    .map_err(|_| format!("ip `{v}` is not an IP address"))?;
                let v6 = match ip {
                    std::net::IpAddr::V4(a) => a.to_ipv6_mapped(),
                    std::net::IpAddr::V6(a) => a,
                };
                f.insert("ip".into(), json!(v6.to_string()));
            } else {
                f.insert(key.to_string(), json!(v));
            }
        }
    }

    // Properties: string values (numbers and booleans are written as their text).
    let mut props = Map::new();
    match obj.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(p)) => {
            for (k, v) in p {
                let text = as_text(v).ok_or_else(|| format!("properties.{k} must be a string"))?;
                props.insert(k.clone(), json!(text));
            }
        }
        Some(_) => return Err("properties must be an object".into()),
    }
    for p in &event.properties {
        let value = match &p.column {
            Some(col) => obj.get(col).and_then(as_text),
            None => props.get(&p.name).and_then(as_text),
        };
        match value {
            None if p.required => {
                return Err(format!(
                    "properties.{} is required for {} events",
                    p.name, event.name
                ));
            }
            Some(v) if !fits_scalar(&v, &p.ty) => {
                return Err(format!(
                    "properties.{} must be {} (got `{v}`)",
                    p.name, p.ty
                ));
            }
            _ => {}
        }
    }

    // Campaign: `campaign: {...}`, then `utm_*` fields, then the seed API's properties.
    let campaign = match obj.get("campaign") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(Value::String(s)) => Map::from_iter([("campaign".to_string(), json!(s))]),
        Some(_) => return Err("campaign must be an object".into()),
    };
    for (key, column) in CAMPAIGN_FIELDS {
        let v = string_field(&campaign, key, &format!("campaign.{key}"))?
            .or(string_field(obj, column, column)?)
            .or_else(|| props.get(*key).and_then(as_text));
        if let Some(v) = v {
            f.insert(column.to_string(), json!(v));
        }
    }
    if !props.is_empty() {
        f.insert(taxonomy.properties_column.clone(), Value::Object(props));
    }

    // Items: prices in minor units of the item's currency (or the event's).
    match obj.get("items") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Value::Object(item) = item else {
                    return Err(format!("items[{i}] must be an object"));
                };
                out.push(parse_item(schema, item, i, &currency)?);
            }
            f.insert("items".into(), Value::Array(out));
        }
        Some(_) => return Err("items must be an array".into()),
    }
    Ok(EventRow {
        transaction_id: f
            .get("transaction_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        event_type: event.name.clone(),
        timestamp_ms,
        fields: f,
    })
}

fn parse_item(
    schema: &Schema,
    item: &Map<String, Value>,
    i: usize,
    event_currency: &str,
) -> Result<Value, String> {
    const NUMERIC: [&str; 4] = ["price", "quantity", "currency", "discount"];
    if let Some(k) = item
        .keys()
        .find(|k| !ITEM_STRINGS.contains(&k.as_str()) && !NUMERIC.contains(&k.as_str()))
    {
        return Err(format!("unknown field `items[{i}].{k}`"));
    }
    let mut out = Map::new();
    for key in ITEM_STRINGS {
        let v = match item.get(*key) {
            None | Some(Value::Null) => String::new(),
            Some(v) => as_text(v).ok_or_else(|| format!("items[{i}].{key} must be a string"))?,
        };
        if *key == "item_id" && v.is_empty() {
            return Err(format!("items[{i}].item_id is required"));
        }
        out.insert(key.to_string(), json!(v));
    }
    let currency = match string_field(item, "currency", &format!("items[{i}].currency"))? {
        Some(c) => c.to_ascii_uppercase(),
        None => String::new(),
    };
    let effective = if currency.is_empty() {
        event_currency
    } else {
        &currency
    };
    let exponent = schema
        .currency_exponent(effective)
        .ok_or_else(|| format!("Invalid currency: {effective} (items[{i}])"))?;
    out.insert("currency".into(), json!(currency));
    for key in ["price", "discount"] {
        let v = match item.get(key) {
            None | Some(Value::Null) => 0,
            Some(v) => amount(v, &format!("items[{i}].{key}"), exponent)?,
        };
        out.insert(key.into(), json!(v));
    }
    let quantity = match item.get("quantity") {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|q| *q > 0 && *q <= u32::MAX as u64)
            .ok_or_else(|| format!("items[{i}].quantity must be a positive whole number"))?,
        Some(_) => {
            return Err(format!(
                "items[{i}].quantity must be a positive whole number"
            ));
        }
    };
    out.insert("quantity".into(), json!(quantity));
    Ok(Value::Object(out))
}
