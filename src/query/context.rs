//! What every report needs from the schema: where the events are, which columns play which
//! part, which event names play which role, the time zone, and the date range as parameters.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::ast::{Expr, Name, Select, TableRef, col, func, int, path, str_lit};
use crate::error::Error;
use crate::schema::Schema;
use crate::schema::ir::Table;
use crate::sql::{Param, ParamValue};

/// The dates a report covers, in the report's time zone.
#[derive(Clone, Debug, PartialEq)]
pub enum DateRange {
    /// The last `n` days including today (the seed API's `days`, default 30), clamped to the
    /// schema's retention.
    Days(u32),
    /// From 00:00 of `start` to the end of `end`, inclusive.
    Between { start: NaiveDate, end: NaiveDate },
}

impl Default for DateRange {
    fn default() -> Self {
        DateRange::Days(30)
    }
}

/// `{range_start:DateTime64(3, 'UTC')}` / `{range_end:…}`: the bounds every report's range becomes.
pub(crate) fn range_param(name: &'static str) -> Expr {
    Expr::Param {
        name: name.into(),
        ty: "DateTime64(3, 'UTC')".into(),
    }
}

/// A schema bound to a database, a clock and a time zone: the input of every report builder.
#[derive(Clone, Debug)]
pub struct Context<'s> {
    pub(crate) schema: &'s Schema,
    /// Names every report prints, shared so a report's tree borrows them instead of copying.
    pub(crate) database: Option<Name>,
    event_column: Name,
    timezone: Name,
    // Lists, not maps: a handful of entries, looked up a dozen times per report, where a
    // length check rejects most entries before any byte is compared.
    tables: Vec<(&'s str, Name)>,
    role_names: Vec<(&'s str, Vec<Name>)>,
    pub(crate) tz: Tz,
    pub(crate) now: DateTime<Utc>,
    pub(crate) rollups: bool,
    pub(crate) currency: super::money::Currency,
}

/// A person's id (a user id or an anonymous id) as a 128-bit hash, the key reports group,
/// count and join persons by. 128 bits, as ClickHouse's own `uniqExact` keeps strings: two of a
/// shop's million ids collide with odds of about 10^-27, so counts stay exact in practice. Only
/// ever computed inside a query, never stored, so no version of it outlives a statement.
/// MurmurHash3's 128-bit variant, which servers have had for years: `xxh3_128` (ClickHouse
/// 26.2+) was 3-5 % faster at 10M events, not worth failing on older servers.
pub(crate) fn person_hash(id: Expr) -> Expr {
    func("reinterpretAsUInt128", [func("murmurHash3_128", [id])])
}

/// `uniqExact` of string ids over their [`person_hash`]: the same 128-bit keys `uniqExact`
/// makes of strings itself (SipHash), from a faster hash (10M: revenue-by-channel, whose
/// persons touched are most of its time, 198 -> 153 ms).
pub(crate) fn count_distinct(id: Expr) -> Expr {
    func("uniqExact", [person_hash(id)])
}

/// [`count_distinct`] of the ids where `cond` holds.
pub(crate) fn count_distinct_if(id: Expr, cond: Expr) -> Expr {
    func("uniqExactIf", [person_hash(id), cond])
}

/// The key of no person, marking "no linked user" and the probe key of signed-in rows. Only
/// the empty id hashes to 0 (MurmurHash3 of nothing; any other id with odds 2^-128), and the
/// map never holds an empty anonymous id (its view skips them); a signed-in row that did find
/// one would still be its user's, as the user id comes first.
pub(crate) fn no_person() -> Expr {
    func("toUInt128", [int(0)])
}

/// The stitched person of a row `s` with `stored` (its person_id) and `anonymous` (no user_id):
/// an event, or a group of events of one stored person (so the map is probed once per stored
/// person), joined to the identity map `i` by [`stored_identity_join`].
pub(crate) fn stitched_stored(s: &'static str, i: &'static str) -> Expr {
    func(
        "if",
        [
            path([s, "anonymous"]).and(path([i, "linked_key"]).ne(no_person())),
            path([i, "linked_key"]),
            person_hash(path([s, "stored"])),
        ],
    )
}

/// The join of rows `s` to the identity map `i` (see [`stitched_stored`]).
pub(crate) fn stored_identity_join(s: &'static str, i: &'static str) -> Expr {
    func(
        "if",
        [
            path([s, "anonymous"]),
            person_hash(path([s, "stored"])),
            no_person(),
        ],
    )
    .eq(path([i, "anon_key"]))
}

fn report_error(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::Report {
        message: message.into(),
        help: help.into(),
    }
}

impl<'s> Context<'s> {
    /// Reports over `schema`, reading tables of `database` (unqualified when `None`).
    pub fn new(schema: &'s Schema, database: Option<&str>) -> Result<Self, Error> {
        let tz: Tz = schema.timezone.parse().map_err(|_| {
            report_error(
                format!("unknown time zone {}", schema.timezone),
                "set `timezone` in the schema",
            )
        })?;
        let taxonomy = schema.taxonomy.as_ref();
        Ok(Context {
            schema,
            database: database.map(|d| Name::from(d.to_string())),
            event_column: Name::from(
                taxonomy
                    .map_or("event_type", |t| t.event_column.as_str())
                    .to_string(),
            ),
            timezone: Name::from(&schema.timezone),
            tables: schema
                .tables
                .iter()
                .map(|t| (t.name.as_str(), Name::from(&t.name)))
                .collect(),
            role_names: taxonomy
                .map(|t| {
                    t.roles
                        .iter()
                        .map(|(role, names)| {
                            (role.as_str(), names.iter().map(Name::from).collect())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            tz,
            now: Utc::now(),
            rollups: false,
            currency: super::money::Currency::Each,
        })
    }

    /// Let reports read rollup tables where one serves. Rollups sum every event written, so
    /// this is right when purchases are deduplicated before they are stored (as `chx ingest`
    /// does); with raw retries in the table, the event-scanning reports stay exact.
    pub fn with_rollups(mut self, yes: bool) -> Self {
        self.rollups = yes;
        self
    }

    /// Report amounts in their own currencies (the default) or converted into the base
    /// currency at each amount's day's rate (see `query::money`).
    pub fn in_currency(mut self, currency: super::money::Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Pin "now" (for `days` ranges), so results are reproducible.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn timezone(&self) -> &str {
        self.schema.timezone.as_str()
    }

    /// [`Self::timezone`] as a name a report's tree can share.
    pub(crate) fn tz_name(&self) -> Name {
        self.timezone.clone()
    }

    pub(crate) fn table(&self, name: &str) -> Result<TableRef, Error> {
        let name = self.tables.iter().find(|(t, _)| *t == name).map(|(_, n)| n).ok_or_else(|| report_error(format!("the schema has no table `{name}`"), "reports read the tables of the shipped e-commerce schema (events, event_items, identities)"))?;
        Ok(TableRef::table(self.database.clone(), name.clone()))
    }

    fn events_table(&self) -> Result<&'s Table, Error> {
        let t = self.taxonomy_table();
        self.schema.table(t).ok_or_else(|| {
            report_error(
                format!("the schema has no table `{t}`"),
                "declare the events table",
            )
        })
    }

    fn taxonomy_table(&self) -> &'s str {
        self.schema.events_table()
    }

    pub(crate) fn events(&self) -> Result<TableRef, Error> {
        self.table(self.taxonomy_table())
    }

    /// The events-table column a report needs, or a compile error naming it.
    pub(crate) fn column(&self, report: &str, name: &'static str) -> Result<Expr, Error> {
        self.check_column(report, name)?;
        Ok(col(name))
    }

    /// Fails with a compile error naming `name` unless the events table has that column.
    pub(crate) fn check_column(&self, report: &str, name: &str) -> Result<(), Error> {
        let table = self.events_table()?;
        if table.column(name).is_none() {
            return Err(report_error(
                format!(
                    "report `{report}` needs column `{name}` in table `{}`",
                    table.name
                ),
                format!(
                    "add `{name}` to the table in the schema, or choose a report that does not need it"
                ),
            ));
        }
        Ok(())
    }

    /// The event-type column.
    pub(crate) fn event_column(&self) -> Expr {
        col(self.event_column_name())
    }

    pub(crate) fn event_column_name(&self) -> Name {
        self.event_column.clone()
    }

    pub(crate) fn properties_column(&self) -> String {
        self.schema
            .taxonomy
            .as_ref()
            .map_or("properties", |t| t.properties_column.as_str())
            .to_string()
    }

    /// Event names that play a role; a report cannot run without them.
    pub(crate) fn role_events(&self, report: &str, role: &str) -> Result<&[Name], Error> {
        let names = self
            .role_names
            .iter()
            .find(|(r, _)| *r == role)
            .map_or(&[][..], |(_, n)| n.as_slice());
        if names.is_empty() {
            return Err(report_error(
                format!(
                    "report `{report}` needs an event with role `{role}`, and the schema's taxonomy maps none"
                ),
                format!("give an event `role: {role}` in the taxonomy"),
            ));
        }
        Ok(names)
    }

    /// `event_type IN ('a', 'b')` for the events of a role.
    pub(crate) fn is_role(&self, report: &str, role: &str) -> Result<Expr, Error> {
        Ok(self
            .event_column()
            .in_(names_tuple(self.role_events(report, role)?)))
    }

    /// `identity` CTE: each anonymous id (as `anon_key`, its [`person_hash`]) and the user it
    /// was last linked to, as `linked_user` and as `linked_key` (its hash; 0 for none). Keyed by
    /// the hash, the map groups and joins on 16 fixed bytes instead of a string: a 10M-event
    /// funnel went 217 -> 193 ms (building the map and probing it are most of a stitched
    /// report's join).
    pub(crate) fn identity_cte(&self) -> Result<Select, Error> {
        Ok(Select::new()
            .item(person_hash(col("anonymous_id")).alias("anon_key"))
            .item(func("argMax", [col("user_id"), col("linked_at")]).alias("linked_user"))
            .item(
                func(
                    "if",
                    [
                        col("linked_user").eq(str_lit("")),
                        no_person(),
                        person_hash(col("linked_user")),
                    ],
                )
                .alias("linked_key"),
            )
            .from(self.table("identities")?)
            .group_by([col("anon_key")]))
    }

    /// `identity` narrowed to the anonymous ids of the anonymous events matching `events` (a
    /// filter over the events table aliased `e`): the only ids the report's join can probe.
    /// Worth it where those events are few and mostly logged in (orders): the retention of
    /// purchases went 112 -> 52 ms at 10M events, as the whole map (46 ms) was built for no
    /// probe. Over browsing events the extra scan costs more than it saves (a funnel went
    /// 383 -> 430 ms), so those reports read the whole map: see `is_order_event`.
    pub(crate) fn identity_cte_for(&self, events: Expr) -> Result<Select, Error> {
        let anonymous = Select::new()
            .item(path(["e", "anonymous_id"]))
            .from(self.events()?.aliased("e"))
            .filter(path(["e", "user_id"]).eq(str_lit("")))
            .filter(events);
        self.identity_cte_among(anonymous)
    }

    /// `identity` narrowed to the anonymous ids `ids` (a one-column query) gives.
    pub(crate) fn identity_cte_among(&self, ids: Select) -> Result<Select, Error> {
        self.identity_cte_in(Expr::Subquery(Box::new(ids)))
    }

    /// `identity` narrowed to the anonymous ids in `set` (a subquery, or a CTE's name).
    pub(crate) fn identity_cte_in(&self, set: Expr) -> Result<Select, Error> {
        Ok(self.identity_cte()?.filter(col("anonymous_id").in_(set)))
    }

    /// Whether an event is an order event (role `purchase` or `refund`): rare next to
    /// browsing, and placed by signed-in shoppers far more often, so `identity_cte_for` pays.
    pub(crate) fn is_order_event(&self, event: &super::funnel::StepEvent) -> bool {
        const ORDER_ROLES: [&str; 2] = ["purchase", "refund"];
        match event {
            super::funnel::StepEvent::Role(r) => ORDER_ROLES.contains(&r.as_str()),
            super::funnel::StepEvent::Name(n) => ORDER_ROLES.iter().any(|role| {
                self.role_names
                    .iter()
                    .any(|(r, names)| r == role && names.contains(n))
            }),
        }
    }

    /// The person an event belongs to: its user_id, else the user its anonymous_id was linked
    /// to (so pre-login history joins the user), else the anonymous_id. `e` is the events
    /// alias, `i` the identity CTE's. The id itself, for reports that show or filter by it;
    /// reports that only group or count persons use [`Context::person_key`].
    pub(crate) fn person(&self, e: &'static str, i: &'static str) -> Expr {
        func(
            "if",
            [
                path([e, "user_id"]).ne(str_lit("")),
                path([e, "user_id"]),
                func(
                    "if",
                    [
                        path([i, "linked_user"]).ne(str_lit("")),
                        path([i, "linked_user"]),
                        path([e, "anonymous_id"]),
                    ],
                ),
            ],
        )
    }

    /// The same person as [`Context::person`], as its [`person_hash`]: grouping and joining
    /// persons on 16 fixed bytes instead of strings (the linked user's hash comes with the
    /// identity map, computed once per link instead of once per event).
    pub(crate) fn person_key(&self, e: &'static str, i: &'static str) -> Expr {
        func(
            "if",
            [
                path([e, "user_id"]).ne(str_lit("")),
                person_hash(path([e, "user_id"])),
                func(
                    "if",
                    [
                        path([i, "linked_key"]).ne(no_person()),
                        path([i, "linked_key"]),
                        person_hash(path([e, "anonymous_id"])),
                    ],
                ),
            ],
        )
    }

    /// The join to the `identity` CTE. Only anonymous events need the lookup; a known user's
    /// key is [`no_person`], which probes one cached bucket instead of a random one: 7-10 %
    /// faster funnels and attribution at 10M events.
    pub(crate) fn identity_join(&self, e: &'static str, i: &'static str) -> Expr {
        func(
            "if",
            [
                path([e, "user_id"]).eq(str_lit("")),
                person_hash(path([e, "anonymous_id"])),
                no_person(),
            ],
        )
        .eq(path([i, "anon_key"]))
    }

    /// Resolve a range to UTC instants `[start, end)` and the parameters that carry them.
    pub(crate) fn range_params(
        &self,
        range: &DateRange,
    ) -> Result<(Vec<Param>, NaiveDate, NaiveDate), Error> {
        let today = self.now.with_timezone(&self.tz).date_naive();
        let (start, end) = match range {
            DateRange::Days(n) => {
                let mut n = (*n).max(1);
                if let Some(r) = self.schema.retention_days {
                    n = n.min(r.max(1));
                }
                let start = today
                    .checked_sub_signed(Duration::days(n as i64 - 1))
                    .unwrap_or(NaiveDate::MIN);
                (start, today)
            }
            DateRange::Between { start, end } => {
                if start > end {
                    return Err(report_error(
                        format!("range start {start} is after its end {end}"),
                        "give start <= end",
                    ));
                }
                (*start, *end)
            }
        };
        // ClickHouse's DateTime64 holds 1900-01-01 to 2299-12-31.
        if start.year() < 1900 || end.year() > 2299 {
            return Err(report_error(
                format!("range {start} to {end} is outside the years 1900-2299"),
                "give dates (or a number of days) ClickHouse's DateTime64 can hold",
            ));
        }
        let midnight = |d: NaiveDate| -> Result<DateTime<Utc>, Error> {
            self.tz
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| {
                    report_error(
                        format!("{d} has no midnight in {}", self.tz),
                        "choose another date",
                    )
                })
        };
        // What `%Y-%m-%d %H:%M:%S%.3f` gives, digit by digit: `format!` cost 3k instructions
        // a call, a tenth of a small report's build.
        let fmt = |t: DateTime<Utc>| {
            let (d, s) = (t.date_naive(), t.time());
            let mut out = String::with_capacity(23);
            let mut digits = |v: u32, width: u32, sep: char| {
                for p in (0..width).rev() {
                    out.push(char::from(b'0' + (v / 10u32.pow(p) % 10) as u8));
                }
                if sep != '\0' {
                    out.push(sep);
                }
            };
            // Four digits: ranges are checked to lie in 1900-2299 above.
            digits(d.year() as u32, 4, '-');
            digits(d.month(), 2, '-');
            digits(d.day(), 2, ' ');
            digits(s.hour(), 2, ':');
            digits(s.minute(), 2, ':');
            digits(s.second(), 2, '.');
            digits(s.nanosecond() / 1_000_000, 3, '\0');
            out
        };
        let params = vec![
            Param::new(
                "range_start",
                "DateTime64(3, 'UTC')",
                ParamValue::String(fmt(midnight(start)?)),
            ),
            Param::new(
                "range_end",
                "DateTime64(3, 'UTC')",
                ParamValue::String(fmt(midnight(end + Duration::days(1))?)),
            ),
        ];
        Ok((params, start, end))
    }

    /// `timestamp >= {range_start} AND timestamp < {range_end}`.
    pub(crate) fn in_range(&self, ts: Expr) -> Expr {
        ts.clone()
            .ge(range_param("range_start"))
            .and(ts.lt(range_param("range_end")))
    }

    /// `alias.event_type IN (...)` for a role's events or one event name.
    pub(crate) fn matches_event(
        &self,
        report: &str,
        event: &super::funnel::StepEvent,
        alias: &'static str,
    ) -> Result<Expr, Error> {
        self.matches_any_event(report, [event], alias)
    }

    /// `alias.event_type IN (...)` for the union of several events' names, first-seen order.
    /// A plain `IN` over the key's first column is what lets the primary index skip granules;
    /// a condition computed from it (a funnel's step mask) does not.
    pub(crate) fn matches_any_event<'e>(
        &self,
        report: &str,
        events: impl IntoIterator<Item = &'e super::funnel::StepEvent>,
        alias: &'static str,
    ) -> Result<Expr, Error> {
        let mut names = Vec::with_capacity(8);
        for event in events {
            self.event_names(report, event, &mut names)?;
        }
        let names = names.into_iter().map(Expr::Str).collect();
        Ok(path([Name::from(alias), self.event_column_name()]).in_(Expr::Tuple(names)))
    }

    /// Append the names an event stands for (a role's events, or its own name) to `names`,
    /// skipping names already there.
    pub(crate) fn event_names(
        &self,
        report: &str,
        event: &super::funnel::StepEvent,
        names: &mut Vec<Name>,
    ) -> Result<(), Error> {
        let mut add = |n: &str, name: &dyn Fn() -> Name| {
            if !names.iter().any(|m| m.as_str() == n) {
                names.push(name());
            }
        };
        match event {
            super::funnel::StepEvent::Role(r) => {
                for n in self.role_events(report, r)? {
                    add(n, &|| n.clone());
                }
            }
            super::funnel::StepEvent::Name(n) => add(n, &|| n.clone()),
        }
        Ok(())
    }
}

/// `('a', 'b')`: event names as the value list of an `IN`.
pub(crate) fn names_tuple(names: &[Name]) -> Expr {
    Expr::Tuple(names.iter().cloned().map(Expr::Str).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(yaml: &str) -> Schema {
        crate::schema::from_source(&crate::diag::Source::new("t.yaml", yaml)).unwrap()
    }

    #[test]
    fn days_are_clamped_to_retention_and_resolved_in_the_time_zone() {
        let s = schema(
            "timezone: Europe/Berlin\nretention_days: 10\ntables:\n  - name: events\n    columns: [{name: a, type: String}]\n    order_by: a\n",
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap(); // 01:30 on April 1st in Berlin
        let ctx = Context::new(&s, None).unwrap().at(now);
        let (params, start, end) = ctx.range_params(&DateRange::Days(90)).unwrap();
        assert_eq!(
            (start.to_string(), end.to_string()),
            ("2026-03-23".to_string(), "2026-04-01".to_string())
        );
        // Berlin is UTC+1 before March 29th and UTC+2 after.
        assert_eq!(
            params[0].value,
            ParamValue::String("2026-03-22 23:00:00.000".into())
        );
        assert_eq!(
            params[1].value,
            ParamValue::String("2026-04-01 22:00:00.000".into())
        );
        let err = ctx
            .range_params(&DateRange::Between {
                start: end,
                end: start,
            })
            .unwrap_err();
        assert!(err.to_string().contains("is after its end"));
        let far = NaiveDate::from_ymd_opt(2300, 1, 1).unwrap();
        let err = ctx
            .range_params(&DateRange::Between { start, end: far })
            .unwrap_err();
        assert!(err.to_string().contains("outside the years 1900-2299"));
        let unbounded = schema(
            "tables:\n  - name: events\n    columns: [{name: a, type: String}]\n    order_by: a\n",
        );
        let err = Context::new(&unbounded, None)
            .unwrap()
            .at(now)
            .range_params(&DateRange::Days(u32::MAX))
            .unwrap_err();
        assert!(err.to_string().contains("outside the years 1900-2299"));
    }

    #[test]
    fn order_events_and_event_name_unions() {
        use crate::query::funnel::StepEvent;
        let s = crate::schema::from_source(&crate::diag::Source::new(
            "ecommerce.yaml",
            include_str!("../../schema/ecommerce.yaml"),
        ))
        .unwrap();
        let ctx = Context::new(&s, None).unwrap();
        let role = |r: &'static str| StepEvent::Role(r.into());
        let name = |n: &'static str| StepEvent::Name(n.into());
        assert!(ctx.is_order_event(&role("purchase")) && ctx.is_order_event(&role("refund")));
        assert!(ctx.is_order_event(&name("purchase")));
        assert!(!ctx.is_order_event(&role("view_item")) && !ctx.is_order_event(&name("search")));
        let both = ctx
            .matches_any_event(
                "t",
                [&role("purchase"), &name("purchase"), &name("search")],
                "e",
            )
            .unwrap();
        assert_eq!(both.to_string(), "e.event_type IN ('purchase', 'search')");
    }
}
