//! A blocking forward proxy, the way a corporate egress proxy behaves: `CONNECT host:port` tunnels and
//! absolute-form requests (`GET http://host/path HTTP/1.1`), with a policy per host[:port]. A refusal
//! is a real status line with an HTML body, then the connection closes. The proxy knows nothing of
//! OIDC; it resolves host names through the harness's [`Hosts`] and keeps an access log.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::hosts::Hosts;
use crate::log::PartyLog;
use crate::task::Task;
use crate::tls::Ca;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// How long the proxy waits for a client's request head, or for an upstream connection.
const PROXY_WAIT: Duration = Duration::from_secs(2);
const MAX_HEAD: usize = 16 * 1024;

/// What the proxy does with a request for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Tunnel or forward.
    Allow,
    /// Refuse with this status, an HTML body, then close.
    Deny { status: u16 },
    /// Answer 407 with `Proxy-Authenticate` unless the request carries these Basic credentials.
    RequireAuth { user: String, password: String },
    /// Accept the request and never answer (the client's timeout ends it).
    Hang,
    /// Close the connection with a TCP reset.
    Reset,
    /// Tunnel, but terminate TLS with a certificate for the target issued by the proxy's own CA and
    /// re-encrypt upstream (a TLS-inspecting corporate proxy).
    Intercept,
}

/// One policy rule: a host, optionally a port, and what to do. In a scenario file:
/// `{ host = "idp.sso.test", action = "deny", status = 403 }` (`action`: `allow`, `deny` (status
/// defaults to 403), `require-auth` (with `user` and `password`), `hang`, `reset`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleFields", into = "RuleFields")]
pub struct Rule {
    pub host: String,
    pub port: Option<u16>,
    pub decision: Decision,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Allow,
    Deny,
    RequireAuth,
    Hang,
    Reset,
    Intercept,
}

/// A rule as written in a file: flat, every field checked.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFields {
    host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

impl TryFrom<RuleFields> for Rule {
    type Error = String;

    fn try_from(f: RuleFields) -> Result<Rule, String> {
        if f.status.is_some() && f.action != Action::Deny {
            return Err("`status` applies only to action = \"deny\"".to_owned());
        }
        if (f.user.is_some() || f.password.is_some()) && f.action != Action::RequireAuth {
            return Err("`user` and `password` apply only to action = \"require-auth\"".to_owned());
        }
        let decision = match f.action {
            Action::Allow => Decision::Allow,
            Action::Deny => match f.status.unwrap_or(403) {
                status @ 400..=599 => Decision::Deny { status },
                status => return Err(format!("`status` must be an error status (400 to 599), not {status}")),
            },
            Action::RequireAuth => match (f.user, f.password) {
                (Some(user), Some(password)) => Decision::RequireAuth { user, password },
                _ => return Err("action = \"require-auth\" needs `user` and `password`".to_owned()),
            },
            Action::Hang => Decision::Hang,
            Action::Reset => Decision::Reset,
            Action::Intercept => Decision::Intercept,
        };
        Ok(Rule { host: f.host, port: f.port, decision })
    }
}

impl From<Rule> for RuleFields {
    fn from(rule: Rule) -> RuleFields {
        let mut fields = RuleFields {
            host: rule.host,
            port: rule.port,
            action: Action::Allow,
            status: None,
            user: None,
            password: None,
        };
        match rule.decision {
            Decision::Allow => {}
            Decision::Deny { status } => (fields.action, fields.status) = (Action::Deny, Some(status)),
            Decision::RequireAuth { user, password } => {
                (fields.action, fields.user, fields.password) = (Action::RequireAuth, Some(user), Some(password))
            }
            Decision::Hang => fields.action = Action::Hang,
            Decision::Reset => fields.action = Action::Reset,
            Decision::Intercept => fields.action = Action::Intercept,
        }
        fields
    }
}

/// The proxy's policy: the first matching rule decides; no match means allow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProxyPolicy {
    pub rules: Vec<Rule>,
}

impl ProxyPolicy {
    /// Allows everything.
    pub fn allow_all() -> ProxyPolicy {
        ProxyPolicy::default()
    }

    /// Adds a rule for `host` (any port).
    pub fn rule(mut self, host: &str, decision: Decision) -> ProxyPolicy {
        self.rules.push(Rule { host: host.to_owned(), port: None, decision });
        self
    }

    /// Refuses `host` with `status`.
    pub fn deny(self, host: &str, status: u16) -> ProxyPolicy {
        self.rule(host, Decision::Deny { status })
    }

    fn decide(&self, host: &str, port: u16) -> &Decision {
        self.rules
            .iter()
            .find(|rule| rule.host.eq_ignore_ascii_case(host) && rule.port.is_none_or(|p| p == port))
            .map_or(&Decision::Allow, |rule| &rule.decision)
    }
}

/// One line of the proxy's access log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyEntry {
    /// `CONNECT` or the forwarded method.
    pub method: String,
    /// `host:port` for CONNECT, the absolute URL otherwise.
    pub target: String,
    /// The status the proxy answered (200 for an established tunnel; 0 when it never answered).
    pub status: u16,
    /// Why: `allowed`, `denied by policy`, `upstream unreachable: …`, …
    pub reason: String,
}

impl std::fmt::Display for ProxyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            0 => write!(f, "{} {} → no answer ({})", self.method, self.target, self.reason),
            status => {
                write!(f, "{} {} → {status} {} ({})", self.method, self.target, reason_phrase(status), self.reason)
            }
        }
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    interception_ca_pem: String,
    entries: Arc<Mutex<Vec<ProxyEntry>>>,
    log: PartyLog,
    _task: Task,
}

impl Proxy {
    /// Starts a proxy on an ephemeral loopback port.
    pub async fn start(policy: ProxyPolicy, hosts: Hosts) -> std::io::Result<Proxy> {
        Proxy::bind(SocketAddr::from(([127, 0, 0, 1], 0)), policy, hosts).await
    }

    /// Starts a proxy listening on `addr`.
    pub async fn bind(addr: SocketAddr, policy: ProxyPolicy, hosts: Hosts) -> std::io::Result<Proxy> {
        Proxy::bind_as("proxy", addr, policy, hosts, None).await
    }

    /// Starts a proxy listening on `addr` that, when it intercepts TLS, trusts the CAs in
    /// `upstream_ca_pem` for the upstream side.
    pub async fn bind_trusting(
        addr: SocketAddr,
        policy: ProxyPolicy,
        hosts: Hosts,
        upstream_ca_pem: &str,
    ) -> std::io::Result<Proxy> {
        Proxy::bind_as("proxy", addr, policy, hosts, Some(upstream_ca_pem)).await
    }

    /// An allow-all proxy for the test's browser into a container network (its log is not the
    /// scenario's proxy log).
    pub async fn gateway(addr: SocketAddr, hosts: Hosts) -> std::io::Result<Proxy> {
        Proxy::bind_as("gateway", addr, ProxyPolicy::allow_all(), hosts, None).await
    }

    async fn bind_as(
        party: &'static str,
        addr: SocketAddr,
        policy: ProxyPolicy,
        hosts: Hosts,
        upstream_ca_pem: Option<&str>,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let interception = Interception::new(upstream_ca_pem.unwrap_or_default()).map_err(std::io::Error::other)?;
        let interception_ca_pem = interception.ca.pem();
        let shared =
            Arc::new(Shared { policy, hosts, entries: Arc::default(), log: PartyLog::new(party), interception });
        let (entries, log) = (shared.entries.clone(), shared.log.clone());
        let task = Task::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move { shared.serve(client).await });
            }
        });
        Ok(Proxy { addr, entries, log, interception_ca_pem, _task: task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The access log so far.
    pub fn entries(&self) -> Vec<ProxyEntry> {
        self.entries.lock().expect("proxy log lock").clone()
    }

    pub fn log(&self) -> &PartyLog {
        &self.log
    }

    /// The CA the proxy re-signs intercepted TLS with (PEM): what a client must trust to accept it.
    pub fn interception_ca_pem(&self) -> &str {
        &self.interception_ca_pem
    }
}

struct Shared {
    policy: ProxyPolicy,
    hosts: Hosts,
    entries: Arc<Mutex<Vec<ProxyEntry>>>,
    log: PartyLog,
    interception: Interception,
}

/// The proxy's own CA, and the trust it verifies upstream servers with.
struct Interception {
    ca: Ca,
    upstream: Arc<rustls::ClientConfig>,
}

impl Interception {
    fn new(upstream_ca_pem: &str) -> Result<Interception, Box<dyn std::error::Error + Send + Sync>> {
        let ca = Ca::new("Corporate TLS Inspection CA")?;
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(upstream_ca_pem.as_bytes()) {
            roots.add(certificate?)?;
        }
        let upstream = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Interception { ca, upstream: Arc::new(upstream) })
    }

    /// Terminates the client's TLS with a certificate for `host` from the proxy's CA, opens TLS to
    /// the upstream, and relays between them.
    async fn relay(&self, host: &str, client: TcpStream, upstream: TcpStream) -> Result<(), String> {
        let config = self.ca.server_config(host).map_err(|e| e.to_string())?;
        let mut client = tokio_rustls::TlsAcceptor::from(config)
            .accept(client)
            .await
            .map_err(|e| format!("the client refused the proxy's certificate for {host}: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
        let mut upstream = tokio_rustls::TlsConnector::from(self.upstream.clone())
            .connect(name, upstream)
            .await
            .map_err(|e| format!("the upstream's certificate failed verification: {e}"))?;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        Ok(())
    }
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    /// Bytes read past the head (the start of a body).
    rest: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl Shared {
    async fn serve(&self, mut client: TcpStream) {
        let Ok(Ok(Some(head))) = tokio::time::timeout(PROXY_WAIT, read_head(&mut client)).await else {
            return;
        };
        let (host, port, forward_path) = match parse_target(&head) {
            Some(parsed) => parsed,
            None => {
                self.record(&head.method, &head.target, 400, "not a proxy request");
                let _ = refuse(&mut client, 400, &[]).await;
                return;
            }
        };
        let target = if head.method == "CONNECT" { format!("{host}:{port}") } else { head.target.clone() };
        match self.policy.decide(&host, port) {
            Decision::Allow => {}
            Decision::Deny { status } => {
                self.record(&head.method, &target, *status, "denied by policy");
                let _ = refuse(&mut client, *status, &[]).await;
                return;
            }
            Decision::RequireAuth { user, password } => {
                let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
                if head.header("proxy-authorization") != Some(expected.as_str()) {
                    let reason = match head.header("proxy-authorization") {
                        Some(_) => "proxy credentials rejected",
                        None => "proxy authentication required",
                    };
                    self.record(&head.method, &target, 407, reason);
                    let challenge = [("Proxy-Authenticate", "Basic realm=\"sso-repro proxy\"")];
                    let _ = refuse(&mut client, 407, &challenge).await;
                    return;
                }
            }
            Decision::Hang => {
                self.record(&head.method, &target, 0, "policy: hang");
                // Hold the connection open without answering until the client gives up (it closes
                // its side and the read returns) or the proxy is dropped.
                let mut sink = [0u8; 512];
                while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            Decision::Reset => {
                self.record(&head.method, &target, 0, "policy: reset");
                let _ = client.set_zero_linger();
                return;
            }
            Decision::Intercept if head.method == "CONNECT" => {
                let Ok(upstream) = self.connect(&host, port).await else {
                    self.record(&head.method, &target, 502, "upstream unreachable");
                    let _ = refuse(&mut client, 502, &[]).await;
                    return;
                };
                self.record(&head.method, &target, 200, "allowed, TLS intercepted and re-signed by the proxy's CA");
                if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_ok() {
                    if let Err(problem) = self.interception.relay(&host, client, upstream).await {
                        // Not in the party log: it happens after the client gave up, so whether it is
                        // recorded before an outcome is collected would be a race.
                        tracing::warn!(party = "proxy", "TLS interception of {target}: {problem}");
                    }
                }
                return;
            }
            Decision::Intercept => {}
        }
        let upstream = match self.connect(&host, port).await {
            Ok(upstream) => upstream,
            Err(reason) => {
                self.record(&head.method, &target, 502, &format!("upstream unreachable: {reason}"));
                let _ = refuse(&mut client, 502, &[]).await;
                return;
            }
        };
        self.record(&head.method, &target, 200, "allowed");
        let _ = self.relay(client, upstream, &head, forward_path).await;
    }

    async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, String> {
        let ip = self.hosts.resolve(host).await.map_err(|e| e.to_string())?;
        match tokio::time::timeout(PROXY_WAIT, TcpStream::connect((ip, port))).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("connect timed out".to_owned()),
        }
    }

    async fn relay(
        &self,
        mut client: TcpStream,
        mut upstream: TcpStream,
        head: &Head,
        forward_path: Option<String>,
    ) -> std::io::Result<()> {
        match forward_path {
            None => client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?,
            Some(path) => {
                // Forward in origin-form, one request per connection.
                let mut request = format!("{} {path} {}\r\n", head.method, head.version);
                for (name, value) in &head.headers {
                    let hop_by_hop = ["proxy-authorization", "proxy-connection", "connection", "keep-alive"];
                    if !hop_by_hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                        request.push_str(&format!("{name}: {value}\r\n"));
                    }
                }
                request.push_str("Connection: close\r\n\r\n");
                upstream.write_all(request.as_bytes()).await?;
            }
        }
        upstream.write_all(&head.rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        Ok(())
    }

    fn record(&self, method: &str, target: &str, status: u16, reason: &str) {
        let entry =
            ProxyEntry { method: method.to_owned(), target: target.to_owned(), status, reason: reason.to_owned() };
        self.log.info(entry.to_string());
        self.entries.lock().expect("proxy log lock").push(entry);
    }
}

/// Reads up to the end of the request head; `None` if the client closed first.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Head>> {
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target), Some(version)) = (request_line.next(), request_line.next(), request_line.next())
    else {
        return Ok(None);
    };
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
        rest: buf[end + 4..].to_vec(),
    }))
}

/// `(host, port, path to forward)`; the path is `None` for a CONNECT tunnel.
fn parse_target(head: &Head) -> Option<(String, u16, Option<String>)> {
    if head.method == "CONNECT" {
        let (host, port) = head.target.rsplit_once(':')?;
        return Some((host.trim_matches(['[', ']']).to_owned(), port.parse().ok()?, None));
    }
    let url = url::Url::parse(&head.target).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    Some((url.host_str()?.to_owned(), url.port_or_known_default()?, Some(path)))
}

/// Writes a refusal the way a corporate proxy does: status line, HTML body, close.
async fn refuse(client: &mut TcpStream, status: u16, extra: &[(&str, &str)]) -> std::io::Result<()> {
    let phrase = reason_phrase(status);
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {phrase}</title></head>\
         <body><h1>{status} {phrase}</h1><p>The sso-repro proxy refused this request.</p></body></html>\n"
    );
    let mut response = format!("HTTP/1.1 {status} {phrase}\r\nContent-Type: text/html; charset=utf-8\r\n");
    for (name, value) in extra {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await
}

/// The standard reason phrase, as real proxies send it.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}
