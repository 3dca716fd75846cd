//! The shipped schema's DDL: snapshotted, executed on the real engine, and accepted by
//! ClickHouse's own parser (including the cluster statements that cannot run here).

mod common;

use chx::ddl::{self, DdlOptions, ObjectKind};

const SNAPSHOTS: [&str; 3] = [
    "ecommerce.single_node",
    "ecommerce.cluster",
    "ecommerce.rollup_read",
];

#[test]
fn single_node_ddl_snapshot() {
    let stmts = ddl::compile(&common::ecommerce(), &DdlOptions::new().database("shop"));
    common::snapshots("ddl")
        .bind(|| insta::assert_snapshot!("ecommerce.single_node", ddl::to_script(&stmts)));
}

#[test]
fn cluster_ddl_snapshot() {
    let stmts = ddl::compile(
        &common::ecommerce(),
        &DdlOptions::new().database("shop").cluster("shop_cluster"),
    );
    common::snapshots("ddl")
        .bind(|| insta::assert_snapshot!("ecommerce.cluster", ddl::to_script(&stmts)));
}

#[test]
fn rollup_read_query_snapshot() {
    let q = ddl::rollup_read_query(
        &common::ecommerce(),
        "revenue_daily_mv",
        &DdlOptions::new().database("shop"),
    )
    .unwrap();
    common::snapshots("ddl").bind(|| insta::assert_snapshot!("ecommerce.rollup_read", q.sql));
}

#[test]
fn no_unreferenced_snapshots() {
    common::assert_no_unreferenced_snapshots("ddl", &SNAPSHOTS.map(String::from));
}

#[test]
fn dependency_order_targets_before_views() {
    let stmts = ddl::compile(
        &common::ecommerce(),
        &DdlOptions::new().database("shop").cluster("c"),
    );
    let pos = |name: &str, kind: ObjectKind| {
        stmts
            .iter()
            .position(|s| s.name == name && s.kind == kind)
            .unwrap()
    };
    assert_eq!(stmts[0].kind, ObjectKind::Database);
    for v in &common::ecommerce().views {
        let view = pos(&v.name, ObjectKind::MaterializedView);
        assert!(
            pos(&format!("{}_local", v.target), ObjectKind::Table) < view,
            "{} before its target",
            v.name
        );
        assert!(
            pos(&format!("{}_local", v.source), ObjectKind::Table) < view,
            "{} before its source",
            v.name
        );
    }
    for t in &common::ecommerce().tables {
        assert!(
            pos(&format!("{}_local", t.name), ObjectKind::Table)
                < pos(&t.name, ObjectKind::DistributedTable)
        );
    }
}

#[test]
fn compiling_twice_gives_identical_text() {
    let s = common::ecommerce();
    let opts = DdlOptions::new().database("shop").if_not_exists(true);
    assert_eq!(ddl::compile(&s, &opts), ddl::compile(&s, &opts));
}

#[test]
fn every_statement_runs_and_creates_what_it_names() {
    let db = common::test_db("every_statement_runs");
    let schema = common::ecommerce();
    let stmts = ddl::compile(
        &schema,
        &DdlOptions::new().database(&db.name).if_not_exists(true),
    );
    for s in &stmts {
        db.engine
            .run(s.to_statement())
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", s.name, s.sql));
    }
    // Applying again creates nothing new and fails nowhere (IF NOT EXISTS).
    db.engine
        .run_all(
            stmts
                .iter()
                .map(|s| s.to_statement())
                .collect::<Vec<_>>()
                .iter(),
        )
        .unwrap();
    let rows = db
        .engine
        .run(
            chx::sql::Statement::new(
                "SELECT name, engine FROM system.tables WHERE database = {db:String} ORDER BY name",
            )
            .param("db", "String", db.name.as_str()),
        )
        .unwrap();
    let live: Vec<(String, String)> = rows
        .rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = schema
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.engine.kind().to_string()))
        .chain(
            schema
                .views
                .iter()
                .map(|v| (v.name.clone(), "MaterializedView".to_string())),
        )
        .collect();
    expected.sort();
    assert_eq!(live, expected);
    // The live sorting key is the one the schema asked for.
    let key = db
        .engine
        .run(chx::sql::Statement::new("SELECT sorting_key FROM system.tables WHERE database = {db:String} AND name = 'events'").param("db", "String", db.name.as_str()))
        .unwrap()
        .single_string()
        .unwrap();
    assert_eq!(key, schema.table("events").unwrap().order_by.join(", "));
}

#[test]
fn every_statement_round_trips_through_clickhouse_parser() {
    let e = common::engine();
    let schema = common::ecommerce();
    let variants = [
        DdlOptions::new().database("shop"),
        DdlOptions::new()
            .database("shop")
            .cluster("shop_cluster")
            .if_not_exists(true),
        DdlOptions::new(),
        DdlOptions::new().cluster("c"),
    ];
    for opts in variants {
        for s in ddl::compile(&schema, &opts) {
            let once = e
                .format_query(&s.sql)
                .unwrap_or_else(|err| panic!("{}: {err}\n{}", s.name, s.sql));
            // parse → print → parse: ClickHouse's canonical form is a fixed point.
            let twice = e.format_query(&once).unwrap();
            assert_eq!(once, twice, "{}", s.name);
        }
    }
}

#[test]
fn unqualified_ddl_runs_in_the_current_database() {
    let db = common::test_db("unqualified_ddl");
    for s in ddl::compile(&common::ecommerce(), &DdlOptions::new()) {
        db.engine
            .run(s.to_statement())
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    assert_eq!(common::count(&db.engine, "events"), 0);
}
