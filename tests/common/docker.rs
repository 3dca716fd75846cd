//! ClickHouse in Docker through testcontainers, for `CHX_TEST_ENGINE=docker`.
//!
//! There is no Docker engine on our own machines: without one this fails at once, naming what is
//! missing, and the tests fail (they never fall back silently).

use std::sync::OnceLock;
use std::time::Instant;

use chx::engine::Target;
use testcontainers_modules::clickhouse::ClickHouse;
use testcontainers_modules::testcontainers::{Container, ImageExt, runners::SyncRunner};

/// The server image tag the Docker path is pinned to.
pub const IMAGE_TAG: &str = "25.8";

static CONTAINER: OnceLock<Container<ClickHouse>> = OnceLock::new();

/// Whether a Docker engine looks reachable at all (socket or DOCKER_HOST).
pub fn docker_available() -> bool {
    std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists()
}

/// Start the pinned server image and return its HTTP target.
pub fn start() -> Result<Target, chx::Error> {
    let started = Instant::now();
    if !docker_available() {
        return Err(chx::Error::Docker {
            message:
                "no Docker engine: /var/run/docker.sock does not exist and DOCKER_HOST is unset"
                    .into(),
        });
    }
    let container = ClickHouse::default()
        .with_tag(IMAGE_TAG)
        .start()
        .map_err(|e| chx::Error::Docker {
            message: format!(
                "starting clickhouse/clickhouse-server:{IMAGE_TAG} failed after {:?}: {e}",
                started.elapsed()
            ),
        })?;
    let port = container
        .get_host_port_ipv4(8123)
        .map_err(|e| chx::Error::Docker {
            message: format!("container has no HTTP port: {e}"),
        })?;
    let _ = CONTAINER.set(container);
    Ok(Target::Http {
        url: format!("http://127.0.0.1:{port}"),
        user: None,
        password: None,
        compression: true,
    })
}
