pub mod types;
pub mod yaml;
