//! `cargo bench` (or `make bench`): how fast chx compiles, and how fast its reports run on a
//! generated shop, measured in one run and written to benches/RESULTS.md as ratios. Never part
//! of `make test`; under `cargo test` this binary only says how to run it.
//!
//! CHX_BENCH_EVENTS sets the data sizes, comma-separated (default 1000000,10000000).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use chx::ddl::{self, DdlOptions};
use chx::diag::Source;
use chx::engine::{Engine, Target};
use chx::query::{Context, catalog};
use chx::sql::Statement;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn micros<F: FnMut()>(iterations: usize, mut f: F) -> f64 {
    f();
    median(
        (0..iterations)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    )
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmarks run with `cargo bench --bench chx` (or `make bench`)");
        return;
    }
    let sizes: Vec<u64> = std::env::var("CHX_BENCH_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/schema/ecommerce.yaml")).unwrap();
    let mut out = String::new();
    let schema = chx::schema::from_source(&Source::new("ecommerce.yaml", text.clone())).unwrap();

    // 1. The compiler.
    let parse = micros(200, || {
        chx::schema::from_source(&Source::new("ecommerce.yaml", text.clone())).unwrap();
    });
    let compile = micros(500, || {
        ddl::compile(&schema, &DdlOptions::new().database("shop"));
    });
    let ctx = Context::new(&schema, Some("bench")).unwrap();
    let params = |name: &str| -> BTreeMap<String, String> {
        match name {
            "user-journey" => [("user_id".to_string(), "u1".to_string())].into(),
            "cohorts" | "lifetime-value" => BTreeMap::new(),
            _ => [("days".to_string(), "30".to_string())].into(),
        }
    };
    let mut build_us = Vec::new();
    for (name, _) in catalog::REPORTS {
        let p = params(name);
        let us = micros(300, || {
            let r = catalog::build(&ctx, name, &p).unwrap();
            std::hint::black_box(r.sql());
        });
        build_us.push((name.to_string(), us));
    }

    let version = {
        let store = format!("{}/chx-bench-store", env!("CARGO_TARGET_TMPDIR"));
        let _ = std::fs::remove_dir_all(&store);
        Engine::connect(
            &Target::Embedded {
                store: store.into(),
            },
            None,
        )
        .unwrap()
        .version()
        .unwrap()
    };
    // 4. The report.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(out, "# chx benchmarks\n");
    let _ = writeln!(
        out,
        "Measured in one run by `cargo bench --bench chx` on this machine ({cores} cores), ClickHouse {version} (chdb-core 26.9.0, embedded), release build, generated shops of {} events over 120 days. Regenerate with `make bench`; numbers are for comparison within one run, not targets asserted anywhere.\n",
        sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let _ = writeln!(
        out,
        "## Compiler\n\n| what | median µs |\n| --- | --- |\n| parse + validate ecommerce.yaml | {parse:.1} |\n| compile its DDL | {compile:.1} |"
    );
    for (name, us) in &build_us {
        let _ = writeln!(out, "| build + render report `{name}` | {us:.1} |");
    }
    for &events in &sizes {
        // 2. Data: a generated shop in the embedded engine.
        let store = format!("{}/chx-bench-store", env!("CARGO_TARGET_TMPDIR"));
        let engine = Engine::connect(
            &Target::Embedded {
                store: store.into(),
            },
            None,
        )
        .unwrap();
        engine.run("DROP DATABASE IF EXISTS bench SYNC").unwrap();
        for s in ddl::compile(&schema, &DdlOptions::new().database("bench")) {
            engine.run(s.to_statement()).unwrap();
        }
        let days = 120u32;
        let today = chrono::Utc::now().date_naive();
        let opts = chx::generate::Options {
            events,
            days,
            seed: 11,
            start: today - chrono::Duration::days(days as i64 - 1),
        };
        let load = chx::generate::load(&engine, &schema, "bench", &opts, None).unwrap();
        engine.run("OPTIMIZE TABLE bench.events FINAL").unwrap();
        let disk = engine
        .run(Statement::new("SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'bench' GROUP BY table ORDER BY table"))
        .unwrap();

        // 3. Every report: median of 5 runs after a warm-up, against the floor (a plain scan of the
        //    events table's columns most reports read, over the same 30 days).
        let floor_sql = "SELECT count(), sum(revenue), uniqExact(person_id) FROM bench.events WHERE timestamp >= now64(3) - INTERVAL 30 DAY";
        let time_ms = |st: &Statement| -> (f64, usize) {
            let rows = engine.run(st.clone()).unwrap().len();
            let t = median(
                (0..5)
                    .map(|_| {
                        let t = Instant::now();
                        engine.run(st.clone()).unwrap();
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect(),
            );
            (t, rows)
        };
        let (floor_ms, _) = time_ms(&Statement::new(floor_sql));
        let mut runs = Vec::new();
        for (name, _) in catalog::REPORTS {
            let r = catalog::build(&ctx, name, &params(name)).unwrap();
            let (ms, rows) = time_ms(&r.statement());
            runs.push((name.to_string(), ms, rows));
        }
        let rollup_ctx = Context::new(&schema, Some("bench"))
            .unwrap()
            .with_rollups(true);
        let raw_ts =
            catalog::build(&ctx, "revenue-timeseries", &params("revenue-timeseries")).unwrap();
        let rolled_ts = catalog::build(
            &rollup_ctx,
            "revenue-timeseries",
            &params("revenue-timeseries"),
        )
        .unwrap();
        let (raw_ms, _) = time_ms(&raw_ts.statement());
        let (rolled_ms, _) = time_ms(&rolled_ts.statement());

        let _ = writeln!(
            out,
            "\n## {events} events: ingestion\n\n| what | value |\n| --- | --- |\n| generated and loaded | {} events in {:.2} s: **{:.0} events/s** (Arrow through ADBC ingest, 4 materialized views fed) |\n| peak RSS of this process | {:.0} MiB |",
            load.events,
            load.seconds,
            load.events_per_second,
            peak_rss_mib()
        );
        let _ = writeln!(
            out,
            "\n| table | rows | bytes on disk | bytes per event |\n| --- | --- | --- | --- |"
        );
        for r in &disk.rows {
            let bytes = r[2].as_f64().unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} |",
                r[0].as_str().unwrap_or_default(),
                r[1],
                bytes,
                bytes / events as f64
            );
        }
        let _ = writeln!(
            out,
            "\n## {events} events: reports (last 30 days)\n\nFloor: `{floor_sql}` — {floor_ms:.1} ms.\n\n| report | median ms | rows | × floor |\n| --- | --- | --- | --- |"
        );
        for (name, ms, rows) in &runs {
            let _ = writeln!(out, "| {name} | {ms:.1} | {rows} | {:.2} |", ms / floor_ms);
        }
        let _ = writeln!(
            out,
            "\n## {events} events: rollup\n\n| revenue-timeseries | median ms |\n| --- | --- |\n| scanning events (24 h dedupe) | {raw_ms:.1} |\n| reading revenue_daily | {rolled_ms:.1} |\n| ratio | {:.3} |",
            rolled_ms / raw_ms
        );
    }
    let _ = writeln!(
        out,
        "\n## Not measured yet\n\nThe seed recipes' SQL on their own table shape (JSON string properties), and bytes read per query (the embedded engine's query log) — see the issue notes."
    );
    std::fs::write(format!("{root}/benches/RESULTS.md"), &out).unwrap();
    print!("{out}");
}
