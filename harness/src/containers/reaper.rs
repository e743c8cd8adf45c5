//! This process's reaper (see [`crate::reaper`]): started once per process when the backend first
//! connects, with the engine's socket mounted, and held by one TCP connection for the rest of the
//! process's life. When the process ends — normally, by a panic or by `kill -9` — the kernel closes
//! the connection and the reaper removes every container and network labelled with this process's
//! session, so a killed run leaves nothing behind for longer than the reaper's grace period.
//!
//! `SSO_REPRO_DOCKER_SOCKET` names the engine's socket on the engine's host (default: the Unix
//! socket of `DOCKER_HOST`, else `/var/run/docker.sock`); `SSO_REPRO_REAPER=off` goes without a
//! reaper (then only the containers' own expiry and the next run's sweep remove a killed run's
//! resources).

use std::sync::OnceLock;

use testcontainers::core::{IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::sync::OnceCell;

use super::{ContainersError, LABEL, STARTUP};
use crate::reaper::{REAPER_PORT, SESSION_VAR, SOCKET};

/// The label that marks a reaper, with the session it reaps as its value.
pub(super) const REAPER_LABEL: &str = "org.sso-repro.reaper-of";

/// The reaper's container and the connection that keeps it waiting. Held in a static: neither is
/// ever dropped while the process runs (dropping the container would remove the reaper).
struct Held {
    _container: ContainerAsync<GenericImage>,
    _connection: std::net::TcpStream,
}

/// This process's session: the value of [`crate::reaper::SESSION_LABEL`] on everything it makes.
pub(super) fn session() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(|| (0..8).map(|_| format!("{:02x}", rand::random::<u8>())).collect())
}

/// Whether `SSO_REPRO_REAPER=off` (or `0`, `false`) asks to go without a reaper.
fn disabled() -> bool {
    std::env::var("SSO_REPRO_REAPER").is_ok_and(|value| matches!(value.as_str(), "off" | "0" | "false"))
}

/// The engine's socket on the engine's host, to mount into the reaper.
fn engine_socket() -> String {
    if let Ok(socket) = std::env::var("SSO_REPRO_DOCKER_SOCKET") {
        return socket;
    }
    let unix_host = std::env::var("DOCKER_HOST").ok().and_then(|host| host.strip_prefix("unix://").map(str::to_owned));
    unix_host.unwrap_or_else(|| SOCKET.to_owned())
}

/// Starts this process's reaper unless it runs already (or is disabled).
pub(super) async fn ensure(image: &GenericImage) -> Result<(), ContainersError> {
    if disabled() {
        return Ok(());
    }
    static HELD: OnceCell<Held> = OnceCell::const_new();
    HELD.get_or_try_init(|| start(image)).await.map(|_| ())
}

async fn start(image: &GenericImage) -> Result<Held, ContainersError> {
    let socket = engine_socket();
    let failed = |source| ContainersError::Reaper { socket: socket.clone(), source };
    let container = image
        .clone()
        .with_wait_for(WaitFor::message_on_stderr(crate::party::READY))
        .with_exposed_port(REAPER_PORT.tcp())
        .with_cmd(["reaper"])
        .with_env_var(SESSION_VAR, session())
        .with_mount(Mount::bind_mount(socket.clone(), SOCKET))
        .with_labels([(LABEL, format!("reaper-{}", session())), (REAPER_LABEL, session().to_owned())])
        .with_host_config_modifier(crate::leftovers::host_config(Some(REAPER_PORT)))
        .with_startup_timeout(STARTUP)
        .start()
        .await
        .map_err(failed)?;
    let host = container.get_host().await.map_err(failed)?.to_string();
    let port = container.get_host_port_ipv4(REAPER_PORT).await.map_err(failed)?;
    let address = format!("{host}:{port}");
    let unreachable = |source| ContainersError::ReaperConnection { address: address.clone(), source };
    let connection = tokio::time::timeout(STARTUP, tokio::net::TcpStream::connect(address.as_str()))
        .await
        .map_err(|elapsed| unreachable(std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)))?
        .map_err(unreachable)?
        .into_std()
        .map_err(unreachable)?;
    Ok(Held { _container: container, _connection: connection })
}
