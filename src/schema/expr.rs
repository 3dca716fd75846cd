//! User-written SQL fragments (ORDER BY, defaults, TTL, view SELECTs) checked with sqlparser's
//! ClickHouse dialect: they must parse, and the names they use must exist.

use sqlparser::ast::{Expr, Spanned, Statement};
use sqlparser::dialect::ClickHouseDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// A name an expression refers to, with its position (0-based char offset in the text).
#[derive(Clone, Debug, PartialEq)]
pub struct NameRef {
    /// `a` for `a`, `[item, price]` for `item.price`.
    pub parts: Vec<String>,
    pub offset: usize,
    pub len: usize,
}

/// Why a fragment was rejected, with the char offset in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

fn char_offset(text: &str, line: u64, column: u64) -> usize {
    if line == 0 {
        return 0;
    }
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            return offset + (column.saturating_sub(1) as usize);
        }
        offset += l.chars().count();
    }
    offset
}

/// Parse one expression; `allow_trailing` accepts words after it (TTL actions like `DELETE`).
pub fn parse(text: &str, allow_trailing: bool) -> Result<Expr, ExprError> {
    let dialect = ClickHouseDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(text)
        .map_err(|e| ExprError {
            offset: 0,
            message: e.to_string(),
        })?;
    let expr = parser.parse_expr().map_err(|e| ExprError {
        offset: error_offset(text, &e.to_string()),
        message: clean_message(&e.to_string()),
    })?;
    if !allow_trailing {
        let next = parser.peek_token();
        if next.token != Token::EOF {
            return Err(ExprError {
                offset: char_offset(text, next.span.start.line, next.span.start.column),
                message: format!("unexpected `{}` after the expression", next.token),
            });
        }
    }
    Ok(expr)
}

/// Words that are syntax, not names, wherever they stand in an expression.
const SYNTAX_WORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "true",
    "false",
    "case",
    "when",
    "then",
    "else",
    "end",
    "as",
    "like",
    "ilike",
    "between",
    "asc",
    "desc",
    "distinct",
    "interval",
    "nulls",
    "first",
    "last",
    "with",
    "fill",
    "global",
    "any",
    "all",
    "exists",
    "array",
    "tuple",
    "map",
    "date",
    "delete",
    "to",
    "disk",
    "volume",
    "recompress",
    "codec",
    "group",
    "by",
    "set",
    "where",
    "from",
    "select",
];

/// The names an expression uses: words that are not function names, keywords of the grammar,
/// lambda parameters, aliases or cast types. Token-based, so the positions are exact.
pub fn names(_expr: &Expr, text: &str) -> Vec<NameRef> {
    use sqlparser::tokenizer::{Tokenizer, Whitespace};
    let dialect = ClickHouseDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize_with_location() else {
        return Vec::new();
    };
    let tokens: Vec<_> = tokens
        .into_iter()
        .filter(|t| {
            !matches!(
                t.token,
                Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab)
            )
        })
        .collect();
    // Lambda parameters: words right before `->`, or inside the parentheses right before it.
    let mut params: Vec<String> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t.token == Token::Arrow {
            let mut j = i;
            while j > 0 {
                j -= 1;
                match &tokens[j].token {
                    Token::Word(w) => params.push(w.value.clone()),
                    Token::Comma | Token::RParen => {}
                    _ => break,
                }
                if tokens[j].token == Token::LParen || j == 0 {
                    break;
                }
                if matches!(tokens[j].token, Token::Word(_))
                    && !matches!(
                        tokens.get(j.wrapping_sub(1)).map(|t| &t.token),
                        Some(Token::Comma)
                    )
                {
                    break;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Token::Word(w) = &tokens[i].token else {
            i += 1;
            continue;
        };
        let prev = i.checked_sub(1).map(|p| &tokens[p].token);
        let next = tokens.get(i + 1).map(|t| &t.token);
        let after_interval_number = i >= 2
            && matches!(&tokens[i - 2].token, Token::Word(k) if k.value.eq_ignore_ascii_case("interval"));
        let skip = w.quote_style.is_none()
            && (SYNTAX_WORDS.contains(&w.value.to_ascii_lowercase().as_str())
                || after_interval_number);
        let is_call = matches!(next, Some(Token::LParen));
        let is_alias_or_type = matches!(prev, Some(Token::Word(k)) if k.value.eq_ignore_ascii_case("as") && k.quote_style.is_none())
            || matches!(prev, Some(Token::DoubleColon));
        let is_member = matches!(prev, Some(Token::Period));
        if skip || is_call || is_alias_or_type || is_member || params.contains(&w.value) {
            i += 1;
            continue;
        }
        let start = &tokens[i].span.start;
        let mut parts = vec![w.value.clone()];
        let mut j = i + 1;
        while j + 1 < tokens.len() && tokens[j].token == Token::Period {
            if let Token::Word(m) = &tokens[j + 1].token {
                parts.push(m.value.clone());
                j += 2;
            } else {
                break;
            }
        }
        let offset = char_offset(text, start.line, start.column);
        let end = &tokens[j - 1].span.end;
        let len = char_offset(text, end.line, end.column).saturating_sub(offset);
        out.push(NameRef { parts, offset, len });
        i = j;
    }
    out
}

/// Parse a hand-written SELECT and list the tables it reads, with their positions.
pub fn select_tables(text: &str) -> Result<Vec<NameRef>, ExprError> {
    let dialect = ClickHouseDialect {};
    let statements = Parser::parse_sql(&dialect, text).map_err(|e| ExprError {
        offset: error_offset(text, &e.to_string()),
        message: clean_message(&e.to_string()),
    })?;
    let [stmt] = statements.as_slice() else {
        return Err(ExprError {
            offset: 0,
            message: format!("expected one SELECT, found {} statements", statements.len()),
        });
    };
    if !matches!(stmt, Statement::Query(_)) {
        return Err(ExprError {
            offset: 0,
            message: "expected a SELECT".into(),
        });
    }
    let Statement::Query(q) = stmt else {
        unreachable!()
    };
    let mut out = Vec::new();
    query_tables(q, text, &mut out);
    Ok(out)
}

fn query_tables(q: &sqlparser::ast::Query, text: &str, out: &mut Vec<NameRef>) {
    use sqlparser::ast::{SetExpr, TableFactor};
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            query_tables(&cte.query, text, out);
        }
    }
    fn set_tables(body: &SetExpr, text: &str, out: &mut Vec<NameRef>) {
        match body {
            SetExpr::Select(select) => {
                for twj in &select.from {
                    let factors =
                        std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation));
                    for f in factors {
                        match f {
                            TableFactor::Table { name, .. } => {
                                let span = name.span();
                                let start = char_offset(text, span.start.line, span.start.column);
                                let end = char_offset(text, span.end.line, span.end.column);
                                out.push(NameRef {
                                    parts: name
                                        .0
                                        .iter()
                                        .map(|p| p.to_string().trim_matches('`').to_string())
                                        .collect(),
                                    offset: start,
                                    len: end.saturating_sub(start),
                                });
                            }
                            TableFactor::Derived { subquery, .. } => {
                                query_tables(subquery, text, out)
                            }
                            _ => {}
                        }
                    }
                }
            }
            SetExpr::Query(q) => query_tables(q, text, out),
            SetExpr::SetOperation { left, right, .. } => {
                set_tables(left, text, out);
                set_tables(right, text, out);
            }
            _ => {}
        }
    }
    set_tables(&q.body, text, out);
}

/// The top-level output column names of a SELECT (aliases or bare column names), in order;
/// `None` for items whose name ClickHouse derives itself (e.g. `count()` without AS).
pub fn select_output_names(text: &str) -> Vec<Option<String>> {
    use sqlparser::ast::{SelectItem, SetExpr};
    let dialect = ClickHouseDialect {};
    let Ok(statements) = Parser::parse_sql(&dialect, text) else {
        return Vec::new();
    };
    let Some(Statement::Query(q)) = statements.first() else {
        return Vec::new();
    };
    let SetExpr::Select(select) = q.body.as_ref() else {
        return Vec::new();
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(Expr::Identifier(id)) => Some(id.value.clone()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(ids)) => {
                ids.last().map(|i| i.value.clone())
            }
            _ => None,
        })
        .collect()
}

/// sqlparser errors end with "at Line: L, Column: C"; turn that into an offset.
fn error_offset(text: &str, message: &str) -> usize {
    let grab = |key: &str| -> Option<u64> {
        let at = message.rfind(key)? + key.len();
        message[at..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    match (grab("Line:"), grab("Column:")) {
        (Some(l), Some(c)) => char_offset(text, l, c),
        _ => 0,
    }
}

fn clean_message(message: &str) -> String {
    let m = message.trim_start_matches("sql parser error: ");
    match m.find(" at Line:") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_names() {
        let text = "toYYYYMM(timestamp) + arrayMap(x -> x + 1, item.price)";
        let e = parse(text, false).unwrap();
        let n = names(&e, text);
        let got: Vec<(String, usize)> = n.iter().map(|n| (n.parts.join("."), n.offset)).collect();
        assert_eq!(
            got,
            vec![("timestamp".into(), 9), ("item.price".into(), 43)]
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("toDate(", false).is_err());
        assert!(parse("a b c", false).is_err());
        assert!(parse("timestamp + INTERVAL 1 YEAR DELETE", true).is_ok());
    }

    #[test]
    fn finds_tables() {
        let t = select_tables("SELECT a FROM events e JOIN shop.items USING (x)").unwrap();
        assert_eq!(t[0].parts, vec!["events"]);
        assert_eq!(t[0].offset, 14);
        assert_eq!(t[1].parts, vec!["shop", "items"]);
    }
}
