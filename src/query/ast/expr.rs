//! Expressions.

use std::fmt::{self, Display, Formatter};

use super::Name;
use super::write::SqlWriter;
use super::{OrderItem, Select, SelectItem};

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column or alias name.
    Col(Name),
    /// `table.column` (or `tuple.field`).
    Path(Parts),
    /// `{name:Type}`.
    Param {
        name: Name,
        ty: Name,
    },
    /// A string constant chx chose (event names from the taxonomy, units), escaped on output.
    Str(Name),
    Int(i64),
    Float(f64),
    /// `f(args)`, or `f(params)(args)` for parametric aggregates like `windowFunnel(w)(...)`.
    Func {
        name: Name,
        /// Behind a thin pointer, and absent for all but a few aggregates: this keeps every
        /// `Expr` at 48 bytes.
        params: Option<Box<Vec<Expr>>>,
        args: Vec<Expr>,
    },
    /// `l op r`; both sides in one allocation.
    Bin {
        op: BinOp,
        sides: Box<[Expr; 2]>,
    },
    Not(Box<Expr>),
    /// `multiIf`-style CASE: `CASE WHEN c THEN v ... ELSE e END`.
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Box<Expr>,
    },
    /// Parameters are always spelled in the builders, so they are borrowed, not allocated.
    Lambda {
        params: &'static [&'static str],
        body: Box<Expr>,
    },
    Tuple(Vec<Expr>),
    Array(Vec<Expr>),
    /// `expr [NOT] IN set`; both sides in one allocation.
    In {
        sides: Box<[Expr; 2]>,
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
    Over(Box<Window>),
    Star,
}

/// A window function call: boxed in [`Expr::Over`], which keeps every `Expr` small (they are
/// moved around a lot while a report is built).
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub func: Expr,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<OrderItem>,
    pub frame: Option<&'static str>,
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
pub fn col(name: impl Into<Name>) -> Expr {
    Expr::Col(name.into())
}
pub fn path<const N: usize>(parts: [impl Into<Name>; N]) -> Expr {
    let mut parts = parts.into_iter().map(Into::into);
    Expr::Path(match (N, parts.next(), parts.next()) {
        (2, Some(a), Some(b)) => Parts::Two([a, b]),
        (_, a, b) => Parts::More(a.into_iter().chain(b).chain(parts).collect()),
    })
}

/// The parts of a dotted name. Nearly every path is `alias.column`, held inline: reports
/// qualify dozens of columns, and a `Vec` for each was a sixth of a report's allocations.
#[derive(Clone, Debug, PartialEq)]
pub enum Parts {
    Two([Name; 2]),
    More(Vec<Name>),
}

/// `num / den`, or 0.0 where `den` is 0 (ClickHouse would give nan or inf): averages.
pub fn ratio(num: Expr, den: Expr) -> Expr {
    func("if", [den.clone().eq(int(0)), Expr::Float(0.0), num / den])
}

/// `100 × num / den`, or 0.0 where `den` is 0: rates in percent.
pub fn percent(num: Expr, den: Expr) -> Expr {
    func(
        "if",
        [
            den.clone().eq(int(0)),
            Expr::Float(0.0),
            Expr::Float(100.0) * num / den,
        ],
    )
}

impl std::ops::Deref for Parts {
    type Target = [Name];
    fn deref(&self) -> &[Name] {
        match self {
            Parts::Two(p) => p,
            Parts::More(p) => p,
        }
    }
}
pub fn func(name: impl Into<Name>, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Func {
        name: name.into(),
        params: None,
        args: args.into_iter().collect(),
    }
}
pub fn pfunc(
    name: impl Into<Name>,
    params: impl IntoIterator<Item = Expr>,
    args: impl IntoIterator<Item = Expr>,
) -> Expr {
    let params: Vec<Expr> = params.into_iter().collect();
    Expr::Func {
        name: name.into(),
        params: (!params.is_empty()).then(|| Box::new(params)),
        args: args.into_iter().collect(),
    }
}
pub fn str_lit(s: impl Into<Name>) -> Expr {
    Expr::Str(s.into())
}
pub fn int(v: i64) -> Expr {
    Expr::Int(v)
}
pub fn lambda(params: &'static [&'static str], body: Expr) -> Expr {
    Expr::Lambda {
        params,
        body: Box::new(body),
    }
}

impl Expr {
    fn bin(self, op: BinOp, r: impl Into<Expr>) -> Expr {
        Expr::Bin {
            op,
            sides: Box::new([self, r.into()]),
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
            sides: Box::new([self, set.into()]),
            negated: false,
        }
    }
    pub fn not_in(self, set: impl Into<Expr>) -> Expr {
        Expr::In {
            sides: Box::new([self, set.into()]),
            negated: true,
        }
    }
    /// `self AS alias` as a select item.
    pub fn alias(self, alias: impl Into<Name>) -> SelectItem {
        SelectItem {
            expr: self,
            alias: Some(alias.into()),
        }
    }
    /// `f(...) OVER (PARTITION BY ... ORDER BY ...)`.
    pub fn over(self, partition_by: Vec<Expr>, order_by: Vec<OrderItem>) -> Expr {
        Expr::Over(Box::new(Window {
            func: self,
            partition_by,
            order_by,
            frame: None,
        }))
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

/// Prints compact through the `SqlWriter`; `{:#}` makes no difference for an expression.
impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut w = SqlWriter::new();
        self.write_sql(&mut w);
        f.write_str(&w.finish())
    }
}

impl Expr {
    /// Visit this expression and every expression inside it, parents first. A subquery is
    /// visited as one node: its query is not entered.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Col(_)
            | Expr::Path(_)
            | Expr::Param { .. }
            | Expr::Str(_)
            | Expr::Int(_)
            | Expr::Float(_)
            | Expr::Raw(_)
            | Expr::Subquery(_)
            | Expr::Star => {}
            Expr::Func { params, args, .. } => {
                params
                    .iter()
                    .flat_map(|p| p.iter())
                    .chain(args)
                    .for_each(|e| e.walk(f));
            }
            Expr::Bin { sides, .. } | Expr::In { sides, .. } => {
                sides.iter().for_each(|e| e.walk(f));
            }
            Expr::Not(e) => e.walk(f),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (c, v) in branches {
                    c.walk(f);
                    v.walk(f);
                }
                otherwise.walk(f);
            }
            Expr::Lambda { body, .. } => body.walk(f),
            Expr::Tuple(v) | Expr::Array(v) => v.iter().for_each(|e| e.walk(f)),
            Expr::Interval { n, .. } => n.walk(f),
            Expr::Over(w) => {
                w.func.walk(f);
                w.partition_by.iter().for_each(|e| e.walk(f));
                w.order_by.iter().for_each(|o| o.expr.walk(f));
            }
        }
    }
}

impl Expr {
    /// `self`, in parentheses when it binds looser than `min`.
    fn write_wrapped(&self, w: &mut SqlWriter, min: u8) {
        if self.precedence() < min {
            w.push("(");
            self.write_sql(w);
            w.push(")");
        } else {
            self.write_sql(w);
        }
    }

    fn write_list(w: &mut SqlWriter, items: &[Expr]) {
        w.list(items, ", ", |w, e| e.write_sql(w));
    }

    pub(crate) fn write_sql(&self, w: &mut SqlWriter) {
        match self {
            Expr::Col(c) => w.ident(c),
            Expr::Path(p) => w.list(p, ".", |w, part| w.ident(part)),
            Expr::Param { name, ty } => {
                w.push("{");
                w.push(name);
                w.push(":");
                w.push(ty);
                w.push("}");
            }
            Expr::Str(s) => w.string_literal(s),
            Expr::Int(v) => w.int(*v),
            Expr::Float(v) => w.float(*v),
            Expr::Func { name, params, args } => {
                w.push(name);
                w.push("(");
                if let Some(params) = params {
                    Expr::write_list(w, params);
                    w.push(")(");
                }
                Expr::write_list(w, args);
                w.push(")");
            }
            Expr::Bin { op, sides } => {
                let [l, r] = sides.as_ref();
                let p = op.precedence();
                // Left-associative: the right side needs parentheses at equal precedence,
                // except for the same associative operator (`a AND (b AND c)` = `a AND b AND c`).
                let assoc = matches!(op, BinOp::And | BinOp::Or | BinOp::Add | BinOp::Mul)
                    && matches!(r, Expr::Bin { op: rop, .. } if rop == op);
                l.write_wrapped(w, p);
                w.push(" ");
                w.push(op.text());
                w.push(" ");
                r.write_wrapped(w, if assoc { 0 } else { p + 1 });
            }
            Expr::Not(e) => {
                w.push("NOT ");
                e.write_wrapped(w, 3);
            }
            Expr::Case {
                branches,
                otherwise,
            } => {
                w.push("CASE");
                for (c, v) in branches {
                    w.push(" WHEN ");
                    c.write_sql(w);
                    w.push(" THEN ");
                    v.write_sql(w);
                }
                w.push(" ELSE ");
                otherwise.write_sql(w);
                w.push(" END");
            }
            Expr::Lambda { params, body } => {
                match params {
                    [one] => w.ident(one),
                    many => {
                        w.push("(");
                        w.list(many, ", ", |w, p| w.ident(p));
                        w.push(")");
                    }
                }
                w.push(" -> ");
                body.write_sql(w);
            }
            Expr::Tuple(items) => {
                w.push("(");
                Expr::write_list(w, items);
                w.push(if items.len() == 1 { ",)" } else { ")" });
            }
            Expr::Array(items) => {
                w.push("[");
                Expr::write_list(w, items);
                w.push("]");
            }
            Expr::In { sides, negated } => {
                let [expr, set] = sides.as_ref();
                expr.write_wrapped(w, 4);
                w.push(if *negated { " NOT IN " } else { " IN " });
                match set {
                    // A value list: `IN ('a')`, without the one-element tuple's comma.
                    Expr::Tuple(items) => {
                        w.push("(");
                        Expr::write_list(w, items);
                        w.push(")");
                    }
                    other => other.write_sql(w),
                }
            }
            Expr::Interval { n, unit } => {
                w.push("INTERVAL ");
                n.write_wrapped(w, 10);
                w.push(" ");
                w.push(unit);
            }
            Expr::Raw(s) => {
                w.push("(");
                w.text(s);
                w.push(")");
            }
            Expr::Subquery(s) => {
                w.push("(");
                s.write_sql(w, false);
                w.push(")");
            }
            Expr::Over(window) => {
                let Window {
                    func,
                    partition_by,
                    order_by,
                    frame,
                } = window.as_ref();
                func.write_sql(w);
                w.push(" OVER (");
                let mut sep = "";
                if !partition_by.is_empty() {
                    w.push("PARTITION BY ");
                    Expr::write_list(w, partition_by);
                    sep = " ";
                }
                if !order_by.is_empty() {
                    w.push(sep);
                    w.push("ORDER BY ");
                    w.list(order_by, ", ", |w, o| o.write_sql(w));
                    sep = " ";
                }
                if let Some(frame) = frame {
                    w.push(sep);
                    w.push(frame);
                }
                w.push(")");
            }
            Expr::Star => w.push("*"),
        }
    }
}
