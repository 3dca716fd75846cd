//! `cargo bench --bench compiler` (part of `make bench`): the compiler's speed with divan's
//! statistics (fastest, median, mean over 100 samples) and allocation counts, one row per
//! catalogue report. `benches/chx.rs` writes the one-run medians into benches/RESULTS.md; this
//! is the closer look when those move. The goal is ≤ 20 µs per report build + render.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chx::ddl::{self, DdlOptions};
use chx::diag::Source;
use chx::query::{Context, catalog};
use chx::schema::Schema;
use divan::{Bencher, black_box};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/ecommerce.yaml");

static SCHEMA_TEXT: LazyLock<String> =
    LazyLock::new(|| std::fs::read_to_string(SCHEMA_FILE).expect("schema/ecommerce.yaml"));

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    chx::schema::from_source(&Source::new("ecommerce.yaml", SCHEMA_TEXT.clone()))
        .expect("the shipped schema is valid")
});

fn main() {
    divan::main();
}

/// The parameters `benches/chx.rs` uses too: the last 30 days where a report takes `days`.
fn params(report: &str) -> BTreeMap<String, String> {
    let takes = |p: &str| {
        catalog::REPORTS
            .iter()
            .any(|(name, params)| *name == report && params.contains(&p))
    };
    let mut p = BTreeMap::new();
    if takes("days") {
        p.insert("days".to_string(), "30".to_string());
    }
    if takes("user_id") {
        p.insert("user_id".to_string(), "u1".to_string());
    }
    p
}

fn report_names() -> impl Iterator<Item = &'static str> {
    catalog::REPORTS.iter().map(|(name, _)| *name)
}

#[divan::bench]
fn parse_and_validate_schema(bencher: Bencher) {
    bencher.bench(|| {
        chx::schema::from_source(&Source::new("ecommerce.yaml", SCHEMA_TEXT.clone())).unwrap()
    });
}

#[divan::bench]
fn compile_ddl(bencher: Bencher) {
    let schema = &*SCHEMA;
    bencher.bench(|| ddl::compile(schema, &DdlOptions::new().database("shop")));
}

/// Build the report's AST and render its SQL: what a backend pays per request when it compiles
/// reports on the fly.
#[divan::bench(args = report_names())]
fn build_and_render(bencher: Bencher, report: &str) {
    let ctx = Context::new(&SCHEMA, Some("bench")).unwrap();
    let p = params(report);
    bencher.bench_local(|| catalog::build(&ctx, black_box(report), &p).unwrap().sql());
}

/// Rendering alone, from a built AST.
#[divan::bench(args = report_names())]
fn render(bencher: Bencher, report: &str) {
    let ctx = Context::new(&SCHEMA, Some("bench")).unwrap();
    let built = catalog::build(&ctx, report, &params(report)).unwrap();
    bencher.bench_local(|| black_box(&built).sql());
}
