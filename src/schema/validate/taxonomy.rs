//! The event taxonomy: events, fields, typed properties, roles and naming presets.

use std::collections::{BTreeMap, HashSet};

use super::{Scope, V};
use crate::schema::decode::{S, suggest};
use crate::schema::ir::*;
use crate::schema::model::*;
use crate::schema::taxonomy::{EventType, PRESETS, Property, ROLE_NAMES, Taxonomy};
use crate::schema::types::ChType;

pub(super) fn taxonomy(v: &mut V, t: &TaxonomyDef, tables: &[Table]) -> Option<Taxonomy> {
    let table_name = t.table.as_ref().map_or("events", |s| s.value.as_str());
    let Some(table) = tables.iter().find(|x| x.name == table_name) else {
        let span = t.table.as_ref().map_or(t.span, |s| s.span);
        v.err(
            "chx::schema::unknown_table",
            span,
            format!("taxonomy table `{table_name}` is not defined"),
            "set `taxonomy.table` to the events table",
        );
        return None;
    };
    let scope = Scope::of_columns(format!("table `{}`", table.name), &table.columns);
    let col_named = |v: &mut V,
                     s: &Option<S<String>>,
                     default: &str,
                     what: &str,
                     ok: fn(&ChType) -> bool,
                     need: &str|
     -> String {
        let name = s.as_ref().map_or(default.to_string(), |s| s.value.clone());
        let span = s.as_ref().map_or(t.span, |s| s.span);
        match table.column(&name) {
            None => v.err(
                "chx::schema::unknown_column",
                span,
                format!(
                    "taxonomy {what} column `{name}` is not a column of `{}`",
                    table.name
                ),
                scope.hint(),
            ),
            Some(c) if !ok(&c.ty) => v.err(
                "chx::schema::bad_taxonomy_type",
                span,
                format!(
                    "taxonomy {what} column `{name}` is {}, expected {need}",
                    c.ty
                ),
                format!("use a {need} column"),
            ),
            _ => {}
        }
        name
    };
    let event_column = col_named(
        v,
        &t.event_column,
        "event_type",
        "event",
        |t| t.is_stringlike(),
        "String",
    );
    let properties_column = col_named(
        v,
        &t.properties_column,
        "properties",
        "properties",
        |t| matches!(t.base(), ChType::Map(..)),
        "Map(String, String)",
    );
    let mut events: Vec<EventType> = Vec::new();
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &t.events {
        if events.iter().any(|x| x.name == e.name.value) {
            v.err(
                "chx::schema::duplicate_event",
                e.name.span,
                format!("event `{}` is defined twice", e.name.value),
                "remove one definition",
            );
            continue;
        }
        for f in e.required.iter().chain(&e.optional) {
            if table.column(&f.value).is_none() {
                let help = match suggest(&f.value, &scope.names()) {
                    Some(c) => format!("did you mean `{c}`? {}", scope.hint()),
                    None => format!(
                        "fields are columns of `{}`; free-form values go under `properties:`",
                        table.name
                    ),
                };
                v.err(
                    "chx::schema::unknown_column",
                    f.span,
                    format!(
                        "event `{}` lists `{}`, which is not a column of `{}`",
                        e.name.value, f.value, table.name
                    ),
                    help,
                );
            }
        }
        let mut properties = Vec::new();
        for p in &e.properties {
            let Some(ty) = v.parse_type(&p.ty) else {
                continue;
            };
            if let Some(c) = &p.column {
                match table.column(&c.value) {
                    None => v.err(
                        "chx::schema::unknown_column",
                        c.span,
                        format!(
                            "property `{}` is stored in `{}`, which is not a column of `{}`",
                            p.name.value, c.value, table.name
                        ),
                        scope.hint(),
                    ),
                    Some(col) if !ty.fits_into(&col.ty) => v.err(
                        "chx::schema::bad_taxonomy_type",
                        p.ty.span,
                        format!(
                            "property `{}` is declared {ty} but column `{}` is {}",
                            p.name.value, c.value, col.ty
                        ),
                        "make the property type match its column",
                    ),
                    _ => {}
                }
            } else if !matches!(
                ty.base(),
                ChType::String
                    | ChType::Int(_)
                    | ChType::UInt(_)
                    | ChType::Float32
                    | ChType::Float64
                    | ChType::Bool
                    | ChType::Decimal { .. }
                    | ChType::Date
                    | ChType::DateTime { .. }
                    | ChType::DateTime64 { .. }
                    | ChType::Uuid
            ) {
                v.err("chx::schema::bad_taxonomy_type", p.ty.span, format!("property `{}` has type {ty}, which cannot be stored in the string-valued properties map", p.name.value), "use a scalar type (String, Int64, Float64, Bool, Date, ...) or store it in its own column with `column:`");
            }
            properties.push(Property {
                name: p.name.value.clone(),
                ty,
                required: p.required,
                column: p.column.as_ref().map(|c| c.value.clone()),
                description: p.description.as_ref().map(|d| d.value.clone()),
            });
        }
        if let Some(r) = &e.role
            && check_role(v, r)
        {
            roles
                .entry(r.value.clone())
                .or_default()
                .push(e.name.value.clone());
        }
        events.push(EventType {
            name: e.name.value.clone(),
            description: e.description.as_ref().map(|d| d.value.clone()),
            aliases: e.aliases.iter().map(|a| a.value.clone()).collect(),
            required: e.required.iter().map(|r| r.value.clone()).collect(),
            optional: e.optional.iter().map(|r| r.value.clone()).collect(),
            properties,
        });
    }
    for (role, names) in &t.roles {
        for n in names {
            if events.iter().any(|e| e.name == n.value) {
                let list = roles.entry(role.value.clone()).or_default();
                if !list.contains(&n.value) {
                    list.push(n.value.clone());
                }
            } else {
                let known: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
                let help = match suggest(&n.value, &known) {
                    Some(s) => format!("did you mean `{s}`? events: {}", known.join(", ")),
                    None => format!("events: {}", known.join(", ")),
                };
                v.err(
                    "chx::schema::unknown_event",
                    n.span,
                    format!(
                        "role `{}` is mapped to `{}`, which is not an event of the taxonomy",
                        role.value, n.value
                    ),
                    help,
                );
            }
        }
    }
    for p in &t.presets {
        let Some((_, aliases)) = PRESETS.iter().find(|(name, _)| *name == p.value) else {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            v.err(
                "chx::schema::unknown_preset",
                p.span,
                format!("unknown naming preset `{}`", p.value),
                format!("presets: {}", names.join(", ")),
            );
            continue;
        };
        for (alias, role) in aliases.iter() {
            let target = roles.get(*role).and_then(|names| names.first()).cloned();
            if let Some(target) = target {
                if events
                    .iter()
                    .any(|e| e.name == *alias || e.aliases.iter().any(|a| a == alias))
                {
                    continue;
                }
                if let Some(ev) = events.iter_mut().find(|e| e.name == target) {
                    ev.aliases.push(alias.to_string());
                }
            }
        }
    }
    let mut all_names: HashSet<&str> = HashSet::new();
    for e in &events {
        for n in std::iter::once(&e.name).chain(&e.aliases) {
            if !all_names.insert(n) {
                v.err(
                    "chx::schema::duplicate_event",
                    t.span,
                    format!("event name or alias `{n}` is used by two events"),
                    "each name must identify one event",
                );
            }
        }
    }
    Some(Taxonomy {
        table: table.name.clone(),
        event_column,
        properties_column,
        events,
        roles,
    })
}

fn check_role(v: &mut V, r: &S<String>) -> bool {
    if ROLE_NAMES.contains(&r.value.as_str()) {
        return true;
    }
    let help = match suggest(&r.value, &ROLE_NAMES) {
        Some(s) => format!("did you mean `{s}`? roles: {}", ROLE_NAMES.join(", ")),
        None => format!("roles: {}", ROLE_NAMES.join(", ")),
    };
    v.err(
        "chx::schema::unknown_role",
        r.span,
        format!("unknown role `{}`", r.value),
        help,
    );
    false
}
