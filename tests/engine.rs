//! The engine layer on a real ClickHouse: parameters, result types, errors, isolation.

mod common;

use std::time::{Duration, Instant};

use chx::engine::{Engine, Target};
use chx::sql::{ParamValue, Statement};
use serde_json::json;

#[test]
fn reports_its_version() {
    let v = common::engine().version().unwrap();
    assert!(v.split('.').count() >= 3, "version {v}");
}

#[test]
fn string_parameters_round_trip_unchanged() {
    let e = common::engine();
    let values = [
        "plain",
        "it's",
        "back\\slash",
        "tab\there",
        "new\nline",
        "carriage\rreturn",
        "ünïcödé ✓",
        "{x:String}",
        "'; DROP DATABASE system; --",
        "",
    ];
    for v in values {
        let rows = e
            .run(
                Statement::new("SELECT {v:String} AS v, length({v:String}) AS n")
                    .param("v", "String", v),
            )
            .unwrap();
        assert_eq!(rows.rows[0][0], json!(v), "value {v:?}");
        assert_eq!(rows.rows[0][1], json!(v.len()), "byte length of {v:?}");
    }
}

#[test]
fn typed_and_array_parameters() {
    let e = common::engine();
    let rows = e
        .run(
            Statement::new("SELECT {n:Int64} + 1 AS n, {u:UInt64} AS u, has({a:Array(String)}, {needle:String}) AS found, {b:Bool} AS b")
                .param("n", "Int64", -42i64)
                .param("u", "UInt64", u64::MAX)
                .param("a", "Array(String)", ParamValue::Array(vec!["x'y".into(), "z\\w".into()]))
                .param("needle", "String", "z\\w")
                .param("b", "Bool", true),
        )
        .unwrap();
    assert_eq!(
        rows.rows[0],
        vec![json!(-41), json!(u64::MAX), json!(1), json!(true)]
    );
}

#[test]
fn results_render_like_clickhouse() {
    let db = common::test_db("results_render_like_clickhouse");
    db.engine
        .run(
            "CREATE TABLE t (ts DateTime64(3, 'UTC'), dt DateTime('Europe/Berlin'), d Date, e Enum8('a' = 1, 'b' = 2), \
             ip IPv4, u UUID, n Nullable(UInt32), m Map(String, UInt32), a Array(Tuple(id String, at DateTime('UTC')))) \
             ENGINE = MergeTree ORDER BY ts",
        )
        .unwrap();
    db.engine
        .insert_json_rows(
            &format!("{}.t", db.name),
            r#"{"ts":"2026-01-15 10:30:00.123","dt":"2026-01-15 10:30:00","d":"2026-01-15","e":"b","ip":"1.2.3.4","u":"00000000-0000-4000-8000-000000000001","n":null,"m":{"k":7},"a":[{"id":"x","at":"2026-01-01 00:00:01"}]}"#,
        )
        .unwrap();
    let rows = db.engine.run("SELECT * FROM t").unwrap();
    assert_eq!(
        rows.rows[0],
        vec![
            json!("2026-01-15 10:30:00.123"),
            json!("2026-01-15 10:30:00"),
            json!("2026-01-15"),
            json!("b"),
            json!("1.2.3.4"),
            json!("00000000-0000-4000-8000-000000000001"),
            json!(null),
            json!({"k": 7}),
            json!([{"id": "x", "at": "2026-01-01 00:00:01"}]),
        ]
    );
}

#[test]
fn wide_integers_render_in_decimal() {
    let e = common::engine();
    let rows = e
        .run(
            "SELECT toUInt128(1), toUInt128('340282366920938463463374607431768211455'), toInt128(-5), \
             toInt128('-170141183460469231731687303715884105728'), toUInt256('115792089237316195423570985008687907853269984665640564039457584007913129639935'), \
             toInt256(-1), toInt256(0), [toUInt128(18446744073709551616)]",
        )
        .unwrap();
    assert_eq!(
        rows.rows[0],
        vec![
            json!("1"),
            json!("340282366920938463463374607431768211455"),
            json!("-5"),
            json!("-170141183460469231731687303715884105728"),
            json!("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
            json!("-1"),
            json!("0"),
            json!(["18446744073709551616"]),
        ]
    );
}

#[test]
fn server_errors_carry_code_and_name() {
    let e = common::engine();
    let err = e.run("SELECT * FROM no_such_db.no_such_table").unwrap_err();
    match &err {
        chx::Error::Server(s) => {
            assert_eq!(s.name.as_deref(), Some("UNKNOWN_DATABASE"));
            assert_eq!(s.code, Some(81));
            assert!(!s.message.contains("DB::Exception"), "{}", s.message);
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    let multi = e.run("SELECT 1; SELECT 2").unwrap_err();
    assert!(multi.to_string().contains("Multi-statements"), "{multi}");
}

#[test]
fn run_all_names_the_failing_statement() {
    let db = common::test_db("run_all_names_the_failing_statement");
    let stmts = [
        Statement::new("CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x"),
        Statement::new("CREATE TABLE b (x Nope) ENGINE = MergeTree ORDER BY x"),
    ];
    let err = db.engine.run_all(&stmts).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ClickHouse error 50 in statement 2:"),
        "{err}"
    );
}

#[test]
fn each_test_database_is_isolated() {
    let a = common::test_db("isolated_a");
    let b = common::test_db("isolated_b");
    a.engine
        .run("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
        .unwrap();
    b.engine
        .run("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
        .unwrap();
    a.engine.run("INSERT INTO t VALUES (1), (2)").unwrap();
    assert_eq!(common::count(&b.engine, "t"), 0);
    assert_eq!(
        a.engine
            .run("SELECT currentDatabase()")
            .unwrap()
            .single_string()
            .unwrap(),
        a.name
    );
}

#[test]
fn a_second_embedded_store_in_one_process_is_refused_clearly() {
    if !matches!(common::target(), Target::Embedded { .. }) {
        return;
    }
    common::engine();
    let other = std::env::temp_dir().join("chx-another-store");
    let err = Engine::connect(&Target::Embedded { store: other }, None)
        .err()
        .expect("must fail");
    assert!(
        matches!(err, chx::Error::StorePathConflict { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cannot also open"), "{err}");
}

#[test]
fn format_query_is_a_grammar_check() {
    let e = common::engine();
    let ok = e
        .format_query("select 1 as x from system.one where 1 settings max_threads=1")
        .unwrap();
    assert_eq!(
        ok,
        "SELECT 1 AS x\nFROM system.one\nWHERE 1\nSETTINGS max_threads = 1"
    );
    assert!(e.format_query("SELEC 1").is_err());
}

#[test]
fn docker_path_fails_fast_without_a_docker_engine() {
    if common::docker::docker_available() {
        // A Docker engine is here: CHX_TEST_ENGINE=docker runs the whole suite on it instead.
        return;
    }
    let started = Instant::now();
    let err = common::docker::start().expect_err("no Docker engine here");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("Docker is not available"), "{err}");
    assert!(err.to_string().contains("/var/run/docker.sock"), "{err}");
}
