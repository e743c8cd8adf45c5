//! One client connection: read the request head (bounded in size and time), decide by the policy,
//! then refuse, hang, reset, tunnel or forward — every wait bounded by [`ProxyLimits`].

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::access_log::{reason_phrase, AccessLog};
use super::policy::{Decision, ProxyPolicy, Reach};
use super::request::{self, Malformed, Parsed, Request};
use super::tunnel::{self, Interception, ESTABLISHED};
use super::ProxyLimits;
use crate::external::persona::{http_date, Persona, Refusal};
use crate::hosts::Hosts;

/// What every connection of one proxy shares.
pub(crate) struct Shared {
    pub(crate) policy: ProxyPolicy,
    /// Where the proxy may connect at all (the gateway's lock-down); `None`: anywhere it resolves.
    pub(crate) reach: Option<Reach>,
    pub(crate) hosts: Hosts,
    pub(crate) access: AccessLog,
    pub(crate) interception: Interception,
    pub(crate) limits: ProxyLimits,
    /// How policy refusals and unreachable upstreams are answered (`[setup.proxy] persona`).
    pub(crate) persona: Persona,
    pub(crate) port: u16,
}

/// How reading a head ended without a request.
enum NoRequest {
    /// The client closed or went silent before sending anything: nothing to log.
    Silent,
    /// Bytes arrived but no complete head within the limit.
    Timeout(Vec<u8>),
    Malformed(Malformed, Vec<u8>),
}

impl Shared {
    pub(crate) async fn serve(&self, mut client: TcpStream) {
        // A persona that keeps the connection alive after a refusal reads the client's next request.
        while let Some(open) = self.serve_one(client).await {
            client = open;
        }
    }

    /// Serves one request; returns the connection when the persona keeps it open for another.
    async fn serve_one(&self, mut client: TcpStream) -> Option<TcpStream> {
        let (request, buf) = match self.read_request(&mut client).await {
            Ok(read) => read,
            Err(NoRequest::Silent) => return None,
            Err(NoRequest::Timeout(buf)) => {
                let reason = format!("no complete request head within {:?}", self.limits.head_timeout);
                self.access.record("-", &request::printable_line(&buf), 408, &reason);
                let _ = refuse(&mut client, 408, &[]).await;
                return None;
            }
            Err(NoRequest::Malformed(malformed, buf)) => {
                self.access.record("-", &request::printable_line(&buf), malformed.status(), &malformed.to_string());
                let _ = refuse(&mut client, malformed.status(), &[]).await;
                return None;
            }
        };
        let method = request::printable(request.method.as_bytes());
        let Some(target) = request.target() else {
            self.access.record(&method, &request::printable(request.target.as_bytes()), 400, "not a proxy request");
            let _ = refuse(&mut client, 400, &[]).await;
            return None;
        };
        let shown = match target.forward_path {
            None => target.authority(),
            Some(_) => request.target.clone(),
        };
        if let Some(reach) = &self.reach {
            if !reach.allows(&target.host, target.port) {
                self.access.record(&method, &shown, 403, "outside the environment");
                let _ = refuse(&mut client, 403, &[]).await;
                return None;
            }
        }
        match self.policy.decide(&target.host, target.port) {
            Decision::Allow | Decision::Intercept if !request.is_connect() => {}
            Decision::Allow => {}
            Decision::Deny { status } => {
                self.access.record(&method, &shown, *status, "denied by policy");
                return self.refuse(client, &shown, Refusal::Denied { status: *status }).await;
            }
            Decision::RequireAuth { user, password } => {
                let presented = request.basic_credentials();
                if presented.as_ref().is_none_or(|(u, p)| u != user || p != password) {
                    let reason = match request.header("proxy-authorization") {
                        Some(_) => "proxy credentials rejected",
                        None => "proxy authentication required",
                    };
                    self.access.record(&method, &shown, 407, reason);
                    let refusal = Refusal::AuthRequired { realm: "sso-repro proxy".to_owned() };
                    return self.refuse(client, &shown, refusal).await;
                }
            }
            Decision::Hang => {
                self.access.record(&method, &shown, 0, "policy: hang");
                // Hold the connection open without answering until the client gives up (it closes
                // its side and the read returns), the hang limit passes, or the proxy is dropped.
                let drain = async {
                    let mut sink = [0u8; 512];
                    while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
                };
                let _ = tokio::time::timeout(self.limits.hang_limit, drain).await;
                return None;
            }
            Decision::Reset => {
                self.access.record(&method, &shown, 0, "policy: reset");
                let _ = client.set_zero_linger();
                return None;
            }
            Decision::Intercept => {
                let upstream = match self.connect(&client, &target.host, target.port).await {
                    Ok(upstream) => upstream,
                    Err((status, reason)) => {
                        return self.upstream_failed(client, &method, &shown, status, &reason).await
                    }
                };
                self.access.record(&method, &shown, 200, "allowed, TLS intercepted and re-signed by the proxy's CA");
                if client.write_all(ESTABLISHED).await.is_ok() {
                    let relay = self.interception.relay(&target.host, client, upstream);
                    match tokio::time::timeout(self.limits.tunnel_limit, relay).await {
                        // Not in the party log: it happens after the client gave up, so whether it is
                        // recorded before an outcome is collected would be a race.
                        Ok(Err(problem)) => tracing::warn!(party = "proxy", "TLS interception of {shown}: {problem}"),
                        Err(_) => tracing::warn!(party = "proxy", "tunnel to {shown} closed after the tunnel limit"),
                        Ok(Ok(())) => {}
                    }
                }
                return None;
            }
        }
        let upstream = match self.connect(&client, &target.host, target.port).await {
            Ok(upstream) => upstream,
            Err((status, reason)) => return self.upstream_failed(client, &method, &shown, status, &reason).await,
        };
        self.access.record(&method, &shown, 200, "allowed");
        let relay = tunnel::relay(client, upstream, &request, target.forward_path.as_deref(), &buf[request.head_len..]);
        if tokio::time::timeout(self.limits.tunnel_limit, relay).await.is_err() {
            tracing::warn!(party = "proxy", "tunnel to {shown} closed after the tunnel limit");
        }
        None
    }

    /// An upstream that could not be reached (502 from [`Shared::connect`]) is answered as the
    /// persona answers it (squid 503, tinyproxy 500); other refusals are ours.
    async fn upstream_failed(
        &self,
        mut client: TcpStream,
        method: &str,
        shown: &str,
        status: u16,
        reason: &str,
    ) -> Option<TcpStream> {
        if status != 502 {
            self.access.record(method, shown, status, reason);
            let _ = refuse(&mut client, status, &[]).await;
            return None;
        }
        let refusal = Refusal::UpstreamUnreachable;
        self.access.record(method, shown, self.persona.status(&refusal), reason);
        self.refuse(client, shown, refusal).await
    }

    /// Writes the persona's refusal; returns the connection if the persona keeps it alive.
    async fn refuse(&self, mut client: TcpStream, target: &str, refusal: Refusal) -> Option<TcpStream> {
        let response = self.persona.response(&refusal, target, self.port, &http_date());
        client.write_all(&response).await.ok()?;
        if self.persona.keeps_alive(&refusal) {
            return Some(client);
        }
        let _ = client.shutdown().await;
        None
    }

    /// Reads until a complete head, a malformed one, or the head timeout.
    async fn read_request(&self, client: &mut TcpStream) -> Result<(Request, Vec<u8>), NoRequest> {
        let mut buf = Vec::with_capacity(1024);
        let read = async {
            loop {
                let mut chunk = [0u8; 2048];
                match client.read(&mut chunk).await {
                    Ok(0) | Err(_) if buf.is_empty() => return Err(None),
                    Ok(0) | Err(_) => return Err(Some(Malformed::Invalid("the client closed mid-head"))),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                match request::parse(&buf) {
                    Ok(Parsed::Partial) => continue,
                    Ok(Parsed::Complete(request)) => return Ok(request),
                    Err(malformed) => return Err(Some(malformed)),
                }
            }
        };
        match tokio::time::timeout(self.limits.head_timeout, read).await {
            Ok(Ok(request)) => Ok((request, buf)),
            Ok(Err(Some(malformed))) => Err(NoRequest::Malformed(malformed, buf)),
            Ok(Err(None)) => Err(NoRequest::Silent),
            Err(_) if buf.is_empty() => Err(NoRequest::Silent),
            Err(_) => Err(NoRequest::Timeout(buf)),
        }
    }

    /// Connects upstream; on failure the status to answer and why. A target that is the proxy's own
    /// listener is refused (a request loop).
    async fn connect(&self, client: &TcpStream, host: &str, port: u16) -> Result<TcpStream, (u16, String)> {
        let ip = self.hosts.resolve(host).await.map_err(|e| (502, format!("upstream unreachable: {e}")))?;
        if client.local_addr().is_ok_and(|local| is_self(local, ip, port)) {
            return Err((403, "refused: the target is the proxy itself".to_owned()));
        }
        match tokio::time::timeout(self.limits.connect_timeout, TcpStream::connect((ip, port))).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(error)) => Err((502, format!("upstream unreachable: {error}"))),
            Err(_) => Err((502, "upstream unreachable: connect timed out".to_owned())),
        }
    }
}

/// Whether `ip:port` reaches the listener a client reached at `local`.
fn is_self(local: SocketAddr, ip: IpAddr, port: u16) -> bool {
    port == local.port() && (ip == local.ip() || ip.is_loopback() || ip.is_unspecified())
}

/// Writes a refusal the way a corporate proxy does: status line, HTML body, close.
pub(crate) async fn refuse(client: &mut TcpStream, status: u16, extra: &[(&str, &str)]) -> std::io::Result<()> {
    client.write_all(&refusal(status, extra)).await?;
    client.shutdown().await
}

/// Answers 503 to a connection over the cap without reading its request, then closes it
/// gracefully: what the client already sent is drained (bounded), so the close is no reset.
pub(crate) async fn turn_away(mut client: TcpStream) {
    let turn_away = async {
        client.write_all(&refusal(503, &[])).await?;
        client.shutdown().await?;
        let mut sink = [0u8; 2048];
        while client.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(TURN_AWAY_LIMIT, turn_away).await;
}

/// How long turning a connection away may take.
const TURN_AWAY_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The bytes of a refusal.
pub(crate) fn refusal(status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
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
    response.into_bytes()
}
