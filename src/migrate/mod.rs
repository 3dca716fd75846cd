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
    // Unsafe steps, consecutive ones with the same reason on one line: destructive ones need
    // --allow-destructive; the others (e.g. filling a new rollup) only need a read.
    for (destructive, title) in [
        (true, "UNSAFE (needs --allow-destructive)"),
        (false, "CAUTION (read before applying)"),
    ] {
        let mut groups: Vec<(usize, usize, &str)> = Vec::new();
        for (i, s) in plan.steps.iter().enumerate() {
            let Some(why) = s.unsafe_reason.as_deref() else {
                continue;
            };
            if s.destructive != destructive {
                continue;
            }
            match groups.last_mut() {
                Some((_, last, w)) if *w == why && *last + 1 == i => *last = i,
                _ => groups.push((i, i, why)),
            }
        }
        if !groups.is_empty() {
            out.push_str(&format!("--\n-- {title}:\n"));
            for (a, b, why) in groups {
                let steps = if a == b {
                    format!("step {}", a + 1)
                } else {
                    format!("steps {}-{}", a + 1, b + 1)
                };
                out.push_str(&format!("--   {steps}: {why}\n"));
            }
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

/// Split a migration file into statements at top-level semicolons. A small lexer with
/// ClickHouse's rules (quotes with backslash escapes and doubled quotes, back-quoted and
/// double-quoted names, `--` and `/* */` comments), so a `;` inside any of them never splits;
/// comment-only pieces are dropped and the statements keep their original text.
pub fn statements(text: &str) -> Result<Vec<String>, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut meaningful = false;
    let mut piece = String::new();
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' | b'`' => {
                let open = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(Error::Usage {
                                message: format!(
                                    "unterminated quote starting at byte {open} of the migration"
                                ),
                            });
                        }
                        Some(b'\\') => i += 2,
                        Some(&q) if q == c && bytes.get(i + 1) == Some(&c) => i += 2,
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                piece.push_str(&text[open..i]);
                meaningful = true;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map(|e| i + 2 + e + 2)
                    .ok_or_else(|| Error::Usage {
                        message: "unterminated /* comment in the migration".into(),
                    })?;
                i = end;
                continue;
            }
            b';' => {
                if meaningful {
                    out.push(piece.trim().to_string());
                }
                piece.clear();
                meaningful = false;
                i += 1;
                continue;
            }
            _ => {
                if !c.is_ascii_whitespace() {
                    meaningful = true;
                }
                // Copy one UTF-8 character.
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                piece.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    if meaningful {
        out.push(piece.trim().to_string());
    }
    Ok(out)
}

/// What `system` says about a database's objects, as comparable lines (database name removed).
pub fn introspect(engine: &crate::engine::Engine, database: &str) -> Result<Vec<String>, Error> {
    use crate::sql::Statement;
    let q = |sql: &str| engine.run(Statement::new(sql).param("db", "String", database));
    let mut out = Vec::new();
    let tables = q(
        "SELECT name, engine, sorting_key, partition_key, primary_key, replaceRegexpAll(engine_full, 'SETTINGS.*', '') AS engine_full FROM system.tables WHERE database = {db:String} AND name NOT LIKE 'chx_migration%' ORDER BY name",
    )?;
    for r in tables.rows {
        let v: Vec<String> = r
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect();
        out.push(format!(
            "table {}: engine {}, ORDER BY {}, PARTITION BY {}, PRIMARY KEY {} ({})",
            v[0], v[1], v[2], v[3], v[4], v[5]
        ));
    }
    let columns = q(
        "SELECT table, name, type, default_kind, default_expression, comment, compression_codec FROM system.columns WHERE database = {db:String} AND table NOT LIKE 'chx_migration%' ORDER BY table, position",
    )?;
    for r in columns.rows {
        let v: Vec<String> = r
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect();
        out.push(format!(
            "column {}.{}: {} {} {} comment '{}' codec {}",
            v[0], v[1], v[2], v[3], v[4], v[5], v[6]
        ));
    }
    let indexes = q(
        "SELECT table, name, type_full, expr, toString(granularity) FROM system.data_skipping_indices WHERE database = {db:String} ORDER BY table, name",
    )?;
    for r in indexes.rows {
        let v: Vec<String> = r
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect();
        out.push(format!(
            "index {}.{}: {} {} granularity {}",
            v[0], v[1], v[2], v[3], v[4]
        ));
    }
    let views = q(
        "SELECT name, replaceAll(as_select, database || '.', '') FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name",
    )?;
    for r in views.rows {
        out.push(format!(
            "view {}: {}",
            r[0].as_str().unwrap_or_default(),
            r[1].as_str().unwrap_or_default()
        ));
    }
    Ok(out
        .into_iter()
        .map(|l| l.replace(&format!("{database}."), ""))
        .collect())
}

/// Drift between a live database and the schema: the schema is applied to a scratch database
/// on the same server, both are introspected, and the lines that differ are returned
/// (`- live only`, `+ schema only`). Empty means no drift.
pub fn drift(
    engine: &crate::engine::Engine,
    schema: &Schema,
    database: &str,
) -> Result<Vec<String>, Error> {
    let scratch = format!("{database}__chx_drift");
    let q = crate::sql::quote::ident(&scratch);
    engine.run(format!("DROP DATABASE IF EXISTS {q}"))?;
    let result = (|| {
        for s in crate::ddl::compile(schema, &DdlOptions::new().database(&scratch)) {
            engine.run(s.to_statement())?;
        }
        let want = introspect(engine, &scratch)?;
        let live = introspect(engine, database)?;
        let norm = |v: Vec<String>, db: &str| -> Vec<String> {
            v.into_iter().map(|l| l.replace(db, "DB")).collect()
        };
        let (want, live) = (norm(want, &scratch), norm(live, database));
        let mut out: Vec<String> = live
            .iter()
            .filter(|l| !want.contains(l))
            .map(|l| format!("- {l}"))
            .collect();
        out.extend(
            want.iter()
                .filter(|l| !live.contains(l))
                .map(|l| format!("+ {l}")),
        );
        Ok(out)
    })();
    engine.run(format!("DROP DATABASE IF EXISTS {q}"))?;
    result
}
