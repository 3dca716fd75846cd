pub mod decode;
pub mod expr;
pub mod ir;
pub mod model;
pub mod taxonomy;
pub mod types;
mod validate;
pub mod yaml;

pub use validate::DEFAULT_CURRENCIES;

use std::path::Path;

use crate::diag::{Diagnostics, Source};
use crate::error::Error;

pub use decode::S;
pub use ir::Schema;
pub use model::SchemaFile;
pub use types::ChType;

/// Stage 1: YAML text → the schema as written (spans kept). Unknown keys and ill-typed values
/// are reported here.
pub fn parse(source: &Source) -> Result<SchemaFile, Diagnostics> {
    let root = yaml::parse(source)?;
    let mut diags = Diagnostics::new(Some(source.clone()));
    let file = model::read(&root, &mut decode::Cx { diags: &mut diags });
    diags.into_result(file)
}

/// Stage 2: the schema as written → the validated IR.
pub fn validate(file: &SchemaFile, source: &Source) -> Result<Schema, Diagnostics> {
    validate::validate(file, source)
}

/// Both stages on a text; problems from both are reported together.
pub fn from_source(source: &Source) -> Result<Schema, Diagnostics> {
    let root = yaml::parse(source)?;
    let mut diags = Diagnostics::new(Some(source.clone()));
    let file = model::read(&root, &mut decode::Cx { diags: &mut diags });
    match validate::validate(&file, source) {
        Ok(schema) => diags.into_result(schema),
        Err(more) => {
            diags.extend(more);
            Err(diags.sorted())
        }
    }
}

/// Read and validate a schema file.
pub fn load(path: &Path) -> Result<Schema, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(from_source(&Source::new(path.display().to_string(), text))?)
}
