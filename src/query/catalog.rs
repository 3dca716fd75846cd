//! The report catalogue by name, with string parameters — what `chx report`, `chx build` and
//! named queries (`queries/*.yaml`) use. Names follow the seed API's endpoints.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::Report;
use super::acquisition;
use super::attribution::{self, Model};
use super::categories;
use super::cohorts::{self, CohortMode, Retention};
use super::context::{Context, DateRange};
use super::customers;
use super::funnel::{BreakdownAttribution, Funnel, FunnelMode, Step, StepEvent};
use super::money::Currency;
use super::reports::{self, Breakdown, Granularity, VisitBreakdown};
use super::traffic;
use crate::error::Error;

/// The parameters of the reports that credit orders to channels by an attribution model.
const ATTRIBUTION_PARAMS: &[&str] = &[
    "days",
    "start",
    "end",
    "model",
    "window",
    "half_life_days",
    "currency",
];

/// Every report name with the parameters it accepts.
pub const REPORTS: &[(&str, &[&str])] = &[
    ("overview", &["days", "start", "end", "currency"]),
    (
        "revenue-timeseries",
        &["days", "start", "end", "granularity", "currency"],
    ),
    (
        "funnel",
        &[
            "days",
            "start",
            "end",
            "steps",
            "window_days",
            "mode",
            "exclude",
            "breakdown",
            "breakdown_limit",
            "breakdown_attribution",
        ],
    ),
    (
        "top-products",
        &["days", "start", "end", "limit", "currency"],
    ),
    ("revenue-by-channel", &["days", "start", "end", "currency"]),
    ("revenue-by-coupon", &["days", "start", "end", "currency"]),
    ("revenue-by-device", &["days", "start", "end", "currency"]),
    ("revenue-by-platform", &["days", "start", "end", "currency"]),
    ("revenue-by-country", &["days", "start", "end", "currency"]),
    ("revenue-by-category", &["days", "start", "end", "currency"]),
    ("cart-abandonment", &["days", "start", "end", "currency"]),
    ("attribution", ATTRIBUTION_PARAMS),
    ("traffic-sources", &["days", "start", "end", "currency"]),
    ("acquisition-cost", &["days", "start", "end", "currency"]),
    ("roas", ATTRIBUTION_PARAMS),
    ("cohorts", &["months", "currency"]),
    ("lifetime-value", &["currency", "breakdown"]),
    (
        "new-vs-returning",
        &["days", "start", "end", "granularity", "currency"],
    ),
    (
        "retention",
        &[
            "days",
            "start",
            "end",
            "period",
            "mode",
            "cumulative",
            "start_event",
            "return_event",
        ],
    ),
    (
        "visit-to-order",
        &["days", "start", "end", "breakdown", "limit"],
    ),
    ("user-journey", &["user_id"]),
];

fn bad(report: &str, key: &str, value: &str, expected: &str) -> Error {
    Error::Report {
        message: format!("report `{report}`: parameter `{key}` = `{value}` is not valid"),
        help: format!("expected {expected}"),
    }
}

struct Params<'a> {
    report: &'a str,
    map: &'a BTreeMap<String, String>,
}

impl Params<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    fn number<T: std::str::FromStr>(
        &self,
        key: &str,
        default: T,
        expected: &str,
    ) -> Result<T, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| bad(self.report, key, v, expected)),
        }
    }

    fn range(&self) -> Result<DateRange, Error> {
        let date = |key: &str| -> Result<Option<NaiveDate>, Error> {
            self.get(key)
                .map(|v| {
                    v.parse()
                        .map_err(|_| bad(self.report, key, v, "an ISO date like 2026-01-31"))
                })
                .transpose()
        };
        match (date("start")?, date("end")?, self.get("days")) {
            (Some(start), Some(end), None) => Ok(DateRange::Between { start, end }),
            (None, None, _) => Ok(DateRange::Days(self.number(
                "days",
                30,
                "a whole number of days",
            )?)),
            _ => Err(Error::Report {
                message: format!(
                    "report `{}`: give either `days` or both `start` and `end`",
                    self.report
                ),
                help: "e.g. --param days=30, or --param start=2026-01-01 --param end=2026-01-31"
                    .into(),
            }),
        }
    }

    fn granularity(&self, key: &str, default: Granularity) -> Result<Granularity, Error> {
        Ok(match self.get(key) {
            None => default,
            Some("hour") => Granularity::Hour,
            Some("day") => Granularity::Day,
            Some("week") => Granularity::Week,
            Some("week_sunday") => Granularity::WeekSunday,
            Some("month") => Granularity::Month,
            Some(v) => {
                return Err(bad(
                    self.report,
                    key,
                    v,
                    "hour, day, week, week_sunday or month",
                ));
            }
        })
    }

    /// An attribution model (`model`, with `half_life_days` for time decay).
    fn model(&self) -> Result<Model, Error> {
        let half_life: u64 = self.number("half_life_days", 7, "a whole number of days")?;
        Ok(match self.get("model").unwrap_or("last_click") {
            "last_click" => Model::LastClick,
            "first_click" => Model::FirstClick,
            "linear" => Model::Linear,
            "position_based" => Model::PositionBased,
            "time_decay" => Model::TimeDecay {
                half_life_seconds: half_life * 86_400,
            },
            v => {
                return Err(bad(
                    self.report,
                    "model",
                    v,
                    "last_click, first_click, linear, position_based or time_decay",
                ));
            }
        })
    }

    fn event(&self, key: &str) -> Option<StepEvent> {
        self.get(key).map(|v| match v.strip_prefix("event:") {
            Some(name) => StepEvent::Name(name.to_string().into()),
            None => StepEvent::Role(v.to_string().into()),
        })
    }
}

/// Build a report by catalogue name from string parameters (unknown names and parameters are
/// errors that list what is accepted).
pub fn build(
    ctx: &Context,
    name: &str,
    params: &BTreeMap<String, String>,
) -> Result<Report, Error> {
    let Some((_, accepted)) = REPORTS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = REPORTS.iter().map(|(n, _)| *n).collect();
        return Err(Error::Report {
            message: format!("unknown report `{name}`"),
            help: format!("reports: {}", names.join(", ")),
        });
    };
    if let Some(k) = params.keys().find(|k| !accepted.contains(&k.as_str())) {
        return Err(Error::Report {
            message: format!("report `{name}` has no parameter `{k}`"),
            help: if accepted.is_empty() {
                "it takes no parameters".into()
            } else {
                format!("parameters: {}", accepted.join(", "))
            },
        });
    }
    let p = Params {
        report: name,
        map: params,
    };
    let base = &ctx.schema.base_currency;
    let converting;
    let ctx = match p.get("currency") {
        None | Some("each") => ctx,
        Some(v) if v == "base" || v == base.as_str() => {
            converting = ctx.clone().in_currency(Currency::Base);
            &converting
        }
        Some(v) => {
            return Err(bad(
                name,
                "currency",
                v,
                &format!(
                    "`base` (or {base}): every amount converted into the base currency; or `each`: one row per currency"
                ),
            ));
        }
    };
    match name {
        "overview" => reports::overview(ctx, &p.range()?),
        "revenue-timeseries" => reports::revenue_timeseries(
            ctx,
            &p.range()?,
            p.granularity("granularity", Granularity::Day)?,
        ),
        "funnel" => {
            let steps = match p.get("steps") {
                None => Funnel::ecommerce().steps,
                Some(list) => list
                    .split(',')
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.strip_prefix("event:") {
                        Some(n) => Step::event(n.to_string()),
                        None => Step::role(s.to_string()),
                    })
                    .collect(),
            };
            let mut f = Funnel::new(steps)
                .window_days(p.number("window_days", 14, "a whole number of days")?)
                .range(p.range()?);
            f = f.mode(match p.get("mode") {
                None | Some("ordered") => FunnelMode::Ordered,
                Some("strict") => FunnelMode::Strict,
                Some("unordered") => FunnelMode::Unordered,
                Some(v) => return Err(bad(name, "mode", v, "ordered, strict or unordered")),
            });
            if let Some(x) = p.get("exclude") {
                // ROLE:FROM:TO or event:NAME:FROM:TO, comma-separated (0-based step indexes).
                for part in x.split(',') {
                    let fields: Vec<&str> = part.trim().split(':').collect();
                    let (event, a, b) = match fields.as_slice() {
                        [role, a, b] => (StepEvent::Role(role.to_string().into()), a, b),
                        ["event", ev, a, b] => (StepEvent::Name(ev.to_string().into()), a, b),
                        _ => {
                            return Err(bad(
                                name,
                                "exclude",
                                part,
                                "ROLE:FROM:TO (0-based steps), e.g. remove_from_cart:1:2",
                            ));
                        }
                    };
                    let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else {
                        return Err(bad(
                            name,
                            "exclude",
                            part,
                            "ROLE:FROM:TO with whole-number steps",
                        ));
                    };
                    f = f.exclude(event, a, b);
                }
            }
            if let Some(c) = p.get("breakdown") {
                f = f.breakdown(c, p.number("breakdown_limit", 10, "1 to 100")?);
                f = f.breakdown_attribution(match p.get("breakdown_attribution") {
                    None | Some("first_touch") => BreakdownAttribution::FirstTouch,
                    Some("last_touch") => BreakdownAttribution::LastTouch,
                    Some(v) => match v.strip_prefix("step:").and_then(|k| k.parse().ok()) {
                        Some(k) => BreakdownAttribution::Step(k),
                        None => {
                            return Err(bad(
                                name,
                                "breakdown_attribution",
                                v,
                                "first_touch, last_touch or step:N (0-based)",
                            ));
                        }
                    },
                });
            }
            f.compile(ctx)
        }
        "top-products" => {
            reports::top_products(ctx, &p.range()?, p.number("limit", 20, "1 to 100")?)
        }
        "revenue-by-channel" => reports::revenue_by_channel(ctx, &p.range()?),
        "revenue-by-coupon" => reports::revenue_by(ctx, &p.range()?, Breakdown::Coupon),
        "revenue-by-device" => reports::revenue_by(ctx, &p.range()?, Breakdown::DeviceType),
        "revenue-by-platform" => reports::revenue_by(ctx, &p.range()?, Breakdown::Platform),
        "revenue-by-country" => reports::revenue_by(ctx, &p.range()?, Breakdown::Country),
        "revenue-by-category" => categories::revenue_by_category(ctx, &p.range()?),
        "cart-abandonment" => reports::cart_abandonment(ctx, &p.range()?),
        "attribution" => attribution::attribution(
            ctx,
            &p.range()?,
            p.model()?,
            p.number("window", 30, "7, 14, 30, 60 or 90")?,
        ),
        "roas" => acquisition::return_on_ad_spend(
            ctx,
            &p.range()?,
            p.model()?,
            p.number("window", 30, "7, 14, 30, 60 or 90")?,
        ),
        "acquisition-cost" => acquisition::acquisition_cost(ctx, &p.range()?),
        "traffic-sources" => traffic::traffic_sources(ctx, &p.range()?),
        "cohorts" => cohorts::revenue_cohorts(ctx, p.number("months", 6, "1 to 120")?),
        "lifetime-value" => match p.get("breakdown") {
            None => cohorts::lifetime_value(ctx),
            Some("channel") => cohorts::lifetime_value_by_channel(ctx),
            Some("category") => categories::lifetime_value_by_first_category(ctx),
            Some(v) => Err(bad(
                name,
                "breakdown",
                v,
                "channel (the first touch's campaign, source and medium) or category (the first order's)",
            )),
        },
        "new-vs-returning" => customers::new_vs_returning(
            ctx,
            &p.range()?,
            p.granularity("granularity", Granularity::Day)?,
        ),
        "retention" => {
            let mut r = Retention::default()
                .range(p.range()?)
                .period(p.granularity("period", Granularity::Week)?);
            if let Some(e) = p.event("start_event") {
                r.start = e;
            }
            if let Some(e) = p.event("return_event") {
                r.ret = e;
            }
            r = r.mode(match p.get("mode") {
                None | Some("recurring") => CohortMode::Recurring,
                Some("first_time") => CohortMode::FirstTime,
                Some(v) => return Err(bad(name, "mode", v, "recurring or first_time")),
            });
            r = r.cumulative(match p.get("cumulative") {
                None | Some("false") => false,
                Some("true") => true,
                Some(v) => return Err(bad(name, "cumulative", v, "true or false")),
            });
            r.compile(ctx)
        }
        "visit-to-order" => {
            let by = match p.get("breakdown") {
                None => VisitBreakdown::None,
                Some("channel") => VisitBreakdown::Channel,
                Some("product") => VisitBreakdown::Product,
                Some("category") => VisitBreakdown::Category,
                Some(v) => {
                    return Err(bad(
                        name,
                        "breakdown",
                        v,
                        "channel (the visitor's first touch in the range), product or category",
                    ));
                }
            };
            if p.get("limit").is_some()
                && !matches!(by, VisitBreakdown::Product | VisitBreakdown::Category)
            {
                return Err(Error::Report {
                    message: "report `visit-to-order`: `limit` applies only to breakdown=product or breakdown=category".into(),
                    help: "drop `limit`, or add --param breakdown=product".into(),
                });
            }
            reports::visit_to_order_by(ctx, &p.range()?, by, p.number("limit", 20, "1 to 100")?)
        }
        "user-journey" => match p.get("user_id") {
            Some(u) => reports::user_journey(ctx, u),
            None => Err(Error::Report {
                message: "report `user-journey` needs `user_id`".into(),
                help: "--param user_id=user_123".into(),
            }),
        },
        _ => unreachable!("every catalogue name is handled"),
    }
}
