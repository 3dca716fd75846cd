//! Migrations through a sequence of schema versions (tests/fixtures/migrations/v01..v10): each
//! generated migration is snapshotted and applied to the real engine with data in the tables;
//! the result must be exactly what a fresh apply of the last version gives, with no row lost.

mod common;

use chx::ddl::{self, DdlOptions};
use chx::migrate;
use chx::schema::Schema;
use chx::sql::Statement;
use serde_json::{Value, json};

/// Everything `system` knows about a database's objects, with its name taken out.
fn introspect(db: &common::TestDb) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let q = |sql: &str| {
        db.engine
            .run(Statement::new(sql).param("db", "String", db.name.as_str()))
            .unwrap()
            .rows
    };
    out.extend(q("SELECT name, engine, sorting_key, partition_key, primary_key, replaceRegexpAll(engine_full, 'SETTINGS.*', '') FROM system.tables WHERE database = {db:String} ORDER BY name"));
    out.extend(q("SELECT table, name, type, default_kind, default_expression, comment, compression_codec FROM system.columns WHERE database = {db:String} ORDER BY table, position"));
    out.extend(q("SELECT table, name, type_full, expr, granularity FROM system.data_skipping_indices WHERE database = {db:String} ORDER BY table, name"));
    out.extend(q("SELECT name, replaceAll(as_select, database || '.', '') FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name"));
    let text = serde_json::to_string(&out).unwrap().replace(&db.name, "DB");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_sequence_migrates_to_what_a_fresh_apply_gives_without_losing_rows() {
    let versions = common::migration_versions();
    assert!(versions.len() >= 10);
    let db = common::test_db("migrations_sequence");
    let opts = DdlOptions::new().database(&db.name);
    let empty = Schema {
        tables: vec![],
        views: vec![],
        ..versions[0].1.clone()
    };
    let mut previous = empty;
    let mut names = Vec::new();
    for (i, (stem, schema)) in versions.iter().enumerate() {
        let plan = migrate::plan(&previous, schema, &opts);
        assert!(!plan.is_empty(), "{stem} changes something");
        let name = stem.split_once('_').map_or(stem.as_str(), |(_, n)| n);
        let text = migrate::render(name, i as u32 + 1, &plan);
        let snap = format!("{:04}_{name}", i + 1);
        let shown = text.replace(&db.name, "shop");
        common::snapshots("migrations").bind(|| insta::assert_snapshot!(snap.clone(), shown));
        names.push(snap);
        for (k, stmt) in migrate::statements(&text).unwrap().iter().enumerate() {
            db.engine
                .run(stmt.as_str())
                .unwrap_or_else(|e| panic!("{stem} step {}: {e}\n{stmt}", k + 1));
        }
        if i == 0 {
            let rows: Vec<Value> = (0..500)
                .map(|n| json!({"event_id": format!("00000000-0000-4000-8000-{n:012}"), "ts": format!("2026-0{}-1{} 10:00:00.000", 1 + n % 3, n % 10), "event_type": if n % 2 == 0 { "view" } else { "purchase" }, "user_id": format!("u{}", n % 37), "revenue": n * 10, "note": "x"}))
                .collect();
            common::insert(&db, "events", rows);
        }
        assert_eq!(common::count(&db.engine, "events"), 500, "after {stem}");
        previous = schema.clone();
    }
    // Renamed and widened data survived the rebuild.
    let sum = db
        .engine
        .run("SELECT sum(revenue), uniqExact(customer_id) FROM events")
        .unwrap()
        .rows;
    assert_eq!(
        sum[0],
        vec![json!((0..500).map(|n| n * 10).sum::<i64>()), json!(37)]
    );
    // Nothing left to do.
    assert!(migrate::plan(&previous, &previous, &opts).is_empty());

    let fresh = common::test_db("migrations_fresh");
    for s in ddl::compile(&previous, &DdlOptions::new().database(&fresh.name)) {
        if s.kind != ddl::ObjectKind::Database {
            fresh.engine.run(s.to_statement()).unwrap();
        }
    }
    assert_eq!(introspect(&db), introspect(&fresh));
    common::assert_no_unreferenced_snapshots("migrations", &names);
}

#[test]
fn destructive_steps_are_marked_and_explained() {
    let v = common::migration_versions();
    let opts = DdlOptions::new().database("shop");
    let rebuild = migrate::plan(&v[7].1, &v[8].1, &opts);
    assert!(rebuild.steps.iter().any(|s| {
        s.sql
            .starts_with("EXCHANGE TABLES shop.events__chx_rebuild AND shop.events")
    }));
    assert!(rebuild.steps.iter().filter(|s| s.destructive).all(|s| {
        s.unsafe_reason
            .as_deref()
            .unwrap()
            .contains("rebuilds events (ORDER BY")
    }));
    let drop = migrate::plan(&v[8].1, &v[9].1, &opts);
    assert_eq!(drop.steps.iter().filter(|s| s.destructive).count(), 1);
    assert_eq!(
        drop.steps
            .iter()
            .find(|s| s.destructive)
            .unwrap()
            .unsafe_reason
            .as_deref(),
        Some("drops column events.note and its data")
    );
    let widen = migrate::plan(&v[2].1, &v[3].1, &opts);
    assert!(
        widen.steps.iter().all(|s| !s.destructive),
        "Int32 → Int64 is a widening"
    );
    let narrow = migrate::plan(&v[3].1, &v[2].1, &opts);
    assert!(narrow.steps.iter().any(|s| {
        s.destructive
            && s.unsafe_reason
                .as_deref()
                .unwrap()
                .starts_with("narrows events.revenue from Int64 to Int32")
    }));
}

#[test]
fn appended_order_by_keys_are_modified_in_place() {
    let v = common::migration_versions();
    let p = migrate::plan(&v[0].1, &v[1].1, &DdlOptions::new());
    let sql: Vec<&str> = p.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "ALTER TABLE events ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT 'US' AFTER note",
            "ALTER TABLE events ADD COLUMN IF NOT EXISTS session_id String AFTER country, MODIFY ORDER BY (event_type, ts, session_id)",
        ]
    );
}

#[test]
fn statements_split_safely_and_checksums_are_stable() {
    let text = "-- a comment; with a semicolon\nCREATE TABLE t (s String DEFAULT 'a;b') ENGINE = MergeTree ORDER BY s;\n/* block; */\nSELECT 1;\n";
    assert_eq!(
        migrate::statements(text).unwrap(),
        [
            "CREATE TABLE t (s String DEFAULT 'a;b') ENGINE = MergeTree ORDER BY s",
            "SELECT 1"
        ]
    );
    assert_eq!(
        migrate::checksum("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn migrate_new_writes_a_file_then_nothing() {
    let dir = common::scratch("migrate-new");
    let v = common::migration_versions();
    let opts = DdlOptions::new();
    let first = migrate::new_migration(&dir, "base", &v[0].1, &opts)
        .unwrap()
        .unwrap();
    assert!(first.ends_with("0001_base.sql"));
    assert_eq!(
        migrate::new_migration(&dir, "again", &v[0].1, &opts).unwrap(),
        None,
        "nothing to write"
    );
    let second = migrate::new_migration(&dir, "add_columns", &v[1].1, &opts)
        .unwrap()
        .unwrap();
    assert!(second.ends_with("0002_add_columns.sql"));
    let files = migrate::list(&dir).unwrap();
    assert_eq!(
        files
            .iter()
            .map(|f| (f.version, f.name.as_str()))
            .collect::<Vec<_>>(),
        [(1, "base"), (2, "add_columns")]
    );
    assert_eq!(migrate::state(&dir).unwrap().unwrap(), v[1].1);
}

#[test]
fn the_splitter_follows_clickhouse_quoting() {
    let text = "CREATE TABLE t (a String COMMENT 'it\\'s; fine', b String COMMENT 'x'';y') ENGINE = Memory;\n-- done; really\nSELECT `we;ird`, \"q;\" FROM t /* ; */;";
    assert_eq!(
        migrate::statements(text).unwrap(),
        [
            "CREATE TABLE t (a String COMMENT 'it\\'s; fine', b String COMMENT 'x'';y') ENGINE = Memory",
            "SELECT `we;ird`, \"q;\" FROM t"
        ]
    );
    assert!(migrate::statements("SELECT 'open").is_err());
}

#[test]
fn cluster_migrations_are_snapshotted_and_parse() {
    let versions = common::migration_versions();
    let opts = DdlOptions::new().database("shop").cluster("shop_cluster");
    let engine = common::engine();
    let mut previous = Schema {
        tables: vec![],
        views: vec![],
        ..versions[0].1.clone()
    };
    let mut names = Vec::new();
    for (i, (stem, schema)) in versions.iter().enumerate() {
        let plan = migrate::plan(&previous, schema, &opts);
        let name = stem.split_once('_').map_or(stem.as_str(), |(_, n)| n);
        let text = migrate::render(name, i as u32 + 1, &plan);
        for stmt in migrate::statements(&text).unwrap() {
            assert!(
                stmt.contains("ON CLUSTER shop_cluster") || stmt.starts_with("INSERT INTO"),
                "{stmt}"
            );
            engine
                .format_query(&stmt)
                .unwrap_or_else(|e| panic!("{stem}: {e}\n{stmt}"));
        }
        let snap = format!("{:04}_{name}", i + 1);
        common::snapshots("migrations_cluster")
            .bind(|| insta::assert_snapshot!(snap.clone(), text));
        names.push(snap);
        previous = schema.clone();
    }
    common::assert_no_unreferenced_snapshots("migrations_cluster", &names);
}

/// Run a shipped migration file (written for database `shop`) in the test's database.
fn apply_shipped(db: &common::TestDb, f: &migrate::MigrationFile) {
    for stmt in migrate::statements(&f.text).unwrap() {
        db.engine
            .run(stmt.replace("shop.", &format!("{}.", db.name)))
            .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
    }
}

#[test]
fn shipped_migrations_match_the_shipped_schema() {
    let dir = common::repo_path("migrations");
    let state = migrate::state(&dir)
        .unwrap()
        .expect("migrations/schema.state.json");
    let schema = common::ecommerce();
    let pending = migrate::plan(&state, &schema, &DdlOptions::new().database("shop"));
    assert!(
        pending.is_empty(),
        "schema/ecommerce.yaml changed without a migration: run `chx migrate new NAME`\n{:?}",
        pending.changes
    );
    // Applying the shipped files gives what compiling the schema gives.
    let db = common::test_db("shipped_migrations");
    for f in migrate::list(&dir).unwrap() {
        apply_shipped(&db, &f);
    }
    let fresh = common::test_db("shipped_fresh");
    for s in ddl::compile(&schema, &DdlOptions::new().database(&fresh.name)) {
        if s.kind != ddl::ObjectKind::Database {
            fresh.engine.run(s.to_statement()).unwrap();
        }
    }
    assert_eq!(introspect(&db), introspect(&fresh));
}

#[test]
fn a_new_rollup_is_filled_from_the_rows_already_stored() {
    // migrations/0003 adds channel_persons_daily over an events table that may hold years of
    // data: after it, the rollup must answer for that history too.
    let dir = common::repo_path("migrations");
    let files = migrate::list(&dir).unwrap();
    let (before, after): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.version < 3);
    assert!(!after.is_empty(), "migrations/0003 adds the channel rollup");
    let db = common::test_db("rollup_backfill");
    before.iter().for_each(|f| apply_shipped(&db, f));
    let schema = common::ecommerce();
    let opts = chx::generate::Options {
        events: 20_000,
        days: 40,
        seed: 3,
        start: chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
    };
    chx::generate::load(&db.engine, &schema, &db.name, &opts, None).unwrap();
    after.iter().for_each(|f| apply_shipped(&db, f));
    let rolled = db.engine.run("SELECT day, utm_campaign, utm_source, utm_medium, uniqExactMerge(persons) FROM channel_persons_daily GROUP BY ALL ORDER BY ALL").unwrap().rows;
    let raw = db.engine.run("SELECT toDate(timestamp) AS day, utm_campaign, utm_source, utm_medium, uniqExact(person_id) FROM events WHERE utm_campaign != '' OR utm_source != '' OR utm_medium != '' GROUP BY ALL ORDER BY ALL").unwrap().rows;
    assert!(raw.len() > 100, "{}", raw.len());
    assert_eq!(rolled, raw);
}
