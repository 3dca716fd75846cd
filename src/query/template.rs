//! SQL templates: `queries/*.sql` rendered by minijinja with schema-aware helpers, for the
//! questions the catalogue does not cover. Undefined names are errors (strict mode), every
//! helper validates what it is given against the schema, and values still travel as
//! `{name:Type}` parameters — a template never splices a value into SQL.
//!
//! Helpers:
//! - `table("events")` → the qualified table name (unknown tables are errors);
//! - `column("events", "revenue")` → the quoted column name (unknown columns are errors);
//! - `events("purchase")` → `('purchase')`, the event names playing a role;
//! - `date_range("timestamp")` → `timestamp >= {range_start:…} AND timestamp < {range_end:…}`,
//!   with the range from `days` or `start`/`end` like every report;
//! - `param("name", "Type")` → `{name:Type}`, declaring a parameter (its value from `--param`);
//! - `exponent("currency")` → the ISO 4217 minor-unit exponent of a currency column;
//! - `money("revenue", "currency")` → the amount as a decimal number for display
//!   (`revenue / exp10(exponent)`); sums must stay in minor units.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use minijinja::{Environment, Error as TplError, ErrorKind, UndefinedBehavior};

use super::Report;
use super::ast::Select;
use super::context::{Context, DateRange};
use crate::error::Error;
use crate::schema::Schema;
use crate::sql::{Param, ParamValue, quote};

fn tpl_err(msg: impl Into<String>) -> TplError {
    TplError::new(ErrorKind::InvalidOperation, msg.into())
}

/// Render a template with parameter values (`days`/`start`/`end` feed `date_range`). `file`
/// names the template in errors.
pub fn render(
    ctx: &Context,
    name: &str,
    file: &str,
    source: &str,
    values: &BTreeMap<String, String>,
) -> Result<Report, Error> {
    let report_error = |_: &str, m: String| report_error(file, m);
    let schema: Arc<Schema> = Arc::new(ctx.schema.clone());
    let database = ctx.database.clone();
    let declared: Arc<Mutex<Vec<Param>>> = Arc::new(Mutex::new(Vec::new()));
    let range = match (values.get("start"), values.get("end"), values.get("days")) {
        (Some(s), Some(e), None) => DateRange::Between {
            start: s
                .parse()
                .map_err(|_| report_error(name, format!("start `{s}` is not a date")))?,
            end: e
                .parse()
                .map_err(|_| report_error(name, format!("end `{e}` is not a date")))?,
        },
        (None, None, d) => DateRange::Days(d.map_or(Ok(30), |d| {
            d.parse()
                .map_err(|_| report_error(name, format!("days `{d}` is not a number")))
        })?),
        _ => {
            return Err(report_error(
                name,
                "give either `days` or both `start` and `end`".into(),
            ));
        }
    };
    let (range_params, _, _) = ctx.range_params(&range)?;

    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // minijinja names the undefined value only in debug mode, which defaults to debug builds:
    // a release `chx build` said "undefined value" without saying which.
    env.set_debug(true);
    {
        let (schema, database) = (schema.clone(), database.clone());
        env.add_function("table", move |t: String| -> Result<String, TplError> {
            schema
                .table(&t)
                .ok_or_else(|| tpl_err(format!("unknown table `{t}`")))?;
            Ok(match &database {
                Some(db) => format!("{}.{}", quote::ident(db), quote::ident(&t)),
                None => quote::ident(&t),
            })
        });
    }
    {
        let schema = schema.clone();
        env.add_function(
            "column",
            move |t: String, c: String| -> Result<String, TplError> {
                let table = schema
                    .table(&t)
                    .ok_or_else(|| tpl_err(format!("unknown table `{t}`")))?;
                table
                    .column(&c)
                    .ok_or_else(|| tpl_err(format!("table `{t}` has no column `{c}`")))?;
                Ok(quote::ident(&c))
            },
        );
    }
    {
        let schema = schema.clone();
        env.add_function("events", move |role: String| -> Result<String, TplError> {
            let names = schema
                .taxonomy
                .as_ref()
                .map(|t| t.events_for(&role).to_vec())
                .unwrap_or_default();
            if names.is_empty() {
                return Err(tpl_err(format!("no event plays role `{role}`")));
            }
            Ok(format!(
                "({})",
                names
                    .iter()
                    .map(|n| quote::string_literal(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        });
    }
    {
        let declared = declared.clone();
        let range_params = range_params.clone();
        env.add_function(
            "date_range",
            move |column: String| -> Result<String, TplError> {
                if !quote::is_word(&column) {
                    return Err(tpl_err(format!(
                        "date_range needs a column name, got `{column}`"
                    )));
                }
                let mut d = declared.lock().map_err(|_| tpl_err("poisoned"))?;
                for p in &range_params {
                    if !d.iter().any(|x| x.name == p.name) {
                        d.push(p.clone());
                    }
                }
                let c = quote::ident(&column);
                Ok(format!(
                    "{c} >= {} AND {c} < {}",
                    range_params[0].placeholder(),
                    range_params[1].placeholder()
                ))
            },
        );
    }
    {
        let declared = declared.clone();
        let values = values.clone();
        env.add_function(
            "param",
            move |name: String, ty: String| -> Result<String, TplError> {
                if !quote::is_word(&name) {
                    return Err(tpl_err(format!("parameter name `{name}` must be a word")));
                }
                crate::schema::ChType::parse(&ty).map_err(|e| {
                    tpl_err(format!("parameter `{name}`: type `{ty}`: {}", e.message))
                })?;
                let p = Param::new(
                    &name,
                    &ty,
                    ParamValue::String(values.get(&name).cloned().unwrap_or_default()),
                );
                let text = p.placeholder();
                let mut d = declared.lock().map_err(|_| tpl_err("poisoned"))?;
                if !d.iter().any(|x| x.name == name) {
                    d.push(p);
                }
                Ok(text)
            },
        );
    }
    let exponent_expr = {
        let schema = schema.clone();
        move |column: &str| -> Result<String, TplError> {
            if !quote::is_word(column) {
                return Err(tpl_err(format!(
                    "a currency column name is needed, got `{column}`"
                )));
            }
            let odd: Vec<(&String, &u8)> =
                schema.currencies.iter().filter(|(_, e)| **e != 2).collect();
            let codes: Vec<String> = odd.iter().map(|(c, _)| quote::string_literal(c)).collect();
            let exps: Vec<String> = odd.iter().map(|(_, e)| e.to_string()).collect();
            Ok(format!(
                "transform(toString({}), [{}], [{}], 2)",
                quote::ident(column),
                codes.join(", "),
                exps.join(", ")
            ))
        }
    };
    {
        let f = exponent_expr.clone();
        env.add_function("exponent", move |column: String| f(&column));
    }
    env.add_function(
        "money",
        move |amount: String, currency: String| -> Result<String, TplError> {
            if !quote::is_word(&amount) {
                return Err(tpl_err(format!(
                    "money needs an amount column name, got `{amount}`"
                )));
            }
            Ok(format!(
                "{} / exp10({})",
                quote::ident(&amount),
                exponent_expr(&currency)?
            ))
        },
    );
    let sql = env
        .render_named_str(file, source, ())
        .map_err(|e| report_error(file, template_message(&e)))?;
    let params = declared.lock().map(|d| d.clone()).unwrap_or_default();
    Ok(Report {
        name: name.into(),
        query: Select::raw(sql.trim().trim_end_matches(';').to_string()),
        params,
    })
}

fn report_error(name: &str, message: impl Into<String>) -> Error {
    Error::Report {
        message: format!("template {name}: {}", message.into()),
        help: "see the helpers in docs/reports.md (templates)".into(),
    }
}

fn template_message(e: &TplError) -> String {
    let mut m = match e.line() {
        Some(line) => format!("line {line}: {}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(d) = e.detail() {
        m.push_str(&format!(": {d}"));
    }
    m
}
