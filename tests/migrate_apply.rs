//! Applying migrations: history, resume after a failure at any statement (fault injection),
//! destructive refusal, edited/deleted applied files, and the lock between two appliers.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chx::ddl::DdlOptions;
use chx::engine::{Backend, Engine, Rows};
use chx::migrate::{self, Migrator, Problem};
use chx::sql::Statement;

/// Write the migrations to versions `from..upto` (0-based) into `dir`, for database `db`.
fn write_range(dir: &Path, db: &str, from: usize, upto: usize) {
    let opts = DdlOptions::new().database(db);
    for (i, (_, v)) in common::migration_versions()
        .iter()
        .enumerate()
        .take(upto)
        .skip(from)
    {
        migrate::new_migration(dir, &format!("v{:02}", i + 1), v, &opts).unwrap();
    }
}

fn write(dir: &Path, db: &str, upto: usize) {
    write_range(dir, db, 0, upto);
}

/// Fails the n-th migration statement it sees (history and lock statements pass through).
struct FailAt {
    inner: Engine,
    n: usize,
    seen: AtomicUsize,
}

impl Backend for FailAt {
    fn describe(&self) -> String {
        "failing wrapper".into()
    }
    fn run(&self, stmt: &Statement) -> Result<Rows, chx::Error> {
        let bookkeeping =
            stmt.sql.contains("chx_migration") || stmt.sql.starts_with("CREATE DATABASE");
        if !bookkeeping && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            return Err(chx::Error::Engine {
                message: format!("injected failure at statement {}", self.n),
            });
        }
        self.inner.run(stmt.clone())
    }
    fn insert_json_rows(&self, table: &str, ndjson: &str) -> Result<(), chx::Error> {
        self.inner.insert_json_rows(table, ndjson)
    }
}

fn rows(db: &common::TestDb) -> i64 {
    common::count(&db.engine, "events")
}

fn seed(db: &common::TestDb) {
    let data = (0..300).map(|n| serde_json::json!({"ts": format!("2026-02-{:02} 10:00:00.000", 1 + n % 28), "event_type": "purchase", "user_id": format!("u{}", n % 9), "revenue": n}));
    common::insert(db, "events", data);
}

#[test]
fn apply_records_history_and_then_has_nothing_to_do() {
    let db = common::test_db("migrate_apply");
    let dir = common::scratch("apply");
    write(&dir, &db.name, 10);
    let engine = common::engine();
    let m = Migrator::new(&engine, &db.name, None);
    let err = m.apply(&dir, false).unwrap_err().to_string();
    snapshot_error("destructive_refusal", &err, &db.name, &dir);
    assert!(
        err.contains("0009_v09.sql: step 2, step 3, step 4, step 5, step 6\n"),
        "{err}"
    );
    assert!(err.contains("0009_v09.sql"), "{err}");
    assert!(
        m.history().unwrap().is_empty(),
        "refused before applying anything"
    );
    let applied = m.apply(&dir, true).unwrap();
    assert_eq!(applied, (1..=10).collect::<Vec<u32>>());
    assert!(m.apply(&dir, true).unwrap().is_empty());
    let history = m.history().unwrap();
    assert!(history.iter().all(|a| a.complete && a.failed.is_none()));
    assert!(migrate::verify(&history, &migrate::list(&dir).unwrap()).is_empty());
}

#[test]
fn a_failure_at_any_statement_resumes_there_and_loses_nothing() {
    let dir = common::scratch("faults");
    let probe = common::test_db("migrate_fault_probe");
    write(&dir, &probe.name, 9);
    let files = migrate::list(&dir).unwrap();
    let rebuild = files.last().unwrap();
    let n = migrate::statements(&rebuild.text).unwrap().len();
    assert!(n >= 6, "the rebuild migration has {n} statements");
    // The schema a clean run gives, to compare each recovered run with.
    let engine = common::engine();
    Migrator::new(&engine, &probe.name, None)
        .apply(&dir, true)
        .unwrap();
    let clean = migrate::introspect(&engine, &probe.name).unwrap();
    for k in 1..=n {
        let db = common::test_db(&format!("migrate_fault_{k}"));
        let dir = common::scratch(&format!("faults_{k}"));
        write(&dir, &db.name, 8);
        let engine = common::engine();
        let healthy = Migrator::new(&engine, &db.name, None);
        healthy.apply(&dir, true).unwrap();
        seed(&db);
        write_range(&dir, &db.name, 8, 9);
        let failing = Engine::from_backend(Arc::new(FailAt {
            inner: common::engine(),
            n: k,
            seen: AtomicUsize::new(0),
        }));
        let err = Migrator::new(&failing, &db.name, None)
            .apply(&dir, true)
            .unwrap_err()
            .to_string();
        if k == 4 {
            snapshot_error("dirty_at_statement_4", &err, &db.name, &dir);
        }
        assert!(
            err.contains(&format!("failed at statement {k} of {n}")),
            "{err}"
        );
        let problems = migrate::verify(&healthy.history().unwrap(), &migrate::list(&dir).unwrap());
        assert!(
            matches!(&problems[..], [Problem::Dirty { version: 9, statement, .. }] if *statement == k as u32),
            "{problems:?}"
        );
        // Failing inside the copy (create or insert) may leave a part-way shadow table: the
        // resume must start that group again from an empty one.
        if k == 3 || k == 4 {
            db.engine
                .run(format!(
                    "CREATE TABLE IF NOT EXISTS {}.events__chx_rebuild AS {}.events",
                    db.name, db.name
                ))
                .unwrap();
            db.engine
                .run(format!(
                    "INSERT INTO {}.events__chx_rebuild SELECT * FROM {}.events LIMIT 17",
                    db.name, db.name
                ))
                .unwrap();
        }
        assert_eq!(
            healthy.apply(&dir, true).unwrap(),
            vec![9],
            "resumes at statement {k}"
        );
        assert_eq!(rows(&db), 300, "no row lost when statement {k} failed");
        assert_eq!(
            migrate::introspect(&engine, &db.name).unwrap(),
            clean,
            "statement {k}: same schema as a clean run"
        );
    }
}

#[test]
fn edited_or_deleted_applied_migrations_are_refused() {
    let db = common::test_db("migrate_verify");
    let dir = common::scratch("verify");
    write(&dir, &db.name, 2);
    let engine = common::engine();
    let m = Migrator::new(&engine, &db.name, None);
    m.apply(&dir, false).unwrap();
    let first = dir.join("0001_v01.sql");
    let original = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, original.replace("-- step 1", "-- step 1 (edited)")).unwrap();
    let err = m.apply(&dir, false).unwrap_err().to_string();
    snapshot_error("edited_applied_migration", &err, &db.name, &dir);
    assert_eq!(
        err,
        format!(
            "refusing to apply: the history does not match the files:\n  migration 0001 was applied but {} has changed since (checksum differs)",
            first.display()
        )
    );
    std::fs::remove_file(&first).unwrap();
    let err = m.apply(&dir, false).unwrap_err().to_string();
    snapshot_error("deleted_applied_migration", &err, &db.name, &dir);
    assert!(
        err.ends_with("migration 0001_v01 was applied but its file is missing"),
        "{err}"
    );
}

#[test]
fn two_appliers_cannot_interleave() {
    let db = common::test_db("migrate_lock");
    let engine = common::engine();
    let a = Migrator::new(&engine, &db.name, None).owner("a");
    let b = Migrator::new(&engine, &db.name, None).owner("b");
    a.ensure().unwrap();
    a.lock(60).unwrap();
    let err = b.lock(60).unwrap_err().to_string();
    snapshot_error(
        "concurrent_apply",
        err.split(", until ").next().unwrap(),
        &db.name,
        Path::new("/nowhere"),
    );
    assert!(
        err.starts_with(&format!(
            "another `chx migrate apply` holds the migration lock of `{}` (owner a, until ",
            db.name
        )),
        "{err}"
    );
    a.unlock().unwrap();
    b.lock(60).unwrap();
    // A stale lease (its process died) can be broken explicitly.
    b.break_lock().unwrap();
    a.lock(60).unwrap();
}

/// Snapshot an error text with the test's database and folder names replaced.
fn snapshot_error(name: &str, err: &str, db: &str, dir: &Path) {
    let text = err
        .replace(&dir.display().to_string(), "migrations")
        .replace(db, "shop");
    common::snapshots("migrate_errors").bind(|| insta::assert_snapshot!(name.to_string(), text));
}

#[test]
fn no_unreferenced_snapshots() {
    let names = [
        "destructive_refusal",
        "dirty_at_statement_4",
        "edited_applied_migration",
        "deleted_applied_migration",
        "concurrent_apply",
    ];
    common::assert_no_unreferenced_snapshots("migrate_errors", &names.map(String::from));
}
