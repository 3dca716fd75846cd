//! The crate's error type: one enum, `#[non_exhaustive]`, every variant with a stable code and
//! a hint saying what to do.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

use crate::diag::Diagnostics;

#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum Error {
    #[error("embedded ClickHouse engine not found (searched: {})", searched.join("; "))]
    #[diagnostic(
        code(chx::engine::not_found),
        help("{}", crate::engine::locate::INSTALL_HINT)
    )]
    EngineNotFound { searched: Vec<String> },

    #[error("could not load the embedded engine from {}: {message}", path.display())]
    #[diagnostic(
        code(chx::engine::load),
        help("{}", crate::engine::locate::INSTALL_HINT)
    )]
    EngineLoad { path: PathBuf, message: String },

    #[error("the embedded store {} is in use by another process", path.display())]
    #[diagnostic(
        code(chx::engine::store_in_use),
        help(
            "only one process can open an embedded store at a time: stop the other chx command, or pass --store DIR (or --url for a server)"
        )
    )]
    StoreInUse { path: PathBuf },

    #[error("this process already opened the embedded store {}; it cannot also open {}", open.display(), requested.display())]
    #[diagnostic(
        code(chx::engine::one_store_per_process),
        help(
            "the embedded engine holds one storage path per process: use one store and separate databases"
        )
    )]
    StorePathConflict { open: PathBuf, requested: PathBuf },

    #[error("{0}")]
    #[diagnostic(code(chx::engine::server))]
    Server(Box<ServerError>),

    #[error("HTTP error talking to ClickHouse: {message}")]
    #[diagnostic(
        code(chx::engine::http),
        help("check --url / CLICKHOUSE_URL and that the server is running")
    )]
    Http { message: String },

    #[error("{message}")]
    #[diagnostic(code(chx::engine::other))]
    Engine { message: String },

    #[error("Docker is not available: {message}")]
    #[diagnostic(
        code(chx::engine::docker),
        help(
            "CHX_TEST_ENGINE=docker needs a running Docker engine; unset it to test on the embedded engine"
        )
    )]
    Docker { message: String },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(chx::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Diagnostics(#[from] Diagnostics),

    #[error("{message}")]
    #[diagnostic(code(chx::usage))]
    Usage { message: String },

    #[error("{message}")]
    #[diagnostic(code(chx::report), help("{help}"))]
    Report { message: String, help: String },
}

/// An error ClickHouse returned for a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    /// ClickHouse's numeric code (`Code: 62`).
    pub code: Option<u32>,
    /// ClickHouse's error name, e.g. `UNKNOWN_TABLE`.
    pub name: Option<String>,
    pub message: String,
    /// The statement that failed.
    pub sql: String,
    /// Its index, when it ran as part of a sequence.
    pub statement: Option<usize>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClickHouse error")?;
        if let Some(c) = self.code {
            write!(f, " {c}")?;
        }
        if let Some(i) = self.statement {
            write!(f, " in statement {}", i + 1)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Error {
    /// Build a server error from ClickHouse's message text, pulling out `Code: N` and the
    /// `(ERROR_NAME)` suffix when present.
    pub fn from_server(message: impl Into<String>, sql: &str) -> Error {
        let message: String = message.into();
        let code = message.find("Code: ").and_then(|at| {
            let rest = &message[at + 6..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        let name = message.rfind('(').and_then(|open| {
            let inner = message[open + 1..].split(')').next()?;
            (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                .then(|| inner.to_string())
        });
        let mut text = message.trim().trim_start_matches("[chdb]").trim();
        if let Some(at) = text.find("DB::Exception: ") {
            text = &text[at + "DB::Exception: ".len()..];
        }
        Error::Server(Box::new(ServerError {
            code,
            name,
            message: text.trim().to_string(),
            sql: sql.to_string(),
            statement: None,
        }))
    }

    /// Record which statement of a sequence failed.
    pub fn at_statement(self, index: usize) -> Error {
        match self {
            Error::Server(mut e) => {
                e.statement = Some(index);
                Error::Server(e)
            }
            other => other,
        }
    }

    /// ClickHouse's error name (e.g. `UNKNOWN_TABLE`) for server errors.
    pub fn server_error_name(&self) -> Option<&str> {
        match self {
            Error::Server(e) => e.name.as_deref(),
            _ => None,
        }
    }
}
