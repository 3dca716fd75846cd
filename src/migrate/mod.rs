//! Migrations: diff the schema against the state the existing migrations produce, write
//! versioned SQL files, and verify applied history against the files on disk.
//!
//! Stages: [`diff::plan`] (pure: old state + new schema → plan) → [`render`] (plan → file text)
//! → files in `migrations/` (`NNNN_name.sql`, plus `schema.state.json`, the schema the latest
//! migration produces, which the next `migrate new` diffs against).

pub mod apply;
pub mod diff;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ddl::DdlOptions;
use crate::error::Error;
use crate::schema::Schema;

pub use apply::{Applied, Migrator, Problem, verify};
pub use diff::{Plan, Step, plan};

/// The state file beside the migrations.
pub const STATE_FILE: &str = "schema.state.json";

/// A migration file on disk.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationFile {
    pub version: u32,
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    /// SHA-256 of the file's bytes, hex.
    pub checksum: String,
}

/// Stable checksum of a migration (never `DefaultHasher`).
pub fn checksum(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `NNNN_name.sql` files in version order.
pub fn list(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        let path = e.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        let Some((num, name)) = stem.split_once('_') else {
            continue;
        };
        let Ok(version) = num.parse::<u32>() else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        out.push(MigrationFile {
            version,
            name: name.to_string(),
            checksum: checksum(&text),
            path,
            text,
        });
    }
    out.sort_by_key(|m| m.version);
    Ok(out)
}

/// The schema the existing migrations produce (empty before the first one).
pub fn state(dir: &Path) -> Result<Option<Schema>, Error> {
    let path = dir.join(STATE_FILE);
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { path, source }),
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Usage {
                message: format!("{}: {e}", path.display()),
            }),
    }
}

/// The text of a migration file: a header saying what changed and why any step is unsafe,
/// then one statement per step.
pub fn render(name: &str, version: u32, plan: &Plan) -> String {
    let mut out = format!("-- chx migration {version:04}: {name}\n--\n-- Changes:\n");
    for c in &plan.changes {
        out.push_str(&format!("--   {c}\n"));
    }
    // Unsafe steps, consecutive ones with the same reason on one line.
    let mut groups: Vec<(usize, usize, &str)> = Vec::new();
    for (i, s) in plan.steps.iter().enumerate() {
        let Some(why) = s.unsafe_reason.as_deref() else {
            continue;
        };
        match groups.last_mut() {
            Some((_, last, w)) if *w == why && *last + 1 == i => *last = i,
            _ => groups.push((i, i, why)),
        }
    }
    if !groups.is_empty() {
        out.push_str("--\n-- UNSAFE (needs --allow-destructive):\n");
        for (a, b, why) in groups {
            let steps = if a == b {
                format!("step {}", a + 1)
            } else {
                format!("steps {}-{}", a + 1, b + 1)
            };
            out.push_str(&format!("--   {steps}: {why}\n"));
        }
    }
    for (i, s) in plan.steps.iter().enumerate() {
        let destructive = if s.destructive { " (destructive)" } else { "" };
        let restart = s
            .restart_at
            .map(|j| format!(" (resume at step {})", j + 1))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n-- step {}{destructive}{restart}\n{};\n",
            i + 1,
            s.sql
        ));
    }
    out
}

/// `chx migrate new`: diff the schema against the migrations' state and write the next file
/// and the new state. Returns `None` (writing nothing) when there is nothing to migrate.
pub fn new_migration(
    dir: &Path,
    name: &str,
    schema: &Schema,
    opts: &DdlOptions,
) -> Result<Option<PathBuf>, Error> {
    if !crate::sql::quote::is_word(name) {
        return Err(Error::Usage {
            message: format!("migration name `{name}` must be a word (letters, digits, _)"),
        });
    }
    let old = state(dir)?.unwrap_or_else(|| Schema {
        tables: vec![],
        views: vec![],
        ..schema.clone()
    });
    let p = plan(&old, schema, opts);
    if p.is_empty() {
        return Ok(None);
    }
    let version = list(dir)?.last().map_or(1, |m| m.version + 1);
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{version:04}_{name}.sql"));
    std::fs::write(&path, render(name, version, &p)).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let state_text = serde_json::to_string_pretty(schema).map_err(|e| Error::Usage {
        message: e.to_string(),
    })?;
    let state_path = dir.join(STATE_FILE);
    std::fs::write(&state_path, state_text + "\n").map_err(|source| Error::Io {
        path: state_path,
        source,
    })?;
    Ok(Some(path))
}

/// Split a migration file into statements at top-level semicolons, with sqlparser's tokenizer
/// (safe inside strings and comments); comment-only pieces are dropped.
pub fn statements(text: &str) -> Result<Vec<String>, Error> {
    use sqlparser::dialect::ClickHouseDialect;
    use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
    let tokens = Tokenizer::new(&ClickHouseDialect {}, text)
        .tokenize()
        .map_err(|e| Error::Usage {
            message: format!("cannot split the migration into statements: {e}"),
        })?;
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut meaningful = false;
    for t in tokens {
        match &t {
            Token::SemiColon => {
                if meaningful {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
                meaningful = false;
            }
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => {}
            Token::Whitespace(_) => cur.push_str(&t.to_string()),
            _ => {
                meaningful = true;
                cur.push_str(&t.to_string());
            }
        }
    }
    if meaningful {
        out.push(cur.trim().to_string());
    }
    Ok(out)
}
