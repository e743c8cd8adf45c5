//! One party in a process of its own (the containers backend): configuration in as JSON, log lines
//! out on stdout, and what the party recorded on demand at `GET :9000/records`.
//!
//! The `sso-party` binary is this module's `main`. Each party listens on a fixed port inside its
//! container and is addressed by the same host names as in-process, so issuer URLs agree everywhere.

use std::net::SocketAddr;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::chain::ErrorChain;
use crate::hosts::Hosts;
use crate::idp::{Idp, IdpError, IdpRequest, IdpSetup};
use crate::proxy::{Proxy, ProxyEntry, ProxyPolicy, Reach};
use crate::rp::{RpError, RpSettings, RunningReferenceRp, RunningRp};
use crate::tls::ServerCert;

/// The environment variable holding the Unix time at which a party process ends by itself (the
/// containers backend sets it, so a killed run's containers do not live on).
pub const EXPIRES_VAR: &str = "SSO_PARTY_EXPIRES_AT";

/// Runs `serve` until it ends or the time in [`EXPIRES_VAR`] (if set) has come.
pub async fn until_expiry<E>(serve: impl std::future::Future<Output = Result<(), E>>) -> Result<(), E> {
    let expires = std::env::var(EXPIRES_VAR).ok().and_then(|at| at.parse::<u64>().ok());
    let Some(expires) = expires else { return serve.await };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let left = std::time::Duration::from_secs(expires.saturating_sub(now));
    match tokio::time::timeout(left, serve).await {
        Ok(served) => served,
        Err(_) => {
            eprintln!("sso-party: lifetime over ({EXPIRES_VAR}={expires}), exiting");
            Ok(())
        }
    }
}

/// The environment variable that carries a [`PartyConfig`] as JSON.
pub const CONFIG_VAR: &str = "SSO_PARTY_CONFIG";
/// What a party prints on stderr once it accepts connections.
pub const READY: &str = "sso-party ready";
pub const IDP_PORT: u16 = 8443;
pub const PROXY_PORT: u16 = 3128;
/// The allow-all listener of the proxy's container, for the test's browser.
pub const GATEWAY_PORT: u16 = 8081;
pub const RP_PORT: u16 = 8080;
pub const ADMIN_PORT: u16 = 9000;

/// Which party to serve, and its configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "party", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // read once per process; boxing would only add noise
pub enum PartyConfig {
    Idp {
        config: IdpSetup,
        cert: ServerCert,
        ca_pem: String,
        redirect_uris: Vec<String>,
    },
    /// `upstream_ca_pem`: what the proxy trusts when it intercepts TLS.
    Proxy {
        policy: ProxyPolicy,
        upstream_ca_pem: String,
        /// How it answers refusals.
        #[serde(default)]
        persona: crate::external::Persona,
    },
    Rp {
        settings: RpSettings,
    },
}

/// What a party recorded, as `GET /records` answers it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Records {
    pub lines: Vec<String>,
    /// The IdP's endpoints (what an administrator copies into an RP's settings).
    #[serde(default)]
    pub endpoints: Option<crate::oauth::ProviderEndpoints>,
    /// The proxy's TLS-interception CA (PEM).
    #[serde(default)]
    pub interception_ca_pem: Option<String>,
    #[serde(default)]
    pub idp_requests: Vec<IdpRequest>,
    #[serde(default)]
    pub proxy_entries: Vec<ProxyEntry>,
    #[serde(default)]
    pub rp_failures: Vec<ErrorChain>,
}

/// Why a party could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartyError {
    #[error("starting the IdP failed")]
    Idp(#[source] IdpError),
    #[error("starting the proxy failed")]
    Proxy(#[source] std::io::Error),
    #[error("starting the RP failed")]
    Rp(#[source] RpError),
    #[error("registering a redirect URI failed")]
    RedirectUri(#[source] crate::idp::InvalidRedirectUri),
    #[error("serving the records endpoint failed")]
    Admin(#[source] std::io::Error),
    #[error("reading the RP settings file named by SSO_SETTINGS_FILE failed")]
    Settings(#[source] std::io::Error),
}

/// Where the browser's gateway may go: the environment's parties, on their ports and the records
/// port, and nowhere else.
pub fn gateway_reach() -> Reach {
    Reach { domain: "sso.test".to_owned(), ports: vec![IDP_PORT, RP_PORT, ADMIN_PORT] }
}

/// Set (to anything) to run a party as a plain process on this machine: every listener binds
/// 127.0.0.1 on an ephemeral port (or the party's own listener on the port given as the value) instead of the container's fixed port on every address, and the
/// party prints `sso-party listening <role> <address>` on stderr before [`READY`] (the benchmarks
/// start parties this way).
pub const LOOPBACK_VAR: &str = "SSO_PARTY_LOOPBACK";

fn any(port: u16) -> SocketAddr {
    match std::env::var(LOOPBACK_VAR) {
        // The party's own port (the IdP's, the proxy's, the RP's) may be given as the value; the
        // records and gateway listeners always take an ephemeral one.
        Ok(value) => {
            let own = value.parse::<u16>().ok().filter(|_| port != ADMIN_PORT && port != GATEWAY_PORT);
            SocketAddr::from(([127, 0, 0, 1], own.unwrap_or(0)))
        }
        Err(_) => SocketAddr::from(([0, 0, 0, 0], port)),
    }
}

fn announce(role: &str, addr: impl std::fmt::Display) {
    if std::env::var_os(LOOPBACK_VAR).is_some() {
        eprintln!("sso-party listening {role} {addr}");
    }
}

/// Serves the reference RP under the external-RP contract of [`crate::command`]: settings from the
/// JSON file in `SSO_SETTINGS_FILE`, listening on `SSO_LISTEN_PORT` (default 8080) on every address,
/// the readiness line, and a verdict line after each callback. This is how the workspace's own image
/// stands in for "a container image of your RP" (no other image can be built without a registry).
pub async fn serve_contract_rp() -> Result<(), PartyError> {
    let file = std::env::var("SSO_SETTINGS_FILE").unwrap_or_default();
    let text = std::fs::read_to_string(&file).map_err(PartyError::Settings)?;
    let settings: RpSettings = serde_json::from_str(&text).map_err(|e| PartyError::Settings(e.into()))?;
    let port = std::env::var("SSO_LISTEN_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(RP_PORT);
    crate::log::echo_to_stdout("rp");
    crate::command::print_verdicts();
    let _rp = RunningReferenceRp::bind(any(port), settings).await.map_err(PartyError::Rp)?;
    println!("{}{port}", crate::command::READY_PREFIX);
    std::future::pending::<()>().await;
    Ok(())
}

/// Serves one party until the process is stopped.
pub async fn serve(config: PartyConfig) -> Result<(), PartyError> {
    let records: std::sync::Arc<dyn Fn() -> Records + Send + Sync> = match config {
        PartyConfig::Idp { config, cert, ca_pem, redirect_uris } => {
            crate::log::echo_to_stdout("idp");
            crate::secrets::register_idp(&config);
            let idp = Idp::serve(config, any(IDP_PORT), &cert, ca_pem).await.map_err(PartyError::Idp)?;
            for uri in &redirect_uris {
                idp.register_redirect_uri(uri).map_err(PartyError::RedirectUri)?;
            }
            announce("idp", idp.issuer());
            std::sync::Arc::new(move || Records {
                lines: idp.log().lines(),
                idp_requests: idp.requests(),
                endpoints: Some(idp.endpoints().clone()),
                ..Records::default()
            })
        }
        PartyConfig::Proxy { policy, upstream_ca_pem, persona } => {
            crate::log::echo_to_stdout("proxy");
            crate::secrets::register_policy(&policy);
            let proxy = Proxy::bind_persona(any(PROXY_PORT), policy, Hosts::system(), &upstream_ca_pem, persona)
                .await
                .map_err(PartyError::Proxy)?;
            let gateway =
                Proxy::gateway(any(GATEWAY_PORT), Hosts::system(), gateway_reach()).await.map_err(PartyError::Proxy)?;
            announce("proxy", proxy.addr());
            std::sync::Arc::new(move || {
                // The gateway has no records of its own; the closure holds it for the process's life.
                let _gateway = &gateway;
                Records {
                    lines: proxy.log().lines(),
                    proxy_entries: proxy.entries(),
                    interception_ca_pem: Some(proxy.interception_ca_pem().to_owned()),
                    ..Records::default()
                }
            })
        }
        PartyConfig::Rp { settings } => {
            crate::log::echo_to_stdout("rp");
            crate::secrets::register_rp(&settings);
            let rp = RunningReferenceRp::bind(any(RP_PORT), settings).await.map_err(PartyError::Rp)?;
            std::sync::Arc::new(move || Records { lines: rp.log(), rp_failures: rp.failures(), ..Records::default() })
        }
    };
    let app = Router::new().route(
        "/records",
        get(move || {
            let body = serde_json::to_string(&records()).expect("records serialize");
            std::future::ready(([(header::CONTENT_TYPE, "application/json")], body))
        }),
    );
    let listener = tokio::net::TcpListener::bind(any(ADMIN_PORT)).await.map_err(PartyError::Admin)?;
    announce("admin", listener.local_addr().map_err(PartyError::Admin)?);
    eprintln!("{READY}");
    axum::serve(listener, app).await.map_err(PartyError::Admin)
}
