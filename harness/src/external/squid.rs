//! A real squid (Debian's `squid` package) started by the harness from a scenario's proxy rules: its
//! own directory, an ephemeral loopback port, its host names from a hosts file (all loopback), and
//! killed when dropped. Its native access log is what `proxy.answered` is checked against.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use super::access_log::{AccessLog, LogFormat};
use super::proxy::{ExternalProxy, Settle};
use super::squid_conf::{squid_conf, NotApplicable, SquidFiles};
use crate::proxy::ProxyPolicy;

/// The squid binary (override with `SSO_SQUID`).
pub fn squid_program() -> PathBuf {
    std::env::var_os("SSO_SQUID").map_or_else(|| PathBuf::from("/usr/sbin/squid"), PathBuf::from)
}

/// How long squid may take to listen (it takes 0.2–0.4 s).
const READY_WITHIN: Duration = Duration::from_secs(10);
/// How often to pick another port when the one chosen was taken meanwhile.
const PORT_TRIES: usize = 3;

/// Why squid could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SquidError {
    #[error("the scenario's proxy rules cannot be given to squid")]
    /// A proxy rule has no squid.conf equivalent.
    NotApplicable(#[source] NotApplicable),
    #[error("squid is not installed at {} (apt-get install squid, or set SSO_SQUID)", program.display())]
    /// No squid program at the expected path.
    NotInstalled {
        /// Where squid was looked for.
        program: PathBuf,
    },
    #[error("preparing squid's directory {} failed", dir.display())]
    /// squid's directory could not be prepared.
    Files {
        /// squid's directory.
        dir: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    #[error("hashing a proxy password for squid's password file failed: {0}")]
    /// A proxy password could not be hashed; holds the reason.
    Password(String),
    #[error("starting squid ({}) failed", program.display())]
    /// The squid process could not be started.
    Spawn {
        /// The squid program.
        program: PathBuf,
        /// Why it could not be started.
        source: std::io::Error,
    },
    #[error("squid exited before it listened ({status}); its last lines:{last_lines}")]
    /// squid exited before it listened.
    Exited {
        /// Its exit status.
        status: String,
        /// The last lines it printed.
        last_lines: String,
    },
    #[error("squid printed no `Accepting HTTP Socket connections` within {waited:?}; its last lines:{last_lines}")]
    /// squid did not say it was listening in time.
    NotReady {
        /// How long the harness waited.
        waited: Duration,
        /// The last lines it printed.
        last_lines: String,
    },
}

/// A running squid; killed (and its directory removed) when dropped.
#[derive(Debug)]
pub struct Squid {
    port: u16,
    dir: TempDir,
    _child: Child,
}

/// A directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Squid {
    /// Starts squid enforcing `policy`; `names` are the host names it resolves (to 127.0.0.1).
    pub async fn start(policy: &ProxyPolicy, names: &[&str]) -> Result<Squid, SquidError> {
        let program = squid_program();
        if !program.exists() {
            return Err(SquidError::NotInstalled { program });
        }
        let mut last = None;
        for _ in 0..PORT_TRIES {
            match Squid::try_start(&program, policy, names).await {
                Err(SquidError::Exited { status, last_lines }) if last_lines.contains("Address already in use") => {
                    last = Some(SquidError::Exited { status, last_lines });
                }
                other => return other,
            }
        }
        Err(last.expect("at least one try"))
    }

    async fn try_start(program: &Path, policy: &ProxyPolicy, names: &[&str]) -> Result<Squid, SquidError> {
        let dir = TempDir(std::env::temp_dir().join(format!("sso-repro-squid-{:016x}", rand::random::<u64>())));
        let files_error = |source| SquidError::Files { dir: dir.0.clone(), source };
        std::fs::create_dir_all(&dir.0).map_err(files_error)?;
        // Run as root, squid switches to its `proxy` user, which must write the logs here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).map_err(files_error)?;
        }
        // squid cannot listen on port 0: take a free port, release it, and retry if it is taken.
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).map_err(files_error)?;
        let files = SquidFiles { dir: &dir.0, port: port.port() };
        let generated = squid_conf(policy, &files).map_err(SquidError::NotApplicable)?;
        let mut passwords = String::new();
        for (user, password) in &generated.passwords {
            let hash = sha_crypt::sha512_simple(password, &sha_crypt::Sha512Params::default())
                .map_err(|e| SquidError::Password(format!("{e:?}")))?;
            passwords.push_str(&format!("{user}:{hash}\n"));
        }
        std::fs::write(dir.0.join("passwords"), passwords).map_err(files_error)?;
        std::fs::write(dir.0.join("hosts"), format!("127.0.0.1 {}\n", names.join(" "))).map_err(files_error)?;
        std::fs::write(dir.0.join("squid.conf"), &generated.conf).map_err(files_error)?;
        let mut child = Command::new(program)
            .arg("-f")
            .arg(dir.0.join("squid.conf"))
            .args(["-N", "-d1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SquidError::Spawn { program: program.to_owned(), source })?;
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen: Vec<String> = Vec::new();
        let last_lines = |seen: &[String]| seen.iter().rev().take(8).rev().map(|l| format!("\n  {l}")).collect();
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            match tokio::time::timeout_at(deadline.into(), lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    let ready = line.contains("Accepting HTTP Socket connections");
                    seen.push(line);
                    if ready {
                        break;
                    }
                }
                Ok(_) => {
                    let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
                        Ok(Ok(status)) => status.to_string(),
                        _ => "its output ended".to_owned(),
                    };
                    return Err(SquidError::Exited { status, last_lines: last_lines(&seen) });
                }
                Err(_) => return Err(SquidError::NotReady { waited: READY_WITHIN, last_lines: last_lines(&seen) }),
            }
        }
        // Keep draining squid's output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // squid prints the line one turn of its event loop before it calls listen(): connect until it
        // accepts (a refused connect returns at once; the bound is the readiness bound).
        loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port.port())).await {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => tokio::task::yield_now().await,
                Err(_) => return Err(SquidError::NotReady { waited: READY_WITHIN, last_lines: last_lines(&seen) }),
            }
        }
        Ok(Squid { port: port.port(), dir, _child: child })
    }

    /// The local port squid listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// squid's directory: its `squid.conf`, password and hosts files, and `access.log`.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// squid as an external proxy: its URL, its access log, and its cache manager to settle on.
    pub fn external(&self) -> ExternalProxy {
        ExternalProxy {
            url: Url::parse(&format!("http://{}:{}", crate::hosts::PROXY_HOST, self.port)).expect("valid URL"),
            credentials: None,
            access_log: Some(AccessLog { path: self.dir.0.join("access.log"), format: LogFormat::Squid }),
            settle: Settle::SquidManager,
        }
    }
}

/// Waits, bounded, until squid's cache manager lists no transaction but the asking one: then every
/// tunnel has closed and been logged. The manager answers in about a millisecond, so asking again
/// at once is the wait (no sleep).
pub(crate) async fn settle_squid(proxy: &Url, within: Duration) -> bool {
    let (Some(host), Some(port)) = (proxy.host_str(), proxy.port_or_known_default()) else { return false };
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let Ok(Ok(mut stream)) =
            tokio::time::timeout_at(deadline.into(), tokio::net::TcpStream::connect(("127.0.0.1", port))).await
        else {
            return false;
        };
        let request = format!(
            "GET http://{host}:{port}/squid-internal-mgr/active_requests HTTP/1.1\r\nHost: {host}:{port}\r\n\
             Connection: close\r\n\r\n"
        );
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut answer = Vec::new();
        if tokio::time::timeout_at(deadline.into(), stream.read_to_end(&mut answer)).await.is_err() {
            return false;
        }
        let answer = String::from_utf8_lossy(&answer);
        let open = answer.lines().filter(|l| l.starts_with("uri ") && !l.contains("/squid-internal-mgr/")).count();
        if !answer.starts_with("HTTP/1.1 200") {
            return false;
        }
        if open == 0 {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}
