//! The HTTP backend (the `clickhouse` crate) end to end: SQL in the body, parameters as
//! `param_*`, the database as a setting, rows in JSONCompactEachRowWithNamesAndTypes, errors with
//! ClickHouse's code and name. No ClickHouse server can run here, so the far end is a loopback
//! shim answered by the embedded engine (tests/common/http_shim.rs); `CLICKHOUSE_URL=...` runs the
//! whole suite against a real server instead.

mod common;

use chx::engine::{Engine, Target};
use chx::sql::{ParamValue, Statement};
use serde_json::json;

fn http(database: Option<&str>) -> Engine {
    let target = Target::Http {
        url: common::http_shim::url().to_string(),
        user: None,
        password: None,
        compression: false,
    };
    Engine::connect(&target, database).unwrap()
}

#[test]
fn parameters_and_results_match_the_embedded_engine() {
    let db = common::test_db("http_matches_embedded");
    db.engine
        .run("CREATE TABLE t (id UInt64, name String, at DateTime64(3, 'UTC'), tags Array(String), price Decimal(18, 2)) ENGINE = MergeTree ORDER BY id")
        .unwrap();
    db.engine
        .run("INSERT INTO t VALUES (1, 'it''s', '2026-01-15 10:30:00.123', ['a', 'b'], 12.34), (18446744073709551615, 'tab\there', '2026-01-16 00:00:00', [], 0)")
        .unwrap();
    let over_http = http(Some(&db.name));
    let q = Statement::new("SELECT id, name, at, tags, price FROM t WHERE name IN {names:Array(String)} OR id = {id:UInt64} ORDER BY id")
        .param("names", "Array(String)", ParamValue::Array(vec!["it's".into()]))
        .param("id", "UInt64", u64::MAX);
    let a = over_http.run(q.clone()).unwrap();
    let b = db.engine.run(q).unwrap();
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.rows.len(), 2);
    assert_eq!(a.rows[1][0], json!(u64::MAX));
    assert_eq!(
        a.columns.iter().map(|c| c.ty.as_str()).collect::<Vec<_>>(),
        [
            "UInt64",
            "String",
            "DateTime64(3, 'UTC')",
            "Array(String)",
            "Decimal(18, 2)"
        ]
    );
}

#[test]
fn ddl_inserts_and_errors_over_http() {
    let db = common::test_db("http_ddl");
    let over_http = http(Some(&db.name));
    over_http
        .run("CREATE TABLE x (k String, v Int64) ENGINE = MergeTree ORDER BY k")
        .unwrap();
    over_http
        .insert_json_rows(
            &format!("{}.x", db.name),
            "{\"k\":\"a\",\"v\":1}\n{\"k\":\"b\",\"v\":-2}\n",
        )
        .unwrap();
    assert_eq!(
        db.engine
            .run("SELECT sum(v) FROM x")
            .unwrap()
            .single_i64()
            .unwrap(),
        -1
    );
    let err = over_http.run("SELECT * FROM missing_table").unwrap_err();
    assert_eq!(err.server_error_name(), Some("UNKNOWN_TABLE"), "{err}");
}

#[test]
fn the_shipped_schema_applies_over_http() {
    let db = common::test_db("http_schema");
    let over_http = http(None);
    let stmts = chx::ddl::compile(
        &common::ecommerce(),
        &chx::ddl::DdlOptions::new()
            .database(&db.name)
            .if_not_exists(true),
    );
    for s in &stmts {
        over_http
            .run(s.to_statement())
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    let text = std::fs::read_to_string(common::repo_path("schema/examples/events.ndjson")).unwrap();
    let report = chx::ingest::ingest(&over_http, &common::ecommerce(), &db.name, &text).unwrap();
    assert!(report.accepted > 0 && report.errors.is_empty());
    let n = common::count(&db.engine, "event_items");
    assert!(n > 0);
}

#[test]
fn the_generator_loads_over_http() {
    // HTTP has no second connection: batches go one at a time, every event lands.
    let (db, schema) = common::shop_db("http_generate");
    let opts = chx::generate::Options {
        events: 3_000,
        days: 10,
        seed: 5,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
    };
    let report = chx::generate::load(&http(None), &schema, &db.name, &opts, None).unwrap();
    assert_eq!(report.events, 3_000);
    let n = common::count(&db.engine, "events");
    assert_eq!(n, 3_000);
}
