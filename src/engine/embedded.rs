//! The embedded engine: ClickHouse from the `chdb-core` wheel, in-process through ADBC.
//!
//! Facts this module is built around (see ENGINE-NOTES): one storage path per process, one
//! process per path, one statement per call, parameters set per connection with
//! `SET param_<name> = '<text>'`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use adbc_core::options::{AdbcVersion, OptionDatabase};
use adbc_core::{Connection, Database, Driver, Optionable, Statement as _};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase, ManagedDriver};

use super::{Backend, Rows, arrow};
use crate::error::Error;
use crate::sql::{Statement, quote};

/// The process-wide engine: loaded once, bound to one storage path.
struct Shared {
    store: PathBuf,
    database: ManagedDatabase,
    _driver: ManagedDriver,
    _libpython: Option<libloading::Library>,
}

static SHARED: Mutex<Option<Arc<Shared>>> = Mutex::new(None);

fn shared_for(store: &Path) -> Result<Arc<Shared>, Error> {
    std::fs::create_dir_all(store).map_err(|source| Error::Io {
        path: store.to_path_buf(),
        source,
    })?;
    let store = store.canonicalize().map_err(|source| Error::Io {
        path: store.to_path_buf(),
        source,
    })?;
    let mut guard = lock(&SHARED);
    if guard.is_none() {
        ensure_not_held_elsewhere(&store)?;
    }
    if let Some(shared) = guard.as_ref() {
        if shared.store != store {
            return Err(Error::StorePathConflict {
                open: shared.store.clone(),
                requested: store,
            });
        }
        return Ok(shared.clone());
    }
    let paths = super::locate::locate()?;
    let libpython = match &paths.libpython {
        // SAFETY: loading libpython runs no Python code; RTLD_GLOBAL only makes its symbols
        // visible to the driver loaded next.
        Some(lib) => Some(unsafe {
            libloading::os::unix::Library::open(
                Some(lib),
                libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL,
            )
            .map_err(|e| Error::EngineLoad {
                path: lib.clone(),
                message: e.to_string(),
            })?
            .into()
        }),
        None => None,
    };
    let mut driver = ManagedDriver::load_dynamic_from_filename(
        &paths.driver,
        Some(b"AdbcDriverInit"),
        AdbcVersion::V110,
    )
    .map_err(|e| Error::EngineLoad {
        path: paths.driver.clone(),
        message: e.message,
    })?;
    let uri = store.to_string_lossy().to_string();
    let database = driver
        .new_database_with_opts([(OptionDatabase::Uri, uri.as_str().into())])
        .map_err(|e| open_error(&store, e))?;
    let shared = Arc::new(Shared {
        store,
        database,
        _driver: driver,
        _libpython: libpython,
    });
    *guard = Some(shared.clone());
    Ok(shared)
}

/// ClickHouse holds an exclusive `flock` on `<store>/status` while it runs. Probing it first
/// turns "another process has this store" into a clear error instead of the engine's own
/// noisy failure.
fn ensure_not_held_elsewhere(store: &Path) -> Result<(), Error> {
    let status = store.join("status");
    let Ok(file) = std::fs::File::open(&status) else {
        return Ok(()); // a new store
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(())
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::StoreInUse {
            path: store.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(_)) => Ok(()),
    }
}

fn open_error(store: &Path, e: adbc_core::error::Error) -> Error {
    if e.message.contains("Error initializing EmbeddedServer")
        || e.message.contains("Cannot lock file")
    {
        Error::StoreInUse {
            path: store.to_path_buf(),
        }
    } else {
        Error::EngineLoad {
            path: store.to_path_buf(),
            message: e.message,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One connection to the process's embedded engine, optionally with a default database.
pub struct EmbeddedBackend {
    shared: Arc<Shared>,
    conn: Mutex<ManagedConnection>,
}

impl EmbeddedBackend {
    pub fn open(store: &Path, database: Option<&str>) -> Result<Self, Error> {
        let shared = shared_for(store)?;
        let conn = shared
            .database
            .new_connection()
            .map_err(|e| open_error(&shared.store, e))?;
        let backend = EmbeddedBackend {
            shared,
            conn: Mutex::new(conn),
        };
        if let Some(db) = database {
            backend.run(&Statement::new(format!("USE {}", quote::ident(db))))?;
        }
        Ok(backend)
    }

    /// The folder this process's engine stores its data in.
    pub fn store(&self) -> &Path {
        &self.shared.store
    }
}

fn exec(conn: &mut ManagedConnection, sql: &str) -> Result<(Rows, bool), Error> {
    let mut st = conn
        .new_statement()
        .map_err(|e| Error::from_server(e.message, sql))?;
    st.set_sql_query(sql)
        .map_err(|e| Error::from_server(e.message, sql))?;
    let reader = st
        .execute()
        .map_err(|e| Error::from_server(e.message, sql))?;
    let ambiguous = reader
        .schema()
        .fields()
        .iter()
        .any(|f| arrow::is_ambiguous(f.data_type()));
    let rows = arrow::collect(reader).map_err(|message| Error::Engine { message })?;
    Ok((rows, ambiguous))
}

/// Replace Arrow's lossy renderings with ClickHouse's, using the statement's real column types.
fn refine_types(conn: &mut ManagedConnection, sql: &str, rows: &mut Rows) {
    let Ok((desc, _)) = exec(conn, &format!("DESCRIBE TABLE ({sql})")) else {
        return;
    };
    let Ok((tz, _)) = exec(conn, "SELECT timezone()") else {
        return;
    };
    let tz = tz.single_string().unwrap_or_else(|_| "UTC".into());
    let types: Vec<Option<crate::schema::ChType>> = desc
        .rows
        .iter()
        .map(|r| {
            r.get(1)
                .and_then(|t| t.as_str())
                .and_then(|t| crate::schema::ChType::parse(t).ok())
        })
        .collect();
    if types.len() != rows.columns.len() {
        return;
    }
    for (col, ty) in rows.columns.iter_mut().zip(&types) {
        if let Some(ty) = ty {
            col.ty = ty.to_string();
        }
    }
    for row in &mut rows.rows {
        for (cell, ty) in row.iter_mut().zip(&types) {
            if let Some(ty) = ty {
                *cell = arrow::refine(std::mem::take(cell), ty, &tz);
            }
        }
    }
}

impl Backend for EmbeddedBackend {
    /// ADBC ingest fills every column by position, so the batch lands in a staging table of
    /// its own shape first and moves into the target by column name (defaults fill the rest).
    /// The staging table is in memory and already has the target's column types: measured on
    /// the shop's events, ADBC's own `Create` (a MergeTree of plain Strings) made the ingest
    /// 2.5× and the move 1.6× slower (LowCardinality conversions, compressing twice).
    fn insert_arrow(
        &self,
        database: &str,
        table: &str,
        batch: arrow_array::RecordBatch,
    ) -> Result<(), Error> {
        use adbc_core::options::{IngestMode, OptionStatement};
        static STAGING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let staging = format!(
            "__chx_ingest_{}_{}",
            std::process::id(),
            STAGING.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let target = format!("{}.{}", quote::ident(database), quote::ident(table));
        let staged = format!("{}.{}", quote::ident(database), quote::ident(&staging));
        let types = self.run(
            &Statement::new(
                "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
            )
            .param("db", "String", database)
            .param("t", "String", table),
        )?;
        if types.rows.is_empty() {
            return Err(Error::Engine {
                message: format!(
                    "table {target} does not exist: create it first (chx migrate apply)"
                ),
            });
        }
        let type_of = |name: &str| {
            types
                .rows
                .iter()
                .find(|r| r[0].as_str() == Some(name))
                .and_then(|r| r[1].as_str())
        };
        let mut columns = Vec::new();
        let mut definitions = Vec::new();
        for f in batch.schema().fields() {
            let Some(ty) = type_of(f.name()) else {
                return Err(Error::Engine {
                    message: format!("{target} has no column {:?} to load into", f.name()),
                });
            };
            columns.push(quote::ident(f.name()));
            definitions.push(format!("{} {ty}", quote::ident(f.name())));
        }
        self.run(&Statement::new(format!(
            "CREATE TABLE {staged} ({}) ENGINE = Memory",
            definitions.join(", ")
        )))?;
        let err = |e: adbc_core::error::Error| {
            Error::from_server(e.message, &format!("ADBC ingest into {staged}"))
        };
        let ingested = (|| {
            let mut conn = lock(&self.conn);
            let mut st = conn.new_statement().map_err(err)?;
            st.set_option(OptionStatement::TargetTable, staging.as_str().into())
                .map_err(err)?;
            st.set_option(OptionStatement::TargetDbSchema, database.into())
                .map_err(err)?;
            st.set_option(OptionStatement::IngestMode, IngestMode::Append.into())
                .map_err(err)?;
            st.bind(batch).map_err(err)?;
            st.execute_update().map_err(err)
        })();
        let moved = ingested.and_then(|_| self.run(&Statement::new(format!("INSERT INTO {target} ({cols}) SELECT {cols} FROM {staged} SETTINGS optimize_on_insert = 0, max_insert_threads = 2", cols = columns.join(", ")))));
        let dropped = self.run(&Statement::new(format!(
            "DROP TABLE IF EXISTS {staged} SYNC"
        )));
        moved?;
        dropped?;
        Ok(())
    }

    fn another_connection(&self) -> Result<Option<Arc<dyn Backend>>, Error> {
        let conn = self
            .shared
            .database
            .new_connection()
            .map_err(|e| open_error(&self.shared.store, e))?;
        Ok(Some(Arc::new(EmbeddedBackend {
            shared: self.shared.clone(),
            conn: Mutex::new(conn),
        })))
    }

    fn describe(&self) -> String {
        format!(
            "embedded ClickHouse (chdb) at {}",
            self.shared.store.display()
        )
    }

    fn run(&self, stmt: &Statement) -> Result<Rows, Error> {
        let mut conn = lock(&self.conn);
        for p in &stmt.params {
            if !quote::is_word(&p.name) {
                return Err(Error::Engine {
                    message: format!("invalid parameter name {:?}", p.name),
                });
            }
            let set = format!(
                "SET param_{} = {}",
                p.name,
                quote::string_literal(&p.value.to_param_text())
            );
            exec(&mut conn, &set)?;
        }
        let (mut rows, ambiguous) = exec(&mut conn, &stmt.sql)?;
        if ambiguous && !rows.is_empty() {
            refine_types(
                &mut conn,
                stmt.sql.trim_end_matches([';', ' ', '\n']),
                &mut rows,
            );
        }
        Ok(rows)
    }

    fn insert_json_rows(&self, table: &str, ndjson: &str) -> Result<(), Error> {
        let sql = format!("INSERT INTO {table} FORMAT JSONEachRow\n{ndjson}");
        let mut conn = lock(&self.conn);
        let mut st = conn
            .new_statement()
            .map_err(|e| Error::from_server(e.message, &sql))?;
        st.set_sql_query(&sql)
            .map_err(|e| Error::from_server(e.message, &sql))?;
        st.execute_update().map_err(|e| {
            Error::from_server(
                e.message,
                &format!("INSERT INTO {table} FORMAT JSONEachRow"),
            )
        })?;
        Ok(())
    }
}
