//! Finding the embedded engine: the `chdb-core` wheel's `_chdb.abi3.so` and the libpython whose
//! symbols it needs resolved before it loads.
//!
//! Search order: `CHX_CHDB_DRIVER` (+ optional `CHX_LIBPYTHON`), then the project-local
//! environment `.chx/venv` (in this folder or any parent, and in the crate's own folder), then
//! whatever `python3` on `PATH` can import.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// The pinned engine package; `make engine` installs exactly this.
pub const CHDB_PACKAGE: &str = "chdb-core==26.9.0";
/// The command that fixes a missing engine, quoted in every error about it.
pub const INSTALL_HINT: &str = "run `make engine` in the chx checkout (installs chdb-core==26.9.0 into .chx/venv), \
or set CHX_CHDB_DRIVER=/path/to/site-packages/chdb/_chdb.abi3.so";

/// Where the driver and its libpython are.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverPaths {
    pub driver: PathBuf,
    /// Loaded first with RTLD_GLOBAL so the driver's `Py_*` symbols resolve; Python itself is
    /// never initialised.
    pub libpython: Option<PathBuf>,
}

pub fn locate() -> Result<DriverPaths, Error> {
    let mut searched = Vec::new();
    if let Ok(driver) = std::env::var("CHX_CHDB_DRIVER") {
        let driver = PathBuf::from(driver);
        if !driver.is_file() {
            return Err(Error::EngineNotFound {
                searched: vec![format!(
                    "CHX_CHDB_DRIVER={} (no such file)",
                    driver.display()
                )],
            });
        }
        let libpython = match std::env::var("CHX_LIBPYTHON") {
            Ok(p) => Some(PathBuf::from(p)),
            Err(_) => ask_python(Path::new("python3"))
                .ok()
                .and_then(|p| p.libpython),
        };
        return Ok(DriverPaths { driver, libpython });
    }
    searched.push("CHX_CHDB_DRIVER (unset)".to_string());

    for venv in candidate_venvs() {
        let python = venv.join("bin/python");
        if python.is_file() {
            match ask_python(&python) {
                Ok(found) => return Ok(found),
                Err(why) => searched.push(format!("{} ({why})", venv.display())),
            }
        } else {
            searched.push(format!("{} (not installed)", venv.display()));
        }
    }
    match ask_python(Path::new("python3")) {
        Ok(found) => Ok(found),
        Err(why) => {
            searched.push(format!("python3 on PATH ({why})"));
            Err(Error::EngineNotFound { searched })
        }
    }
}

fn candidate_venvs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            out.push(dir.join(".chx/venv"));
        }
    }
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".chx/venv");
    if !out.contains(&crate_dir) {
        out.push(crate_dir);
    }
    out.retain(|p| p.exists() || p.parent().is_some_and(Path::exists));
    out.dedup();
    out
}

/// Ask an interpreter where `chdb` lives and which libpython it was built against.
fn ask_python(python: &Path) -> Result<DriverPaths, String> {
    // find_spec locates the package without importing it (its Python side needs no deps here).
    const SCRIPT: &str = "import os, sysconfig, importlib.util\nspec = importlib.util.find_spec('chdb')\n\
print(os.path.join(os.path.dirname(spec.origin), '_chdb.abi3.so'))\n\
print(os.path.join(sysconfig.get_config_var('LIBDIR') or '', sysconfig.get_config_var('INSTSONAME') or ''))";
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err("chdb is not importable".into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let driver = PathBuf::from(lines.next().unwrap_or_default());
    let libpython = lines.next().map(PathBuf::from).filter(|p| p.is_file());
    if !driver.is_file() {
        return Err(format!("{} missing", driver.display()));
    }
    Ok(DriverPaths { driver, libpython })
}
