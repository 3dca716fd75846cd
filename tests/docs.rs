//! docs/schema-reference.md stays true: every YAML example validates, applies to a real
//! ClickHouse, and the `sql` block after it is exactly the DDL chx compiles it to.
//! `CHX_UPDATE_DOCS=1 cargo test --test docs` rewrites those blocks after a deliberate change.

mod common;

use chx::ddl::{self, DdlOptions};
use chx::diag::Source;

const DOC: &str = "docs/schema-reference.md";

/// (yaml, byte range of the following sql block's body) for each example.
fn examples(doc: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(start) = doc[rest..].find("```yaml\n") {
        let body = rest + start + "```yaml\n".len();
        let end = body + doc[body..].find("```\n").expect("closed yaml block");
        let yaml = doc[body..end].to_string();
        let after = end + 4;
        let sql_start = after
            + doc[after..]
                .find("```sql\n")
                .expect("a sql block after each yaml example")
            + "```sql\n".len();
        let sql_end = sql_start + doc[sql_start..].find("```\n").expect("closed sql block");
        out.push((yaml, sql_start..sql_end));
        rest = sql_end;
    }
    out
}

#[test]
fn every_example_compiles_applies_and_matches_its_ddl() {
    let path = common::repo_path(DOC);
    let mut doc = std::fs::read_to_string(&path).unwrap();
    let found = examples(&doc);
    assert!(found.len() >= 3, "examples in {DOC}: {}", found.len());
    let update = std::env::var("CHX_UPDATE_DOCS").is_ok_and(|v| v == "1");
    let mut replacements = Vec::new();
    for (i, (yaml, sql_range)) in found.iter().enumerate() {
        let schema = chx::schema::from_source(&Source::new(
            format!("{DOC} example {}", i + 1),
            yaml.as_str(),
        ))
        .unwrap_or_else(|d| panic!("{}", d.render_plain()));
        let stmts = ddl::compile(&schema, &DdlOptions::new());
        let script = ddl::to_script(&stmts);
        let script = script.trim_end().to_string() + "\n";
        let db = common::test_db(&format!("docs_example_{}", i + 1));
        for s in &stmts {
            db.engine
                .run(s.to_statement())
                .unwrap_or_else(|e| panic!("example {}: {e}\n{}", i + 1, s.sql));
        }
        if update {
            replacements.push((sql_range.clone(), script));
        } else {
            assert_eq!(
                &doc[sql_range.clone()],
                script,
                "example {} in {DOC}: run CHX_UPDATE_DOCS=1 cargo test --test docs",
                i + 1
            );
        }
    }
    for (range, text) in replacements.into_iter().rev() {
        doc.replace_range(range, &text);
    }
    if update {
        std::fs::write(&path, doc).unwrap();
    }
}

/// The backticked names after each "`word` `" in `cell` (e.g. `report `): a name, then more
/// names after ", " (a parenthetical after a name is skipped): `reports `a`, `b` (x)`.
fn named_after(cell: &str, word: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = cell;
    let pattern = format!("{word} `");
    while let Some(at) = rest.find(&pattern) {
        rest = &rest[at + pattern.len() - 1..];
        while let Some(body) = rest.strip_prefix('`') {
            let end = body.find('`').expect("closed backtick");
            out.push(body[..end].to_string());
            rest = body[end + 1..].trim_start();
            if rest.starts_with('(') {
                let close = rest.find(')').expect("closed parenthesis");
                rest = rest[close + 1..].trim_start();
            }
            match rest.strip_prefix(", ") {
                Some(r) if r.starts_with('`') => rest = r,
                _ => break,
            }
        }
    }
    out
}

/// docs/seeds.md names only what exists: catalogue reports, taxonomy presets (whose event
/// names the shipped schema resolves), the shipped schema's events and tables.
#[test]
fn the_seed_map_names_what_exists() {
    use chx::query::catalog::REPORTS;
    use chx::schema::taxonomy::PRESETS;
    let doc = std::fs::read_to_string(common::repo_path("docs/seeds.md")).unwrap();
    let schema = common::ecommerce();
    let taxonomy = schema.taxonomy.as_ref().unwrap();
    let mut reports = 0;
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        let answer = cells.last().unwrap();
        for word in ["report", "reports"] {
            for name in named_after(answer, word) {
                assert!(
                    REPORTS.iter().any(|(r, _)| *r == name),
                    "{line}: no report {name}"
                );
                reports += 1;
            }
        }
        for event in named_after(answer, "events") {
            assert!(taxonomy.event(&event).is_some(), "{line}: no event {event}");
        }
        for table in named_after(answer, "table") {
            assert!(schema.table(&table).is_some(), "{line}: no table {table}");
        }
        for preset in named_after(answer, "preset") {
            assert!(
                PRESETS.iter().any(|(p, _)| *p == preset),
                "{line}: no preset {preset}"
            );
            let events = cells[0].trim_start_matches("| ");
            for name in events.split(", ").map(|n| n.trim_matches('`')) {
                assert!(
                    taxonomy.event(name).is_some(),
                    "{line}: `{name}` does not resolve"
                );
            }
        }
    }
    assert!(reports >= 30, "{reports} report mentions");
}
