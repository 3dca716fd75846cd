//! Generated events as Arrow record batches shaped like the shipped events table (columns by
//! name; the table's defaults fill the rest), and as NDJSON in the ingest format.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Int64Builder, ListBuilder, MapBuilder, StringBuilder, StructBuilder,
    TimestampMillisecondBuilder, UInt32Builder,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};

/// An id or name the generator made up: shared, because a session's events all carry the same
/// ones and cloning an event then copies no text.
pub type Text = Arc<str>;

/// One generated event. Categorical values borrow static strings; ids are shared.
#[derive(Clone, Debug, Default)]
pub struct Event {
    pub ms: i64,
    pub event_type: &'static str,
    pub user_id: Text,
    pub anonymous_id: Text,
    pub session_id: Text,
    pub cart_id: Text,
    pub transaction_id: Text,
    pub currency: &'static str,
    pub revenue: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub coupon_code: &'static str,
    pub items: Vec<Item>,
    pub properties: Vec<(&'static str, String)>,
    pub utm: (&'static str, &'static str, &'static str),
    pub referrer: &'static str,
    pub page_url: Text,
    pub country: &'static str,
    pub device_type: &'static str,
    pub platform: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct Item {
    pub item_id: Text,
    pub item_name: Text,
    pub item_category: &'static str,
    pub item_brand: &'static str,
    pub item_variant: &'static str,
    pub price: i64,
    pub quantity: u32,
}

fn item_fields() -> Fields {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Fields::from(vec![
        s("item_id"),
        s("item_name"),
        s("item_category"),
        s("item_brand"),
        s("item_variant"),
        s("item_list_name"),
        s("item_list_id"),
        s("item_image_url"),
        Field::new("price", DataType::Int64, false),
        Field::new("quantity", DataType::UInt32, false),
        s("currency"),
        s("coupon_code"),
        Field::new("discount", DataType::Int64, false),
    ])
}

const STRINGS: [&str; 16] = [
    "event_type",
    "user_id",
    "anonymous_id",
    "session_id",
    "cart_id",
    "transaction_id",
    "currency",
    "coupon_code",
    "utm_campaign",
    "utm_source",
    "utm_medium",
    "referrer",
    "page_url",
    "country",
    "device_type",
    "platform",
];
const MONEY: [&str; 4] = ["revenue", "discount", "shipping", "tax"];

/// Column builders for one batch.
pub struct Batch {
    ts: TimestampMillisecondBuilder,
    strings: Vec<StringBuilder>,
    money: Vec<Int64Builder>,
    items: ListBuilder<StructBuilder>,
    props: MapBuilder<StringBuilder, StringBuilder>,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    pub fn new() -> Self {
        let item_builders: Vec<Box<dyn ArrayBuilder>> = item_fields()
            .iter()
            .map(|f| -> Box<dyn ArrayBuilder> {
                match f.data_type() {
                    DataType::Int64 => Box::new(Int64Builder::new()),
                    DataType::UInt32 => Box::new(UInt32Builder::new()),
                    _ => Box::new(StringBuilder::new()),
                }
            })
            .collect();
        let item_struct = StructBuilder::new(item_fields(), item_builders);
        Batch {
            ts: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            strings: STRINGS.iter().map(|_| StringBuilder::new()).collect(),
            money: MONEY.iter().map(|_| Int64Builder::new()).collect(),
            items: ListBuilder::new(item_struct).with_field(Arc::new(Field::new(
                "item",
                DataType::Struct(item_fields()),
                false,
            ))),
            props: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, e: &Event) {
        self.ts.append_value(e.ms);
        let values: [&str; 16] = [
            e.event_type,
            &e.user_id,
            &e.anonymous_id,
            &e.session_id,
            &e.cart_id,
            &e.transaction_id,
            e.currency,
            e.coupon_code,
            e.utm.0,
            e.utm.1,
            e.utm.2,
            e.referrer,
            &e.page_url,
            e.country,
            e.device_type,
            e.platform,
        ];
        for (b, v) in self.strings.iter_mut().zip(values) {
            b.append_value(v);
        }
        for (b, v) in self
            .money
            .iter_mut()
            .zip([e.revenue, e.discount, e.shipping, e.tax])
        {
            b.append_value(v);
        }
        let s = self.items.values();
        for it in &e.items {
            let str_at = |s: &mut StructBuilder, i: usize, v: &str| {
                s.field_builder::<StringBuilder>(i)
                    .expect("string field")
                    .append_value(v)
            };
            str_at(s, 0, &it.item_id);
            str_at(s, 1, &it.item_name);
            str_at(s, 2, it.item_category);
            str_at(s, 3, it.item_brand);
            str_at(s, 4, it.item_variant);
            str_at(s, 5, "");
            str_at(s, 6, "");
            str_at(s, 7, "");
            s.field_builder::<Int64Builder>(8)
                .expect("price")
                .append_value(it.price);
            s.field_builder::<UInt32Builder>(9)
                .expect("quantity")
                .append_value(it.quantity);
            str_at(s, 10, "");
            str_at(s, 11, "");
            s.field_builder::<Int64Builder>(12)
                .expect("discount")
                .append_value(0);
            s.append(true);
        }
        self.items.append(true);
        for (k, v) in &e.properties {
            self.props.keys().append_value(k);
            self.props.values().append_value(v);
        }
        self.props.append(true).expect("map entry");
    }

    /// The batch so far. The builders start over sized like this batch, so the next one fills
    /// them without growing (and copying) each buffer about 18 times on the way to a full batch.
    pub fn finish(&mut self) -> RecordBatch {
        let rows = self.len();
        let mut fields = vec![Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        )];
        let mut ts = std::mem::replace(
            &mut self.ts,
            TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC"),
        );
        let mut columns: Vec<ArrayRef> = vec![Arc::new(ts.finish())];
        for (name, b) in STRINGS.iter().zip(self.strings.iter_mut()) {
            fields.push(Field::new(*name, DataType::Utf8, false));
            let bytes = b.values_slice().len();
            let mut full = std::mem::replace(b, StringBuilder::with_capacity(rows, bytes));
            columns.push(Arc::new(full.finish()));
        }
        for (name, b) in MONEY.iter().zip(self.money.iter_mut()) {
            fields.push(Field::new(*name, DataType::Int64, false));
            let mut full = std::mem::replace(b, Int64Builder::with_capacity(rows));
            columns.push(Arc::new(full.finish()));
        }
        let items = self.items.finish();
        fields.push(Field::new("items", items.data_type().clone(), false));
        columns.push(Arc::new(items));
        let props = self.props.finish();
        fields.push(Field::new("properties", props.data_type().clone(), false));
        columns.push(Arc::new(props));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("consistent batch")
    }
}

/// The event as a track body (the `chx ingest` format), amounts as decimal numbers.
pub fn to_track_json(e: &Event, exponent: u8) -> serde_json::Value {
    let amount = |minor: i64| -> serde_json::Value {
        if exponent == 0 {
            serde_json::json!(minor)
        } else {
            let d = 10i64.pow(exponent as u32);
            serde_json::Value::String(format!(
                "{}{}.{:0w$}",
                if minor < 0 { "-" } else { "" },
                minor.abs() / d,
                minor.abs() % d,
                w = exponent as usize
            ))
        }
    };
    let ts = chrono::DateTime::from_timestamp_millis(e.ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let mut obj =
        serde_json::json!({"event_type": e.event_type, "timestamp": ts, "currency": e.currency});
    let m = obj.as_object_mut().expect("object");
    for (k, v) in [
        ("user_id", &e.user_id),
        ("anonymous_id", &e.anonymous_id),
        ("session_id", &e.session_id),
        ("cart_id", &e.cart_id),
        ("transaction_id", &e.transaction_id),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), serde_json::json!(&**v));
        }
    }
    for (k, v) in [
        ("revenue", e.revenue),
        ("discount", e.discount),
        ("shipping", e.shipping),
        ("tax", e.tax),
    ] {
        if v != 0
            || (k == "revenue" && matches!(e.event_type, "purchase" | "refund" | "spend_credits"))
        {
            m.insert(k.into(), amount(v));
        }
    }
    if !e.coupon_code.is_empty() {
        m.insert("coupon_code".into(), serde_json::json!(e.coupon_code));
    }
    if !e.items.is_empty() {
        let items: Vec<serde_json::Value> = e
            .items
            .iter()
            .map(|i| serde_json::json!({"item_id": &*i.item_id, "item_name": &*i.item_name, "item_category": i.item_category, "item_brand": i.item_brand, "item_variant": i.item_variant, "price": amount(i.price), "quantity": i.quantity}))
            .collect();
        m.insert("items".into(), serde_json::Value::Array(items));
    }
    if !e.properties.is_empty() {
        m.insert(
            "properties".into(),
            serde_json::Value::Object(
                e.properties
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                    .collect(),
            ),
        );
    }
    if !e.utm.0.is_empty() || !e.utm.1.is_empty() || !e.utm.2.is_empty() {
        m.insert(
            "campaign".into(),
            serde_json::json!({"campaign": e.utm.0, "source": e.utm.1, "medium": e.utm.2}),
        );
    }
    m.insert("context".into(), serde_json::json!({"country": e.country, "device_type": e.device_type, "platform": e.platform, "page_url": &*e.page_url, "referrer": e.referrer}));
    obj
}
