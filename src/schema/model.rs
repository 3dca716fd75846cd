//! The schema file as written: every value keeps its span. Produced by `read` from the YAML
//! tree; turned into the validated IR by `validate`.

use super::decode::{Cx, S};
use super::yaml::{Node, Value};

#[derive(Clone, Debug, Default)]
pub struct SchemaFile {
    pub name: Option<S<String>>,
    pub database: Option<S<String>>,
    pub timezone: Option<S<String>>,
    pub retention_days: Option<S<u64>>,
    pub base_currency: Option<S<String>>,
    pub currencies: Vec<(S<String>, S<String>)>,
    pub tables: Vec<TableDef>,
    pub views: Vec<ViewDef>,
    pub taxonomy: Option<TaxonomyDef>,
}

#[derive(Clone, Debug)]
pub struct TableDef {
    pub name: S<String>,
    pub comment: Option<S<String>>,
    pub columns: Vec<ColumnDef>,
    /// False when the `columns` key was missing or unreadable: references are then not checked.
    pub columns_given: bool,
    pub engine: Option<EngineDef>,
    pub order_by: Vec<S<String>>,
    pub primary_key: Vec<S<String>>,
    pub partition_by: Option<S<String>>,
    pub sample_by: Option<S<String>>,
    pub ttl: Option<S<String>>,
    pub indexes: Vec<IndexDef>,
    pub projections: Vec<ProjectionDef>,
    pub settings: Vec<(S<String>, S<String>)>,
    pub shard_key: Option<S<String>>,
}

#[derive(Clone, Debug)]
pub struct ColumnDef {
    pub name: S<String>,
    pub ty: S<String>,
    pub default: Option<S<String>>,
    pub materialized: Option<S<String>>,
    pub alias: Option<S<String>>,
    pub comment: Option<S<String>>,
    pub codec: Option<S<String>>,
    pub ttl: Option<S<String>>,
    pub renamed_from: Option<S<String>>,
}

#[derive(Clone, Debug)]
pub struct EngineDef {
    pub kind: S<String>,
    pub version: Option<S<String>>,
    pub is_deleted: Option<S<String>>,
    pub sign: Option<S<String>>,
    pub sum_columns: Vec<S<String>>,
}

#[derive(Clone, Debug)]
pub struct IndexDef {
    pub name: S<String>,
    pub expr: S<String>,
    pub kind: S<String>,
    pub granularity: Option<S<u64>>,
}

#[derive(Clone, Debug)]
pub struct ProjectionDef {
    pub name: S<String>,
    pub query: S<String>,
}

#[derive(Clone, Debug)]
pub struct ViewDef {
    pub name: S<String>,
    pub kind: S<String>,
    pub from: Option<S<String>>,
    pub to: Option<S<String>>,
    pub comment: Option<S<String>>,
    pub filter: Option<S<String>>,
    /// explode_array: the array column and the name its element gets.
    pub array: Option<S<String>>,
    pub element: Option<S<String>>,
    /// explode_map: the map column and the target columns for key and value.
    pub map: Option<S<String>>,
    pub key_column: Option<S<String>>,
    pub value_column: Option<S<String>>,
    /// explode_*: target column ← expression.
    pub columns: Vec<(S<String>, S<String>)>,
    /// rollup
    pub dimensions: Vec<DimensionDef>,
    pub measures: Vec<MeasureDef>,
    pub partition_by: Option<S<String>>,
    pub ttl: Option<S<String>>,
    /// sql: the SELECT of a hand-written view.
    pub select: Option<S<String>>,
}

#[derive(Clone, Debug)]
pub struct DimensionDef {
    pub name: S<String>,
    pub expr: S<String>,
    pub ty: Option<S<String>>,
}

#[derive(Clone, Debug)]
pub struct MeasureDef {
    pub name: S<String>,
    pub agg: S<String>,
    pub expr: Option<S<String>>,
    pub ty: Option<S<String>>,
    /// argMin/argMax: what the value is taken at the least/greatest of.
    pub by: Option<S<String>>,
    pub by_ty: Option<S<String>>,
}

#[derive(Clone, Debug)]
pub struct TaxonomyDef {
    pub span: crate::diag::Span,
    pub table: Option<S<String>>,
    pub event_column: Option<S<String>>,
    pub properties_column: Option<S<String>>,
    pub presets: Vec<S<String>>,
    pub events: Vec<EventDef>,
    pub roles: Vec<(S<String>, Vec<S<String>>)>,
}

#[derive(Clone, Debug)]
pub struct EventDef {
    pub name: S<String>,
    pub description: Option<S<String>>,
    pub role: Option<S<String>>,
    pub aliases: Vec<S<String>>,
    pub required: Vec<S<String>>,
    pub optional: Vec<S<String>>,
    pub properties: Vec<PropertyDef>,
}

#[derive(Clone, Debug)]
pub struct PropertyDef {
    pub name: S<String>,
    pub ty: S<String>,
    pub required: bool,
    pub column: Option<S<String>>,
    pub description: Option<S<String>>,
}

const TOP: &[&str] = &[
    "name",
    "database",
    "timezone",
    "retention_days",
    "base_currency",
    "currencies",
    "tables",
    "views",
    "taxonomy",
];
const TABLE: &[&str] = &[
    "name",
    "comment",
    "columns",
    "engine",
    "order_by",
    "primary_key",
    "partition_by",
    "sample_by",
    "ttl",
    "indexes",
    "projections",
    "settings",
    "shard_key",
];
const COLUMN: &[&str] = &[
    "name",
    "type",
    "default",
    "materialized",
    "alias",
    "comment",
    "codec",
    "ttl",
    "renamed_from",
];
const ENGINE: &[&str] = &["type", "version", "is_deleted", "sign", "columns"];
const INDEX: &[&str] = &["name", "expr", "type", "granularity"];
const PROJECTION: &[&str] = &["name", "query"];
const VIEW: &[&str] = &[
    "name",
    "kind",
    "from",
    "to",
    "comment",
    "where",
    "array",
    "element",
    "map",
    "key_column",
    "value_column",
    "columns",
    "dimensions",
    "measures",
    "partition_by",
    "ttl",
    "select",
];
const DIMENSION: &[&str] = &["name", "expr", "type"];
const MEASURE: &[&str] = &["name", "agg", "expr", "type", "by", "by_type"];
const TAXONOMY: &[&str] = &[
    "table",
    "event_column",
    "properties_column",
    "presets",
    "events",
    "roles",
];
const EVENT: &[&str] = &[
    "name",
    "description",
    "role",
    "aliases",
    "required",
    "optional",
    "properties",
];
const PROPERTY: &[&str] = &["type", "required", "column", "description"];

/// Read the whole document; problems go to `cx`, and whatever could be read is returned.
pub(crate) fn read(root: &Node, cx: &mut Cx) -> SchemaFile {
    let f = cx.fields(root, "the schema", TOP);
    let opt_str = |cx: &mut Cx, key: &str, what: &str| f.get(key).and_then(|n| cx.string(n, what));
    SchemaFile {
        name: opt_str(cx, "name", "name"),
        database: opt_str(cx, "database", "database"),
        timezone: opt_str(cx, "timezone", "timezone"),
        retention_days: f
            .get("retention_days")
            .and_then(|n| cx.uint(n, "retention_days")),
        base_currency: opt_str(cx, "base_currency", "base_currency"),
        currencies: cx.pairs(f.get("currencies"), "currencies"),
        tables: f
            .get("tables")
            .map(|n| {
                cx.list(n, "tables", false)
                    .into_iter()
                    .filter_map(|t| read_table(t, cx))
                    .collect()
            })
            .unwrap_or_default(),
        views: f
            .get("views")
            .map(|n| {
                cx.list(n, "views", false)
                    .into_iter()
                    .filter_map(|v| read_view(v, cx))
                    .collect()
            })
            .unwrap_or_default(),
        taxonomy: f.get("taxonomy").map(|n| read_taxonomy(n, cx)),
    }
}

fn opt_text(cx: &mut Cx, f: &super::decode::Fields, key: &str, what: &str) -> Option<S<String>> {
    f.get(key).and_then(|n| cx.text(n, what))
}

fn read_table(node: &Node, cx: &mut Cx) -> Option<TableDef> {
    let f = cx.fields(node, "a table", TABLE);
    let name = cx
        .required(&f, "name", "a table")
        .and_then(|n| cx.string(n, "table name"));
    let what = name
        .as_ref()
        .map_or("a table".to_string(), |n| format!("table `{}`", n.value));
    let columns_node = cx.required(&f, "columns", &what);
    let columns_given = columns_node.is_some_and(|n| matches!(n.value, Value::Seq(_)));
    let columns = match columns_node {
        Some(n) => cx
            .list(n, "columns", false)
            .into_iter()
            .filter_map(|c| read_column(c, cx))
            .collect(),
        None => Vec::new(),
    };
    let engine = f.get("engine").and_then(|n| read_engine(n, cx));
    let order_by = cx.texts(f.get("order_by"), "order_by");
    let primary_key = cx.texts(f.get("primary_key"), "primary_key");
    let indexes = f
        .get("indexes")
        .map(|n| {
            cx.list(n, "indexes", false)
                .into_iter()
                .filter_map(|i| {
                    let f = cx.fields(i, "an index", INDEX);
                    let name = cx
                        .required(&f, "name", "an index")
                        .and_then(|n| cx.string(n, "index name"));
                    let expr = cx
                        .required(&f, "expr", "an index")
                        .and_then(|n| cx.text(n, "index expr"));
                    let kind = cx
                        .required(&f, "type", "an index")
                        .and_then(|n| cx.text(n, "index type"));
                    let granularity = f.get("granularity").and_then(|n| cx.uint(n, "granularity"));
                    Some(IndexDef {
                        name: name?,
                        expr: expr?,
                        kind: kind?,
                        granularity,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let projections = f
        .get("projections")
        .map(|n| {
            cx.list(n, "projections", false)
                .into_iter()
                .filter_map(|p| {
                    let f = cx.fields(p, "a projection", PROJECTION);
                    let name = cx
                        .required(&f, "name", "a projection")
                        .and_then(|n| cx.string(n, "projection name"));
                    let query = cx
                        .required(&f, "query", "a projection")
                        .and_then(|n| cx.text(n, "projection query"));
                    Some(ProjectionDef {
                        name: name?,
                        query: query?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TableDef {
        comment: opt_text(cx, &f, "comment", "comment"),
        partition_by: opt_text(cx, &f, "partition_by", "partition_by"),
        sample_by: opt_text(cx, &f, "sample_by", "sample_by"),
        ttl: opt_text(cx, &f, "ttl", "ttl"),
        settings: cx.pairs(f.get("settings"), "settings"),
        shard_key: opt_text(cx, &f, "shard_key", "shard_key"),
        name: name?,
        columns,
        columns_given,
        engine,
        order_by,
        primary_key,
        indexes,
        projections,
    })
}

fn read_column(node: &Node, cx: &mut Cx) -> Option<ColumnDef> {
    let f = cx.fields(node, "a column", COLUMN);
    let name = cx
        .required(&f, "name", "a column")
        .and_then(|n| cx.string(n, "column name"));
    let what = name
        .as_ref()
        .map_or("a column".to_string(), |n| format!("column `{}`", n.value));
    let ty = cx
        .required(&f, "type", &what)
        .and_then(|n| cx.string(n, "column type"));
    Some(ColumnDef {
        default: opt_text(cx, &f, "default", "default"),
        materialized: opt_text(cx, &f, "materialized", "materialized"),
        alias: opt_text(cx, &f, "alias", "alias"),
        comment: opt_text(cx, &f, "comment", "comment"),
        codec: opt_text(cx, &f, "codec", "codec"),
        ttl: opt_text(cx, &f, "ttl", "ttl"),
        renamed_from: f
            .get("renamed_from")
            .and_then(|n| cx.string(n, "renamed_from")),
        name: name?,
        ty: ty?,
    })
}

fn read_engine(node: &Node, cx: &mut Cx) -> Option<EngineDef> {
    if let Value::Str(s) = &node.value {
        return Some(EngineDef {
            kind: S::new(s.clone(), node.span),
            version: None,
            is_deleted: None,
            sign: None,
            sum_columns: Vec::new(),
        });
    }
    let f = cx.fields(node, "engine", ENGINE);
    let kind = cx
        .required(&f, "type", "engine")
        .and_then(|n| cx.string(n, "engine type"));
    Some(EngineDef {
        version: f
            .get("version")
            .and_then(|n| cx.string(n, "version column")),
        is_deleted: f
            .get("is_deleted")
            .and_then(|n| cx.string(n, "is_deleted column")),
        sign: f.get("sign").and_then(|n| cx.string(n, "sign column")),
        sum_columns: cx.texts(f.get("columns"), "engine columns"),
        kind: kind?,
    })
}

fn read_view(node: &Node, cx: &mut Cx) -> Option<ViewDef> {
    let f = cx.fields(node, "a view", VIEW);
    let name = cx
        .required(&f, "name", "a view")
        .and_then(|n| cx.string(n, "view name"));
    let kind = cx
        .required(&f, "kind", "a view")
        .and_then(|n| cx.string(n, "view kind"));
    let s = |cx: &mut Cx, key: &str| f.get(key).and_then(|n| cx.string(n, key));
    let dimensions = f
        .get("dimensions")
        .map(|n| {
            cx.list(n, "dimensions", false)
                .into_iter()
                .filter_map(|d| {
                    if let Some(text) = d.as_str() {
                        // `- currency` is short for `{name: currency, expr: currency}`.
                        let v = S::new(text.to_string(), d.span);
                        return Some(DimensionDef {
                            name: v.clone(),
                            expr: v,
                            ty: None,
                        });
                    }
                    let f = cx.fields(d, "a dimension", DIMENSION);
                    let name = cx
                        .required(&f, "name", "a dimension")
                        .and_then(|n| cx.string(n, "dimension name"));
                    let expr = match f.get("expr") {
                        Some(n) => cx.text(n, "dimension expr"),
                        None => name.clone(),
                    };
                    let ty = f.get("type").and_then(|n| cx.string(n, "dimension type"));
                    Some(DimensionDef {
                        name: name?,
                        expr: expr?,
                        ty,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let measures = f
        .get("measures")
        .map(|n| {
            cx.list(n, "measures", false)
                .into_iter()
                .filter_map(|m| {
                    let f = cx.fields(m, "a measure", MEASURE);
                    let name = cx
                        .required(&f, "name", "a measure")
                        .and_then(|n| cx.string(n, "measure name"));
                    let agg = cx
                        .required(&f, "agg", "a measure")
                        .and_then(|n| cx.string(n, "measure agg"));
                    Some(MeasureDef {
                        expr: f.get("expr").and_then(|n| cx.text(n, "measure expr")),
                        ty: f.get("type").and_then(|n| cx.string(n, "measure type")),
                        by: f.get("by").and_then(|n| cx.text(n, "measure by")),
                        by_ty: f
                            .get("by_type")
                            .and_then(|n| cx.string(n, "measure by_type")),
                        name: name?,
                        agg: agg?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(ViewDef {
        from: s(cx, "from"),
        to: s(cx, "to"),
        comment: opt_text(cx, &f, "comment", "comment"),
        filter: opt_text(cx, &f, "where", "where"),
        array: s(cx, "array"),
        element: s(cx, "element"),
        map: s(cx, "map"),
        key_column: s(cx, "key_column"),
        value_column: s(cx, "value_column"),
        columns: cx.pairs(f.get("columns"), "view columns"),
        partition_by: opt_text(cx, &f, "partition_by", "partition_by"),
        ttl: opt_text(cx, &f, "ttl", "ttl"),
        select: opt_text(cx, &f, "select", "select"),
        dimensions,
        measures,
        name: name?,
        kind: kind?,
    })
}

fn read_taxonomy(node: &Node, cx: &mut Cx) -> TaxonomyDef {
    let f = cx.fields(node, "taxonomy", TAXONOMY);
    let s = |cx: &mut Cx, key: &str| f.get(key).and_then(|n| cx.string(n, key));
    let events = f
        .get("events")
        .map(|n| {
            cx.list(n, "events", false)
                .into_iter()
                .filter_map(|e| read_event(e, cx))
                .collect()
        })
        .unwrap_or_default();
    let mut roles = Vec::new();
    if let Some(n) = f.get("roles") {
        let rf = cx.fields(n, "roles", &super::taxonomy::ROLE_NAMES);
        for role in super::taxonomy::ROLE_NAMES {
            if let Some(v) = rf.get(role) {
                let key_span = rf_key_span(n, role).unwrap_or(v.span);
                let events = cx.texts(Some(v), "role events");
                roles.push((S::new(role.to_string(), key_span), events));
            }
        }
    }
    TaxonomyDef {
        span: node.span,
        table: s(cx, "table"),
        event_column: s(cx, "event_column"),
        properties_column: s(cx, "properties_column"),
        presets: cx.texts(f.get("presets"), "presets"),
        events,
        roles,
    }
}

fn rf_key_span(map: &Node, key: &str) -> Option<crate::diag::Span> {
    match &map.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k.span),
        _ => None,
    }
}

fn read_event(node: &Node, cx: &mut Cx) -> Option<EventDef> {
    let f = cx.fields(node, "an event", EVENT);
    let name = cx
        .required(&f, "name", "an event")
        .and_then(|n| cx.string(n, "event name"));
    let mut properties = Vec::new();
    if let Some(Node {
        value: Value::Map(entries),
        ..
    }) = f.get("properties")
    {
        for (k, v) in entries {
            let Some(pname) = cx.string(k, "property name") else {
                continue;
            };
            let what = format!("property `{}`", pname.value);
            // `search_term: String` is short for `{type: String}`.
            if let Value::Str(t) = &v.value {
                properties.push(PropertyDef {
                    name: pname,
                    ty: S::new(t.clone(), v.span),
                    required: false,
                    column: None,
                    description: None,
                });
                continue;
            }
            let pf = cx.fields(v, &what, PROPERTY);
            let Some(ty) = cx
                .required(&pf, "type", &what)
                .and_then(|n| cx.string(n, "property type"))
            else {
                continue;
            };
            properties.push(PropertyDef {
                name: pname,
                ty,
                required: pf
                    .get("required")
                    .and_then(|n| cx.bool(n, "required"))
                    .unwrap_or(false),
                column: pf.get("column").and_then(|n| cx.string(n, "column")),
                description: pf
                    .get("description")
                    .and_then(|n| cx.text(n, "description")),
            });
        }
    } else if let Some(n) = f.get("properties") {
        cx.fields(n, "properties", PROPERTY);
    }
    Some(EventDef {
        description: opt_text(cx, &f, "description", "description"),
        role: f.get("role").and_then(|n| cx.string(n, "role")),
        aliases: cx.texts(f.get("aliases"), "aliases"),
        required: cx.texts(f.get("required"), "required"),
        optional: cx.texts(f.get("optional"), "optional"),
        properties,
        name: name?,
    })
}
