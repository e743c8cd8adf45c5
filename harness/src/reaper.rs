//! The reaper party (`sso-party reaper`): one container per process of the containers backend that
//! removes every container and network of that process's session once the process is gone — also
//! when it was killed, so that nothing of a killed run lives on until a later run connects.
//!
//! The process holds one TCP connection to the reaper for its whole life (the kernel closes it
//! when the process ends, however it ends). When no connection has been open for [`GRACE`] (or none
//! arrived within [`FIRST_CONNECTION`]), the reaper asks the engine, through its socket mounted at
//! [`SOCKET`], for everything labelled with the session (`org.sso-repro.session=<id>` in
//! [`SESSION_VAR`]), removes the containers, then the networks, and exits; the engine then removes
//! the reaper itself (it runs with auto-removal).

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::JoinSet;

/// The label every container and network of one process of the containers backend carries.
pub const SESSION_LABEL: &str = "org.sso-repro.session";
/// The environment variable naming the session the reaper removes.
pub const SESSION_VAR: &str = "SSO_REAPER_SESSION";
/// Where the engine's socket is mounted in the reaper's container.
pub const SOCKET: &str = "/var/run/docker.sock";
/// The port the reaper listens on for its owner's connection.
pub const REAPER_PORT: u16 = 8080;
/// How long the reaper waits for its owner's first connection.
pub const FIRST_CONNECTION: Duration = Duration::from_secs(60);
/// How long the reaper waits, once the last connection closed, for another before it reaps.
pub const GRACE: Duration = Duration::from_secs(1);
/// The bound on each request to the engine.
const ENGINE_WAIT: Duration = Duration::from_secs(10);

/// Why the reaper could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReaperError {
    #[error("set {SESSION_VAR} to the session whose containers and networks the reaper removes")]
    NoSession,
    #[error("listening on port {REAPER_PORT} failed")]
    Listen(#[source] std::io::Error),
    #[error("connecting to the engine's socket {} failed (is it mounted?)", path.display())]
    Socket { path: PathBuf, source: std::io::Error },
    #[error("talking to the engine failed ({action})")]
    Http { action: String, source: hyper::Error },
    #[error("the engine did not answer within {ENGINE_WAIT:?} ({action})")]
    Timeout { action: String },
    #[error("the engine refused to {action}: {status} {body}")]
    Refused { action: String, status: StatusCode, body: String },
    #[error("the engine's list of {what} is not what the reaper expected")]
    Listing { what: &'static str, source: serde_json::Error },
}

/// What the reaper removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reaped {
    pub containers: usize,
    pub networks: usize,
}

/// Serves the reaper: prints the readiness line, watches its owner's connections, then reaps.
pub async fn serve_reaper() -> Result<Reaped, ReaperError> {
    let session = std::env::var(SESSION_VAR).ok().filter(|s| !s.is_empty()).ok_or(ReaperError::NoSession)?;
    let listener = TcpListener::bind(("0.0.0.0", REAPER_PORT)).await.map_err(ReaperError::Listen)?;
    eprintln!("{}", crate::party::READY);
    watch_owner(&listener).await;
    drop(listener);
    let reaped = reap(Path::new(SOCKET), &session).await?;
    eprintln!(
        "sso-party reaper: session {session} gone; removed {} containers, {} networks",
        reaped.containers, reaped.networks
    );
    Ok(reaped)
}

/// Returns once no owner connection has been open for [`GRACE`], or none came within
/// [`FIRST_CONNECTION`].
async fn watch_owner(listener: &TcpListener) {
    let mut open = JoinSet::new();
    let mut wait = FIRST_CONNECTION;
    loop {
        if open.is_empty() {
            match tokio::time::timeout(wait, listener.accept()).await {
                Ok(Ok((stream, _))) => {
                    open.spawn(held_until_closed(stream));
                }
                Ok(Err(_)) => continue,
                Err(_) => return,
            }
            wait = GRACE;
            continue;
        }
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    open.spawn(held_until_closed(stream));
                }
            }
            _ = open.join_next() => {}
        }
    }
}

/// Reads (and discards) until the peer closes the connection.
async fn held_until_closed(mut stream: TcpStream) {
    let mut buffer = [0u8; 64];
    while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
}

/// The `Id` of each object the engine lists.
#[derive(Deserialize)]
struct Listed {
    #[serde(rename = "Id")]
    id: String,
}

/// Removes the session's containers (forced, with their anonymous volumes), then its networks.
pub async fn reap(socket: &Path, session: &str) -> Result<Reaped, ReaperError> {
    let filters = serde_json::json!({ "label": [format!("{SESSION_LABEL}={session}")] }).to_string();
    let query = |all: bool| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if all {
            query.append_pair("all", "1");
        }
        query.append_pair("filters", &filters).finish()
    };
    let engine = Engine { socket };
    let containers: Vec<Listed> = engine.list("containers", &format!("/containers/json?{}", query(true))).await?;
    for container in &containers {
        let path = format!("/containers/{}?force=1&v=1", container.id);
        engine
            .call(Method::DELETE, &path, &format!("remove container {}", container.id), &[StatusCode::NOT_FOUND])
            .await?;
    }
    let networks: Vec<Listed> = engine.list("networks", &format!("/networks?{}", query(false))).await?;
    for network in &networks {
        let path = format!("/networks/{}", network.id);
        engine.call(Method::DELETE, &path, &format!("remove network {}", network.id), &[StatusCode::NOT_FOUND]).await?;
    }
    Ok(Reaped { containers: containers.len(), networks: networks.len() })
}

/// The engine's API over its Unix socket, one connection per request.
struct Engine<'a> {
    socket: &'a Path,
}

impl Engine<'_> {
    async fn list(&self, what: &'static str, path: &str) -> Result<Vec<Listed>, ReaperError> {
        let body = self.call(Method::GET, path, &format!("list {what}"), &[]).await?;
        serde_json::from_slice(&body).map_err(|source| ReaperError::Listing { what, source })
    }

    /// Sends one request; a status outside 2xx that is not in `also_fine` is [`ReaperError::Refused`].
    async fn call(
        &self,
        method: Method,
        path: &str,
        action: &str,
        also_fine: &[StatusCode],
    ) -> Result<Bytes, ReaperError> {
        let exchange = async {
            let stream = UnixStream::connect(self.socket)
                .await
                .map_err(|source| ReaperError::Socket { path: self.socket.to_owned(), source })?;
            let http = |source| ReaperError::Http { action: action.to_owned(), source };
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(http)?;
            let mut driver = JoinSet::new();
            driver.spawn(connection);
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, "docker")
                .body(Empty::<Bytes>::new())
                .expect("a request from a valid path");
            let response = sender.send_request(request).await.map_err(http)?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(http)?.to_bytes();
            if status.is_success() || also_fine.contains(&status) {
                Ok(body)
            } else {
                let body = String::from_utf8_lossy(&body).trim().to_owned();
                Err(ReaperError::Refused { action: action.to_owned(), status, body })
            }
        };
        tokio::time::timeout(ENGINE_WAIT, exchange)
            .await
            .unwrap_or_else(|_| Err(ReaperError::Timeout { action: action.to_owned() }))
    }
}
