//! Stage: typed report IR → ClickHouse SQL + parameters.
//!
//! Reports are built against the schema's semantic roles (purchase, refund, add to cart, …) and
//! columns through a [`Context`]; a report that needs a column or role the schema lacks is a
//! compile error, not bad SQL. Every user value is a `{name:Type}` parameter of the returned
//! [`Report`]; identifiers come only from the validated schema.
//!
//! Money is summed per currency in integer minor units: reports never add different currencies;
//! asked for the base currency, they convert each amount first (`money.rs`).
//! Purchases and refunds are counted after the seed API's dedupe rule (see `orders.rs`).

pub mod acquisition;
pub mod ast;
pub mod attribution;
pub mod catalog;
pub mod categories;
pub mod cohorts;
mod context;
pub mod customers;
pub mod floor;
pub mod funnel;
pub mod money;
pub mod named;
mod orders;
mod overview;
pub mod reports;
mod rollups;
pub mod template;
pub mod traffic;
pub mod visits;

use serde::Serialize;

pub use context::{Context, DateRange};

use crate::sql::{Param, Statement};

/// A compiled report: a SELECT and the parameters its placeholders name.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub name: String,
    pub query: ast::Select,
    pub params: Vec<Param>,
}

impl Report {
    /// The SQL, formatted one clause per line.
    pub fn sql(&self) -> String {
        self.query.to_sql(true)
    }

    pub fn statement(&self) -> Statement {
        Statement {
            sql: self.sql(),
            params: self.params.clone(),
        }
    }

    /// SQL with a header listing the parameters, for backends that embed SQL files.
    pub fn to_sql_file(&self) -> String {
        let mut out = format!("-- chx report: {}\n", self.name);
        for p in &self.params {
            out.push_str(&format!("-- param {}: {}\n", p.name, p.ch_type));
        }
        out.push_str(&self.sql());
        out.push('\n');
        out
    }
}

/// Report output as JSON rows with the seed API's field names.
#[derive(Clone, Debug, Serialize)]
pub struct ReportRows {
    pub report: String,
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}
