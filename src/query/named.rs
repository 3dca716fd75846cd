//! Named queries: `queries/*.yaml`, each a catalogue report with fixed parameters.
//!
//! ```yaml
//! name: weekly_revenue
//! report: revenue-timeseries
//! description: Weekly revenue per currency over the last 90 days.
//! params: {granularity: week, days: 90}
//! ```
//!
//! Files are checked like schemas: unknown keys and bad values are reported with
//! file:line:column; unknown reports and parameters are reported at their position too.

use std::collections::BTreeMap;
use std::path::Path;

use super::catalog::REPORTS;
use crate::diag::{Diag, Diagnostics, Source};
use crate::error::Error;
use crate::schema::decode::Cx;
use crate::schema::yaml;

#[derive(Clone, Debug, PartialEq)]
pub struct NamedQuery {
    pub name: String,
    pub report: String,
    pub description: Option<String>,
    pub params: BTreeMap<String, String>,
}

/// Parse one named-query file.
pub fn parse(source: &Source) -> Result<NamedQuery, Diagnostics> {
    let root = yaml::parse(source)?;
    let mut diags = Diagnostics::new(Some(source.clone()));
    let mut cx = Cx { diags: &mut diags };
    let f = cx.fields(
        &root,
        "a named query",
        &["name", "report", "description", "params"],
    );
    let name = cx
        .required(&f, "name", "a named query")
        .and_then(|n| cx.string(n, "name"));
    let report = cx
        .required(&f, "report", "a named query")
        .and_then(|n| cx.string(n, "report"));
    let description = f.get("description").and_then(|n| cx.text(n, "description"));
    let params = cx.pairs(f.get("params"), "params");
    if let Some(r) = &report {
        match REPORTS.iter().find(|(n, _)| *n == r.value) {
            None => {
                let names: Vec<&str> = REPORTS.iter().map(|(n, _)| *n).collect();
                cx.diags.push(
                    Diag::new(
                        "chx::query::unknown_report",
                        format!("unknown report `{}`", r.value),
                    )
                    .at(r.span)
                    .help(format!("reports: {}", names.join(", "))),
                );
            }
            Some((_, accepted)) => {
                for (k, _) in &params {
                    if !accepted.contains(&k.value.as_str()) {
                        cx.diags.push(
                            Diag::new(
                                "chx::query::unknown_param",
                                format!("report `{}` has no parameter `{}`", r.value, k.value),
                            )
                            .at(k.span)
                            .help(format!("parameters: {}", accepted.join(", "))),
                        );
                    }
                }
            }
        }
    }
    if let Some(n) = &name
        && !crate::sql::quote::is_word(&n.value)
    {
        cx.diags.push(
            Diag::new(
                "chx::query::bad_name",
                format!("query name `{}` must be a word", n.value),
            )
            .at(n.span)
            .help("use letters, digits and underscores: it names the SQL file"),
        );
    }
    let q = NamedQuery {
        name: name.map(|n| n.value).unwrap_or_default(),
        report: report.map(|r| r.value).unwrap_or_default(),
        description: description.map(|d| d.value),
        params: params
            .into_iter()
            .map(|(k, v)| (k.value, v.value))
            .collect(),
    };
    diags.into_result(q)
}

/// The files in `dir` with one of `extensions`, sorted by name (named queries, templates).
pub fn files_in(dir: &Path, extensions: &[&str]) -> Result<Vec<std::path::PathBuf>, Error> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| extensions.iter().any(|e| x == *e))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every `*.yaml` in a folder, sorted by name; all problems of all files at once.
pub fn load_dir(dir: &Path) -> Result<Vec<NamedQuery>, Error> {
    let files = files_in(dir, &["yaml", "yml"])?;
    let mut out = Vec::new();
    let mut problems: Option<Diagnostics> = None;
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        match parse(&Source::new(path.display().to_string(), text)) {
            Ok(q) => out.push(q),
            Err(d) => match &mut problems {
                None => problems = Some(d),
                Some(all) => all.extend(d),
            },
        }
    }
    if let Some(d) = problems {
        return Err(Error::Diagnostics(d));
    }
    let mut seen = std::collections::BTreeSet::new();
    for q in &out {
        if !seen.insert(q.name.clone()) {
            return Err(Error::Report {
                message: format!("two named queries are called `{}`", q.name),
                help: "give each file a unique `name`".into(),
            });
        }
    }
    Ok(out)
}
