//! SELECT statements and their clauses.

use std::fmt::{self, Display, Formatter};

use super::write::SqlWriter;
use super::{Expr, Name};

#[derive(Clone, Debug, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    pub alias: Option<Name>,
}

impl From<Expr> for SelectItem {
    fn from(expr: Expr) -> Self {
        SelectItem { expr, alias: None }
    }
}

impl SelectItem {
    fn write_sql(&self, w: &mut SqlWriter) {
        self.expr.write_sql(w);
        if let Some(a) = &self.alias
            && !matches!(&self.expr, Expr::Col(c) if c == a)
        {
            w.push(" AS ");
            w.ident(a);
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

impl OrderItem {
    pub(super) fn write_sql(&self, w: &mut SqlWriter) {
        self.expr.write_sql(w);
        if self.desc {
            w.push(" DESC");
        }
        if let Some(fill) = &self.fill {
            w.push(" WITH FILL FROM ");
            fill.from.write_sql(w);
            w.push(" TO ");
            fill.to.write_sql(w);
            w.push(" STEP ");
            fill.step.write_sql(w);
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TableRef {
    Table {
        database: Option<Name>,
        name: Name,
        alias: Option<Name>,
        final_: bool,
    },
    Subquery {
        query: Box<Select>,
        alias: Name,
    },
}

impl TableRef {
    pub fn table(database: Option<Name>, name: impl Into<Name>) -> TableRef {
        TableRef::Table {
            database,
            name: name.into(),
            alias: None,
            final_: false,
        }
    }
    /// `(query) AS alias`.
    pub fn subquery(query: Select, alias: impl Into<Name>) -> TableRef {
        TableRef::Subquery {
            query: Box::new(query),
            alias: alias.into(),
        }
    }
    pub fn cte(name: impl Into<Name>) -> TableRef {
        TableRef::Table {
            database: None,
            name: name.into(),
            alias: None,
            final_: false,
        }
    }
    /// `table FINAL` (a table's rows merged as its engine merges them); no-op on a subquery.
    pub fn final_(mut self) -> TableRef {
        if let TableRef::Table { final_, .. } = &mut self {
            *final_ = true;
        }
        self
    }
    pub fn aliased(mut self, a: impl Into<Name>) -> TableRef {
        match &mut self {
            TableRef::Table { alias, .. } => *alias = Some(a.into()),
            TableRef::Subquery { alias, .. } => *alias = a.into(),
        }
        self
    }
}

impl TableRef {
    fn write_sql(&self, w: &mut SqlWriter, pretty: bool) {
        match self {
            TableRef::Table {
                database,
                name,
                alias,
                final_,
            } => {
                if let Some(db) = database {
                    w.ident(db);
                    w.push(".");
                }
                w.ident(name);
                if let Some(a) = alias {
                    w.push(" AS ");
                    w.ident(a);
                }
                if *final_ {
                    w.push(" FINAL");
                }
            }
            TableRef::Subquery { query, alias } => {
                query.write_parenthesized(w, pretty);
                w.push(" AS ");
                w.ident(alias);
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
    /// `FULL JOIN`: rows of both sides; a side without a match gives its columns' defaults.
    Full,
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
    pub using: Vec<Name>,
}

impl Join {
    fn write_sql(&self, w: &mut SqlWriter, pretty: bool) {
        w.push(match self.kind {
            JoinKind::Inner => "INNER JOIN ",
            JoinKind::Left => "LEFT JOIN ",
            JoinKind::Right => "RIGHT JOIN ",
            JoinKind::Full => "FULL JOIN ",
            JoinKind::LeftAny => "LEFT ANY JOIN ",
            JoinKind::AsofLeft => "ASOF LEFT JOIN ",
        });
        self.table.write_sql(w, pretty);
        if let Some(on) = &self.on {
            w.push(" ON ");
            on.write_sql(w);
        }
        if !self.using.is_empty() {
            w.push(" USING (");
            w.list(&self.using, ", ", |w, u| w.ident(u));
            w.push(")");
        }
    }
}

/// One entry of a `WITH` list.
#[derive(Clone, Debug, PartialEq)]
pub enum With {
    /// `name AS (query)`: a named subquery, run again at each reference.
    Cte(Name, Select),
    /// `(query) AS name`: a scalar, computed once per statement.
    Scalar(Name, Select),
    /// `expr AS name`: a name for an expression of this query, usable in its clauses without
    /// being a column of its result (which an `arrayJoin` would copy to every row).
    Expr(Name, Expr),
}

/// The names of a [`Select::with_once`] CTE: the CTE itself, its scalar array, and the two
/// subqueries' aliases.
pub(crate) struct OnceNames {
    pub(crate) name: Name,
    pub(crate) rows: Name,
    pub(crate) once: Name,
    pub(crate) unpacked: Name,
}

/// `once_names!("orders")`: the [`OnceNames`] of `orders`, spelled by the compiler.
macro_rules! once_names {
    ($name:literal) => {
        $crate::query::ast::OnceNames {
            name: $name.into(),
            rows: concat!($name, "_rows").into(),
            once: concat!($name, "_once").into(),
            unpacked: concat!($name, "_unpacked").into(),
        }
    };
}
pub(crate) use once_names;

/// A SELECT with the ClickHouse clauses reports use. Its clauses live behind one pointer:
/// every builder call moves the `Select`, and a report makes a few hundred of them, so a
/// pointer-sized value moves instead of a 400-byte one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Select(Box<Clauses>);

/// The clauses of a [`Select`], reached through it by `Deref`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clauses {
    pub(crate) with: Vec<With>,
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

impl std::ops::Deref for Select {
    type Target = Clauses;
    fn deref(&self) -> &Clauses {
        &self.0
    }
}

impl std::ops::DerefMut for Select {
    fn deref_mut(&mut self) -> &mut Clauses {
        &mut self.0
    }
}

impl Select {
    pub fn new() -> Select {
        Select::default()
    }
    /// A query given as text (a rendered, validated template).
    pub fn raw(sql: String) -> Select {
        Select(Box::new(Clauses {
            raw: Some(sql),
            ..Clauses::default()
        }))
    }
    pub fn with(mut self, name: impl Into<Name>, q: Select) -> Self {
        self.push_with(With::Cte(name.into(), q));
        self
    }
    /// `WITH expr AS name`: see [`With::Expr`].
    pub fn with_expr(mut self, name: impl Into<Name>, e: Expr) -> Self {
        self.push_with(With::Expr(name.into(), e));
        self
    }
    fn push_with(&mut self, w: With) {
        // Room for a report's usual CTEs at once: each is a whole `Select`, and growing the
        // list one doubling at a time copied them twice over in the overview.
        if self.with.capacity() == 0 {
            self.with.reserve_exact(8);
        }
        self.with.push(w);
    }
    /// A named subquery that runs once however often it is referenced, where [`Self::with`]
    /// runs at every reference. ClickHouse computes a scalar subquery once per statement, so
    /// `q`'s rows travel as one array `name_rows` that `name` unpacks; this needs no setting and
    /// works on any server (the `MATERIALIZED` CTE keyword needs an experimental one). For
    /// small results read several times: the array is held in memory. `columns` are `q`'s
    /// output names, in order.
    pub fn with_once(self, name: &'static str, columns: &[&'static str], q: Select) -> Self {
        let names = OnceNames {
            name: name.into(),
            rows: Name::concat(name, "_rows"),
            once: Name::concat(name, "_once"),
            unpacked: Name::concat(name, "_unpacked"),
        };
        self.with_once_as(names, columns, q)
    }
    /// [`Self::with_once`] with its helper names spelled at compile time (`once_names!`), so
    /// building a report allocates none.
    pub(crate) fn with_once_as(
        mut self,
        names: OnceNames,
        columns: &[&'static str],
        q: Select,
    ) -> Self {
        let tuple = Expr::Tuple(columns.iter().map(|c| Expr::Col((*c).into())).collect());
        self.push_with(With::Scalar(
            names.rows.clone(),
            Select::new()
                .item(super::func("groupArray", [tuple]))
                .from(TableRef::Subquery {
                    query: Box::new(q),
                    alias: names.once,
                }),
        ));
        let unpack = Select::new().items(columns.iter().enumerate().map(|(i, c)| {
            super::func("tupleElement", [super::col("r"), Expr::Int(i as i64 + 1)]).alias(*c)
        }));
        self.push_with(With::Cte(
            names.name,
            unpack.from(TableRef::Subquery {
                query: Box::new(
                    Select::new()
                        .item(super::func("arrayJoin", [Expr::Col(names.rows)]).alias("r")),
                ),
                alias: names.unpacked,
            }),
        ));
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
    pub fn join_using<N: Into<Name> + Clone>(
        mut self,
        kind: JoinKind,
        table: TableRef,
        using: &[N],
    ) -> Self {
        self.joins.push(Join {
            kind,
            table,
            on: None,
            using: using.iter().cloned().map(Into::into).collect(),
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

/// Compact with `{}`, one clause per line with `{:#}`.
impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sql(f.alternate()))
    }
}

impl Select {
    /// The SQL text: what `{}` (compact) or `{:#}` (pretty) prints, without going through
    /// `core::fmt`.
    pub fn to_sql(&self, pretty: bool) -> String {
        let mut w = SqlWriter::new();
        self.write_sql(&mut w, pretty);
        w.finish()
    }

    /// `(self)`; pretty, the query starts on its own line, one level deeper.
    fn write_parenthesized(&self, w: &mut SqlWriter, pretty: bool) {
        w.push("(");
        if pretty {
            w.indented(|w| {
                w.newline();
                self.write_sql(w, true);
            });
            w.newline();
        } else {
            self.write_sql(w, false);
        }
        w.push(")");
    }

    pub(super) fn write_sql(&self, w: &mut SqlWriter, pretty: bool) {
        if let Some(raw) = &self.raw {
            return w.text(raw);
        }
        let clause = |w: &mut SqlWriter, keyword: &str| {
            if pretty {
                w.newline();
            } else {
                w.push(" ");
            }
            w.push(keyword);
        };
        let exprs = |w: &mut SqlWriter, items: &[Expr]| w.list(items, ", ", |w, e| e.write_sql(w));
        if !self.with.is_empty() {
            w.push("WITH");
            for (i, entry) in self.with.iter().enumerate() {
                w.push(match (i > 0, pretty) {
                    (false, _) => "",
                    (true, true) => ",",
                    (true, false) => ", ",
                });
                if pretty {
                    w.newline();
                } else if i == 0 {
                    w.push(" ");
                }
                match entry {
                    With::Cte(name, q) => {
                        w.ident(name);
                        w.push(" AS ");
                        q.write_parenthesized(w, pretty);
                    }
                    With::Scalar(name, q) => {
                        q.write_parenthesized(w, pretty);
                        w.push(" AS ");
                        w.ident(name);
                    }
                    With::Expr(name, e) => {
                        e.write_sql(w);
                        w.push(" AS ");
                        w.ident(name);
                    }
                }
            }
            if pretty {
                w.newline();
            } else {
                w.push(" ");
            }
        }
        w.push(if self.distinct {
            "SELECT DISTINCT"
        } else {
            "SELECT"
        });
        if pretty {
            w.indented(|w| {
                for (i, item) in self.items.iter().enumerate() {
                    w.push(if i > 0 { "," } else { "" });
                    w.newline();
                    item.write_sql(w);
                }
            });
        } else {
            w.push(" ");
            w.list(&self.items, ", ", |w, i| i.write_sql(w));
        }
        if let Some(t) = &self.from {
            clause(w, "FROM ");
            t.write_sql(w, pretty);
        }
        for j in &self.joins {
            clause(w, "");
            j.write_sql(w, pretty);
        }
        if !self.array_join.is_empty() {
            clause(w, "ARRAY JOIN ");
            w.list(&self.array_join, ", ", |w, i| i.write_sql(w));
        }
        if let Some(p) = &self.prewhere {
            clause(w, "PREWHERE ");
            p.write_sql(w);
        }
        if let Some(c) = &self.filter {
            clause(w, "WHERE ");
            c.write_sql(w);
        }
        if !self.group_by.is_empty() {
            clause(w, "GROUP BY ");
            exprs(w, &self.group_by);
        }
        if let Some(h) = &self.having {
            clause(w, "HAVING ");
            h.write_sql(w);
        }
        if !self.order_by.is_empty() {
            clause(w, "ORDER BY ");
            w.list(&self.order_by, ", ", |w, o| o.write_sql(w));
        }
        if let Some((n, by)) = &self.limit_by {
            clause(w, "LIMIT ");
            n.write_sql(w);
            w.push(" BY ");
            exprs(w, by);
        }
        if let Some(l) = &self.limit {
            clause(w, "LIMIT ");
            l.write_sql(w);
        }
        if !self.settings.is_empty() {
            clause(w, "SETTINGS ");
            w.list(&self.settings, ", ", |w, (k, v)| {
                w.push(k);
                w.push(" = ");
                w.push(v);
            });
        }
        for u in &self.union_all {
            clause(w, "UNION ALL");
            if pretty {
                w.newline();
            } else {
                w.push(" ");
            }
            u.write_sql(w, pretty);
        }
    }
}
