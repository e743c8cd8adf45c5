//! The mock OpenID Connect provider, built on `wiremock` and served over real TLS.
//!
//! It serves discovery, JWKS, authorize, token and userinfo, and it *validates* like a real IdP:
//! client authentication (`client_secret_basic` and `client_secret_post`, each allowed or not),
//! single-use short-lived codes, the redirect URI of the authorization request, the PKCE verifier.
//! A misconfigured RP therefore fails the way it would against a production IdP. What it answers
//! is data ([`IdpSetup`]): any status, header and body, any ID-token claim, header and key — the
//! named faults are shorthands for it. Every request is recorded for assertions.
//!
//! - [`setup`] — `[setup.idp]`, its named shorthands and their expansion
//! - [`registration`] — the client as registered, and every refusal's answer
//! - [`id_token`], [`jwks`], [`keys`] — what is signed, published and with which key
//! - [`response`], [`template`] — answers as data, and their placeholders
//! - `endpoints` — the handlers; `tls_front` — the rustls terminator; `broken_port` — ports that fail

mod answer;
mod broken_port;
mod endpoints;
pub mod id_token;
pub mod jwks;
pub mod keys;
pub mod named;
pub mod registration;
pub mod response;
pub mod setup;
pub mod template;
mod tls_front;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use url::Url;
use wiremock::MockServer;

pub use self::id_token::{HashClaim, IdTokenFault, IdTokenSpec, SignatureForm};
pub use self::jwks::{JwksFault, JwksFetch, JwksSpec};
pub use self::keys::KeyName;
pub use self::named::NamedOr;
pub use self::registration::{BasicDecoding, ClientRegistration, OAuthError, Refusal};
pub use self::response::ResponseSpec;
pub use self::setup::{AuthorizeSpec, IdpSetup, IdpTls, TokenEndpoint, TokenResponse};
pub use crate::oauth::{ClientAuthMethod, ProviderEndpoints};

use self::broken_port::BrokenPort;
use self::endpoints::State;
use crate::hosts::{IDP_HOST, IDP_INTERNAL_HOST, JWKS_HOST};
use crate::log::PartyLog;
use crate::task::Task;
use crate::tls::{Ca, ServerCert, TlsError};
use crate::unbudgeted_drop::UnbudgetedDrop;

/// Why the IdP could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdpError {
    /// A listener (the IdP's, or a broken token endpoint's port) could not be bound.
    #[error("binding the IdP's listener failed")]
    Bind(#[source] std::io::Error),
    /// The IdP's certificate or TLS configuration could not be made.
    #[error("making the IdP's certificate failed")]
    Tls(#[source] TlsError),
    /// The IdP's mock server could not be started or did not answer.
    #[error("the IdP's mock server did not answer (out of file descriptors?)")]
    Backend(#[source] std::io::Error),
}

/// One request the IdP answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdpRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, without the query, e.g. `/token`.
    pub path: String,
    /// The status the IdP answered with.
    pub status: u16,
}

/// A running mock IdP; stops when dropped.
pub struct Idp {
    endpoints: ProviderEndpoints,
    ca_pem: String,
    state: Arc<State>,
    /// Dropped outside tokio's coop budget: see [`crate::unbudgeted_drop`].
    _server: UnbudgetedDrop<MockServer>,
    _tls: Task,
    /// Holds the port advertised for a broken token endpoint.
    _broken: Option<BrokenPort>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp").field("issuer", &self.endpoints.issuer).finish_non_exhaustive()
    }
}

/// The certificate the IdP presents for `setup.tls`, and the PEM of the CA that issued it.
pub fn server_cert(setup: &IdpSetup, ca: &Ca) -> Result<(ServerCert, String), TlsError> {
    let mut names = vec![IDP_HOST.to_owned()];
    if setup.separate_jwks_host {
        names.push(JWKS_HOST.to_owned());
    }
    match setup.tls {
        IdpTls::HarnessCa => Ok((ca.issue_for(&names, false)?, ca.pem())),
        IdpTls::Expired => Ok((ca.issue_for(&names, true)?, ca.pem())),
        IdpTls::OtherCa => {
            let other = Ca::new("Other Public Root CA")?;
            Ok((other.issue_for(&names, false)?, other.pem()))
        }
    }
}

impl Idp {
    /// Starts the IdP on ephemeral loopback ports, with a certificate from `ca` (or, for
    /// `tls = other-ca`, from a CA of its own).
    pub async fn start(setup: IdpSetup, ca: &Ca) -> Result<Idp, IdpError> {
        let (cert, issuer_pem) = server_cert(&setup, ca).map_err(IdpError::Tls)?;
        Idp::serve(setup, SocketAddr::from(([127, 0, 0, 1], 0)), &cert, issuer_pem).await
    }

    /// Starts the IdP listening on `addr` and presenting `cert` (issued by the CA in `ca_pem`).
    pub async fn serve(setup: IdpSetup, addr: SocketAddr, cert: &ServerCert, ca_pem: String) -> Result<Idp, IdpError> {
        let tls_config = cert.server_config().map_err(IdpError::Tls)?;
        let tls_listener = TcpListener::bind(addr).await.map_err(IdpError::Bind)?;
        let port = tls_listener.local_addr().map_err(IdpError::Bind)?.port();
        let url = |host: &str, port: u16, path: &str| {
            Url::parse(&format!("https://{host}:{port}{path}")).expect("harness host names make valid URLs")
        };
        let (token_endpoint, broken) = match setup.token_endpoint {
            TokenEndpoint::Served => (url(IDP_HOST, port, "/token"), None),
            TokenEndpoint::Unresolvable => (url("idp.sso.invalid", port, "/token"), None),
            TokenEndpoint::InternalAlias => (url(IDP_INTERNAL_HOST, port, "/token"), None),
            TokenEndpoint::Refused => {
                let (closed, held) = BrokenPort::refusing(addr.ip()).await.map_err(IdpError::Bind)?;
                (url(IDP_HOST, closed, "/token"), Some(held))
            }
            TokenEndpoint::Blackhole => {
                let (dropping, held) = BrokenPort::blackhole(addr.ip()).await.map_err(IdpError::Bind)?;
                (url(IDP_HOST, dropping, "/token"), Some(held))
            }
        };
        let jwks_host = if setup.separate_jwks_host { JWKS_HOST } else { IDP_HOST };
        let endpoints = ProviderEndpoints {
            issuer: format!("https://{IDP_HOST}:{port}"),
            authorization_endpoint: url(IDP_HOST, port, "/authorize"),
            token_endpoint,
            userinfo_endpoint: url(IDP_HOST, port, "/userinfo"),
            jwks_uri: url(jwks_host, port, "/jwks"),
        };
        let state = Arc::new(State::new(setup, endpoints.clone()));
        // wiremock panics when it cannot bind a port itself: hand it a listener bound here instead.
        let backend = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).map_err(IdpError::Bind)?;
        let server = MockServer::builder().listener(backend).start().await;
        // wiremock serves from a thread of its own whose runtime it builds with `expect`: out of
        // descriptors, that thread dies and the IdP would be silently dead. Ask it once, before any
        // endpoint (and so any record) exists.
        probe(*server.address()).await.map_err(IdpError::Backend)?;
        endpoints::mount(&server, &state).await;
        let log = state.log.clone();
        let tls = Task::spawn(tls_front::terminate_tls(tls_listener, tls_config, *server.address(), log));
        Ok(Idp { endpoints, ca_pem, state, _server: UnbudgetedDrop::new(server), _tls: tls, _broken: broken })
    }

    /// The issuer identifier, e.g. `https://idp.sso.test:41234`.
    pub fn issuer(&self) -> &str {
        &self.endpoints.issuer
    }

    /// The endpoints, as the discovery document publishes them.
    pub fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }

    /// The CA that issued the IdP's certificate (PEM): what a client must trust. For
    /// `tls = other-ca` it is not the environment's CA.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// What the IdP was set up with.
    pub fn setup(&self) -> &IdpSetup {
        &self.state.setup
    }

    /// Registers the RP's redirect URI for the client, as an administrator does in the IdP's
    /// console — or, when `[setup.idp.client] redirect_uris` is given, exactly those.
    ///
    /// The URI must be an absolute URL without a fragment (RFC 6749 §3.1.2); anything else is
    /// refused, as an IdP's console refuses it.
    pub fn register_redirect_uri(&self, rp_redirect_uri: &str) -> Result<(), InvalidRedirectUri> {
        let invalid = |source| InvalidRedirectUri { uri: rp_redirect_uri.to_owned(), source };
        let parsed = Url::parse(rp_redirect_uri).map_err(|e| invalid(Some(e)))?;
        if parsed.fragment().is_some() || parsed.cannot_be_a_base() {
            return Err(invalid(None));
        }
        let registered = match &self.state.setup.client.redirect_uris {
            None => vec![rp_redirect_uri.to_owned()],
            Some(uris) => uris.iter().map(|uri| uri.replace("{{rp_redirect_uri}}", rp_redirect_uri)).collect(),
        };
        self.state.redirect_uris.lock().expect("idp lock").extend(registered);
        Ok(())
    }

    /// Every request the IdP answered, oldest first.
    pub fn requests(&self) -> Vec<IdpRequest> {
        self.state.requests.lock().expect("idp lock").clone()
    }

    /// How many requests reached `METHOD path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.state.count(method, path)
    }

    /// What the IdP logged: every request and what it answered.
    pub fn log(&self) -> &PartyLog {
        &self.state.log
    }
}

/// How long the mock server may take to answer its first request.
const BACKEND_READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// One HTTP request to the mock server at `backend`; any answer means it serves.
async fn probe(backend: SocketAddr) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(backend).await?;
        stream.write_all(b"GET /sso-repro-ready HTTP/1.1\r\nhost: idp\r\nconnection: close\r\n\r\n").await?;
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).await?;
        match first.starts_with(b"HTTP/1.1 ") {
            true => Ok(()),
            false => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the mock server answered no HTTP")),
        }
    };
    match tokio::time::timeout(BACKEND_READY_WITHIN, exchange).await {
        Ok(result) => result,
        Err(_) => {
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {BACKEND_READY_WITHIN:?}")))
        }
    }
}

/// A redirect URI that cannot be registered.
#[derive(Debug, thiserror::Error)]
#[error("the redirect URI `{uri}` is not an absolute URL without a fragment (RFC 6749 §3.1.2)")]
pub struct InvalidRedirectUri {
    /// The URI as given.
    pub uri: String,
    #[source]
    source: Option<url::ParseError>,
}

/// The IdP's clock: the machine's, moved by `offset_secs`.
fn now(offset_secs: i64) -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    secs + offset_secs
}
