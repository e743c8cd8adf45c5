//! A blocking forward proxy, the way a corporate egress proxy behaves: `CONNECT host:port` tunnels and
//! absolute-form requests (`GET http://host/path HTTP/1.1`), with a policy per `host[:port]`. A refusal
//! is a real status line with an HTML body, then the connection closes. The proxy knows nothing of
//! OIDC; it resolves host names through the harness's [`Hosts`] and keeps an access log.
//!
//! Its parts: [`policy`] (what to do per host), `request` (the head, parsed with `httparse`),
//! `connection` (one client, every wait bounded), `tunnel` (relaying and TLS interception),
//! [`access_log`] (bounded). Every connection task belongs to the proxy's accept loop
//! (`crate::serve`): dropping the proxy closes them all.

pub mod access_log;
mod connection;
pub mod policy;
mod request;
mod tunnel;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use access_log::{reason_phrase, ProxyEntry};
pub use policy::{Decision, ProxyPolicy, Reach, Rule};

use crate::external::persona::Persona;
use crate::hosts::Hosts;
use crate::log::PartyLog;
use crate::serve::AcceptLoop;
use crate::task::Task;
use access_log::AccessLog;
use connection::Shared;
use tunnel::Interception;

/// Upper bounds on what one connection may take. The defaults are short: no run waits for long.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyLimits {
    /// How long a client may take to send its request head (default 2 s).
    pub head_timeout: Duration,
    /// How long connecting upstream may take (default 2 s).
    pub connect_timeout: Duration,
    /// How long a `hang` rule holds a connection before closing it (default 5 s).
    pub hang_limit: Duration,
    /// How long a tunnel or forwarded request may stay open (default 30 s).
    pub tunnel_limit: Duration,
    /// How many connections are served at once; more are answered 503 (default 256).
    pub max_connections: usize,
}

impl Default for ProxyLimits {
    fn default() -> ProxyLimits {
        ProxyLimits {
            head_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            hang_limit: Duration::from_secs(5),
            tunnel_limit: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

impl ProxyLimits {
    /// The same limits with hangs and tunnels held at most `limit`.
    pub fn holding_at_most(mut self, limit: Duration) -> ProxyLimits {
        (self.hang_limit, self.tunnel_limit) = (limit, limit);
        self
    }

    /// The same limits with at most `max` concurrent connections.
    pub fn max_connections(mut self, max: usize) -> ProxyLimits {
        self.max_connections = max;
        self
    }
}

/// How a proxy is started (see [`Proxy::start_with`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// The address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// What to do with each request.
    pub policy: ProxyPolicy,
    /// How it resolves host names.
    pub hosts: Hosts,
    /// What the proxy trusts upstream when it intercepts TLS (PEM).
    pub upstream_ca_pem: String,
    /// Where it may connect at all; `None`: anywhere `hosts` resolves.
    pub reach: Option<Reach>,
    /// Its bounds on connections, waits and log size; default: [`ProxyLimits::default`].
    pub limits: ProxyLimits,
    /// How it answers refusals (squid, tinyproxy or ours).
    pub persona: Persona,
    party: &'static str,
}

impl ProxyConfig {
    /// A proxy on `addr` with `policy`, resolving through `hosts`, with default limits.
    pub fn new(addr: SocketAddr, policy: ProxyPolicy, hosts: Hosts) -> ProxyConfig {
        ProxyConfig {
            addr,
            policy,
            hosts,
            upstream_ca_pem: String::new(),
            reach: None,
            limits: ProxyLimits::default(),
            persona: Persona::default(),
            party: "proxy",
        }
    }

    /// The same config with these limits.
    pub fn limits(mut self, limits: ProxyLimits) -> ProxyConfig {
        self.limits = limits;
        self
    }

    /// The same config, connecting only where `reach` allows.
    pub fn reach(mut self, reach: Reach) -> ProxyConfig {
        self.reach = Some(reach);
        self
    }

    /// The same config, trusting `upstream_ca_pem` when it intercepts TLS.
    pub fn trusting(mut self, upstream_ca_pem: &str) -> ProxyConfig {
        self.upstream_ca_pem = upstream_ca_pem.to_owned();
        self
    }

    /// The same config, answering refusals as `persona`.
    pub fn persona(mut self, persona: Persona) -> ProxyConfig {
        self.persona = persona;
        self
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    interception_ca_pem: String,
    access: AccessLog,
    _task: Task,
}

impl Proxy {
    /// Starts a proxy on an ephemeral loopback port.
    pub async fn start(policy: ProxyPolicy, hosts: Hosts) -> std::io::Result<Proxy> {
        Proxy::bind(SocketAddr::from(([127, 0, 0, 1], 0)), policy, hosts).await
    }

    /// Starts a proxy listening on `addr`.
    pub async fn bind(addr: SocketAddr, policy: ProxyPolicy, hosts: Hosts) -> std::io::Result<Proxy> {
        Proxy::start_with(ProxyConfig::new(addr, policy, hosts)).await
    }

    /// Starts a proxy listening on `addr` that, when it intercepts TLS, trusts the CAs in
    /// `upstream_ca_pem` for the upstream side.
    pub async fn bind_trusting(
        addr: SocketAddr,
        policy: ProxyPolicy,
        hosts: Hosts,
        upstream_ca_pem: &str,
    ) -> std::io::Result<Proxy> {
        Proxy::start_with(ProxyConfig::new(addr, policy, hosts).trusting(upstream_ca_pem)).await
    }

    /// [`Proxy::bind_trusting`], answering refusals the way `persona` does.
    pub async fn bind_persona(
        addr: SocketAddr,
        policy: ProxyPolicy,
        hosts: Hosts,
        upstream_ca_pem: &str,
        persona: Persona,
    ) -> std::io::Result<Proxy> {
        Proxy::start_with(ProxyConfig::new(addr, policy, hosts).trusting(upstream_ca_pem).persona(persona)).await
    }

    /// An allow-all proxy for the test's browser into a container network, that reaches only
    /// `reach` (its log is not the scenario's proxy log).
    pub async fn gateway(addr: SocketAddr, hosts: Hosts, reach: Reach) -> std::io::Result<Proxy> {
        let config = ProxyConfig { party: "gateway", ..ProxyConfig::new(addr, ProxyPolicy::allow_all(), hosts) };
        Proxy::start_with(config.reach(reach)).await
    }

    /// Starts a proxy as `config` says.
    pub async fn start_with(config: ProxyConfig) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let interception = Interception::new(&config.upstream_ca_pem).map_err(std::io::Error::other)?;
        let interception_ca_pem = interception.ca.pem();
        let log = PartyLog::new(config.party);
        let access = AccessLog::new(log.clone());
        let accept = AcceptLoop { log, max_connections: config.limits.max_connections };
        let shared = Arc::new(Shared {
            policy: config.policy,
            reach: config.reach,
            hosts: config.hosts,
            access: access.clone(),
            interception,
            limits: config.limits,
            persona: config.persona,
            port: addr.port(),
        });
        let refused = access.clone();
        let serve = move |client, _peer| {
            let shared = shared.clone();
            async move { shared.serve(client).await }
        };
        let refuse = move |client, open: usize| {
            refused.record("-", "-", 503, &format!("connection limit reached ({open} open)"));
            connection::turn_away(client)
        };
        let task = Task::spawn(accept.run(listener, serve, refuse));
        Ok(Proxy { addr, access, interception_ca_pem, _task: task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The access log so far.
    pub fn entries(&self) -> Vec<ProxyEntry> {
        self.access.entries()
    }

    /// How many of the oldest entries were dropped to keep the access log bounded.
    pub fn dropped_entries(&self) -> u64 {
        self.access.dropped()
    }

    /// The proxy's own log lines.
    pub fn log(&self) -> &PartyLog {
        self.access.party_log()
    }

    /// The CA the proxy re-signs intercepted TLS with (PEM): what a client must trust to accept it.
    pub fn interception_ca_pem(&self) -> &str {
        &self.interception_ca_pem
    }
}
