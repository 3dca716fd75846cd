//! Stage: forgetting a user (the seed API's `DELETE /user/:userId`) → the statements that
//! remove the person from every table, in the order they must run.
//!
//! The person is who the reports say it is: the user's own events, and the anonymous events
//! of every device whose latest link (`identities`) is to the user — another user's events on
//! a shared device stay theirs. Every table holding `user_id` and `anonymous_id` loses those
//! rows; every rollup fed by such a table has the days the person touched rebuilt from the
//! rows that remain (its sums and sets of persons then hold no trace of them, and match the
//! raw tables again); the user's links go last, because every step before finds the devices
//! through them. Each step is a synchronous mutation (`mutations_sync = 2`), so the next step
//! reads its result. The user id is the parameter `{user_id:String}`.
//!
//! Single node: the statements name the tables of one database. Events of those days
//! inserted while the rollups are rebuilt would be counted twice in the rollups' sums: run it
//! when the person's days receive no late events (a mutation takes seconds). Rollups keep
//! days whose events have expired (TTL): a rollup keyed by user and anonymous id loses the
//! person's rows of those days too, but a set of persons (`uniqExact` state) of such a day
//! cannot be rebuilt and keeps the person's hash.

use crate::ddl::{DdlOptions, rollup_refill};
use crate::error::Error;
use crate::schema::Schema;
use crate::schema::ir::ViewKind;
use crate::sql::{Statement, quote};

/// One statement of the plan and what it does.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub what: String,
    pub statement: Statement,
}

const LINKS: &str = "identities";

/// The statements that forget `user_id`, in order, for the tables of `database` (the
/// schema's own when `None`).
pub fn plan(schema: &Schema, database: Option<&str>, user_id: &str) -> Result<Vec<Step>, Error> {
    let db = database.unwrap_or(&schema.database);
    let opts = DdlOptions::new().database(db);
    let q = |table: &str| format!("{}.{}", quote::ident(db), quote::ident(table));
    let has_person = |table: &str| {
        schema
            .table(table)
            .is_some_and(|t| t.column("user_id").is_some() && t.column("anonymous_id").is_some())
    };
    let links = schema.table(LINKS).is_some_and(|t| {
        ["anonymous_id", "user_id", "linked_at"]
            .iter()
            .all(|c| t.column(c).is_some())
    });
    if !links {
        return Err(Error::Usage {
            message: format!(
                "forgetting a user needs the table `{LINKS}` (anonymous_id, user_id, linked_at): it finds the user's devices"
            ),
        });
    }
    let person = person_condition(db);
    let mutation = |table: &str, condition: &str| {
        format!(
            "ALTER TABLE {} DELETE WHERE {condition} SETTINGS mutations_sync = 2",
            q(table)
        )
    };
    let mut steps = Vec::new();
    let mut refilled = Vec::new();
    // 1. Rollups over the person's tables: the days they touched, rebuilt without them.
    for v in &schema.views {
        let ViewKind::Rollup(r) = &v.kind else {
            continue;
        };
        // Rows keyed by person (the rollup has user_id and anonymous_id dimensions): the
        // person's rows go in step 2 like any table's, and nothing else changes.
        let keyed_by_person = ["user_id", "anonymous_id"]
            .iter()
            .all(|c| r.dimensions.iter().any(|d| d.name == *c));
        if !has_person(&v.source) || keyed_by_person {
            continue;
        }
        let day = r
            .dimensions
            .iter()
            .find(|d| d.expr.replace(' ', "").starts_with("toDate("));
        let (clear, keep, cleared) = match day {
            Some(d) => {
                let days = format!(
                    "(SELECT DISTINCT {} FROM {} WHERE {person})",
                    d.expr,
                    q(&v.source)
                );
                (
                    mutation(&v.target, &format!("{} IN {days}", quote::ident(&d.name))),
                    format!("{} IN {days} AND NOT {person}", d.expr),
                    "the days the person touched",
                )
            }
            // No day to narrow to: the whole rollup, rebuilt.
            None => (
                format!("TRUNCATE TABLE {}", q(&v.target)),
                format!("NOT {person}"),
                "every row (it has no day to narrow to)",
            ),
        };
        let Some(refill) = rollup_refill(schema, &v.name, &opts, &keep) else {
            continue;
        };
        steps.push(Step {
            what: format!("{}: clear {cleared}", v.target),
            statement: Statement::new(clear),
        });
        steps.push(Step {
            what: format!(
                "{}: rebuild {} from the rows that remain",
                v.target,
                if day.is_some() { "those days" } else { "it" }
            ),
            statement: Statement::new(refill),
        });
        refilled.push(v.target.as_str());
    }
    // 2. The person's rows everywhere else (the links last: every step finds devices by them).
    // A rebuilt rollup holding user and anonymous ids too: rollups outlive the events' TTL, and
    // days whose events have expired cannot be rebuilt, only cleared of the person's rows.
    for t in &schema.tables {
        if t.name == LINKS || !has_person(&t.name) {
            continue;
        }
        let what = if refilled.contains(&t.name.as_str()) {
            format!("{}: the person's rows of days no event is left for", t.name)
        } else {
            format!("{}: the person's rows", t.name)
        };
        steps.push(Step {
            what,
            statement: Statement::new(mutation(&t.name, &person)),
        });
    }
    steps.push(Step {
        what: format!("{LINKS}: the user's links"),
        statement: Statement::new(mutation(LINKS, "user_id = {user_id:String}")),
    });
    Ok(steps
        .into_iter()
        .map(|s| Step {
            statement: s.statement.param("user_id", "String", user_id),
            ..s
        })
        .collect())
}

/// How many events of the person the events table holds (what `plan` deletes from it).
pub fn person_events(schema: &Schema, database: Option<&str>, user_id: &str) -> Statement {
    let db = database.unwrap_or(&schema.database);
    let events = schema.events_table();
    Statement::new(format!(
        "SELECT toString(count()) FROM {}.{} WHERE {}",
        quote::ident(db),
        quote::ident(events),
        person_condition(db)
    ))
    .param("user_id", "String", user_id)
}

/// The person's rows of a table with user_id and anonymous_id: the user's, and those of the
/// devices whose latest link is to the user.
fn person_condition(db: &str) -> String {
    format!(
        "(user_id = {{user_id:String}} OR (user_id = '' AND anonymous_id IN (SELECT anonymous_id FROM {}.{} GROUP BY anonymous_id HAVING argMax(user_id, linked_at) = {{user_id:String}})))",
        quote::ident(db),
        quote::ident(LINKS)
    )
}
