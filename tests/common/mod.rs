//! Shared test harness: one ClickHouse per test process, one database per test.
//!
//! Which ClickHouse: `CHX_TEST_ENGINE=docker` starts `clickhouse/clickhouse-server` with
//! testcontainers (failing fast where no Docker engine runs); `CLICKHOUSE_URL` uses that server;
//! otherwise the embedded engine with a store of this process's own (the embedded engine allows
//! one store per process and one process per store, so parallel test binaries never collide).
//! A missing engine is a test failure, never a skip.

#![allow(dead_code)]

pub mod docker;
pub mod http_shim;

use std::path::PathBuf;
use std::sync::OnceLock;

use chx::engine::{Engine, Target};
use chx::schema::Schema;
use chx::sql::quote;

static TARGET: OnceLock<Target> = OnceLock::new();

fn stores_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chx-test-stores")
}

/// Remove the per-process folders (named by pid) under `dir` whose process is gone.
fn sweep_dead_processes(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let alive = e
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|pid| PathBuf::from(format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A fresh path for one test's files: `target/tmp/chx-scratch/<pid>/<name>` (not created).
/// Folders of test processes that are gone are removed first, as with the stores, so local
/// runs do not pile up.
#[allow(dead_code)]
pub fn scratch(name: &str) -> PathBuf {
    static SWEPT: OnceLock<()> = OnceLock::new();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chx-scratch");
    SWEPT.get_or_init(|| sweep_dead_processes(&root));
    let dir = root.join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
}

/// The ClickHouse this test process uses.
pub fn target() -> &'static Target {
    TARGET.get_or_init(|| match std::env::var("CHX_TEST_ENGINE").as_deref() {
        Ok("docker") => docker::start().unwrap_or_else(|e| panic!("{e}")),
        _ => match std::env::var("CLICKHOUSE_URL") {
            Ok(url) if !url.is_empty() => Target::from_url_or_store(Some(url), PathBuf::new()),
            _ => {
                sweep_dead_processes(&stores_dir());
                Target::Embedded {
                    store: stores_dir().join(std::process::id().to_string()),
                }
            }
        },
    })
}

static EMBEDDED: OnceLock<Target> = OnceLock::new();

/// This process's embedded store, whatever `target()` is (the HTTP shim answers from it).
pub fn embedded_target() -> &'static Target {
    if let t @ Target::Embedded { .. } = target() {
        return t;
    }
    EMBEDDED.get_or_init(|| Target::Embedded {
        store: stores_dir().join(std::process::id().to_string()),
    })
}

/// An engine with no default database.
pub fn engine() -> Engine {
    Engine::connect(target(), None).unwrap_or_else(|e| panic!("ClickHouse for tests: {e}"))
}

/// A fresh database named after the test, and an engine scoped to it.
pub struct TestDb {
    pub name: String,
    pub engine: Engine,
}

impl TestDb {
    /// Runs a report and returns its rows; a failure shows the SQL that failed.
    pub fn report_rows(&self, r: &chx::query::Report) -> Vec<Vec<serde_json::Value>> {
        self.engine
            .run(r.statement())
            .unwrap_or_else(|e| panic!("{e}\n{}", r.sql()))
            .rows
    }
}

/// `SELECT count() FROM table` on `engine`.
pub fn count(engine: &Engine, table: &str) -> i64 {
    engine
        .run(format!("SELECT count() FROM {}", quote::ident(table)))
        .unwrap()
        .single_i64()
        .unwrap()
}

pub fn test_db(test_name: &str) -> TestDb {
    let name = format!("t_{test_name}");
    let root = engine();
    root.run(format!("DROP DATABASE IF EXISTS {}", quote::ident(&name)))
        .expect("drop test database");
    root.run(format!("CREATE DATABASE {}", quote::ident(&name)))
        .expect("create test database");
    let engine = Engine::connect(target(), Some(&name)).expect("connect to test database");
    TestDb { name, engine }
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Parameters for a catalogue report over the sample events: the sample's user for
/// user-journey, all history for cohorts and lifetime value, `start`..`end` for the rest.
pub fn catalogue_params(
    report: &str,
    start: &str,
    end: &str,
) -> std::collections::BTreeMap<String, String> {
    let pairs: Vec<(&str, &str)> = match report {
        "user-journey" => vec![("user_id", "user_123")],
        "cohorts" | "lifetime-value" => vec![],
        _ => vec![("start", start), ("end", end)],
    };
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The shipped e-commerce schema.
pub fn ecommerce() -> Schema {
    chx::schema::load(&repo_path("schema/ecommerce.yaml")).unwrap_or_else(|e| panic!("{e}"))
}

/// insta settings writing to `snapshots/<group>/<name>.snap`.
pub fn snapshots(group: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(repo_path("snapshots").join(group));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

/// Fail when `snapshots/<group>/` holds a snapshot no test asserts (stale after a rename).
pub fn assert_no_unreferenced_snapshots(group: &str, expected: &[String]) {
    let dir = repo_path("snapshots").join(group);
    let mut unreferenced = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".snap") {
            if !expected.iter().any(|x| x == stem) {
                unreferenced.push(name);
            }
        } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            unreferenced.push(name);
        }
    }
    assert!(
        unreferenced.is_empty(),
        "unreferenced or pending snapshots in {}: {unreferenced:?} (delete them, or review with cargo insta review)",
        dir.display()
    );
}

/// A fresh database named after the test with the shipped schema applied.
pub fn shop_db(test_name: &str) -> (TestDb, Schema) {
    let db = test_db(test_name);
    let schema = ecommerce();
    let opts = chx::ddl::DdlOptions::new()
        .database(&db.name)
        .if_not_exists(true);
    for s in chx::ddl::compile(&schema, &opts) {
        db.engine
            .run(s.to_statement())
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    (db, schema)
}

/// Insert JSON objects into a table of the test database (bypassing ingest, traps included).
pub fn insert(db: &TestDb, table: &str, rows: impl IntoIterator<Item = serde_json::Value>) {
    let body: String = rows.into_iter().map(|r| r.to_string() + "\n").collect();
    db.engine
        .insert_json_rows(
            &format!("{}.{}", quote::ident(&db.name), quote::ident(table)),
            &body,
        )
        .unwrap();
}

/// `YYYY-MM-DD hh:mm:ss.fff` (UTC) for epoch milliseconds, as the events table takes it.
pub fn ts_text(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// The 24 h transaction rule, written plainly as the reference for chx's SQL: per transaction,
/// in time order, an event counts when it comes at least 24 h after the last one that counted.
pub fn counted_within_24h<'a, T>(
    events: impl IntoIterator<Item = &'a T>,
    tx: impl Fn(&T) -> &str,
    ms: impl Fn(&T) -> i64,
) -> Vec<&'a T> {
    let mut by_tx: std::collections::BTreeMap<&str, Vec<&'a T>> = Default::default();
    for e in events {
        by_tx.entry(tx(e)).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, mut v) in by_tx {
        v.sort_by_key(|e| ms(e));
        let mut last: Option<i64> = None;
        for e in v {
            if last.is_none_or(|l| ms(e) - l >= 86_400_000) {
                last = Some(ms(e));
                out.push(e);
            }
        }
    }
    out
}

/// The identity rule, written plainly as the reference for chx's stitching: an event's
/// person is its user, else the user its anonymous id was last seen signed in as (the latest
/// link wins), else the anonymous id. `all` gives every event as (user, anonymous id, ms).
pub fn stitched_person<'a>(
    user: &str,
    anon: &str,
    all: impl IntoIterator<Item = (&'a str, &'a str, i64)>,
) -> String {
    if !user.is_empty() {
        return user.to_string();
    }
    all.into_iter()
        .filter(|(u, a, _)| !u.is_empty() && *a == anon)
        .max_by_key(|(_, _, ms)| *ms)
        .map_or(anon.to_string(), |(u, _, _)| u.to_string())
}

/// Epoch milliseconds of midnight UTC on a date, for fixtures.
pub fn utc_ms(y: i32, m: u32, d: u32) -> i64 {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(y, m, d, 0, 0, 0)
        .unwrap()
        .timestamp_millis()
}

/// Numbered UUIDs for fixture events (`…-000000000001` first), so rows are easy to trace.
#[derive(Default)]
pub struct EventIds(u64);

impl EventIds {
    pub fn next_id(&mut self) -> String {
        self.0 += 1;
        format!("00000000-0000-4000-8000-{:012}", self.0)
    }
}

/// A small deterministic generator (xorshift) so fixtures are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The schema versions of the migration fixtures (tests/fixtures/migrations), in order, each
/// with its file stem.
#[allow(dead_code)]
pub fn migration_versions() -> Vec<(String, chx::schema::Schema)> {
    let dir = repo_path("tests/fixtures/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let schema = chx::schema::from_source(&chx::diag::Source::new(stem.clone(), text))
                .unwrap_or_else(|d| panic!("{}", d.render_plain()));
            (stem, schema)
        })
        .collect()
}
