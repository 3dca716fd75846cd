//! Diagnostics for user input (schema YAML, event files): each one has a stable code, a
//! position, a message and a hint, and they are collected so that all problems are reported at
//! once. Rendered by miette (graphical) or as plain `file:line:column` lines.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

/// A named input text that diagnostics point into.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: Arc<str>,
    named: NamedSource<Arc<str>>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text = text.into();
        Source {
            named: NamedSource::new(name.clone(), Arc::clone(&text)),
            name,
            text,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// Byte offset of a 1-based line and character column.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                return offset
                    + l.char_indices()
                        .nth(column.saturating_sub(1))
                        .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
            }
            offset += l.len();
        }
        self.text.len()
    }
}

/// Where in a source a problem is: a byte range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub fn new(offset: usize, len: usize) -> Self {
        Span { offset, len }
    }
}

/// One problem.
#[derive(Clone, Debug)]
pub struct Diag {
    /// Stable code, e.g. `chx::schema::unknown_column`.
    pub code: &'static str,
    pub message: String,
    pub span: Option<Span>,
    pub label: Option<String>,
    pub help: Option<String>,
    source: Option<Box<Source>>,
}

impl Diag {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diag {
            code,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            source: None,
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column` of this problem, when it has a position.
    pub fn location(&self) -> Option<String> {
        let src = self.source.as_ref()?;
        let span = self.span?;
        let (line, col) = src.line_col(span.offset);
        Some(format!("{}:{line}:{col}", src.name))
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location() {
            write!(f, "{loc}: ")?;
        } else if let Some(src) = &self.source {
            write!(f, "{}: ", src.name)?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| &s.named as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        let label = LabeledSpan::new(self.label.clone(), span.offset, span.len.max(1));
        Some(Box::new(std::iter::once(label)))
    }
}

/// All the problems found in one input; an error when not empty.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    source: Option<Box<Source>>,
    items: Vec<Diag>,
}

impl Diagnostics {
    pub fn new(source: Option<Source>) -> Self {
        Diagnostics {
            source: source.map(Box::new),
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, mut diag: Diag) {
        if diag.source.is_none() {
            diag.source = self.source.clone();
        }
        self.items.push(diag);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for d in other.items {
            self.push(d);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diag> {
        self.items.iter()
    }

    /// Turn into a result: `Ok(value)` when there is no problem, else the problems sorted.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.items.is_empty() {
            Ok(value)
        } else {
            Err(self.sorted())
        }
    }

    /// Problems by position, so output reads top to bottom.
    pub fn sorted(mut self) -> Diagnostics {
        self.items
            .sort_by_key(|d| d.span.map_or(usize::MAX, |s| s.offset));
        self
    }

    /// Render every problem with miette's graphical handler; without colour for snapshots and
    /// pipes.
    pub fn render(&self, colour: bool) -> String {
        let theme = if colour {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        let mut out = String::new();
        for d in &self.items {
            let _ = handler.render_report(&mut out, d);
        }
        out
    }

    /// One plain line per problem, `file:line:column: message [code]` plus its help.
    pub fn render_plain(&self) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&format!("{d} [{}]\n", d.code));
            if let Some(h) = &d.help {
                out.push_str(&format!("  help: {h}\n"));
            }
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.items.len();
        let what = self.source.as_ref().map_or("input", |s| s.name.as_str());
        write!(f, "{n} problem{} in {what}", if n == 1 { "" } else { "s" })?;
        for d in &self.items {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("chx::diagnostics"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.items.iter().map(|d| d as &dyn Diagnostic)))
    }
}
