//! The validated schema: what the DDL compiler, ingest and reports work from. Every name in it
//! has been checked; every type is a [`ChType`].

use std::collections::BTreeMap;

use super::taxonomy::Taxonomy;
use super::types::ChType;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Schema {
    pub name: String,
    /// Database the tables live in unless a command says otherwise.
    pub database: String,
    pub timezone: String,
    /// How far back reports may look (ranges are clamped to it).
    pub retention_days: Option<u32>,
    pub base_currency: String,
    /// ISO 4217 minor-unit exponents (USD 2, JPY 0) for every accepted currency.
    pub currencies: BTreeMap<String, u8>,
    pub tables: Vec<Table>,
    pub views: Vec<View>,
    pub taxonomy: Option<Taxonomy>,
}

impl Schema {
    /// The table events are stored in: the taxonomy's, `events` without one.
    pub fn events_table(&self) -> &str {
        self.taxonomy
            .as_ref()
            .map_or("events", |t| t.table.as_str())
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| v.name == name)
    }

    /// Minor-unit exponent of a currency code, if the schema accepts it.
    pub fn currency_exponent(&self, code: &str) -> Option<u8> {
        self.currencies.get(code).copied()
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub name: String,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    pub engine: TableEngine,
    pub order_by: Vec<String>,
    pub primary_key: Vec<String>,
    pub partition_by: Option<String>,
    pub sample_by: Option<String>,
    pub ttl: Option<String>,
    pub indexes: Vec<Index>,
    pub projections: Vec<Projection>,
    pub settings: Vec<(String, String)>,
    /// Expression that decides the shard in cluster mode (Distributed sharding key).
    pub shard_key: Option<String>,
    /// Set when the table is generated (a rollup view's target).
    pub generated_by: Option<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: ChType,
    pub default: ColumnDefault,
    pub comment: Option<String>,
    pub codec: Option<String>,
    pub ttl: Option<String>,
    /// Migration hint: the column's previous name.
    pub renamed_from: Option<String>,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: ChType) -> Self {
        Column {
            name: name.into(),
            ty,
            default: ColumnDefault::None,
            comment: None,
            codec: None,
            ttl: None,
            renamed_from: None,
        }
    }

    /// Whether an INSERT may supply this column (ALIAS and MATERIALIZED are computed).
    pub fn is_insertable(&self) -> bool {
        matches!(
            self.default,
            ColumnDefault::None | ColumnDefault::Default(_)
        )
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ColumnDefault {
    None,
    Default(String),
    Materialized(String),
    Alias(String),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TableEngine {
    MergeTree,
    ReplacingMergeTree {
        version: Option<String>,
        is_deleted: Option<String>,
    },
    SummingMergeTree {
        columns: Vec<String>,
    },
    AggregatingMergeTree,
    CollapsingMergeTree {
        sign: String,
    },
    VersionedCollapsingMergeTree {
        sign: String,
        version: String,
    },
}

impl TableEngine {
    pub const KINDS: [&'static str; 6] = [
        "MergeTree",
        "ReplacingMergeTree",
        "SummingMergeTree",
        "AggregatingMergeTree",
        "CollapsingMergeTree",
        "VersionedCollapsingMergeTree",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            TableEngine::MergeTree => "MergeTree",
            TableEngine::ReplacingMergeTree { .. } => "ReplacingMergeTree",
            TableEngine::SummingMergeTree { .. } => "SummingMergeTree",
            TableEngine::AggregatingMergeTree => "AggregatingMergeTree",
            TableEngine::CollapsingMergeTree { .. } => "CollapsingMergeTree",
            TableEngine::VersionedCollapsingMergeTree { .. } => "VersionedCollapsingMergeTree",
        }
    }

    /// Engine parameters as written inside the parentheses.
    pub fn params(&self) -> Vec<String> {
        match self {
            TableEngine::MergeTree | TableEngine::AggregatingMergeTree => Vec::new(),
            TableEngine::ReplacingMergeTree {
                version,
                is_deleted,
            } => version.iter().chain(is_deleted).cloned().collect(),
            TableEngine::SummingMergeTree { columns } if columns.is_empty() => Vec::new(),
            TableEngine::SummingMergeTree { columns } => vec![format!("({})", columns.join(", "))],
            TableEngine::CollapsingMergeTree { sign } => vec![sign.clone()],
            TableEngine::VersionedCollapsingMergeTree { sign, version } => {
                vec![sign.clone(), version.clone()]
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Index {
    pub name: String,
    pub expr: String,
    pub kind: String,
    pub granularity: u64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Projection {
    pub name: String,
    pub query: String,
}

/// A materialized view: reads inserts into `source`, writes rows into `target`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct View {
    pub name: String,
    pub source: String,
    pub target: String,
    pub comment: Option<String>,
    pub kind: ViewKind,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ViewKind {
    /// One target row per element of an array column.
    ExplodeArray {
        array: String,
        element: String,
        columns: Vec<(String, String)>,
        filter: Option<String>,
    },
    /// One target row per key of a map column.
    ExplodeMap {
        map: String,
        key_column: String,
        value_column: String,
        columns: Vec<(String, String)>,
        filter: Option<String>,
    },
    /// Aggregate states per dimension values into an AggregatingMergeTree.
    Rollup(Rollup),
    /// A hand-written SELECT (table references already checked against the schema).
    Sql {
        select: String,
        tables: Vec<TableRef>,
    },
}

/// Where a table name stands in a hand-written SELECT, so the DDL compiler can qualify it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableRef {
    pub table: String,
    pub offset: usize,
    pub len: usize,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rollup {
    pub dimensions: Vec<Dimension>,
    pub measures: Vec<Measure>,
    pub filter: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dimension {
    pub name: String,
    pub expr: String,
    pub ty: ChType,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measure {
    pub name: String,
    /// Aggregate function name, e.g. `sum`, `uniqExact`, `count`.
    pub agg: String,
    pub expr: Option<String>,
    pub arg_ty: Option<ChType>,
    /// The second argument of `argMin`/`argMax` (the value `expr` is taken at the least or
    /// greatest of), with its type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_ty: Option<ChType>,
}

impl Measure {
    /// The aggregates whose second argument is `by`.
    pub const TWO_ARGUMENTS: [&'static str; 2] = ["argMin", "argMax"];

    pub const AGGREGATES: [&'static str; 12] = [
        "sum",
        "count",
        "min",
        "max",
        "avg",
        "uniq",
        "uniqExact",
        "any",
        "anyLast",
        "groupUniqArray",
        "argMin",
        "argMax",
    ];

    /// The aggregate's arguments as SQL: `expr`, then `by` (argMin/argMax).
    pub fn arguments(&self) -> String {
        let args: Vec<&str> = self
            .expr
            .iter()
            .chain(&self.by)
            .map(String::as_str)
            .collect();
        args.join(", ")
    }

    /// The column type that holds this measure's state.
    pub fn state_type(&self) -> ChType {
        ChType::AggregateFunction {
            function: self.agg.clone(),
            args: self.arg_ty.iter().chain(&self.by_ty).cloned().collect(),
        }
    }
}
