//! Typed query parameters: the values that travel beside SQL text, never inside it.

use std::fmt;

use serde::Serialize;

use super::quote;

/// A value for a `{name:Type}` placeholder.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ParamValue {
    String(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Array(Vec<ParamValue>),
    /// A value already in ClickHouse's parameter text form, passed through untouched (for
    /// proxies that received it as `param_<name>=...`).
    Raw(String),
}

impl ParamValue {
    /// The text ClickHouse parses for a `param_<name>` setting ("Escaped" format for scalars,
    /// "Quoted" format for the elements of arrays). Both engines receive exactly this text.
    pub fn to_param_text(&self) -> String {
        match self {
            ParamValue::String(s) => quote::escaped_text(s),
            ParamValue::Raw(s) => s.clone(),
            other => other.quoted(),
        }
    }

    fn quoted(&self) -> String {
        match self {
            ParamValue::String(s) => quote::string_literal(s),
            ParamValue::Int(v) => v.to_string(),
            ParamValue::UInt(v) => v.to_string(),
            ParamValue::Float(v) => format!("{v:?}"),
            ParamValue::Bool(v) => v.to_string(),
            ParamValue::Raw(s) => s.clone(),
            ParamValue::Array(items) => {
                let inner: Vec<String> = items.iter().map(ParamValue::quoted).collect();
                format!("[{}]", inner.join(","))
            }
        }
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::String(v.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::String(v)
    }
}
impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}
impl From<u64> for ParamValue {
    fn from(v: u64) -> Self {
        ParamValue::UInt(v)
    }
}
impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}

/// One named, typed parameter: rendered in SQL as `{name:Type}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    pub name: String,
    /// ClickHouse type text, e.g. `String`, `DateTime64(3, 'UTC')`, `Array(String)`.
    pub ch_type: String,
    pub value: ParamValue,
}

impl Param {
    pub fn new(
        name: impl Into<String>,
        ch_type: impl Into<String>,
        value: impl Into<ParamValue>,
    ) -> Self {
        Param {
            name: name.into(),
            ch_type: ch_type.into(),
            value: value.into(),
        }
    }

    /// The placeholder to write into SQL text.
    pub fn placeholder(&self) -> String {
        format!("{{{}:{}}}", self.name, self.ch_type)
    }
}

/// A statement ready to run: SQL text plus the parameters its placeholders name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Self {
        Statement {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// Chaining form: `Statement::new("SELECT {u:String}").param("u", "String", "x")`.
    pub fn param(mut self, name: &str, ch_type: &str, value: impl Into<ParamValue>) -> Self {
        self.params.push(Param::new(name, ch_type, value));
        self
    }
}

impl From<&str> for Statement {
    fn from(sql: &str) -> Self {
        Statement::new(sql)
    }
}
impl From<String> for Statement {
    fn from(sql: String) -> Self {
        Statement::new(sql)
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_text_forms() {
        assert_eq!(ParamValue::from("a\tb").to_param_text(), "a\\tb");
        assert_eq!(
            ParamValue::Array(vec!["x'y".into(), "z".into()]).to_param_text(),
            "['x\\'y','z']"
        );
        assert_eq!(ParamValue::Int(-3).to_param_text(), "-3");
        assert_eq!(
            Param::new("uid", "String", "u").placeholder(),
            "{uid:String}"
        );
    }
}
