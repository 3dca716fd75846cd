//! The report catalogue and the shipped named queries: every report builds from string
//! parameters and runs on the real engine; every named query's SQL file is snapshotted; bad
//! named queries and parameters are clear errors.

mod common;

use std::collections::BTreeMap;

use chx::diag::Source;
use chx::query::catalog::{self, REPORTS};
use chx::query::{Context, named};

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_catalogue_report_runs_on_the_engine() {
    let (db, schema) = common::shop_db("catalogue");
    let text = std::fs::read_to_string(common::repo_path("schema/examples/events.ndjson")).unwrap();
    chx::ingest::ingest(&db.engine, &schema, &db.name, &text).unwrap();
    let ctx = Context::new(&schema, Some(&db.name)).unwrap();
    for (name, _) in REPORTS {
        let p = common::catalogue_params(name, "2026-01-01", "2026-02-28");
        let r = catalog::build(&ctx, name, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
        db.engine
            .run(r.statement())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", r.sql()));
    }
    // Every report with money, in the base currency: its SQL snapshotted, run on the engine.
    common::insert(
        &db,
        "currency_rates",
        [
            serde_json::json!({"day": "2026-01-01", "currency": "EUR", "rate": "1.0834"}),
            serde_json::json!({"day": "2026-01-01", "currency": "JPY", "rate": "0.0067"}),
        ],
    );
    let converting: Vec<&str> = REPORTS
        .iter()
        .filter(|(_, p)| p.contains(&"currency"))
        .map(|(n, _)| *n)
        .collect();
    common::assert_no_unreferenced_snapshots(
        "base_currency",
        &converting.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
    );
    for name in converting {
        let mut p = common::catalogue_params(name, "2026-01-01", "2026-02-28");
        p.insert("currency".into(), "base".into());
        let r = catalog::build(&ctx, name, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
        common::snapshots("base_currency")
            .bind(|| insta::assert_snapshot!(name.to_string(), r.to_sql_file()));
        let rows = db
            .engine
            .run(r.statement())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", r.sql()));
        let column = |n: &str| rows.columns.iter().position(|c| c.name == n);
        for row in &rows.rows {
            match column("currency") {
                Some(c) => assert_eq!(row[c], "USD", "{name}"),
                // Revenue per currency as a map (traffic-sources): one key, the base.
                None => {
                    let revenue = row[column("revenue").unwrap()].as_object().unwrap();
                    assert!(revenue.keys().all(|k| k == "USD"), "{name}: {revenue:?}");
                }
            }
        }
    }
    // The breakdowns too, in the base currency where they have money.
    for (name, extra) in [
        (
            "lifetime-value",
            &[("breakdown", "channel"), ("currency", "base")][..],
        ),
        (
            "lifetime-value",
            &[("breakdown", "category"), ("currency", "base")],
        ),
        ("visit-to-order", &[("breakdown", "channel")]),
        ("visit-to-order", &[("breakdown", "product")]),
        ("visit-to-order", &[("breakdown", "category")]),
    ] {
        let mut p = common::catalogue_params(name, "2026-01-01", "2026-02-28");
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let r = catalog::build(&ctx, name, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
        db.engine
            .run(r.statement())
            .unwrap_or_else(|e| panic!("{name} {extra:?}: {e}\n{}", r.sql()));
    }
    // Some real numbers through the catalogue: the sample has 4 orders (one retry ignored).
    let overview = db
        .engine
        .run(
            catalog::build(
                &ctx,
                "overview",
                &params(&[("start", "2026-01-01"), ("end", "2026-02-28")]),
            )
            .unwrap()
            .statement(),
        )
        .unwrap();
    let orders: i64 = overview.rows.iter().map(|r| r[3].as_i64().unwrap()).sum();
    assert_eq!(orders, 4);
}

#[test]
fn parameters_are_checked() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, None).unwrap();
    let err = |name: &str, p: &[(&str, &str)]| {
        catalog::build(&ctx, name, &params(p))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err("nope", &[]), "unknown report `nope`");
    // Every value the funnel reads is a parameter it accepts (breakdown_attribution was read
    // but refused as unknown).
    for v in ["first_touch", "last_touch", "step:2"] {
        let p = params(&[("breakdown", "country"), ("breakdown_attribution", v)]);
        catalog::build(&ctx, "funnel", &p).unwrap_or_else(|e| panic!("{v}: {e}"));
    }
    assert_eq!(
        err(
            "funnel",
            &[
                ("breakdown", "country"),
                ("breakdown_attribution", "middle")
            ]
        ),
        "report `funnel`: parameter `breakdown_attribution` = `middle` is not valid"
    );
    assert_eq!(
        err("overview", &[("currency", "EUR")]),
        "report `overview`: parameter `currency` = `EUR` is not valid"
    );
    for v in ["base", "USD", "each"] {
        catalog::build(&ctx, "overview", &params(&[("currency", v)]))
            .unwrap_or_else(|e| panic!("{v}: {e}"));
    }
    assert_eq!(
        err("overview", &[("limit", "5")]),
        "report `overview` has no parameter `limit`"
    );
    assert_eq!(
        err("overview", &[("start", "2026-01-01")]),
        "report `overview`: give either `days` or both `start` and `end`"
    );
    assert_eq!(
        err("revenue-timeseries", &[("granularity", "minute")]),
        "report `revenue-timeseries`: parameter `granularity` = `minute` is not valid"
    );
    match catalog::build(&ctx, "retention", &params(&[("period", "year")])) {
        Err(chx::Error::Report { help, .. }) => {
            assert_eq!(help, "expected hour, day, week, week_sunday or month")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err("attribution", &[("model", "magic")]),
        "report `attribution`: parameter `model` = `magic` is not valid"
    );
    assert_eq!(
        err("attribution", &[("window", "10")]),
        "attribution window must be one of 7, 14, 30, 60, 90 days, got 10"
    );
    assert_eq!(
        err("top-products", &[("limit", "500")]),
        "limit must be between 1 and 100, got 500"
    );
    catalog::build(
        &ctx,
        "lifetime-value",
        &params(&[("breakdown", "category"), ("currency", "base")]),
    )
    .unwrap();
    for v in ["channel", "product", "category"] {
        let r = catalog::build(&ctx, "visit-to-order", &params(&[("breakdown", v)]))
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        assert!(r.sql().contains("visitors"), "{v}");
    }
    assert_eq!(
        err(
            "visit-to-order",
            &[("breakdown", "channel"), ("limit", "5")]
        ),
        "report `visit-to-order`: `limit` applies only to breakdown=product or breakdown=category"
    );
    assert_eq!(
        err("visit-to-order", &[("breakdown", "device")]),
        "report `visit-to-order`: parameter `breakdown` = `device` is not valid"
    );
    assert_eq!(
        err(
            "visit-to-order",
            &[("breakdown", "product"), ("limit", "0")]
        ),
        "limit must be between 1 and 100, got 0"
    );
    assert_eq!(
        err("user-journey", &[]),
        "report `user-journey` needs `user_id`"
    );
}

#[test]
fn shipped_named_queries_compile_and_are_snapshotted() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, Some("shop")).unwrap();
    let queries = named::load_dir(&common::repo_path("queries")).unwrap();
    assert!(queries.len() >= 16);
    // Every seed API report endpoint has a named query.
    for (name, _) in REPORTS {
        assert!(
            queries.iter().any(|q| q.report == *name),
            "no named query for {name}"
        );
    }
    let engine = common::engine();
    for q in &queries {
        let r = catalog::build(&ctx, &q.report, &q.params).unwrap();
        engine
            .format_query(&r.sql())
            .unwrap_or_else(|e| panic!("{}: {e}", q.name));
        let name = format!("query.{}", q.name);
        common::snapshots("queries").bind(|| insta::assert_snapshot!(name, r.to_sql_file()));
    }
    let names: Vec<String> = queries
        .iter()
        .map(|q| format!("query.{}", q.name))
        .collect();
    common::assert_no_unreferenced_snapshots("queries", &names);
}

#[test]
fn bad_named_queries_point_at_the_problem() {
    let src = Source::new(
        "bad.yaml",
        "name: weekly revenue\nreport: revenue-timeserie\nparams: {days: 7}\nlimit: 3\n",
    );
    let d = named::parse(&src).unwrap_err();
    let got: Vec<String> = d
        .iter()
        .map(|d| format!("{} {}", d.location().unwrap(), d.code))
        .collect();
    assert_eq!(
        got,
        [
            "bad.yaml:1:7 chx::query::bad_name",
            "bad.yaml:2:9 chx::query::unknown_report",
            "bad.yaml:4:1 chx::schema::unknown_field"
        ]
    );
    let src = Source::new(
        "bad.yaml",
        "name: top\nreport: top-products\nparams: {limit: 5, granularity: week}\n",
    );
    let d = named::parse(&src).unwrap_err();
    assert_eq!(
        d.iter().next().unwrap().message,
        "report `top-products` has no parameter `granularity`"
    );
}

#[test]
fn funnel_parameters_reach_the_funnel() {
    let schema = common::ecommerce();
    let ctx = Context::new(&schema, None).unwrap();
    let p = params(&[
        ("steps", "view_item,add_to_cart,purchase"),
        ("mode", "strict"),
        ("breakdown", "country"),
        ("breakdown_limit", "3"),
        ("days", "7"),
    ]);
    let sql = catalog::build(&ctx, "funnel", &p).unwrap().sql();
    assert!(
        sql.contains("bd_rank <= 3") && sql.contains("'Other'"),
        "{sql}"
    );
    let p = params(&[
        ("steps", "view_item,add_to_cart,purchase"),
        ("exclude", "remove_from_cart:1:2"),
    ]);
    assert!(
        catalog::build(&ctx, "funnel", &p)
            .unwrap()
            .sql()
            .contains("bitTest(m, 32)")
    );
    let p = params(&[("exclude", "remove_from_cart:one:2")]);
    assert!(
        catalog::build(&ctx, "funnel", &p)
            .unwrap_err()
            .to_string()
            .contains("parameter `exclude`")
    );
}
