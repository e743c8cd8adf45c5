//! Someone else's forward proxy in place of ours: where it listens, the credentials the RP sends
//! it, and where its access log is, so that `proxy.answered` reads *its* record.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::access_log::{AccessLog, AccessLogError};
use super::ExternalError;
use crate::hosts::Hosts;
use crate::proxy::ProxyEntry;

/// How long probing an external party may take before the sign-in is not tried.
pub const PROBE_WITHIN: Duration = Duration::from_secs(2);
/// How long the harness waits for an external proxy to finish logging a sign-in.
const SETTLE_WITHIN: Duration = Duration::from_secs(2);

/// A forward proxy the harness did not start.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalProxy {
    /// `http://host:port`.
    pub url: Url,
    /// Basic credentials the RP sends when its setup names none (`proxy_user`/`proxy_password`).
    #[serde(default)]
    pub credentials: Option<(String, String)>,
    /// The proxy's access log; without it, proxy expectations cannot be checked.
    #[serde(default)]
    pub access_log: Option<AccessLog>,
    /// How the harness knows the proxy has logged everything.
    #[serde(default)]
    pub settle: Settle,
}

/// How the harness knows an external proxy has written every transaction of a sign-in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settle {
    /// Read the log at once (a proxy that logs when it answers).
    #[default]
    Immediately,
    /// Ask squid's cache manager (`/squid-internal-mgr/active_requests`, allowed from localhost)
    /// until no transaction is open: squid logs a tunnel when it closes.
    SquidManager,
}

impl std::fmt::Debug for ExternalProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalProxy")
            .field("url", &self.shown_url())
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("access_log", &self.access_log)
            .field("settle", &self.settle)
            .finish()
    }
}

impl ExternalProxy {
    /// The URL with any password in it replaced.
    pub fn shown_url(&self) -> String {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("[REDACTED]"));
        }
        url.to_string()
    }

    /// A proxy at `url` whose log the harness cannot read.
    pub fn at(url: Url) -> ExternalProxy {
        ExternalProxy { url, credentials: None, access_log: None, settle: Settle::Immediately }
    }

    /// Opens a TCP connection to the proxy within [`PROBE_WITHIN`]: an unreachable proxy is one clear
    /// error before any sign-in. (No request is sent: it would be a line in the proxy's log. A
    /// connection without a request is none; squid logs it with method `-`, which the reader skips.)
    pub async fn probe(&self, hosts: &Hosts) -> Result<(), ExternalError> {
        let unreachable = |how: String| ExternalError::ProxyUnreachable { url: self.shown_url(), how };
        let (Some(host), Some(port)) = (self.url.host_str(), self.url.port_or_known_default()) else {
            return Err(unreachable("the URL has no host and port".to_owned()));
        };
        let ip = hosts.resolve(host).await.map_err(|e| unreachable(format!("resolving {host}: {e}")))?;
        let connect = tokio::net::TcpStream::connect((ip, port));
        match tokio::time::timeout(PROBE_WITHIN, connect).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(unreachable(format!("a TCP connection to {ip}:{port}: {e}"))),
            Err(_) => Err(unreachable(format!("a TCP connection to {ip}:{port}: no answer within {PROBE_WITHIN:?}"))),
        }
    }
}

/// An external proxy in use: what its log held when the environment started.
#[derive(Debug)]
pub(crate) struct InUse {
    pub proxy: ExternalProxy,
    mark: u64,
}

impl InUse {
    pub fn new(proxy: ExternalProxy) -> InUse {
        let mark = proxy.access_log.as_ref().map_or(0, AccessLog::mark);
        InUse { proxy, mark }
    }

    /// The entries the proxy logged since the environment started (`None`: no log to read).
    pub async fn entries(&self) -> Option<Result<Vec<ProxyEntry>, AccessLogError>> {
        let log = self.proxy.access_log.as_ref()?;
        if self.proxy.settle == Settle::SquidManager {
            // Unsettled, the log may still lack a tunnel; the entries then show it.
            let _ = super::squid::settle_squid(&self.proxy.url, SETTLE_WITHIN).await;
        }
        Some(log.entries_since(self.mark))
    }
}
