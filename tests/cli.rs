//! The `chx` binary as a user runs it: exit codes, messages, files written.

mod common;

use std::process::{Command, Output};

use chx::engine::Target;

fn chx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chx"))
        .args(args)
        .current_dir(common::repo_path(""))
        .env_remove("CLICKHOUSE_URL")
        .output()
        .expect("run chx")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_accepts_the_shipped_schema() {
    let out = chx(&["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok — 12 tables, 9 materialized views, 21 event types"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_reports_errors_with_positions_and_fails() {
    let out = chx(&[
        "--schema",
        "tests/fixtures/bad_schemas/many_problems.yaml",
        "check",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("many_problems.yaml:6:20"), "{err}");
    assert!(err.contains("chx::schema::unknown_engine"), "{err}");
    assert!(err.contains("did you mean `ReplacingMergeTree`?"), "{err}");
    assert!(
        err.contains("9 problems in tests/fixtures/bad_schemas/many_problems.yaml"),
        "{err}"
    );
}

#[test]
fn compile_writes_one_file_per_statement() {
    let dir = common::scratch("compile");
    let out = chx(&[
        "compile",
        "--cluster",
        "shop_cluster",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    files.sort();
    assert_eq!(files.first().map(String::as_str), Some("001_shop.sql"));
    assert_eq!(files.len(), 1 + 12 + 12 + 9);
    let events = std::fs::read_to_string(dir.join("002_events_local.sql")).unwrap();
    assert!(
        events.contains("ON CLUSTER shop_cluster")
            && events.contains("ReplicatedReplacingMergeTree"),
        "{events}"
    );
    let printed = text(&chx(&["compile"]).stdout);
    assert!(
        printed.starts_with("CREATE DATABASE shop;\n\nCREATE TABLE shop.events\n"),
        "{printed}"
    );
}

#[test]
fn apply_ingest_and_query_through_the_cli() {
    let store = common::scratch("store");
    let s = store.to_str().unwrap();
    let out = chx(&["--store", s, "apply"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("created in `shop`:\n  database shop\n  table events\n"),
        "{}",
        text(&out.stdout)
    );
    let again = chx(&["--store", s, "apply"]);
    assert!(
        text(&again.stdout).contains("database `shop` is up to date (22 objects)"),
        "{}",
        text(&again.stdout)
    );

    let out = chx(&["--store", s, "ingest", "tests/fixtures/events/bad.ndjson"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "rejected lines make ingest fail after inserting the rest"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("tests/fixtures/events/bad.ndjson:2: event_type is required"),
        "{err}"
    );
    assert!(
        err.contains("bad.ndjson:4: transaction_id is required for purchase events"),
        "{err}"
    );
    assert!(
        text(&out.stdout).starts_with("accepted 2 events into `shop`"),
        "{}",
        text(&out.stdout)
    );

    let out = chx(&[
        "--store",
        s,
        "sql",
        "SELECT event_type, revenue, currency FROM events WHERE transaction_id = {tx:String}",
        "--param",
        "tx=o4",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"event_type": "purchase", "revenue": 2500, "currency": "EUR"}])
    );
    let out = chx(&[
        "--store",
        s,
        "sql",
        "SELECT count() AS n FROM events",
        "--format",
        "csv",
    ]);
    assert_eq!(text(&out.stdout), "n\n2\n");
    let out = chx(&["--store", s, "sql", "SELECT {x:String} AS x"]);
    assert_eq!(out.status.code(), Some(1));
    let out = chx(&["--store", s, "sql", "SELECT 1", "--param", "x=1"]);
    assert!(
        text(&out.stderr).contains("--param `x` has no {x:Type} placeholder"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_engine_names_the_command_that_installs_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_chx"))
        .args([
            "--store",
            common::scratch("noengine").to_str().unwrap(),
            "sql",
            "SELECT 1",
        ])
        .current_dir(common::repo_path(""))
        .env("CHX_CHDB_DRIVER", "/nonexistent/_chdb.abi3.so")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("embedded ClickHouse engine not found"),
        "{err}"
    );
    assert!(err.contains("make engine"), "{err}");
}

#[test]
fn a_store_held_by_another_process_is_reported_as_in_use() {
    let Target::Embedded { store } = common::target() else {
        return;
    };
    // The engine takes its lock on the store (`status`) once a table has been created in it.
    let db = common::test_db("store_in_use");
    db.engine
        .run("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a")
        .unwrap();
    let out = chx(&["--store", store.to_str().unwrap(), "sql", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("is in use by another process"), "{err}");
}

#[test]
fn every_command_has_useful_help() {
    for cmd in [
        "check", "compile", "apply", "ingest", "sql", "report", "build",
    ] {
        let out = chx(&[cmd, "--help"]);
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(
            help.lines().next().is_some_and(|l| l.len() > 20),
            "{cmd}: {help}"
        );
        assert!(
            help.contains("--url") && help.contains("--store"),
            "{cmd}: {help}"
        );
    }
}

#[test]
fn report_prints_sql_with_parameter_values_and_build_writes_files() {
    let out = chx(&[
        "report",
        "top_products",
        "--format",
        "sql",
        "--now",
        "2026-03-31T12:00:00Z",
        "--param",
        "limit=5",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sql = text(&out.stdout);
    assert!(
        sql.starts_with(
            "-- chx report: top_products\n-- param range_start: DateTime64(3, 'UTC')\n"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("-- value range_start = \"2026-03-02 00:00:00.000\""),
        "{sql}"
    );
    assert!(sql.contains("-- value limit = 5"), "{sql}");
    // Its floor: the same parameters, the scans alone (tests/floor.rs runs every floor).
    let out = chx(&[
        "report",
        "top_products",
        "--floor",
        "--format",
        "sql",
        "--now",
        "2026-03-31T12:00:00Z",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let floor = text(&out.stdout);
    assert!(
        floor.starts_with("-- chx report: top_products.floor\n"),
        "{floor}"
    );
    assert!(floor.contains("NOT ignore("), "{floor}");
    assert!(
        floor.contains("-- value range_start = \"2026-03-02 00:00:00.000\""),
        "{floor}"
    );
    let out = chx(&["report", "aov_by_channel", "--floor", "--format", "sql"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("`aov_by_channel` has no floor"),
        "{}",
        text(&out.stderr)
    );
    let out = chx(&["report", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown report `nope`"),
        "{}",
        text(&out.stderr)
    );

    let dir = common::scratch("build");
    let store = common::scratch("build_store");
    let out = chx(&[
        "--store",
        store.to_str().unwrap(),
        "build",
        "--check",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stdout).contains("(each accepted by ClickHouse's parser)"),
        "{}",
        text(&out.stdout)
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let n = std::fs::read_dir(&dir).unwrap().count();
    let queries = std::fs::read_dir(common::repo_path("queries"))
        .unwrap()
        .count();
    let steps = chx::forget::plan(&common::ecommerce(), None, "")
        .unwrap()
        .len();
    assert_eq!(n, queries + steps);
    let last = std::fs::read_to_string(dir.join(format!("delete_user.{steps:02}.sql"))).unwrap();
    assert!(
        last.starts_with(&format!(
            "-- chx delete-user: step {steps} of {steps} (run every step, in order): identities"
        )),
        "{last}"
    );
    let funnel = std::fs::read_to_string(dir.join("funnel.sql")).unwrap();
    assert!(
        funnel.contains("-- chx query: funnel (report funnel)\n-- param range_start"),
        "{funnel}"
    );
}

#[test]
fn report_runs_on_the_store() {
    let store = common::scratch("report_store");
    let s = store.to_str().unwrap();
    assert!(chx(&["--store", s, "apply"]).status.success());
    assert!(
        chx(&["--store", s, "ingest", "schema/examples/events.ndjson"])
            .status
            .success()
    );
    let out = chx(&[
        "--store",
        s,
        "report",
        "revenue-by-country",
        "--param",
        "start=2026-01-01",
        "--param",
        "end=2026-03-01",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["country"], "DE");
    assert_eq!(rows[0]["revenue"], 1950);
    assert_eq!(rows[0]["currency"], "EUR");
}

#[test]
fn migrate_new_apply_status_and_drift_through_the_cli() {
    let store = common::scratch("migrate_store");
    let dir = common::scratch("migrate_dir");
    let (s, d) = (store.to_str().unwrap(), dir.to_str().unwrap());
    let out = chx(&["migrate", "new", "init", "--dir", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("0001_init.sql\n"),
        "{}",
        text(&out.stdout)
    );
    let again = chx(&["migrate", "new", "again", "--dir", d]);
    assert!(
        text(&again.stdout).starts_with("nothing to migrate"),
        "{}",
        text(&again.stdout)
    );
    let out = chx(&["--store", s, "migrate", "apply", "--dir", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "applied 1 migration(s) to `shop`: 0001\n"
    );
    let out = chx(&["--store", s, "migrate", "status", "--dir", d]);
    assert!(
        text(&out.stdout).starts_with("0001 init"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).trim_end().ends_with("applied"),
        "{}",
        text(&out.stdout)
    );
    let out = chx(&["--store", s, "migrate", "verify", "--dir", d]);
    assert_eq!(
        text(&out.stdout),
        "ok: 1 applied migration(s) match their files\n"
    );
    assert_no_drift(s);
    assert!(
        chx(&[
            "--store",
            s,
            "sql",
            "ALTER TABLE shop.events ADD COLUMN junk String"
        ])
        .status
        .success()
    );
    let out = chx(&["--store", s, "migrate", "diff", "--live"]);
    assert!(
        text(&out.stdout).contains("- column events.junk: String"),
        "{}",
        text(&out.stdout)
    );
}

/// `migrate diff --live` finds the store's `shop` database exactly as the schema says.
fn assert_no_drift(store: &str) {
    let out = chx(&["--store", store, "migrate", "diff", "--live"]);
    assert_eq!(
        text(&out.stdout),
        "no drift: `shop` matches schema/ecommerce.yaml\n",
        "{}",
        text(&out.stderr)
    );
}

/// The shipped migrations, applied in order to an empty store, build exactly the shipped
/// schema: each new migration file is checked on the real engine, order of its steps included
/// (0004 must set the projection mode before it adds the projection).
#[test]
fn shipped_migrations_apply_and_match_the_schema() {
    let store = common::scratch("shipped_migrations_store");
    let s = store.to_str().unwrap();
    let out = chx(&["--store", s, "migrate", "apply"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("applied ")
            && text(&out.stdout).contains(" migration(s) to `shop`: 0001"),
        "{}",
        text(&out.stdout)
    );
    assert_no_drift(s);
}

#[test]
fn generate_and_demo_through_the_cli() {
    let store = common::scratch("gen_store");
    let s = store.to_str().unwrap();
    let ndjson = common::scratch("gen_ndjson").with_extension("ndjson");
    let out = chx(&[
        "--store",
        s,
        "generate",
        "--events",
        "20000",
        "--days",
        "30",
        "--seed",
        "9",
        "--ndjson",
        ndjson.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("generated 20000 events into `shop`"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(&ndjson).unwrap().lines().count(),
        20000
    );
    let out = chx(&["--store", s, "demo", "--events", "20000", "--sql"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    for (name, _) in chx::query::catalog::REPORTS {
        assert!(
            printed.contains(&format!("== {name} (")),
            "{name} missing from the demo"
        );
    }
    assert!(
        printed.contains("-- chx report: funnel"),
        "--sql prints the SQL"
    );
}

#[test]
fn delete_user_dry_run_prints_the_plan_in_order() {
    let out = chx(&["delete-user", "user_123", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.starts_with("-- step 1: revenue_daily: clear"),
        "{plan}"
    );
    let links = plan.find("identities: the user's links").unwrap();
    let events = plan.find("events: the person's rows").unwrap();
    assert!(events < links, "{plan}");
    assert!(
        plan.ends_with("-- value user_id = \"user_123\"\n"),
        "{plan}"
    );
}

#[test]
fn report_list_names_every_report_its_parameters_and_the_named_queries() {
    let out = chx(&["report", "--list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    for (name, params) in chx::query::catalog::REPORTS {
        let line = list
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name}: {list}"));
        for p in *params {
            assert!(line.contains(p), "{line}");
        }
    }
    assert!(list.contains("overview_in_base_currency"), "{list}");
    assert!(
        list.contains("SQL template queries/aov_by_channel.sql"),
        "{list}"
    );
    let none = chx(&["report"]);
    assert!(!none.status.success());
}

/// `chx report --help` names every report of the catalogue (its list is written by hand).
#[test]
fn report_help_lists_every_report() {
    let out = chx(&["report", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let listed = help
        .split("Reports: ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_default()
        .replace('\n', " ");
    let listed: Vec<&str> = listed.split(',').map(str::trim).collect();
    for (name, _) in chx::query::catalog::REPORTS {
        assert!(listed.contains(name), "`{name}` missing from: {listed:?}");
    }
}
