//! SQL text primitives shared by every stage: escaping and typed parameters.

pub mod params;
pub mod quote;

pub use params::{Param, ParamValue, Statement};
