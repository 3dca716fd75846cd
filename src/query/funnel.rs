//! Ordered conversion funnels, computed per person in one pass over their events.
//!
//! The seed recipe's `minIf(timestamp, ...)` funnel is wrong twice: `minIf` over a non-Nullable
//! DateTime returns 1970-01-01 (never NULL) when a step is missing, and comparing each step's
//! *first* time to the previous step's first time gives counts that can grow along the funnel.
//! `windowFunnel` is right about monotonicity but needs `DateTime` (not `DateTime64`), cannot
//! report times between steps, and lets one event advance two steps.
//!
//! chx folds each person's events in time order (ties: lower steps first) keeping, for every
//! step k, the latest-starting attempt that has reached k so far: an event matching step k
//! extends the step k-1 attempt when it is no later than `t0 + window` (edge inclusive) and not
//! before that attempt's last step. Steps are updated from the state before the event, so one
//! event never satisfies two steps. A person counts at the furthest step reached; times to
//! convert come from that attempt. Persons are `user_id`, else the user an `anonymous_id` was
//! linked to (identities table), else `anonymous_id`, so pre-login history joins the user.
//! A person enters when step 0 happens in the range; later steps may complete after the range
//! end as long as they are inside the window (Amplitude's rule; PostHog filters every step).

use super::Report;
use super::ast::*;
use super::context::{Context, DateRange};
use crate::error::Error;
use crate::sql::{Param, ParamValue};

/// What an event must be to count as a step.
#[derive(Clone, Debug, PartialEq)]
pub enum StepEvent {
    /// Any event playing this taxonomy role (`purchase`, `add_to_cart`, …).
    Role(String),
    /// This event name.
    Name(String),
}

/// A funnel step: an event, optionally narrowed by property values (`properties[key] = value`).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub event: StepEvent,
    pub properties: Vec<(String, String)>,
}

impl Step {
    pub fn role(role: &str) -> Step {
        Step {
            event: StepEvent::Role(role.into()),
            properties: Vec::new(),
        }
    }
    pub fn event(name: &str) -> Step {
        Step {
            event: StepEvent::Name(name.into()),
            properties: Vec::new(),
        }
    }
    pub fn where_property(mut self, key: &str, value: &str) -> Step {
        self.properties.push((key.into(), value.into()));
        self
    }
    fn label(&self) -> String {
        match &self.event {
            StepEvent::Role(r) | StepEvent::Name(r) => r.clone(),
        }
    }
}

/// An ordered funnel: steps, conversion window, date range.
///
/// ```
/// use chx::query::funnel::{Funnel, Step};
/// let f = Funnel::new([Step::role("view_item"), Step::role("add_to_cart"), Step::role("purchase")])
///     .window_days(7);
/// # let _ = f;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Funnel {
    pub(crate) steps: Vec<Step>,
    pub(crate) window_seconds: u64,
    pub(crate) range: DateRange,
}

/// The default conversion window: 14 days.
pub const DEFAULT_WINDOW_SECONDS: u64 = 14 * 86_400;

impl Funnel {
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Funnel {
        Funnel {
            steps: steps.into_iter().collect(),
            window_seconds: DEFAULT_WINDOW_SECONDS,
            range: DateRange::default(),
        }
    }

    /// A missing or non-positive window means the default (14 days).
    pub fn window_seconds(mut self, seconds: i64) -> Funnel {
        self.window_seconds = if seconds > 0 {
            seconds as u64
        } else {
            DEFAULT_WINDOW_SECONDS
        };
        self
    }

    pub fn window_days(self, days: i64) -> Funnel {
        self.window_seconds(days.saturating_mul(86_400))
    }

    pub fn range(mut self, range: DateRange) -> Funnel {
        self.range = range;
        self
    }

    /// The seed API's e-commerce funnel: view_item → add_to_cart → view_cart → begin_checkout →
    /// add_payment_info → purchase.
    pub fn ecommerce() -> Funnel {
        Funnel::new(
            [
                "view_item",
                "add_to_cart",
                "view_cart",
                "begin_checkout",
                "add_payment_info",
                "purchase",
            ]
            .map(Step::role),
        )
    }

    /// Compile to one row per step: `step`, `name`, `count`, `percentage` (of the previous
    /// step; 100 for step 1), `pct_of_first`, `avg_seconds_from_previous`,
    /// `median_seconds_from_previous`.
    pub fn compile(&self, ctx: &Context) -> Result<Report, Error> {
        const NAME: &str = "funnel";
        if self.steps.is_empty() || self.steps.len() > 32 {
            return Err(Error::Report {
                message: format!("a funnel needs 1 to 32 steps, got {}", self.steps.len()),
                help: "list the steps in order".into(),
            });
        }
        let (mut params, _, _) = ctx.range_params(&self.range)?;
        params.push(Param::new(
            "window_ms",
            "Int64",
            ParamValue::Int(self.window_seconds as i64 * 1000),
        ));
        let n = self.steps.len() as i64;

        // The bit mask of steps each event matches.
        let mut mask: Option<Expr> = None;
        for (k, step) in self.steps.iter().enumerate() {
            let names = match &step.event {
                StepEvent::Role(r) => ctx.role_events(NAME, r)?,
                StepEvent::Name(n) => vec![n.clone()],
            };
            let mut cond = path(&["e", &ctx.event_column_name()])
                .in_(Expr::Tuple(names.into_iter().map(Expr::Str).collect()));
            for (i, (key, value)) in step.properties.iter().enumerate() {
                let pname = format!("step{k}_prop{i}");
                params.push(Param::new(
                    &pname,
                    "String",
                    ParamValue::String(value.clone()),
                ));
                let props = ctx.properties_column();
                cond = cond.and(
                    func(
                        "arrayElement",
                        [path(&["e", &props]), Expr::Str(key.clone())],
                    )
                    .eq(Expr::Param {
                        name: pname,
                        ty: "String".into(),
                    }),
                );
            }
            let bit = func("multiply", [func("toUInt64", [cond]), Expr::Int(1i64 << k)]);
            mask = Some(match mask {
                None => bit,
                Some(m) => m + bit,
            });
        }
        let mask = mask.expect("at least one step");
        let ts = path(&["e", "timestamp"]);
        ctx.column(NAME, "timestamp")?;
        ctx.column(NAME, "user_id")?;
        ctx.column(NAME, "anonymous_id")?;
        let identity = ctx.identity_cte()?;
        let person = ctx.person("e", "i");
        let range_start = Expr::Param {
            name: "range_start".into(),
            ty: "DateTime64(3, 'UTC')".into(),
        };
        let range_end = Expr::Param {
            name: "range_end".into(),
            ty: "DateTime64(3, 'UTC')".into(),
        };
        let window_ms = Expr::Param {
            name: "window_ms".into(),
            ty: "Int64".into(),
        };
        let steps = Select::new()
            .item(person.alias("person"))
            .item(func("toUnixTimestamp64Milli", [ts.clone()]).alias("ms"))
            .item(mask.alias("mask"))
            .from(ctx.events()?.aliased("e"))
            .join(
                JoinKind::LeftAny,
                TableRef::cte("identity").aliased("i"),
                ctx.identity_join("e", "i"),
            )
            .filter(ts.clone().ge(range_start))
            .filter(ts.lt(func(
                "addMilliseconds",
                [range_end.clone(), window_ms.clone()],
            )))
            .filter(col("mask").ne(int(0)));

        // acc[k+1]: the attempt (start, step times...) that reached step k; x = (ms, mask).
        let x_ms = func("tupleElement", [col("x"), int(1)]);
        let x_mask = func("tupleElement", [col("x"), int(2)]);
        let acc_at = |i: Expr| func("arrayElement", [col("acc"), i]);
        let prev = acc_at(col("k"));
        let cur = acc_at(col("k") + int(1));
        let first = |a: Expr| func("arrayElement", [a, int(1)]);
        let last = |a: Expr| func("arrayElement", [a, int(-1)]);
        let starts_here = col("k")
            .eq(int(0))
            .and(x_ms.clone().lt(func("toUnixTimestamp64Milli", [range_end])));
        let extends = col("k")
            .gt(int(0))
            .and(func("notEmpty", [prev.clone()]))
            .and((x_ms.clone() - first(prev.clone())).le(window_ms))
            .and(x_ms.clone().ge(last(prev.clone())));
        let candidate = func("arrayPushBack", [prev.clone(), x_ms.clone()]);
        let better = func("empty", [cur.clone()]).or(first(prev).gt(first(cur.clone())));
        let new_level = func(
            "if",
            [
                func("bitTest", [x_mask.clone(), col("k")])
                    .and(starts_here.clone().or(extends.clone())),
                func(
                    "if",
                    [
                        col("k").eq(int(0)),
                        Expr::Array(vec![x_ms.clone()]),
                        func("if", [better, candidate, cur.clone()]),
                    ],
                ),
                cur,
            ],
        );
        let step_fn = lambda(
            &["acc", "x"],
            func(
                "arrayMap",
                [lambda(&["k"], new_level), func("range", [int(n)])],
            ),
        );
        // Same millisecond: lower steps first, so "two steps at one timestamp" converts.
        let lowest_bit = func(
            "bitAnd",
            [x_mask.clone(), func("bitNot", [x_mask]) + int(1)],
        );
        let history = func(
            "arraySort",
            [
                lambda(&["x"], Expr::Tuple(vec![x_ms, lowest_bit])),
                func("groupArray", [Expr::Tuple(vec![col("ms"), col("mask")])]),
            ],
        );
        let empty_levels = func(
            "arrayResize",
            [Expr::Array(vec![func("emptyArrayInt64", [])]), int(n)],
        );
        let people = Select::new()
            .item(col("person"))
            .item(func("arrayFold", [step_fn, history, empty_levels]).alias("levels"))
            .from(TableRef::cte("steps"))
            .group_by([col("person")]);
        let reached = Select::new()
            .item(col("person"))
            .item(
                func(
                    "arrayCount",
                    [lambda(&["a"], func("notEmpty", [col("a")])), col("levels")],
                )
                .alias("level"),
            )
            .item(
                func(
                    "arrayElement",
                    [col("levels"), func("greatest", [col("level"), int(1)])],
                )
                .alias("times"),
            )
            .from(TableRef::cte("people"));
        let names: Vec<Expr> = self.steps.iter().map(|s| Expr::Str(s.label())).collect();
        let count = func("countIf", [col("level").ge(col("step"))]);
        let delta = (func("arrayElement", [col("times"), col("step")])
            - func("arrayElement", [col("times"), col("step") - int(1)]))
            / Expr::Float(1000.0);
        let has_prev = col("level").ge(col("step")).and(col("step").gt(int(1)));
        let whole = Some("ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING");
        let prev_count = Expr::Over {
            func: Box::new(func("lagInFrame", [count.clone(), int(1), count.clone()])),
            partition_by: vec![],
            order_by: vec![asc(col("step"))],
            frame: whole,
        };
        let first_count = Expr::Over {
            func: Box::new(func("first_value", [count.clone()])),
            partition_by: vec![],
            order_by: vec![asc(col("step"))],
            frame: whole,
        };
        let pct = |den: Expr| {
            func(
                "if",
                [
                    den.clone().eq(int(0)),
                    Expr::Float(0.0),
                    Expr::Float(100.0) * count.clone() / den,
                ],
            )
        };
        let query = Select::new()
            .with("identity", identity)
            .with("steps", steps)
            .with("people", people)
            .with("reached", reached)
            .item(col("step"))
            .item(func("arrayElement", [Expr::Array(names), col("step")]).alias("name"))
            .item(count.clone().alias("count"))
            .item(pct(prev_count).alias("percentage"))
            .item(pct(first_count).alias("pct_of_first"))
            .item(
                func(
                    "if",
                    [
                        col("step").eq(int(1)),
                        Expr::Float(0.0),
                        func("avgIf", [delta.clone(), has_prev.clone()]),
                    ],
                )
                .alias("avg_seconds_from_previous"),
            )
            .item(
                func(
                    "if",
                    [
                        col("step").eq(int(1)),
                        Expr::Float(0.0),
                        pfunc(
                            "quantileExactInclusiveIf",
                            [Expr::Float(0.5)],
                            [delta, has_prev],
                        ),
                    ],
                )
                .alias("median_seconds_from_previous"),
            )
            .from(TableRef::cte("reached"))
            .array_join(func("range", [int(1), int(n + 1)]).alias("step"))
            .group_by([col("step")])
            .order_by([asc(col("step"))]);
        Ok(Report {
            name: NAME.into(),
            query,
            params,
        })
    }
}
