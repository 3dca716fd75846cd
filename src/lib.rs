pub mod diag;
pub mod engine;
pub mod error;
pub mod sql;

pub use error::Error;
pub mod cli;
pub mod ddl;
pub mod ingest;
pub mod schema;
