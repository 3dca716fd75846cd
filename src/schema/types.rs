//! ClickHouse column types as data: parsed from schema text, printed back canonically.
//!
//! A type enum (not strings) lets validation ask real questions: is it Nullable, is it
//! orderable, what does an `Array(Tuple(...))` hold, does an MV source type match its target.

use std::fmt;

use crate::sql::quote;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChType {
    Int(u16),
    UInt(u16),
    Float32,
    Float64,
    /// `Decimal(P, S)`; the `Decimal32/64/128/256(S)` spellings parse to this.
    Decimal {
        precision: u8,
        scale: u8,
    },
    String,
    FixedString(u32),
    Uuid,
    Date,
    Date32,
    DateTime {
        tz: Option<String>,
    },
    DateTime64 {
        precision: u8,
        tz: Option<String>,
    },
    Bool,
    Enum8(Vec<(String, i16)>),
    Enum16(Vec<(String, i16)>),
    IPv4,
    IPv6,
    LowCardinality(Box<ChType>),
    Nullable(Box<ChType>),
    Array(Box<ChType>),
    Map(Box<ChType>, Box<ChType>),
    /// Named or unnamed elements (`Tuple(a String, b UInt8)` or `Tuple(String, UInt8)`).
    Tuple(Vec<(Option<String>, ChType)>),
    Nested(Vec<(String, ChType)>),
    /// `AggregateFunction(name, args...)` for rollup state columns.
    AggregateFunction {
        function: String,
        args: Vec<ChType>,
    },
    /// `SimpleAggregateFunction(name, T)`.
    SimpleAggregateFunction {
        function: String,
        arg: Box<ChType>,
    },
}

/// A type parse failure with the byte offset inside the type text where it went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeError {
    pub offset: usize,
    pub message: String,
}

impl ChType {
    pub fn parse(text: &str) -> Result<ChType, TypeError> {
        let mut p = Parser { s: text, pos: 0 };
        let t = p.ty()?;
        p.ws();
        if p.pos != text.len() {
            return Err(p.err(format!("unexpected `{}` after the type", &text[p.pos..])));
        }
        Ok(t)
    }

    /// The type without `LowCardinality`/`Nullable` wrappers.
    pub fn base(&self) -> &ChType {
        match self {
            ChType::LowCardinality(t) | ChType::Nullable(t) => t.base(),
            t => t,
        }
    }

    pub fn is_nullable(&self) -> bool {
        match self {
            ChType::Nullable(_) => true,
            ChType::LowCardinality(t) => t.is_nullable(),
            _ => false,
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(self.base(), ChType::Int(_) | ChType::UInt(_))
    }

    pub fn is_stringlike(&self) -> bool {
        matches!(self.base(), ChType::String | ChType::FixedString(_))
    }

    pub fn is_datetime(&self) -> bool {
        matches!(
            self.base(),
            ChType::DateTime { .. } | ChType::DateTime64 { .. } | ChType::Date | ChType::Date32
        )
    }

    /// Element type of an `Array`.
    pub fn array_element(&self) -> Option<&ChType> {
        match self.base() {
            ChType::Array(t) => Some(t),
            _ => None,
        }
    }

    /// Named field of a `Tuple`.
    pub fn tuple_field(&self, name: &str) -> Option<&ChType> {
        match self.base() {
            ChType::Tuple(fields) => fields
                .iter()
                .find(|(n, _)| n.as_deref() == Some(name))
                .map(|(_, t)| t),
            _ => None,
        }
    }

    /// Whether a value of `self` can be stored in a column of `target` without conversion
    /// ClickHouse would do lossily: equal up to `LowCardinality`, or wider `Nullable`.
    pub fn fits_into(&self, target: &ChType) -> bool {
        let strip_lc = |t: &ChType| -> ChType {
            match t {
                ChType::LowCardinality(inner) => (**inner).clone(),
                other => other.clone(),
            }
        };
        let (a, b) = (strip_lc(self), strip_lc(target));
        if a == b {
            return true;
        }
        match (&a, &b) {
            (_, ChType::Nullable(inner)) => a.fits_into(inner),
            (ChType::Array(x), ChType::Array(y)) => x.fits_into(y),
            _ => false,
        }
    }
}

impl fmt::Display for ChType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list =
            |f: &mut fmt::Formatter<'_>, items: Vec<String>| write!(f, "{}", items.join(", "));
        match self {
            ChType::Int(b) => write!(f, "Int{b}"),
            ChType::UInt(b) => write!(f, "UInt{b}"),
            ChType::Float32 => f.write_str("Float32"),
            ChType::Float64 => f.write_str("Float64"),
            ChType::Decimal { precision, scale } => write!(f, "Decimal({precision}, {scale})"),
            ChType::String => f.write_str("String"),
            ChType::FixedString(n) => write!(f, "FixedString({n})"),
            ChType::Uuid => f.write_str("UUID"),
            ChType::Date => f.write_str("Date"),
            ChType::Date32 => f.write_str("Date32"),
            ChType::DateTime { tz: None } => f.write_str("DateTime"),
            ChType::DateTime { tz: Some(tz) } => {
                write!(f, "DateTime({})", quote::string_literal(tz))
            }
            ChType::DateTime64 {
                precision,
                tz: None,
            } => write!(f, "DateTime64({precision})"),
            ChType::DateTime64 {
                precision,
                tz: Some(tz),
            } => {
                write!(f, "DateTime64({precision}, {})", quote::string_literal(tz))
            }
            ChType::Bool => f.write_str("Bool"),
            ChType::Enum8(v) | ChType::Enum16(v) => {
                f.write_str(if matches!(self, ChType::Enum8(_)) {
                    "Enum8("
                } else {
                    "Enum16("
                })?;
                list(
                    f,
                    v.iter()
                        .map(|(n, i)| format!("{} = {i}", quote::string_literal(n)))
                        .collect(),
                )?;
                f.write_str(")")
            }
            ChType::IPv4 => f.write_str("IPv4"),
            ChType::IPv6 => f.write_str("IPv6"),
            ChType::LowCardinality(t) => write!(f, "LowCardinality({t})"),
            ChType::Nullable(t) => write!(f, "Nullable({t})"),
            ChType::Array(t) => write!(f, "Array({t})"),
            ChType::Map(k, v) => write!(f, "Map({k}, {v})"),
            ChType::Tuple(items) => {
                f.write_str("Tuple(")?;
                list(
                    f,
                    items
                        .iter()
                        .map(|(n, t)| match n {
                            Some(n) => format!("{} {t}", quote::ident(n)),
                            None => t.to_string(),
                        })
                        .collect(),
                )?;
                f.write_str(")")
            }
            ChType::Nested(items) => {
                f.write_str("Nested(")?;
                list(
                    f,
                    items
                        .iter()
                        .map(|(n, t)| format!("{} {t}", quote::ident(n)))
                        .collect(),
                )?;
                f.write_str(")")
            }
            ChType::AggregateFunction { function, args } => {
                write!(f, "AggregateFunction({function}")?;
                for a in args {
                    write!(f, ", {a}")?;
                }
                f.write_str(")")
            }
            ChType::SimpleAggregateFunction { function, arg } => {
                write!(f, "SimpleAggregateFunction({function}, {arg})")
            }
        }
    }
}

/// Types travel as their ClickHouse text (state files, JSON output).
impl serde::Serialize for ChType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for ChType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ChType::parse(&text)
            .map_err(|e| serde::de::Error::custom(format!("type `{text}`: {}", e.message)))
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> TypeError {
        TypeError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn ws(&mut self) {
        while self.s[self.pos..].starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.s[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), TypeError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{c}`")))
        }
    }

    fn word(&mut self) -> Option<&str> {
        self.ws();
        let rest = &self.s[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(&rest[..len])
    }

    fn number(&mut self) -> Result<i64, TypeError> {
        self.ws();
        let rest = &self.s[self.pos..];
        let len = rest
            .char_indices()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
            .count();
        let n = rest[..len]
            .parse()
            .map_err(|_| self.err("expected a number"))?;
        self.pos += len;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, TypeError> {
        self.ws();
        if !self.s[self.pos..].starts_with('\'') {
            return Err(self.err("expected a quoted string"));
        }
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.err("unterminated string"))
    }

    fn small(&mut self, what: &str, max: i64) -> Result<i64, TypeError> {
        let at = self.pos;
        let n = self.number()?;
        if !(0..=max).contains(&n) {
            self.pos = at;
            return Err(self.err(format!("{what} must be between 0 and {max}, got {n}")));
        }
        Ok(n)
    }

    fn ty(&mut self) -> Result<ChType, TypeError> {
        let start = self.pos;
        let Some(name) = self.word() else {
            return Err(self.err("expected a type name"));
        };
        let name = name.to_string();
        let unknown = |p: &Parser| TypeError {
            offset: start,
            message: format!("unknown type `{name}`", name = &p.s[start..p.pos].trim()),
        };
        Ok(match name.as_str() {
            "Int8" | "Int16" | "Int32" | "Int64" | "Int128" | "Int256" => {
                ChType::Int(name[3..].parse().unwrap_or(64))
            }
            "UInt8" | "UInt16" | "UInt32" | "UInt64" | "UInt128" | "UInt256" => {
                ChType::UInt(name[4..].parse().unwrap_or(64))
            }
            "Float32" => ChType::Float32,
            "Float64" => ChType::Float64,
            "String" => ChType::String,
            "UUID" => ChType::Uuid,
            "Date" => ChType::Date,
            "Date32" => ChType::Date32,
            "Bool" | "Boolean" => ChType::Bool,
            "IPv4" => ChType::IPv4,
            "IPv6" => ChType::IPv6,
            "FixedString" => {
                self.expect('(')?;
                let n = self.small("FixedString length", 1 << 20)?;
                self.expect(')')?;
                ChType::FixedString(n as u32)
            }
            "Decimal" => {
                self.expect('(')?;
                let precision = self.small("Decimal precision", 76)? as u8;
                let scale = if self.eat(',') {
                    self.small("Decimal scale", precision as i64)? as u8
                } else {
                    0
                };
                self.expect(')')?;
                ChType::Decimal { precision, scale }
            }
            "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
                let precision = match name.as_str() {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    "Decimal128" => 38,
                    _ => 76,
                };
                self.expect('(')?;
                let scale = self.small("Decimal scale", precision)? as u8;
                self.expect(')')?;
                ChType::Decimal {
                    precision: precision as u8,
                    scale,
                }
            }
            "DateTime" => {
                let tz = if self.eat('(') {
                    let tz = self.string()?;
                    self.expect(')')?;
                    Some(tz)
                } else {
                    None
                };
                ChType::DateTime { tz }
            }
            "DateTime64" => {
                self.expect('(')?;
                let precision = self.small("DateTime64 precision", 9)? as u8;
                let tz = if self.eat(',') {
                    Some(self.string()?)
                } else {
                    None
                };
                self.expect(')')?;
                ChType::DateTime64 { precision, tz }
            }
            "Enum8" | "Enum16" => {
                self.expect('(')?;
                let mut values = Vec::new();
                loop {
                    let label = self.string()?;
                    self.expect('=')?;
                    let v = self.number()?;
                    let (lo, hi) = if name == "Enum8" {
                        (-128, 127)
                    } else {
                        (-32768, 32767)
                    };
                    if !(lo..=hi).contains(&v) {
                        return Err(
                            self.err(format!("{name} value {v} is out of range {lo}..{hi}"))
                        );
                    }
                    values.push((label, v as i16));
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(')')?;
                if name == "Enum8" {
                    ChType::Enum8(values)
                } else {
                    ChType::Enum16(values)
                }
            }
            "LowCardinality" | "Nullable" | "Array" => {
                self.expect('(')?;
                let inner = Box::new(self.ty()?);
                self.expect(')')?;
                match name.as_str() {
                    "LowCardinality" => ChType::LowCardinality(inner),
                    "Nullable" => {
                        if matches!(
                            *inner,
                            ChType::Array(_)
                                | ChType::Map(..)
                                | ChType::Tuple(_)
                                | ChType::Nullable(_)
                                | ChType::LowCardinality(_)
                        ) {
                            return Err(TypeError {
                                offset: start,
                                message: format!("Nullable cannot wrap {inner}"),
                            });
                        }
                        ChType::Nullable(inner)
                    }
                    _ => ChType::Array(inner),
                }
            }
            "Map" => {
                self.expect('(')?;
                let k = self.ty()?;
                self.expect(',')?;
                let v = self.ty()?;
                self.expect(')')?;
                ChType::Map(Box::new(k), Box::new(v))
            }
            "Tuple" => {
                self.expect('(')?;
                let mut items = Vec::new();
                loop {
                    items.push(self.maybe_named()?);
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(')')?;
                ChType::Tuple(items)
            }
            "Nested" => {
                self.expect('(')?;
                let mut items = Vec::new();
                loop {
                    let at = self.pos;
                    match self.maybe_named()? {
                        (Some(n), t) => items.push((n, t)),
                        (None, _) => {
                            self.pos = at;
                            return Err(
                                self.err("Nested fields need names: `Nested(name Type, ...)`")
                            );
                        }
                    }
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(')')?;
                ChType::Nested(items)
            }
            "AggregateFunction" | "SimpleAggregateFunction" => {
                self.expect('(')?;
                let Some(function) = self.word().map(str::to_string) else {
                    return Err(self.err("expected an aggregate function name"));
                };
                let mut args = Vec::new();
                while self.eat(',') {
                    args.push(self.ty()?);
                }
                self.expect(')')?;
                if name == "AggregateFunction" {
                    ChType::AggregateFunction { function, args }
                } else {
                    let arg = args.into_iter().next().ok_or_else(|| {
                        self.err("SimpleAggregateFunction needs an argument type")
                    })?;
                    ChType::SimpleAggregateFunction {
                        function,
                        arg: Box::new(arg),
                    }
                }
            }
            _ => return Err(unknown(self)),
        })
    }

    /// `name Type` or just `Type` inside Tuple/Nested.
    fn maybe_named(&mut self) -> Result<(Option<String>, ChType), TypeError> {
        let at = self.pos;
        if let Some(first) = self.word().map(str::to_string) {
            self.ws();
            let next = self.s[self.pos..].chars().next();
            if matches!(next, Some(c) if c.is_ascii_alphabetic()) {
                return Ok((Some(first), self.ty()?));
            }
        }
        self.pos = at;
        Ok((None, self.ty()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in [
            "UInt64",
            "Decimal(18, 2)",
            "DateTime64(3, 'UTC')",
            "LowCardinality(Nullable(String))",
            "Array(Tuple(item_id String, price Int64, quantity UInt32))",
            "Map(LowCardinality(String), String)",
            "Enum8('a' = 1, 'b' = -2)",
            "Nested(a String, b Array(UInt8))",
            "AggregateFunction(uniq, String)",
            "SimpleAggregateFunction(sum, Int64)",
            "Tuple(String, UInt8)",
            "FixedString(3)",
            "DateTime('Europe/Berlin')",
        ] {
            let parsed = ChType::parse(t).unwrap_or_else(|e| panic!("{t}: {e:?}"));
            assert_eq!(parsed.to_string(), t);
            assert_eq!(ChType::parse(&parsed.to_string()).unwrap(), parsed);
        }
        assert_eq!(
            ChType::parse("Decimal64(4)").unwrap().to_string(),
            "Decimal(18, 4)"
        );
    }

    #[test]
    fn errors_point_inside() {
        let e = ChType::parse("Array(Strng)").unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (6, "unknown type `Strng`"));
        assert!(ChType::parse("Nullable(Array(String))").is_err());
        assert!(ChType::parse("Decimal(10, 12)").is_err());
        assert!(ChType::parse("String)").is_err());
    }

    #[test]
    fn fits() {
        let p = |s| ChType::parse(s).unwrap();
        assert!(p("String").fits_into(&p("LowCardinality(String)")));
        assert!(p("String").fits_into(&p("Nullable(String)")));
        assert!(!p("Int64").fits_into(&p("UInt32")));
    }
}
