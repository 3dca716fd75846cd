//! Expressions.

use std::borrow::Cow;
use std::fmt::{self, Display, Formatter};

/// A name in the AST: borrowed when it is a literal in chx's code (most are), so building a
/// report allocates for data, not for every column and function name.
pub type Name = Cow<'static, str>;

use super::{OrderItem, Select, SelectItem};
use crate::sql::quote::{self, Ident};

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column or alias name.
    Col(Name),
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
        name: Name,
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
        params: Vec<Name>,
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
pub fn col(name: impl Into<Name>) -> Expr {
    Expr::Col(name.into())
}
pub fn path(parts: &[&str]) -> Expr {
    Expr::Path(parts.iter().map(|p| p.to_string()).collect())
}
pub fn func(name: impl Into<Name>, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Func {
        name: name.into(),
        params: Vec::new(),
        args: args.into_iter().collect(),
    }
}
pub fn pfunc(
    name: impl Into<Name>,
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
pub fn lambda(params: &[&'static str], body: Expr) -> Expr {
    Expr::Lambda {
        params: params.iter().map(|p| Name::Borrowed(p)).collect(),
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

/// `items` separated by `sep`, printed straight into the output: the printer builds no
/// intermediate strings, so rendering stays linear in the size of the query.
pub(super) struct Joined<'a, T>(&'a [T], &'a str);

pub(super) fn join<'a, T: Display>(items: &'a [T], sep: &'a str) -> Joined<'a, T> {
    Joined(items, sep)
}

impl<T: Display> Display for Joined<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

/// Identifiers separated by `sep`, each quoted when it needs to be.
pub(super) struct Idents<'a, S>(pub(super) &'a [S], pub(super) &'a str);

impl<S: AsRef<str>> Display for Idents<'_, S> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{}", Ident(name.as_ref()))?;
        }
        Ok(())
    }
}

/// `e`, in parentheses when it binds looser than `min`.
struct Wrapped<'a>(&'a Expr, u8);

fn wrap(e: &Expr, min: u8) -> Wrapped<'_> {
    Wrapped(e, min)
}

impl Display for Wrapped<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.precedence() < self.1 {
            write!(f, "({})", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Col(c) => write!(f, "{}", Ident(c)),
            Expr::Path(p) => write!(f, "{}", Idents(p, ".")),
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
                let right = wrap(r, if assoc { 0 } else { p + 1 });
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
                [one] => write!(f, "{} -> {body}", Ident(one)),
                many => write!(f, "({}) -> {body}", Idents(many, ", ")),
            },
            Expr::Tuple(items) => write!(
                f,
                "({}{})",
                join(items, ", "),
                if items.len() == 1 { "," } else { "" }
            ),
            Expr::Array(items) => write!(f, "[{}]", join(items, ", ")),
            Expr::In { expr, set, negated } => {
                write!(
                    f,
                    "{} {}IN ",
                    wrap(expr, 4),
                    if *negated { "NOT " } else { "" }
                )?;
                match set.as_ref() {
                    // A value list: `IN ('a')`, without the one-element tuple's comma.
                    Expr::Tuple(items) => write!(f, "({})", join(items, ", ")),
                    other => write!(f, "{other}"),
                }
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
                write!(f, "{func} OVER (")?;
                let mut sep = "";
                if !partition_by.is_empty() {
                    write!(f, "PARTITION BY {}", join(partition_by, ", "))?;
                    sep = " ";
                }
                if !order_by.is_empty() {
                    write!(f, "{sep}ORDER BY {}", join(order_by, ", "))?;
                    sep = " ";
                }
                if let Some(frame) = frame {
                    write!(f, "{sep}{frame}")?;
                }
                f.write_str(")")
            }
            Expr::Star => f.write_str("*"),
        }
    }
}
