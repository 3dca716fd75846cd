//! Applying migrations to a database, with a history that survives partial failure.
//!
//! ClickHouse DDL is not transactional, so chx records every statement it runs in
//! `chx_migrations` (version, checksum, statement index, success, error). A migration is done
//! when its marker row (statement 0) is written. If statement k fails, the history shows the
//! migration dirty at k with the server's error; the next `apply` resumes at k (statements are
//! written to be re-runnable) and never re-runs 1..k-1. A lease row in `chx_migration_lock` keeps
//! two `apply` runs from interleaving: every candidate inserts its lease, and only the oldest
//! unexpired lease (ties broken by owner) proceeds.

use std::collections::BTreeMap;
use std::path::Path;

use super::{MigrationFile, list, statements};
use crate::engine::Engine;
use crate::error::Error;
use crate::sql::{Statement, quote};

/// What the history says about one migration.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub version: u32,
    pub name: String,
    pub checksum: String,
    /// Statements that succeeded (1-based).
    pub done: Vec<u32>,
    /// Marker written: the whole migration succeeded.
    pub complete: bool,
    /// The last failure, if the migration is not complete: statement and error.
    pub failed: Option<(u32, String)>,
}

/// A problem `verify` finds between the history and the files.
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// An applied migration's file changed since it was applied.
    Modified { version: u32, file: String },
    /// An applied migration's file is gone.
    Missing { version: u32, name: String },
    /// A migration stopped part-way.
    Dirty {
        version: u32,
        name: String,
        statement: u32,
        error: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Modified { version, file } => write!(
                f,
                "migration {version:04} was applied but {file} has changed since (checksum differs)"
            ),
            Problem::Missing { version, name } => write!(
                f,
                "migration {version:04}_{name} was applied but its file is missing"
            ),
            Problem::Dirty {
                version,
                name,
                statement,
                error,
            } => {
                write!(
                    f,
                    "migration {version:04}_{name} is dirty: statement {statement} failed: {error}"
                )
            }
        }
    }
}

/// Pure check of applied history against the files on disk (refinery's `verify`).
pub fn verify(applied: &[Applied], files: &[MigrationFile]) -> Vec<Problem> {
    let mut out = Vec::new();
    for a in applied {
        match files.iter().find(|f| f.version == a.version) {
            None => out.push(Problem::Missing {
                version: a.version,
                name: a.name.clone(),
            }),
            Some(f) if f.checksum != a.checksum => out.push(Problem::Modified {
                version: a.version,
                file: f.path.display().to_string(),
            }),
            Some(_) => {}
        }
        if !a.complete {
            let (statement, error) = a.failed.clone().unwrap_or((
                a.done.iter().max().copied().unwrap_or(0) + 1,
                "interrupted".into(),
            ));
            out.push(Problem::Dirty {
                version: a.version,
                name: a.name.clone(),
                statement,
                error,
            });
        }
    }
    out
}

/// Applies migrations to one database.
pub struct Migrator<'a> {
    engine: &'a Engine,
    database: String,
    cluster: Option<String>,
    owner: String,
}

fn history_table(db: &str) -> String {
    format!("{}.chx_migrations", quote::ident(db))
}

fn lock_table(db: &str) -> String {
    format!("{}.chx_migration_lock", quote::ident(db))
}

impl<'a> Migrator<'a> {
    pub fn new(engine: &'a Engine, database: &str, cluster: Option<&str>) -> Self {
        let owner = format!(
            "{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        Migrator {
            engine,
            database: database.into(),
            cluster: cluster.map(str::to_string),
            owner,
        }
    }

    /// A fixed owner name (tests use it to play two processes).
    pub fn owner(mut self, owner: &str) -> Self {
        self.owner = owner.into();
        self
    }

    fn on_cluster(&self) -> String {
        self.cluster
            .as_ref()
            .map(|c| format!(" ON CLUSTER {}", quote::ident(c)))
            .unwrap_or_default()
    }

    /// Create the database and the history and lock tables if missing.
    pub fn ensure(&self) -> Result<(), Error> {
        let oc = self.on_cluster();
        let replicated = |kind: &str| match &self.cluster {
            Some(_) => format!(
                "Replicated{kind}('/clickhouse/tables/{{shard}}/{{database}}/{{table}}', '{{replica}}')"
            ),
            None => format!("{kind}()"),
        };
        self.engine.run(format!(
            "CREATE DATABASE IF NOT EXISTS {}{oc}",
            quote::ident(&self.database)
        ))?;
        self.engine.run(format!(
            "CREATE TABLE IF NOT EXISTS {}{oc} (version UInt32, name String, checksum String, statement UInt32, success UInt8, error String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3), applied_by String) ENGINE = {} ORDER BY (version, statement, applied_at)",
            history_table(&self.database),
            replicated("MergeTree")
        ))?;
        self.engine.run(format!(
            "CREATE TABLE IF NOT EXISTS {}{oc} (owner String, acquired_at DateTime64(6, 'UTC'), expires_at DateTime64(3, 'UTC'), released UInt8) ENGINE = {} ORDER BY owner",
            lock_table(&self.database),
            replicated("ReplacingMergeTree")
        ))?;
        Ok(())
    }

    /// The history, one entry per migration version.
    pub fn history(&self) -> Result<Vec<Applied>, Error> {
        let rows = self.engine.run(format!(
            "SELECT version, name, checksum, statement, success, error FROM {} ORDER BY version, applied_at, statement",
            history_table(&self.database)
        ))?;
        let mut by: BTreeMap<u32, Applied> = BTreeMap::new();
        for r in rows.rows {
            let version = r[0].as_u64().unwrap_or_default() as u32;
            let statement = r[3].as_u64().unwrap_or_default() as u32;
            let success = r[4].as_u64().unwrap_or_default() == 1;
            let a = by.entry(version).or_insert_with(|| Applied {
                version,
                name: r[1].as_str().unwrap_or_default().into(),
                checksum: r[2].as_str().unwrap_or_default().into(),
                done: Vec::new(),
                complete: false,
                failed: None,
            });
            a.checksum = r[2].as_str().unwrap_or_default().into();
            match (statement, success) {
                (0, true) => a.complete = true,
                (k, true) => {
                    a.done.push(k);
                    if a.failed.as_ref().is_some_and(|(f, _)| *f == k) {
                        a.failed = None;
                    }
                }
                (k, false) => a.failed = Some((k, r[5].as_str().unwrap_or_default().into())),
            }
        }
        Ok(by.into_values().collect())
    }

    fn record(
        &self,
        m: &MigrationFile,
        statement: u32,
        result: Result<(), &Error>,
    ) -> Result<(), Error> {
        let (success, error) = match result {
            Ok(()) => (1u64, String::new()),
            Err(e) => (0, e.to_string()),
        };
        self.engine.run(
            Statement::new(format!(
                "INSERT INTO {} (version, name, checksum, statement, success, error, applied_by) VALUES ({{v:UInt32}}, {{n:String}}, {{c:String}}, {{s:UInt32}}, {{ok:UInt8}}, {{e:String}}, {{by:String}})",
                history_table(&self.database)
            ))
            .param("v", "UInt32", m.version as u64)
            .param("n", "String", m.name.as_str())
            .param("c", "String", m.checksum.as_str())
            .param("s", "UInt32", statement as u64)
            .param("ok", "UInt8", success)
            .param("e", "String", error)
            .param("by", "String", self.owner.as_str()),
        )?;
        Ok(())
    }

    /// Take the lease, or say who holds it.
    pub fn lock(&self, ttl_seconds: u32) -> Result<(), Error> {
        self.engine.run(
            Statement::new(format!(
                "INSERT INTO {} (owner, acquired_at, expires_at, released) VALUES ({{o:String}}, now64(6), now64(3) + toIntervalSecond({{ttl:UInt32}}), 0)",
                lock_table(&self.database)
            ))
            .param("o", "String", self.owner.as_str())
            .param("ttl", "UInt32", ttl_seconds as u64),
        )?;
        let holder = self.engine.run(format!(
            "SELECT owner, toString(expires_at) FROM {} FINAL WHERE released = 0 AND expires_at > now64(3) ORDER BY acquired_at, owner LIMIT 1",
            lock_table(&self.database)
        ))?;
        match holder.rows.first() {
            Some(r) if r[0].as_str() == Some(self.owner.as_str()) => Ok(()),
            Some(r) => {
                self.unlock()?;
                Err(Error::Usage {
                    message: format!(
                        "another `chx migrate apply` holds the migration lock of `{}` (owner {}, until {} UTC); try again later, or break a stale lock with `chx migrate unlock`",
                        self.database,
                        r[0].as_str().unwrap_or_default(),
                        r[1].as_str().unwrap_or_default()
                    ),
                })
            }
            None => Err(Error::Usage {
                message: "could not take the migration lock".into(),
            }),
        }
    }

    pub fn unlock(&self) -> Result<(), Error> {
        self.engine.run(
            Statement::new(format!("INSERT INTO {} (owner, acquired_at, expires_at, released) VALUES ({{o:String}}, now64(6), now64(3), 1)", lock_table(&self.database)))
                .param("o", "String", self.owner.as_str()),
        )?;
        Ok(())
    }

    /// Release every lease (for a lock left by a process that died).
    pub fn break_lock(&self) -> Result<(), Error> {
        self.engine.run(format!(
            "INSERT INTO {t} (owner, acquired_at, expires_at, released) SELECT owner, now64(6), now64(3), 1 FROM {t} FINAL WHERE released = 0",
            t = lock_table(&self.database)
        ))?;
        Ok(())
    }

    /// Apply pending migrations from `dir` in order; returns the versions applied.
    pub fn apply(&self, dir: &Path, allow_destructive: bool) -> Result<Vec<u32>, Error> {
        self.ensure()?;
        self.lock(600)?;
        let result = self.apply_locked(dir, allow_destructive);
        self.unlock()?;
        result
    }

    fn apply_locked(&self, dir: &Path, allow_destructive: bool) -> Result<Vec<u32>, Error> {
        let files = list(dir)?;
        let history = self.history()?;
        let problems: Vec<Problem> = verify(&history, &files)
            .into_iter()
            .filter(|p| !matches!(p, Problem::Dirty { .. }))
            .collect();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            return Err(Error::Usage {
                message: format!(
                    "refusing to apply: the history does not match the files:\n{}",
                    list.join("\n")
                ),
            });
        }
        let pending: Vec<&MigrationFile> = files
            .iter()
            .filter(|m| !history.iter().any(|a| a.version == m.version && a.complete))
            .collect();
        // Refuse before running anything: nothing is half-applied because of a later file.
        if !allow_destructive {
            let mut refusals = Vec::new();
            for m in &pending {
                let destructive: Vec<String> = m
                    .text
                    .lines()
                    .filter(|l| l.starts_with("-- step ") && l.contains("(destructive)"))
                    .map(|l| {
                        l.trim_start_matches("-- ")
                            .split(" (")
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect();
                if !destructive.is_empty() {
                    refusals.push(format!(
                        "  {}: {}",
                        m.path.display(),
                        destructive.join(", ")
                    ));
                }
            }
            if !refusals.is_empty() {
                return Err(Error::Usage {
                    message: format!(
                        "refusing to apply: these migrations have destructive steps (nothing was run):\n{}\npass --allow-destructive after reviewing them",
                        refusals.join("\n")
                    ),
                });
            }
        }
        let mut applied = Vec::new();
        for m in pending {
            let past = history.iter().find(|a| a.version == m.version);
            let stmts = statements(&m.text)?;
            let mut done: Vec<u32> = past.map(|a| a.done.clone()).unwrap_or_default();
            // A step marked "resume at step j" restarts its group (a part-way copy starts over).
            let restarts = restart_points(&m.text);
            if let Some(first_open) = (1..=stmts.len() as u32).find(|k| !done.contains(k))
                && let Some(j) = restarts.get(&first_open)
            {
                done.retain(|k| k < j);
            }
            for (i, sql) in stmts.iter().enumerate() {
                let k = i as u32 + 1;
                if done.contains(&k) {
                    continue; // done before an interruption: never re-run
                }
                match self.engine.run(sql.as_str()) {
                    Ok(_) => self.record(m, k, Ok(()))?,
                    Err(e) => {
                        self.record(m, k, Err(&e))?;
                        return Err(Error::Usage {
                            message: format!(
                                "migration {:04}_{} failed at statement {k} of {}: {e}\nthe database is now dirty at statement {k}; fix the cause and run `chx migrate apply` again to resume there",
                                m.version,
                                m.name,
                                stmts.len()
                            ),
                        });
                    }
                }
            }
            self.record(m, 0, Ok(()))?;
            applied.push(m.version);
        }
        Ok(applied)
    }
}

/// `step k → j` for every "-- step k ... (resume at step j)" line of a migration file.
fn restart_points(text: &str) -> BTreeMap<u32, u32> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("-- step ")) {
        let k = line[8..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok());
        let j = line
            .split("(resume at step ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|d| d.parse().ok());
        if let (Some(k), Some(j)) = (k, j) {
            out.insert(k, j);
        }
    }
    out
}
