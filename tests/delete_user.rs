//! Forgetting a user (the seed API's DELETE /user/:userId) on a generated shop: afterwards no
//! table holds the person (their events, their devices' anonymous events, items, properties,
//! links, rollup rows), every other row is as it was, and every rollup equals its aggregation
//! recomputed from the events that remain. The plan's SQL is snapshotted.

mod common;

use chx::ddl::{DdlOptions, rollup_read_query};
use chx::engine::Engine;
use chx::schema::ir::ViewKind;
use serde_json::Value;

/// Rows of a query, as JSON values.
fn rows(engine: &Engine, sql: String) -> Vec<Vec<Value>> {
    engine
        .run(sql.clone())
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .rows
}

/// The person's rows of a table (user_id and anonymous_id), as the plan defines the person.
fn person(db: &str, user: &str) -> String {
    format!(
        "(user_id = '{user}' OR (user_id = '' AND anonymous_id IN (SELECT anonymous_id FROM {db}.identities GROUP BY anonymous_id HAVING argMax(user_id, linked_at) = '{user}')))"
    )
}

/// Count and an order-independent hash of a table's rows that `condition` keeps.
fn fingerprint(engine: &Engine, db: &str, table: &str, condition: &str) -> Vec<Vec<Value>> {
    rows(
        engine,
        format!(
            "SELECT count(), sum(cityHash64(toString(tuple(*)))) FROM {db}.{table} WHERE {condition}"
        ),
    )
}

#[test]
fn a_forgotten_user_leaves_no_trace_and_nothing_else_changes() {
    let (db, schema) = common::shop_db("delete_user");
    let opts = chx::generate::Options {
        events: 20_000,
        days: 30,
        seed: 5,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
    };
    chx::generate::load(&db.engine, &schema, &db.name, &opts, None).unwrap();
    let d = &db.name;
    // Settle merges, so a rollup's states and a recomputation compare row for row.
    for t in ["events", "event_items", "event_properties", "identities"] {
        db.engine
            .run(format!("OPTIMIZE TABLE {d}.{t} FINAL"))
            .unwrap();
    }
    // A buyer with anonymous history on a device linked to them.
    let user = rows(
        &db.engine,
        format!(
            "SELECT i.user_id FROM {d}.identities AS i JOIN {d}.events AS e ON e.anonymous_id = i.anonymous_id AND e.user_id = '' \
             WHERE i.user_id IN (SELECT user_id FROM {d}.events WHERE event_type = 'purchase') \
             GROUP BY i.user_id ORDER BY count() DESC, i.user_id LIMIT 1"
        ),
    )[0][0]
    .as_str()
    .unwrap()
    .to_string();
    let with_person: Vec<&str> = schema
        .tables
        .iter()
        .filter(|t| t.column("user_id").is_some() && t.column("anonymous_id").is_some())
        .map(|t| t.name.as_str())
        .collect();
    assert!(with_person.len() >= 5, "{with_person:?}");
    let who = person(d, &user);
    let others: Vec<_> = with_person
        .iter()
        .map(|t| {
            let keep = if *t == "identities" {
                format!("user_id != '{user}'")
            } else {
                format!("NOT {who}")
            };
            let mine = fingerprint(&db.engine, d, t, &who)[0][0].clone();
            assert_ne!(mine, Value::from(0), "{t}: the person has rows");
            (t, keep.clone(), fingerprint(&db.engine, d, t, &keep))
        })
        .collect();
    let rollups: Vec<_> = schema
        .views
        .iter()
        .filter_map(|v| match &v.kind {
            ViewKind::Rollup(r) => Some((v, r)),
            _ => None,
        })
        .collect();
    // Each rollup as stored, and as recomputed from the events there are.
    let compare = |when: &str| {
        for (v, r) in &rollups {
            let stored = rows(
                &db.engine,
                rollup_read_query(&schema, &v.name, &DdlOptions::new().database(d))
                    .unwrap()
                    .sql,
            );
            let dims: Vec<String> = r
                .dimensions
                .iter()
                .map(|x| format!("{} AS {}", x.expr, x.name))
                .collect();
            let measures: Vec<String> = r
                .measures
                .iter()
                .map(|m| format!("{}({})", m.agg, m.arguments()))
                .collect();
            let names: Vec<&str> = r.dimensions.iter().map(|x| x.name.as_str()).collect();
            let recomputed = rows(
                &db.engine,
                format!(
                    "SELECT {}, {} FROM {d}.{} WHERE {} GROUP BY {} ORDER BY {}",
                    dims.join(", "),
                    measures.join(", "),
                    v.source,
                    r.filter.as_deref().unwrap_or("1"),
                    names.join(", "),
                    names.join(", ")
                ),
            );
            assert!(!stored.is_empty());
            assert_eq!(stored, recomputed, "{} {when}", v.target);
        }
    };
    compare("before");

    // The person's devices, while their links still say so.
    let devices: Vec<String> = rows(
        &db.engine,
        format!("SELECT anonymous_id FROM {d}.identities GROUP BY anonymous_id HAVING argMax(user_id, linked_at) = '{user}'"),
    )
    .iter()
    .map(|r| format!("'{}'", r[0].as_str().unwrap()))
    .collect();
    assert!(!devices.is_empty());
    let steps = chx::forget::plan(&schema, Some(d), &user).unwrap();
    for s in &steps {
        db.engine
            .run(s.statement.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", s.what));
    }
    for (t, keep, before) in &others {
        // Nothing of the person: by user_id, and by the devices that were theirs.
        let left = if **t == "identities" {
            format!("user_id = '{user}'")
        } else {
            format!(
                "user_id = '{user}' OR (user_id = '' AND anonymous_id IN ({}))",
                devices.join(", ")
            )
        };
        assert_eq!(
            fingerprint(&db.engine, d, t, &left)[0][0],
            Value::from(0),
            "{t}"
        );
        assert_eq!(&fingerprint(&db.engine, d, t, keep), before, "{t}: others");
    }
    compare("after");
}

/// Rollups keep days whose events have expired (the events' TTL): the person's rows of such a
/// day cannot be rebuilt, so they are deleted.
#[test]
fn rollup_rows_outliving_the_events_go_too() {
    let (db, schema) = common::shop_db("delete_user_expired");
    let d = &db.name;
    for user in ["gone", "stays"] {
        db.engine
            .run(format!(
                "INSERT INTO {d}.person_revenue_daily (day, event_type, currency, user_id, anonymous_id, amount, events) \
                 SELECT toDate('2023-01-01'), 'purchase', 'USD', '{user}', '', sumState(toInt64(100)), countState()"
            ))
            .unwrap();
    }
    for s in chx::forget::plan(&schema, Some(d), "gone").unwrap() {
        db.engine.run(s.statement).unwrap();
    }
    let left = rows(
        &db.engine,
        format!("SELECT user_id FROM {d}.person_revenue_daily ORDER BY user_id"),
    );
    assert_eq!(left, vec![vec![Value::from("stays")]]);
}

#[test]
fn the_plan_is_snapshotted_and_needs_the_links() {
    let schema = common::ecommerce();
    let steps = chx::forget::plan(&schema, None, "user_123").unwrap();
    let text: String = steps
        .iter()
        .map(|s| format!("-- {}\n{};\n\n", s.what, s.statement.sql))
        .collect();
    common::snapshots("forget").bind(|| insta::assert_snapshot!("ecommerce.plan", text));
    common::assert_no_unreferenced_snapshots("forget", &["ecommerce.plan".to_string()]);
    assert!(steps.iter().all(|s| s.statement.params.len() == 1));
    assert!(steps.last().unwrap().what.starts_with("identities"));
    let no_links = chx::schema::from_source(&chx::diag::Source::new(
        "t.yaml",
        "tables:\n  - name: events\n    columns: [{name: user_id, type: String}, {name: anonymous_id, type: String}]\n    order_by: user_id\n",
    ))
    .unwrap();
    let err = chx::forget::plan(&no_links, None, "u")
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs the table `identities`"), "{err}");
    // A rollup without a day dimension is rebuilt whole.
    let no_day = chx::schema::from_source(&chx::diag::Source::new(
        "t.yaml",
        "tables:\n  - name: events\n    columns: [{name: user_id, type: String}, {name: anonymous_id, type: String}, {name: currency, type: String}, {name: revenue, type: Int64}]\n    order_by: user_id\n  - name: identities\n    columns: [{name: anonymous_id, type: String}, {name: user_id, type: String}, {name: linked_at, type: DateTime}]\n    order_by: anonymous_id\nviews:\n  - name: totals_mv\n    kind: rollup\n    from: events\n    to: totals\n    dimensions: [currency]\n    measures:\n      - {name: amount, agg: sum, expr: revenue}\n",
    ))
    .unwrap();
    let steps = chx::forget::plan(&no_day, Some("db"), "u").unwrap();
    let what: Vec<&str> = steps.iter().map(|s| s.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "totals: clear every row (it has no day to narrow to)",
            "totals: rebuild it from the rows that remain",
            "events: the person's rows",
            "identities: the user's links",
        ]
    );
    assert_eq!(steps[0].statement.sql, "TRUNCATE TABLE db.totals");
    assert!(
        steps[1].statement.sql.ends_with("WHERE NOT (user_id = {user_id:String} OR (user_id = '' AND anonymous_id IN (SELECT anonymous_id FROM db.identities GROUP BY anonymous_id HAVING argMax(user_id, linked_at) = {user_id:String})))\nGROUP BY currency"),
        "{}",
        steps[1].statement.sql
    );
}
