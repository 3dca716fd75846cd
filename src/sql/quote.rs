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

/// Keywords that would confuse ClickHouse's parser as a bare column name.
const RESERVED: [&str; 41] = [
    "all", "and", "as", "asc", "between", "by", "case", "cast", "desc", "distinct", "else", "end",
    "from", "global", "group", "having", "in", "index", "interval", "is", "join", "key", "like",
    "limit", "not", "null", "on", "or", "order", "prewhere", "primary", "select", "settings",
    "table", "then", "to", "ttl", "union", "when", "where", "with",
];

/// True for names that need no quoting and are not ClickHouse keywords that would confuse the
/// parser in column position.
pub fn is_plain_ident(name: &str) -> bool {
    // The printer asks this for every name it prints (about 250 per funnel), so the character
    // test is one table lookup per byte.
    const WORD: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || c == b'_';
            b += 1;
        }
        t
    };
    let bytes = name.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return false,
    }
    if !bytes.iter().all(|b| WORD[*b as usize]) {
        return false;
    }
    // Per length, the initials keywords of that length have: most names fail this at once and
    // skip packing and the search.
    const INITIALS: [u32; 9] = {
        let mut t = [0u32; 9];
        let mut i = 0;
        while i < RESERVED.len() {
            let w = RESERVED[i].as_bytes();
            t[w.len()] |= 1 << (w[0] - b'a');
            i += 1;
        }
        t
    };
    let initial = (bytes[0] | 0x20).wrapping_sub(b'a');
    if bytes.len() > 8 || initial >= 26 || INITIALS[bytes.len()] & (1 << initial) == 0 {
        return true;
    }
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    !is_reserved(u64::from_le_bytes(buf), bytes.len())
}

/// `packed`: the name's bytes (1 to 8 of them, `len`) as a little-endian integer.
fn is_reserved(packed: u64, len: usize) -> bool {
    // Each keyword packed into a u64 (none is longer than 8 bytes: the build fails otherwise),
    // sorted, so a name is one integer and a binary search instead of 41 string comparisons.
    const PACKED: [u64; 41] = {
        let mut packed = [0; 41];
        let mut i = 0;
        while i < RESERVED.len() {
            let w = RESERVED[i].as_bytes();
            assert!(w.len() <= 8, "a reserved word is longer than 8 bytes");
            let mut p = 0u64;
            let mut j = 0;
            while j < w.len() {
                p |= (w[j] as u64) << (8 * j);
                j += 1;
            }
            packed[i] = p;
            i += 1;
        }
        // Insertion sort: a const context has no `sort`.
        let mut i = 1;
        while i < packed.len() {
            let mut j = i;
            while j > 0 && packed[j - 1] > packed[j] {
                let t = packed[j];
                packed[j] = packed[j - 1];
                packed[j - 1] = t;
                j -= 1;
            }
            i += 1;
        }
        packed
    };
    // Lower-case by setting bit 5 of each byte of the name (not of the zero padding): letters
    // fold to lower case; digits keep it; `_` becomes 0x7F, which no keyword holds. Plain names
    // hold no NUL byte, so the padding cannot make two names equal.
    let case = u64::MAX >> (8 * (8 - len));
    let packed = packed | (0x2020_2020_2020_2020 & case);
    PACKED.binary_search(&packed).is_ok()
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
    // The usual literal (an event name, a date) needs no escape: one copy.
    if !value.bytes().any(|b| b < 0x20 || b == b'\\' || b == b'\'') {
        out.push_str(value);
        out.push('\'');
        return;
    }
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
    fn every_keyword_in_any_case_and_nothing_else_is_reserved() {
        for k in [
            "all", "and", "as", "asc", "between", "by", "case", "cast", "desc", "distinct", "else",
            "end", "from", "global", "group", "having", "in", "index", "interval", "is", "join",
            "key", "like", "limit", "not", "null", "on", "or", "order", "prewhere", "primary",
            "select", "settings", "table", "then", "to", "ttl", "union", "when", "where", "with",
        ] {
            assert!(!is_plain_ident(k), "{k}");
            assert!(!is_plain_ident(&k.to_uppercase()), "{k}");
            for near in [
                format!("{k}_"),
                format!("_{k}"),
                format!("{k}1"),
                k[1..].to_string(),
            ] {
                assert!(is_plain_ident(&near), "{near}");
            }
        }
        for plain in [
            "a",
            "_",
            "A_1",
            "ordered",
            "fromage",
            "settings_",
            "wherex",
            "o_r",
        ] {
            assert!(is_plain_ident(plain), "{plain}");
        }
        for quoted in ["", "1", "a-b", "é", "a b"] {
            assert!(!is_plain_ident(quoted), "{quoted}");
        }
    }

    #[test]
    fn literals() {
        assert_eq!(string_literal("it's"), "'it\\'s'");
        assert_eq!(string_literal("a\\b\nc"), "'a\\\\b\\nc'");
        assert_eq!(escaped_text("a\tb\\"), "a\\tb\\\\");
    }
}
