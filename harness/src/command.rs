//! An RP under test that is an external program, in any language.
//!
//! The contract: the harness starts the program with the RP settings in environment variables (and
//! the whole [`RpSettings`] as JSON in the file `SSO_SETTINGS_FILE`); the program serves `/login`
//! and `/callback` on `127.0.0.1` on a port of its choosing and prints three kinds of lines on stdout
//! or stderr:
//!
//! - `sso-repro-rp ready on port N` once it accepts connections (it is `http://rp.sso.test:N`);
//! - after each callback (and after a `/login` it answers with an error status, e.g. because
//!   discovery failed), `sso-repro-rp: signed in` or `sso-repro-rp: sign-in failed`, the latter
//!   after it printed its error the way the product does (a Java stack trace, a Python traceback,
//!   a log line with `ERROR`, or lines in the [`LogFormat`] it was given) — [`crate::logchain`] reads
//!   the chain back from every error line and trace printed since the verdict before.
//!
//! Environment: `SSO_ISSUER`, `SSO_AUTHORIZATION_ENDPOINT`, `SSO_TOKEN_ENDPOINT`, `SSO_JWKS_URI`,
//! `SSO_USERINFO_ENDPOINT`, `SSO_CLIENT_ID`, `SSO_CLIENT_SECRET`, `SSO_CLIENT_AUTH_METHOD`,
//! `SSO_RP_HOST`, `SSO_PROXY` (`http://[user:password@]127.0.0.1:PORT`, empty for none) and its parts
//! `SSO_PROXY_HOST`, `SSO_PROXY_PORT`, `SSO_PROXY_USER`, `SSO_PROXY_PASSWORD`, `SSO_NO_PROXY`,
//! `SSO_CA_FILE` (PEM), `SSO_TIMEOUT_MS`, `SSO_SETTINGS_FILE`, `SSO_HOSTS_FILE`.
//!
//! Names: an external program does not share the harness's name service, so the proxy is given by
//! address, and `SSO_HOSTS_FILE` (`/etc/hosts` format) holds every name this RP can resolve — the
//! same map the reference RP gets (without the IdP's names unless the scenario gives the RP a
//! direct route). A program resolves back-channel names from that file only and treats any other
//! name as unknown (as DNS would), so that no query leaves the machine and `direct_route` means the
//! same for every RP: Java with `-Djdk.net.hosts.file`, Go with its dialer, Python in
//! `socket.getaddrinfo`, Apache in a mount namespace whose `/etc/hosts` is the file (see `rps/`). An
//! empty `SSO_HOSTS_FILE` (an RP image on the containers backend) means: use the system's resolver,
//! whose DNS knows exactly the names on the RP's networks.
//! The process is killed when the environment is dropped (also on panic).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use url::Url;

use crate::chain::ErrorChain;
use crate::hosts::RP_HOST;
use crate::logchain::LogFormat;
pub(crate) use crate::rp::contract::print_verdicts;
pub use crate::rp::contract::{READY_PREFIX, SIGNED_IN, SIGN_IN_FAILED};
use crate::rp::{LaunchRp, Launching, RpError, RpSettings, RunningRp};
use crate::task::Task;

/// How long the harness waits for an RP's verdict on a callback.
const SETTLE_WITHIN: Duration = Duration::from_secs(5);

/// An external program as the RP under test.
#[derive(Clone, Debug)]
pub struct CommandRp {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    ready_within: Duration,
    log_format: LogFormat,
}

impl CommandRp {
    /// `program`, to be called `name` in reports.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>) -> CommandRp {
        CommandRp {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            ready_within: Duration::from_secs(10),
            log_format: LogFormat::default(),
        }
    }

    /// Appends `arg` to the program's arguments.
    pub fn arg(mut self, arg: impl Into<String>) -> CommandRp {
        self.args.push(arg.into());
        self
    }

    /// How long the program may take to print its readiness line (default 10 s).
    pub fn ready_within(mut self, wait: Duration) -> CommandRp {
        self.ready_within = wait;
        self
    }

    /// How the program marks its error lines (default: [`LogFormat::default`]; e.g.
    /// [`LogFormat::apache_error_log`] for an RP that is Apache httpd, [`LogFormat::go_log`] for Go's
    /// `log`). Stack traces, tracebacks and Node error blocks are read in every format.
    pub fn log_format(mut self, format: LogFormat) -> CommandRp {
        self.log_format = format;
        self
    }

    /// The RP's name in reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn described(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl LaunchRp for CommandRp {
    fn launch(&self, settings: RpSettings) -> Launching<'_> {
        Box::pin(async move { Ok(Box::new(RunningCommandRp::start(self, settings).await?) as Box<dyn RunningRp>) })
    }
}

/// What the program printed, line by line (secrets redacted), and a signal for each new line.
#[derive(Clone, Default)]
struct Output {
    lines: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
}

impl Output {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("output lock").clone()
    }

    fn reader(&self, stream: impl AsyncRead + Unpin + Send + 'static) -> Task {
        let output = self.clone();
        Task::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                output.lines.lock().expect("output lock").push(crate::redact::secrets(&line));
                output.arrived.notify_waiters();
            }
        })
    }

    fn last_lines(&self) -> String {
        let lines = self.lines();
        let tail = &lines[lines.len().saturating_sub(8)..];
        match tail.is_empty() {
            true => "(it printed nothing)".to_owned(),
            false => tail.iter().map(|l| format!("\n    {l}")).collect(),
        }
    }
}

/// A running external RP; killed when dropped.
pub struct RunningCommandRp {
    port: u16,
    log_format: LogFormat,
    output: Output,
    _child: Child,
    _readers: [Task; 2],
    _dir: TempDir,
}

/// A directory of the harness's own, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The settings as the environment variables of the contract. `proxy_by_address`: replace the
/// harness name of the proxy with 127.0.0.1 (for a program that does not share the harness's names).
pub(crate) fn environment(
    settings: &RpSettings,
    ca_file: &str,
    settings_file: &str,
    hosts_file: &str,
    proxy_by_address: bool,
) -> Vec<(&'static str, String)> {
    let endpoint = |pick: fn(&crate::oauth::ProviderEndpoints) -> &Url| {
        settings.endpoints.as_ref().map(|e| pick(e).to_string()).unwrap_or_default()
    };
    let proxy = settings.proxy.clone().map(|mut proxy| {
        // An external program does not share the harness's names: give it the proxy by address.
        if proxy_by_address && proxy.host_str() == Some(crate::hosts::PROXY_HOST) {
            let _ = proxy.set_host(Some("127.0.0.1"));
        }
        proxy
    });
    let part = |pick: fn(&Url) -> Option<String>| proxy.as_ref().and_then(pick).unwrap_or_default();
    vec![
        ("SSO_ISSUER", settings.issuer.clone()),
        ("SSO_AUTHORIZATION_ENDPOINT", endpoint(|e| &e.authorization_endpoint)),
        ("SSO_TOKEN_ENDPOINT", endpoint(|e| &e.token_endpoint)),
        ("SSO_JWKS_URI", endpoint(|e| &e.jwks_uri)),
        ("SSO_USERINFO_ENDPOINT", endpoint(|e| &e.userinfo_endpoint)),
        ("SSO_CLIENT_ID", settings.client_id.clone()),
        ("SSO_CLIENT_SECRET", settings.client_secret.clone()),
        ("SSO_CLIENT_AUTH_METHOD", settings.setup.auth_method.as_str().to_owned()),
        ("SSO_RP_HOST", RP_HOST.to_owned()),
        ("SSO_PROXY", proxy.as_ref().map(Url::to_string).unwrap_or_default()),
        ("SSO_PROXY_HOST", part(|u| u.host_str().map(str::to_owned))),
        ("SSO_PROXY_PORT", part(|u| u.port().map(|p| p.to_string()))),
        ("SSO_PROXY_USER", part(|u| Some(u.username().to_owned()))),
        ("SSO_PROXY_PASSWORD", part(|u| u.password().map(str::to_owned))),
        ("SSO_NO_PROXY", settings.no_proxy().unwrap_or_default().to_owned()),
        ("SSO_CA_FILE", ca_file.to_owned()),
        ("SSO_TIMEOUT_MS", settings.timeout().as_millis().to_string()),
        ("SSO_SETTINGS_FILE", settings_file.to_owned()),
        ("SSO_HOSTS_FILE", hosts_file.to_owned()),
    ]
}

impl RunningCommandRp {
    async fn start(rp: &CommandRp, settings: RpSettings) -> Result<RunningCommandRp, RpError> {
        let unique: String = (0..6).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let dir = TempDir(std::env::temp_dir().join(format!("sso-repro-rp-{unique}")));
        let write = |name: &str, text: &str| -> Result<String, RpError> {
            std::fs::create_dir_all(&dir.0)
                .and_then(|()| std::fs::write(dir.0.join(name), text))
                .map_err(RpError::Files)?;
            Ok(dir.0.join(name).display().to_string())
        };
        let ca_file = write("trusted-ca.pem", &settings.trusted_ca_pem)?;
        let settings_file =
            write("settings.json", &serde_json::to_string_pretty(&settings).expect("settings serialize"))?;
        let hosts_file = write("hosts", &settings.hosts.hosts_file().unwrap_or_default())?;
        let mut command = Command::new(&rp.program);
        command.args(&rp.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        // Only the proxy and the CA the harness gives: none from the test's own environment.
        for variable in [
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "all_proxy",
            "no_proxy",
            "NO_PROXY",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "NIX_SSL_CERT_FILE",
        ] {
            command.env_remove(variable);
        }
        command.envs(environment(&settings, &ca_file, &settings_file, &hosts_file, true));
        let mut child = command.spawn().map_err(|source| RpError::Spawn { program: rp.described(), source })?;
        let output = Output::default();
        let readers = [
            output.reader(child.stdout.take().expect("piped stdout")),
            output.reader(child.stderr.take().expect("piped stderr")),
        ];
        let deadline = Instant::now() + rp.ready_within;
        let port = loop {
            let arrived = output.arrived.notified();
            if let Some(port) = output.lines().iter().find_map(|l| l.strip_prefix(READY_PREFIX)?.trim().parse().ok()) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(RpError::Exited {
                    program: rp.described(),
                    status: status.to_string(),
                    last_lines: output.last_lines(),
                });
            }
            // Wake for a new line, and at least every 50 ms to notice an exit.
            let wait = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(50));
            if wait.is_zero() {
                return Err(RpError::NotReady {
                    program: rp.described(),
                    waited: rp.ready_within,
                    last_lines: output.last_lines(),
                });
            }
            let _ = tokio::time::timeout(wait, arrived).await;
        };
        Ok(RunningCommandRp {
            port,
            log_format: rp.log_format.clone(),
            output,
            _child: child,
            _readers: readers,
            _dir: dir,
        })
    }

    fn verdicts(&self) -> usize {
        verdicts(&self.output.lines())
    }
}

/// How many callbacks an RP has given its verdict on.
pub(crate) fn verdicts(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.trim() == SIGNED_IN || l.trim() == SIGN_IN_FAILED).count()
}

/// One chain per `sign-in failed` verdict, read from the lines printed since the verdict before.
#[cfg(any(feature = "containers", test))]
pub(crate) fn failures_from_lines(lines: &[String]) -> Vec<ErrorChain> {
    failures_in_format(lines, &LogFormat::default())
}

/// [`failures_from_lines`] for a program whose error lines are marked as `format` says.
pub(crate) fn failures_in_format(lines: &[String], format: &LogFormat) -> Vec<ErrorChain> {
    let mut failures = Vec::new();
    let mut since: Vec<&String> = Vec::new();
    for line in lines {
        match line.trim() {
            SIGNED_IN => since.clear(),
            SIGN_IN_FAILED => {
                let chain = format.chain(&since).unwrap_or_else(|| ErrorChain {
                    levels: vec![
                        "the RP said the sign-in failed, but printed no error chain that sso-repro can read".to_owned()
                    ],
                });
                failures.push(chain);
                since.clear();
            }
            _ => since.push(line),
        }
    }
    failures
}

/// An RP's lines without stack frames (indented lines) and without its readiness line.
pub(crate) fn log_without_frames(lines: Vec<String>) -> Vec<String> {
    let frame = |l: &String| l.starts_with([' ', '\t']) || l.starts_with(READY_PREFIX) || l.trim().is_empty();
    lines.into_iter().filter(|l| !frame(l)).collect()
}

impl RunningRp for RunningCommandRp {
    fn login_url(&self) -> Url {
        Url::parse(&format!("http://{RP_HOST}:{}/login", self.port)).expect("valid URL")
    }

    fn redirect_uri(&self) -> String {
        format!("http://{RP_HOST}:{}/callback", self.port)
    }

    fn failures(&self) -> Vec<ErrorChain> {
        failures_in_format(&self.output.lines(), &self.log_format)
    }

    fn log(&self) -> Vec<String> {
        log_without_frames(self.output.lines())
    }

    fn settle(&self, callbacks: usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let deadline = Instant::now() + SETTLE_WITHIN;
            loop {
                let arrived = self.output.arrived.notified();
                if self.verdicts() >= callbacks || Instant::now() >= deadline {
                    return;
                }
                let _ = tokio::time::timeout_at(deadline.into(), arrived).await;
            }
        })
    }
}
