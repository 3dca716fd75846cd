//! chx's own SQL AST for the ClickHouse SELECTs reports need, rendered through `Display`:
//! compact with `{}`, one clause per line with `{:#}`. Values never appear in it as text: user
//! values are [`Expr::Param`] placeholders; the only literals are chx's own constants and
//! schema-derived names, written by the audited functions in [`crate::sql::quote`].

use std::fmt::{self, Display, Formatter, Write};

use crate::sql::quote;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column or alias name.
    Col(String),
    /// `table.column` (or `tuple.field`).
    Path(Vec<String>),
    /// `{name:Type}`.
    Param {
        name: String,
        ty: String,
    },
    /// A string constant chx chose (event names from the taxonomy, units), escaped on output.
    Str(String),
    Int(i64),
    Float(f64),
    /// `f(args)`, or `f(params)(args)` for parametric aggregates like `windowFunnel(w)(...)`.
    Func {
        name: String,
        params: Vec<Expr>,
        args: Vec<Expr>,
    },
    Bin {
        op: BinOp,
        l: Box<Expr>,
        r: Box<Expr>,
    },
    Not(Box<Expr>),
    /// `multiIf`-style CASE: `CASE WHEN c THEN v ... ELSE e END`.
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Box<Expr>,
    },
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
    Tuple(Vec<Expr>),
    Array(Vec<Expr>),
    In {
        expr: Box<Expr>,
        set: Box<Expr>,
        negated: bool,
    },
    Interval {
        n: Box<Expr>,
        unit: &'static str,
    },
    /// A schema expression that validation already checked (e.g. a column's `materialized`).
    Raw(String),
    Subquery(Box<Select>),
    /// `f(...) OVER (PARTITION BY ... ORDER BY ... [frame])`.
    Over {
        func: Box<Expr>,
        partition_by: Vec<Expr>,
        order_by: Vec<OrderItem>,
        frame: Option<&'static str>,
    },
    Star,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }

    /// Binding strength, for minimal parentheses.
    fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div => 5,
        }
    }
}

/// Chaining constructors, so report code reads like the SQL it builds.
pub fn col(name: impl Into<String>) -> Expr {
    Expr::Col(name.into())
}
pub fn path(parts: &[&str]) -> Expr {
    Expr::Path(parts.iter().map(|p| p.to_string()).collect())
}
pub fn func(name: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Func {
        name: name.into(),
        params: Vec::new(),
        args: args.into_iter().collect(),
    }
}
pub fn pfunc(
    name: &str,
    params: impl IntoIterator<Item = Expr>,
    args: impl IntoIterator<Item = Expr>,
) -> Expr {
    Expr::Func {
        name: name.into(),
        params: params.into_iter().collect(),
        args: args.into_iter().collect(),
    }
}
pub fn str_lit(s: impl Into<String>) -> Expr {
    Expr::Str(s.into())
}
pub fn int(v: i64) -> Expr {
    Expr::Int(v)
}
pub fn lambda(params: &[&str], body: Expr) -> Expr {
    Expr::Lambda {
        params: params.iter().map(|p| p.to_string()).collect(),
        body: Box::new(body),
    }
}

impl Expr {
    fn bin(self, op: BinOp, r: impl Into<Expr>) -> Expr {
        Expr::Bin {
            op,
            l: Box::new(self),
            r: Box::new(r.into()),
        }
    }
    pub fn eq(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Eq, r)
    }
    pub fn ne(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Ne, r)
    }
    pub fn lt(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Lt, r)
    }
    pub fn le(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Le, r)
    }
    pub fn gt(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Gt, r)
    }
    pub fn ge(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Ge, r)
    }
    pub fn and(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::And, r)
    }
    pub fn or(self, r: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Or, r)
    }
    pub fn in_(self, set: impl Into<Expr>) -> Expr {
        Expr::In {
            expr: Box::new(self),
            set: Box::new(set.into()),
            negated: false,
        }
    }
    pub fn not_in(self, set: impl Into<Expr>) -> Expr {
        Expr::In {
            expr: Box::new(self),
            set: Box::new(set.into()),
            negated: true,
        }
    }
    /// `self AS alias` as a select item.
    pub fn alias(self, alias: impl Into<String>) -> SelectItem {
        SelectItem {
            expr: self,
            alias: Some(alias.into()),
        }
    }
    /// `f(...) OVER (PARTITION BY ... ORDER BY ...)`.
    pub fn over(self, partition_by: Vec<Expr>, order_by: Vec<OrderItem>) -> Expr {
        Expr::Over {
            func: Box::new(self),
            partition_by,
            order_by,
            frame: None,
        }
    }
    /// AND of all conditions (`1` when there are none).
    pub fn all(conds: impl IntoIterator<Item = Expr>) -> Expr {
        conds
            .into_iter()
            .reduce(|a, b| a.and(b))
            .unwrap_or(Expr::Int(1))
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Bin { op, .. } => op.precedence(),
            Expr::Not(_) => 2,
            Expr::In { .. } => 3,
            Expr::Lambda { .. } => 0,
            _ => 10,
        }
    }
}

macro_rules! arith {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<T: Into<Expr>> std::ops::$trait<T> for Expr {
            type Output = Expr;
            fn $method(self, r: T) -> Expr {
                self.bin(BinOp::$op, r)
            }
        }
    )*};
}
arith!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

impl From<i64> for Expr {
    fn from(v: i64) -> Self {
        Expr::Int(v)
    }
}

fn join<T: Display>(items: &[T], sep: &str) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

fn wrap(e: &Expr, min: u8) -> String {
    if e.precedence() < min {
        format!("({e})")
    } else {
        e.to_string()
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Col(c) => f.write_str(&quote::ident(c)),
            Expr::Path(p) => f.write_str(
                &p.iter()
                    .map(|x| quote::ident(x))
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            Expr::Param { name, ty } => write!(f, "{{{name}:{ty}}}"),
            Expr::Str(s) => f.write_str(&quote::string_literal(s)),
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Float(v) => write!(f, "{v:?}"),
            Expr::Func { name, params, args } => {
                if params.is_empty() {
                    write!(f, "{name}({})", join(args, ", "))
                } else {
                    write!(f, "{name}({})({})", join(params, ", "), join(args, ", "))
                }
            }
            Expr::Bin { op, l, r } => {
                let p = op.precedence();
                // Left-associative: the right side needs parentheses at equal precedence,
                // except for the same associative operator (`a AND (b AND c)` = `a AND b AND c`).
                let assoc = matches!(op, BinOp::And | BinOp::Or | BinOp::Add | BinOp::Mul)
                    && matches!(r.as_ref(), Expr::Bin { op: rop, .. } if rop == op);
                let right = if assoc { r.to_string() } else { wrap(r, p + 1) };
                write!(f, "{} {} {right}", wrap(l, p), op.text())
            }
            Expr::Not(e) => write!(f, "NOT {}", wrap(e, 3)),
            Expr::Case {
                branches,
                otherwise,
            } => {
                f.write_str("CASE")?;
                for (c, v) in branches {
                    write!(f, " WHEN {c} THEN {v}")?;
                }
                write!(f, " ELSE {otherwise} END")
            }
            Expr::Lambda { params, body } => match params.as_slice() {
                [one] => write!(f, "{} -> {body}", quote::ident(one)),
                many => write!(
                    f,
                    "({}) -> {body}",
                    many.iter()
                        .map(|p| quote::ident(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Expr::Tuple(items) => write!(
                f,
                "({}{})",
                join(items, ", "),
                if items.len() == 1 { "," } else { "" }
            ),
            Expr::Array(items) => write!(f, "[{}]", join(items, ", ")),
            Expr::In { expr, set, negated } => {
                let set = match set.as_ref() {
                    // A value list: `IN ('a')`, without the one-element tuple's comma.
                    Expr::Tuple(items) => format!("({})", join(items, ", ")),
                    other => other.to_string(),
                };
                write!(
                    f,
                    "{} {}IN {set}",
                    wrap(expr, 4),
                    if *negated { "NOT " } else { "" }
                )
            }
            Expr::Interval { n, unit } => write!(f, "INTERVAL {} {unit}", wrap(n, 10)),
            Expr::Raw(s) => write!(f, "({s})"),
            Expr::Subquery(s) => write!(f, "({s})"),
            Expr::Over {
                func,
                partition_by,
                order_by,
                frame,
            } => {
                let mut parts = Vec::new();
                if !partition_by.is_empty() {
                    parts.push(format!("PARTITION BY {}", join(partition_by, ", ")));
                }
                if !order_by.is_empty() {
                    parts.push(format!("ORDER BY {}", join(order_by, ", ")));
                }
                if let Some(frame) = frame {
                    parts.push(frame.to_string());
                }
                write!(f, "{func} OVER ({})", parts.join(" "))
            }
            Expr::Star => f.write_str("*"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    pub alias: Option<String>,
}

impl From<Expr> for SelectItem {
    fn from(expr: Expr) -> Self {
        SelectItem { expr, alias: None }
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.alias {
            Some(a) if Expr::Col(a.clone()) != self.expr => {
                write!(f, "{} AS {}", self.expr, quote::ident(a))
            }
            _ => write!(f, "{}", self.expr),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub desc: bool,
    /// `WITH FILL FROM a TO b STEP s`: fills gaps (e.g. days without orders).
    pub fill: Option<Fill>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    pub from: Expr,
    pub to: Expr,
    pub step: Expr,
}

pub fn asc(e: Expr) -> OrderItem {
    OrderItem {
        expr: e,
        desc: false,
        fill: None,
    }
}
pub fn desc(e: Expr) -> OrderItem {
    OrderItem {
        expr: e,
        desc: true,
        fill: None,
    }
}

impl Display for OrderItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.expr, if self.desc { " DESC" } else { "" })?;
        if let Some(fill) = &self.fill {
            write!(
                f,
                " WITH FILL FROM {} TO {} STEP {}",
                fill.from, fill.to, fill.step
            )?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TableRef {
    Table {
        database: Option<String>,
        name: String,
        alias: Option<String>,
        final_: bool,
    },
    Subquery {
        query: Box<Select>,
        alias: String,
    },
}

impl TableRef {
    pub fn table(database: Option<&str>, name: &str) -> TableRef {
        TableRef::Table {
            database: database.map(str::to_string),
            name: name.into(),
            alias: None,
            final_: false,
        }
    }
    pub fn cte(name: &str) -> TableRef {
        TableRef::Table {
            database: None,
            name: name.into(),
            alias: None,
            final_: false,
        }
    }
    pub fn aliased(mut self, a: &str) -> TableRef {
        match &mut self {
            TableRef::Table { alias, .. } => *alias = Some(a.into()),
            TableRef::Subquery { alias, .. } => *alias = a.into(),
        }
        self
    }
}

impl Display for TableRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TableRef::Table {
                database,
                name,
                alias,
                final_,
            } => {
                if let Some(db) = database {
                    write!(f, "{}.", quote::ident(db))?;
                }
                f.write_str(&quote::ident(name))?;
                if let Some(a) = alias {
                    write!(f, " AS {}", quote::ident(a))?;
                }
                if *final_ {
                    f.write_str(" FINAL")?;
                }
                Ok(())
            }
            TableRef::Subquery { query, alias } => {
                if f.alternate() {
                    let inner = format!("{query:#}");
                    write!(f, "(\n{}\n) AS {}", indent(&inner), quote::ident(alias))
                } else {
                    write!(f, "({query}) AS {}", quote::ident(alias))
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    /// `LEFT ANY JOIN`: at most one right row per left row.
    LeftAny,
    /// `ASOF LEFT JOIN`: the closest right row by the last ON condition.
    AsofLeft,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub table: TableRef,
    pub on: Option<Expr>,
    pub using: Vec<String>,
}

impl Display for Join {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            JoinKind::Inner => "INNER JOIN",
            JoinKind::Left => "LEFT JOIN",
            JoinKind::LeftAny => "LEFT ANY JOIN",
            JoinKind::AsofLeft => "ASOF LEFT JOIN",
        };
        if f.alternate() {
            write!(f, "{kind} {:#}", self.table)?;
        } else {
            write!(f, "{kind} {}", self.table)?;
        }
        if let Some(on) = &self.on {
            write!(f, " ON {on}")?;
        }
        if !self.using.is_empty() {
            write!(
                f,
                " USING ({})",
                self.using
                    .iter()
                    .map(|u| quote::ident(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }
}

/// A SELECT with the ClickHouse clauses reports use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Select {
    pub(crate) with: Vec<(String, Select)>,
    pub(crate) distinct: bool,
    pub(crate) items: Vec<SelectItem>,
    pub(crate) from: Option<TableRef>,
    pub(crate) joins: Vec<Join>,
    pub(crate) array_join: Vec<SelectItem>,
    pub(crate) prewhere: Option<Expr>,
    pub(crate) filter: Option<Expr>,
    pub(crate) group_by: Vec<Expr>,
    pub(crate) having: Option<Expr>,
    pub(crate) order_by: Vec<OrderItem>,
    pub(crate) limit_by: Option<(Expr, Vec<Expr>)>,
    pub(crate) limit: Option<Expr>,
    pub(crate) settings: Vec<(String, String)>,
}

impl Select {
    pub fn new() -> Select {
        Select::default()
    }
    pub fn with(mut self, name: &str, q: Select) -> Self {
        self.with.push((name.into(), q));
        self
    }
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }
    pub fn item(mut self, item: impl Into<SelectItem>) -> Self {
        self.items.push(item.into());
        self
    }
    pub fn items(mut self, items: impl IntoIterator<Item = SelectItem>) -> Self {
        self.items.extend(items);
        self
    }
    pub fn from(mut self, t: TableRef) -> Self {
        self.from = Some(t);
        self
    }
    pub fn join(mut self, kind: JoinKind, table: TableRef, on: Expr) -> Self {
        self.joins.push(Join {
            kind,
            table,
            on: Some(on),
            using: Vec::new(),
        });
        self
    }
    pub fn join_using(mut self, kind: JoinKind, table: TableRef, using: &[&str]) -> Self {
        self.joins.push(Join {
            kind,
            table,
            on: None,
            using: using.iter().map(|u| u.to_string()).collect(),
        });
        self
    }
    pub fn array_join(mut self, item: SelectItem) -> Self {
        self.array_join.push(item);
        self
    }
    pub fn prewhere(mut self, e: Expr) -> Self {
        self.prewhere = Some(match self.prewhere.take() {
            Some(p) => p.and(e),
            None => e,
        });
        self
    }
    /// Adds a WHERE condition (ANDed with earlier ones).
    pub fn filter(mut self, e: Expr) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(p) => p.and(e),
            None => e,
        });
        self
    }
    pub fn group_by(mut self, e: impl IntoIterator<Item = Expr>) -> Self {
        self.group_by.extend(e);
        self
    }
    pub fn having(mut self, e: Expr) -> Self {
        self.having = Some(e);
        self
    }
    pub fn order_by(mut self, o: impl IntoIterator<Item = OrderItem>) -> Self {
        self.order_by.extend(o);
        self
    }
    pub fn limit_by(mut self, n: Expr, by: Vec<Expr>) -> Self {
        self.limit_by = Some((n, by));
        self
    }
    pub fn limit(mut self, n: Expr) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn setting(mut self, k: &str, v: &str) -> Self {
        self.settings.push((k.into(), v.into()));
        self
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let pretty = f.alternate();
        let mut out = String::new();
        let (nl, list_sep, list_start) = if pretty {
            ("\n", ",\n    ", "\n    ")
        } else {
            (" ", ", ", " ")
        };
        if !self.with.is_empty() {
            out.push_str("WITH");
            let ctes: Vec<String> = self
                .with
                .iter()
                .map(|(name, q)| {
                    if pretty {
                        format!(
                            "{} AS (\n{}\n)",
                            quote::ident(name),
                            indent(&format!("{q:#}"))
                        )
                    } else {
                        format!("{} AS ({q})", quote::ident(name))
                    }
                })
                .collect();
            if pretty {
                out.push('\n');
                out.push_str(&ctes.join(",\n"));
            } else {
                out.push(' ');
                out.push_str(&ctes.join(", "));
            }
            out.push_str(nl);
        }
        out.push_str("SELECT");
        if self.distinct {
            out.push_str(" DISTINCT");
        }
        out.push_str(list_start);
        out.push_str(
            &self
                .items
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(list_sep),
        );
        if let Some(t) = &self.from {
            let _ = if pretty {
                write!(out, "{nl}FROM {t:#}")
            } else {
                write!(out, "{nl}FROM {t}")
            };
        }
        for j in &self.joins {
            let _ = if pretty {
                write!(out, "{nl}{j:#}")
            } else {
                write!(out, "{nl}{j}")
            };
        }
        if !self.array_join.is_empty() {
            let _ = write!(out, "{nl}ARRAY JOIN {}", join(&self.array_join, ", "));
        }
        if let Some(p) = &self.prewhere {
            let _ = write!(out, "{nl}PREWHERE {p}");
        }
        if let Some(w) = &self.filter {
            let _ = write!(out, "{nl}WHERE {w}");
        }
        if !self.group_by.is_empty() {
            let _ = write!(out, "{nl}GROUP BY {}", join(&self.group_by, ", "));
        }
        if let Some(h) = &self.having {
            let _ = write!(out, "{nl}HAVING {h}");
        }
        if !self.order_by.is_empty() {
            let _ = write!(out, "{nl}ORDER BY {}", join(&self.order_by, ", "));
        }
        if let Some((n, by)) = &self.limit_by {
            let _ = write!(out, "{nl}LIMIT {n} BY {}", join(by, ", "));
        }
        if let Some(l) = &self.limit {
            let _ = write!(out, "{nl}LIMIT {l}");
        }
        if !self.settings.is_empty() {
            let s: Vec<String> = self
                .settings
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let _ = write!(out, "{nl}SETTINGS {}", s.join(", "));
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_compact_and_pretty() {
        let q = Select::new()
            .item(col("day"))
            .item(func("sum", [col("revenue")]).alias("revenue"))
            .item(
                pfunc(
                    "windowFunnel",
                    [int(86400)],
                    [col("t"), col("a").eq(str_lit("x'y"))],
                )
                .alias("level"),
            )
            .from(TableRef::table(Some("shop"), "events"))
            .filter(col("event_type").eq(Expr::Param {
                name: "t".into(),
                ty: "String".into(),
            }))
            .filter(((col("a") + int(1)) * int(2)).gt(int(3)))
            .group_by([col("day")])
            .order_by([OrderItem {
                expr: col("day"),
                desc: false,
                fill: Some(Fill {
                    from: int(1),
                    to: int(3),
                    step: int(1),
                }),
            }]);
        assert_eq!(
            q.to_string(),
            "SELECT day, sum(revenue) AS revenue, windowFunnel(86400)(t, a = 'x\\'y') AS level FROM shop.events \
             WHERE event_type = {t:String} AND (a + 1) * 2 > 3 GROUP BY day ORDER BY day WITH FILL FROM 1 TO 3 STEP 1"
        );
        assert_eq!(
            format!("{q:#}"),
            "SELECT\n    day,\n    sum(revenue) AS revenue,\n    windowFunnel(86400)(t, a = 'x\\'y') AS level\nFROM shop.events\n\
             WHERE event_type = {t:String} AND (a + 1) * 2 > 3\nGROUP BY day\nORDER BY day WITH FILL FROM 1 TO 3 STEP 1"
        );
    }

    #[test]
    fn parenthesizes_by_precedence() {
        let e = col("a") - (col("b") - col("c"));
        assert_eq!(e.to_string(), "a - (b - c)");
        let e = col("a").or(col("b")).and(col("c"));
        assert_eq!(e.to_string(), "(a OR b) AND c");
    }
}
