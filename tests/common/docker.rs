//! ClickHouse in Docker through testcontainers, for `CHX_TEST_ENGINE=docker`.
//!
//! There is no Docker engine on our own machines: without one this fails at once, naming what is
//! missing, and the tests fail (they never fall back silently).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chx::engine::{Engine, Target};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

/// The server image the Docker path is pinned to.
pub const IMAGE: &str = "clickhouse/clickhouse-server";
pub const IMAGE_TAG: &str = "25.8";

static CONTAINER: OnceLock<Container<GenericImage>> = OnceLock::new();

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
    let docker = |message: String| chx::Error::Docker { message };
    let container = GenericImage::new(IMAGE, IMAGE_TAG)
        .with_exposed_port(8123.tcp())
        .with_wait_for(WaitFor::message_on_either_std("Ready for connections"))
        // The image's default user needs no password only from inside the container.
        .with_env_var("CLICKHOUSE_SKIP_USER_SETUP", "1")
        .start()
        .map_err(|e| {
            docker(format!(
                "starting {IMAGE}:{IMAGE_TAG} failed after {:?}: {e}",
                started.elapsed()
            ))
        })?;
    let port = container
        .get_host_port_ipv4(8123.tcp())
        .map_err(|e| docker(format!("container has no HTTP port: {e}")))?;
    let target = Target::Http {
        url: format!("http://127.0.0.1:{port}"),
        user: None,
        password: None,
        compression: true,
    };
    // The log line can precede the HTTP listener by a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Engine::connect(&target, None)
        .and_then(|e| e.run("SELECT 1"))
        .is_err()
    {
        if Instant::now() > deadline {
            return Err(docker(format!(
                "{IMAGE}:{IMAGE_TAG} did not answer on port {port}"
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = CONTAINER.set(container);
    Ok(target)
}
