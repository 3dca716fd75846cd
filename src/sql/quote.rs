//! The one place where text is escaped for ClickHouse.
//!
//! Everything chx emits goes through these functions: identifiers are back-quoted, string
//! literals are single-quoted with backslash escapes, and query-parameter values are written in
//! the "Escaped" text form ClickHouse parses `param_*` settings with. Keeping them together makes
//! the escaping auditable in one screen.

/// Quote an identifier when it is not a plain `[A-Za-z_][A-Za-z0-9_]*` word.
///
/// Plain names stay bare so generated DDL reads like hand-written DDL; anything else is wrapped
/// in back-quotes with back-quotes and backslashes escaped.
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_ident(&mut out, name);
    out
}

/// [`ident`], appended to `out`: the SQL writer calls this for every name it prints, so the
/// usual plain name costs one copy and no allocation.
pub fn push_ident(out: &mut String, name: &str) {
    if is_plain_ident(name) {
        out.push_str(name);
        return;
    }
    out.push('`');
    for c in name.chars() {
        match c {
            '`' => out.push_str("\\`"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('`');
}

/// `[A-Za-z_][A-Za-z0-9_]*`: the shape of parameter and setting names.
pub fn is_word(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for names that need no quoting and are not ClickHouse keywords that would confuse the
/// parser in column position.
pub fn is_plain_ident(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') && !is_reserved(name)
}

fn is_reserved(name: &str) -> bool {
    const RESERVED: [&str; 41] = [
        "all", "and", "as", "asc", "between", "by", "case", "cast", "desc", "distinct", "else",
        "end", "from", "global", "group", "having", "in", "index", "interval", "is", "join", "key",
        "like", "limit", "not", "null", "on", "or", "order", "prewhere", "primary", "select",
        "settings", "table", "then", "to", "ttl", "union", "when", "where", "with",
    ];
    // The printer asks this for every name it prints, so each keyword is packed into a u64
    // (none is longer than 8 bytes: the build fails otherwise) and a name is compared as one
    // integer per keyword instead of a string comparison.
    const PACKED: [u64; 41] = {
        let mut packed = [0; 41];
        let mut i = 0;
        while i < RESERVED.len() {
            packed[i] = match pack(RESERVED[i].as_bytes()) {
                Some(p) => p,
                None => panic!("a reserved word is longer than 8 bytes"),
            };
            i += 1;
        }
        packed
    };
    const fn pack(word: &[u8]) -> Option<u64> {
        if word.len() > 8 {
            return None;
        }
        let mut p = 0u64;
        let mut i = 0;
        while i < word.len() {
            p |= (word[i].to_ascii_lowercase() as u64) << (8 * i);
            i += 1;
        }
        Some(p)
    }
    // Plain names hold no NUL byte, so the zero padding cannot make two names equal.
    pack(name.as_bytes()).is_some_and(|p| PACKED.contains(&p))
}

/// A ClickHouse string literal: `'...'` with `\` and `'` escaped, control characters as
/// backslash escapes, so the literal stays on one line.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_string_literal(&mut out, value);
    out
}

/// [`string_literal`], appended to `out`.
pub fn push_string_literal(out: &mut String, value: &str) {
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// The "Escaped" (TSV) text form ClickHouse expects for a scalar query-parameter value.
pub fn escaped_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(ident("events"), "events");
        assert_eq!(ident("order"), "`order`");
        assert_eq!(ident("my col"), "`my col`");
        assert_eq!(ident("a`b"), "`a\\`b`");
        assert_eq!(ident("1x"), "`1x`");
        assert_eq!(ident("Select"), "`Select`");
        assert_eq!(ident("a\\b"), "`a\\\\b`");
        assert_eq!(ident("selection"), "selection");
    }

    #[test]
    fn literals() {
        assert_eq!(string_literal("it's"), "'it\\'s'");
        assert_eq!(string_literal("a\\b\nc"), "'a\\\\b\\nc'");
        assert_eq!(escaped_text("a\tb\\"), "a\\tb\\\\");
    }
}
