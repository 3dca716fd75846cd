//! SELECT statements and their clauses.

use std::fmt::{self, Display, Formatter, Write};

use super::Expr;
use super::expr::{Idents, join};
use crate::sql::quote::Ident;

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
            Some(a) if Expr::Col(a.clone().into()) != self.expr => {
                write!(f, "{} AS {}", self.expr, Ident(a))
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
                    write!(f, "{}.", Ident(db))?;
                }
                write!(f, "{}", Ident(name))?;
                if let Some(a) = alias {
                    write!(f, " AS {}", Ident(a))?;
                }
                if *final_ {
                    f.write_str(" FINAL")?;
                }
                Ok(())
            }
            TableRef::Subquery { query, alias } => {
                if f.alternate() {
                    f.write_str("(\n")?;
                    write!(Indent::new(f), "{query:#}")?;
                    write!(f, "\n) AS {}", Ident(alias))
                } else {
                    write!(f, "({query}) AS {}", Ident(alias))
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    /// `RIGHT JOIN`: ClickHouse builds its hash table from the right side, so the small side
    /// goes there while every row of it is kept.
    Right,
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
            JoinKind::Right => "RIGHT JOIN",
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
            write!(f, " USING ({})", Idents(&self.using, ", "))?;
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
    pub(crate) union_all: Vec<Select>,
    /// Text of a query chx did not build (a rendered template), printed as is.
    pub(crate) raw: Option<String>,
}

impl Select {
    pub fn new() -> Select {
        Select::default()
    }
    /// A query given as text (a rendered, validated template).
    pub fn raw(sql: String) -> Select {
        Select {
            raw: Some(sql),
            ..Select::default()
        }
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
    /// `... UNION ALL <q>` (the parts must have the same columns).
    pub fn union_all(mut self, q: Select) -> Self {
        self.union_all.push(q);
        self
    }
    pub fn setting(mut self, k: &str, v: &str) -> Self {
        self.settings.push((k.into(), v.into()));
        self
    }
}

/// Writes through to `inner` with four spaces at the start of every line: nested queries print
/// straight into the output, indented on the way.
struct Indent<'a, 'b> {
    inner: &'a mut Formatter<'b>,
    line_start: bool,
}

impl<'a, 'b> Indent<'a, 'b> {
    fn new(inner: &'a mut Formatter<'b>) -> Self {
        Indent {
            inner,
            line_start: true,
        }
    }
}

impl Write for Indent<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find('\n') {
            let line = &rest[..i];
            if !line.is_empty() {
                if self.line_start {
                    self.inner.write_str("    ")?;
                }
                self.inner.write_str(line)?;
                self.line_start = false;
            } else if self.line_start {
                // An empty line keeps its indentation, as before.
                self.inner.write_str("    ")?;
            }
            self.inner.write_char('\n')?;
            self.line_start = true;
            rest = &rest[i + 1..];
        }
        if !rest.is_empty() {
            if self.line_start {
                self.inner.write_str("    ")?;
                self.line_start = false;
            }
            self.inner.write_str(rest)?;
        }
        Ok(())
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(raw) = &self.raw {
            return f.write_str(raw);
        }
        let pretty = f.alternate();
        let (nl, list_sep, list_start) = if pretty {
            ("\n", ",\n    ", "\n    ")
        } else {
            (" ", ", ", " ")
        };
        if !self.with.is_empty() {
            f.write_str(if pretty { "WITH\n" } else { "WITH " })?;
            for (i, (name, q)) in self.with.iter().enumerate() {
                if i > 0 {
                    f.write_str(if pretty { ",\n" } else { ", " })?;
                }
                if pretty {
                    writeln!(f, "{} AS (", Ident(name))?;
                    write!(Indent::new(f), "{q:#}")?;
                    f.write_str("\n)")?;
                } else {
                    write!(f, "{} AS ({q})", Ident(name))?;
                }
            }
            f.write_str(nl)?;
        }
        f.write_str("SELECT")?;
        if self.distinct {
            f.write_str(" DISTINCT")?;
        }
        write!(f, "{list_start}{}", join(&self.items, list_sep))?;
        if let Some(t) = &self.from {
            if pretty {
                write!(f, "{nl}FROM {t:#}")?;
            } else {
                write!(f, "{nl}FROM {t}")?;
            }
        }
        for j in &self.joins {
            if pretty {
                write!(f, "{nl}{j:#}")?;
            } else {
                write!(f, "{nl}{j}")?;
            }
        }
        if !self.array_join.is_empty() {
            write!(f, "{nl}ARRAY JOIN {}", join(&self.array_join, ", "))?;
        }
        if let Some(p) = &self.prewhere {
            write!(f, "{nl}PREWHERE {p}")?;
        }
        if let Some(w) = &self.filter {
            write!(f, "{nl}WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            write!(f, "{nl}GROUP BY {}", join(&self.group_by, ", "))?;
        }
        if let Some(h) = &self.having {
            write!(f, "{nl}HAVING {h}")?;
        }
        if !self.order_by.is_empty() {
            write!(f, "{nl}ORDER BY {}", join(&self.order_by, ", "))?;
        }
        if let Some((n, by)) = &self.limit_by {
            write!(f, "{nl}LIMIT {n} BY {}", join(by, ", "))?;
        }
        if let Some(l) = &self.limit {
            write!(f, "{nl}LIMIT {l}")?;
        }
        if !self.settings.is_empty() {
            write!(f, "{nl}SETTINGS ")?;
            for (i, (k, v)) in self.settings.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k} = {v}")?;
            }
        }
        for u in &self.union_all {
            if pretty {
                write!(f, "{nl}UNION ALL{nl}{u:#}")?;
            } else {
                write!(f, "{nl}UNION ALL{nl}{u}")?;
            }
        }
        Ok(())
    }
}
