//! The SQL writer every AST node prints through: it appends to one `String` and indents nested
//! queries itself, so rendering costs a copy per token instead of a trip through `core::fmt`
//! per node (measured about 5× faster on the catalogue's reports).

use crate::sql::quote;

/// An output buffer with the indentation of the query being written.
pub(crate) struct SqlWriter {
    out: String,
    /// Nesting depth of the pretty-printed query being written; four spaces per level.
    depth: usize,
    line_start: bool,
    /// Names already found plain in this render, by address and length: a report prints the
    /// same few names (`e`, `timestamp`, a CTE's columns) hundreds of times, and the AST is
    /// borrowed for the whole render, so an address names the same text throughout.
    plain: [(usize, usize); 64],
}

impl SqlWriter {
    pub(crate) fn new() -> SqlWriter {
        SqlWriter {
            // The catalogue's reports print 1-9 KB: one allocation, rarely a second.
            out: String::with_capacity(8192),
            depth: 0,
            line_start: false,
            plain: [(0, 0); 64],
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    fn pad(&mut self) {
        if self.line_start {
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
            self.line_start = false;
        }
    }

    /// Text with no line break in it.
    pub(crate) fn push(&mut self, s: &str) {
        self.pad();
        self.out.push_str(s);
    }

    /// A line break; the next text starts at the current depth.
    pub(crate) fn newline(&mut self) {
        // An empty line keeps its indentation, as text passed through `text` does.
        self.pad();
        self.out.push('\n');
        self.line_start = true;
    }

    /// Text that may hold line breaks (a rendered template, a schema expression).
    pub(crate) fn text(&mut self, s: &str) {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next()
            && !first.is_empty()
        {
            self.push(first);
        }
        for line in lines {
            self.newline();
            if !line.is_empty() {
                self.push(line);
            }
        }
    }

    /// Writes `body` one level deeper: every line it starts is indented four more spaces.
    pub(crate) fn indented(&mut self, body: impl FnOnce(&mut SqlWriter)) {
        self.depth += 1;
        body(self);
        self.depth -= 1;
    }

    /// A name, back-quoted when it must be. `name` must outlive the render (it is part of the
    /// AST being written): `plain` remembers its address.
    pub(crate) fn ident(&mut self, name: &str) {
        self.pad();
        let key = (name.as_ptr() as usize, name.len());
        let slot = &mut self.plain[(key.0 >> 3 ^ key.1) & 63];
        if *slot == key {
            self.out.push_str(name);
        } else if quote::is_plain_ident(name) {
            *slot = key;
            self.out.push_str(name);
        } else {
            quote::push_ident(&mut self.out, name);
        }
    }

    pub(crate) fn string_literal(&mut self, value: &str) {
        self.pad();
        quote::push_string_literal(&mut self.out, value);
    }

    pub(crate) fn int(&mut self, v: i64) {
        self.pad();
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = v.unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            self.out.push('-');
        }
        // Digit by digit: a `from_utf8` check of the buffer cost more than the pushes.
        for d in &digits[i..] {
            self.out.push(char::from(*d));
        }
    }

    /// A float as `{:?}` prints it. chx's constants (100.0, 1000.0, 0.5) are written by hand:
    /// `core::fmt` allocated a string for each.
    pub(crate) fn float(&mut self, v: f64) {
        if v.fract() == 0.0 && v.abs() < 1e15 && !v.is_sign_negative() {
            self.int(v as i64);
            self.push(".0");
            return;
        }
        // Up to six decimals, below 1e9: at most 15 significant digits, so the decimal that
        // converts back to `v` is the shortest one, which is what `{:?}` prints (it switches
        // to exponents below 1e-4).
        if (v == 0.0 || (1e-4..1e9).contains(&v)) && !v.is_sign_negative() {
            let scaled = (v * 1e6).round();
            if scaled / 1e6 == v {
                let n = scaled as i64;
                self.int(n / 1_000_000);
                self.push(".");
                let mut frac = n % 1_000_000;
                if frac == 0 {
                    self.push("0");
                    return;
                }
                let mut digits = 6;
                while frac % 10 == 0 {
                    frac /= 10;
                    digits -= 1;
                }
                let mut buf = [b'0'; 6];
                for d in buf[..digits].iter_mut().rev() {
                    *d = b'0' + (frac % 10) as u8;
                    frac /= 10;
                }
                for d in &buf[..digits] {
                    self.out.push(char::from(*d));
                }
                return;
            }
        }
        self.push(&format!("{v:?}"));
    }

    /// `items` separated by `sep`, each written by `each`.
    pub(crate) fn list<T>(&mut self, items: &[T], sep: &str, mut each: impl FnMut(&mut Self, &T)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(sep);
            }
            each(self, item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_every_time_they_need_it() {
        let names = [
            "e",
            "order",
            "e",
            "my col",
            "order",
            "timestamp",
            "my col",
            "e",
        ];
        let mut w = SqlWriter::new();
        w.list(&names, ".", |w, n| w.ident(n));
        assert_eq!(
            w.finish(),
            "e.`order`.e.`my col`.`order`.timestamp.`my col`.e"
        );
    }

    #[test]
    fn floats_print_as_debug_does() {
        let values = [
            0.0,
            0.5,
            100.0,
            1000.0,
            0.1,
            0.25,
            1.000001,
            123456.789,
            0.0001,
            0.00012,
            0.00001,
            1e-7,
            0.1 + 0.2,
            999999999.5,
            1e9,
            1e15,
            1e16,
            -0.0,
            -1.5,
            2.0 / 3.0,
            f64::NAN,
            f64::INFINITY,
            5e-324,
        ];
        for v in values {
            let mut w = SqlWriter::new();
            w.float(v);
            assert_eq!(w.finish(), format!("{v:?}"), "{v}");
        }
    }

    #[test]
    fn integers_and_indentation() {
        let mut w = SqlWriter::new();
        for v in [0, 7, -42, i64::MIN, i64::MAX] {
            w.int(v);
            w.push(" ");
        }
        w.indented(|w| {
            w.newline();
            w.text("a\n\nb");
        });
        w.newline();
        w.push(")");
        assert_eq!(
            w.finish(),
            "0 7 -42 -9223372036854775808 9223372036854775807 \n    a\n    \n    b\n)"
        );
    }
}
