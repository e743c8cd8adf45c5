//! The mock OpenID Connect provider, built on `wiremock` and served over real TLS.
//!
//! It serves discovery, JWKS, authorize, token and userinfo, and it *validates* like a real IdP:
//! client authentication (`client_secret_basic` and `client_secret_post`, each allowed or not),
//! single-use short-lived codes, the redirect URI of the authorization request, the PKCE verifier.
//! A misconfigured RP therefore fails the way it would against a production IdP. ID tokens are
//! RS256-signed with [`crate::keys::idp_key`]. Every request is recorded for assertions.
//!
//! wiremock speaks plain HTTP; a small rustls terminator in front of it holds the certificate for the
//! IdP's host name, issued by the environment's [`Ca`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use url::Url;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::hosts::{IDP_HOST, IDP_INTERNAL_HOST, JWKS_HOST};
use crate::keys::{idp_key, other_key, SigningKey};
use crate::log::PartyLog;
use crate::task::Task;
use crate::tls::{Ca, ServerCert, TlsError};

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with the url-encoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// Where the IdP says its token endpoint is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenEndpoint {
    /// Served by the IdP, on its own port.
    #[default]
    Served,
    /// Advertised on a port where nothing accepts connections: connection refused.
    Refused,
    /// Advertised under a host name nobody can resolve (`idp.sso.invalid`).
    Unresolvable,
    /// Advertised on a port whose listener never completes a handshake (its queue is full, as
    /// behind a firewall that drops): connect timeout.
    Blackhole,
    /// Advertised under an internal alias (`idp-internal.sso.test`) that the certificate does not name.
    InternalAlias,
}

/// What the token endpoint answers once the request is valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenResponse {
    #[default]
    Tokens,
    /// `500 Internal Server Error` with an HTML page.
    ServerError,
    /// `200 OK` with an HTML page (a login or error page of something in between).
    HtmlPage,
    /// A token response without `id_token`.
    NoIdToken,
    /// A token response without `access_token`.
    NoAccessToken,
}

/// How the ID token is forged (the OpenID certification's RP negative tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdTokenFault {
    #[default]
    Valid,
    /// A signature that does not verify.
    BadSignature,
    /// Signed by a key the JWKS does not publish (its `kid` is unknown).
    UnknownKid,
    /// No `kid` in the header.
    NoKid,
    /// `alg: none`, no signature.
    AlgNone,
    WrongIssuer,
    WrongAudience,
    NoSub,
    NoIat,
    WrongNonce,
}

/// What the JWKS endpoint publishes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JwksFault {
    /// The signing key.
    #[default]
    Current,
    /// The signing key and another one.
    ExtraKey,
    /// The key was rotated: the first fetch still returns the old key, later fetches the new one;
    /// tokens are signed with the new key.
    Rotated,
    /// Rotated, and every fetch after the first answers 503.
    RotatedRefetchFails,
    /// Every fetch answers 503.
    Unavailable,
}

/// The certificate the IdP presents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdpTls {
    /// Issued by the environment's CA, which the RP trusts.
    #[default]
    HarnessCa,
    /// Issued by another CA (one the browser trusts, the RP does not).
    OtherCa,
    /// Issued by the environment's CA, expired yesterday.
    Expired,
}

/// The IdP's behaviour: what a scenario's `[setup.idp]` sets. Everything defaults to a healthy IdP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpBehaviour {
    /// Client authentication methods the client may use (default: basic and post).
    pub auth_methods: Option<Vec<ClientAuthMethod>>,
    /// How long an authorization code can be redeemed (default 60 000 ms).
    pub code_lifetime_ms: Option<u64>,
    #[serde(default)]
    pub token_endpoint: TokenEndpoint,
    #[serde(default)]
    pub token_response: TokenResponse,
    /// The token endpoint answers the first token request this much later (a cold node, a pause).
    pub token_delay_ms: Option<u64>,
    #[serde(default)]
    pub id_token: IdTokenFault,
    #[serde(default)]
    pub jwks: JwksFault,
    /// Serve the JWKS under its own host name (`keys.sso.test`).
    #[serde(default)]
    pub separate_jwks_host: bool,
    /// The IdP's clock is this far off (seconds; `iat` and `exp` move with it).
    #[serde(default)]
    pub clock_offset_secs: i64,
    /// The authorization endpoint sends the browser back with this `error` (e.g. `access_denied`).
    pub authorize_error: Option<String>,
    /// The issuer the discovery document claims, when it differs from the real one.
    pub discovery_issuer: Option<String>,
    #[serde(default)]
    pub tls: IdpTls,
}

/// The IdP's configuration: its one registered client, and its behaviour.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdpConfig {
    pub host: String,
    pub client_id: String,
    pub client_secret: String,
    /// Client authentication methods the client may use at the token endpoint.
    pub auth_methods: Vec<ClientAuthMethod>,
    /// The user who signs in.
    pub subject: String,
    #[serde(default)]
    pub behaviour: IdpBehaviour,
}

impl Default for IdpConfig {
    fn default() -> Self {
        IdpConfig {
            host: IDP_HOST.to_owned(),
            client_id: "sso-repro-rp".to_owned(),
            client_secret: "test-only-client-secret".to_owned(),
            auth_methods: vec![ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost],
            subject: "alice".to_owned(),
            behaviour: IdpBehaviour::default(),
        }
    }
}

/// Why the IdP could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdpError {
    #[error("binding the IdP's listener failed")]
    Bind(#[source] std::io::Error),
    #[error("making the IdP's certificate failed")]
    Tls(#[source] TlsError),
}

/// The endpoints a provider publishes (or an administrator types into an RP's settings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEndpoints {
    /// The issuer identifier, exactly as it appears in `iss` (no trailing slash).
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub userinfo_endpoint: Url,
    pub jwks_uri: Url,
}

/// One request the IdP answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// A running mock IdP; stops when dropped.
pub struct Idp {
    endpoints: ProviderEndpoints,
    ca_pem: String,
    state: Arc<State>,
    _server: MockServer,
    _tls: Task,
    /// Holds the port advertised for a broken token endpoint.
    _broken: Option<BrokenPort>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp").field("issuer", &self.endpoints.issuer).finish_non_exhaustive()
    }
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    issued: Instant,
    used: bool,
}

struct State {
    config: IdpConfig,
    endpoints: ProviderEndpoints,
    redirect_uris: Mutex<Vec<String>>,
    grants: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashMap<String, String>>,
    requests: Mutex<Vec<IdpRequest>>,
    jwks_fetches: Mutex<usize>,
    log: PartyLog,
}

/// The certificate the IdP presents for `behaviour.tls`, and the PEM of the CA that issued it.
pub fn server_cert(config: &IdpConfig, ca: &Ca) -> Result<(ServerCert, String), TlsError> {
    let mut names = vec![config.host.clone()];
    if config.behaviour.separate_jwks_host {
        names.push(JWKS_HOST.to_owned());
    }
    match config.behaviour.tls {
        IdpTls::HarnessCa => Ok((ca.issue_for(&names, false)?, ca.pem())),
        IdpTls::Expired => Ok((ca.issue_for(&names, true)?, ca.pem())),
        IdpTls::OtherCa => {
            let other = Ca::new("Other Public Root CA")?;
            Ok((other.issue_for(&names, false)?, other.pem()))
        }
    }
}

/// Holds an advertised port that must not work: bound and never listening (refused), or listening
/// with a full queue that never accepts (blackhole).
#[allow(dead_code)] // held for their effect on the port
enum BrokenPort {
    Refusing(TcpSocket),
    Blackhole(TcpListener, TcpStream),
}

impl BrokenPort {
    async fn refusing(ip: std::net::IpAddr) -> std::io::Result<(u16, BrokenPort)> {
        let socket = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(ip, 0))?;
        Ok((socket.local_addr()?.port(), BrokenPort::Refusing(socket)))
    }

    /// A listener with a backlog of one that is never accepted, filled by one connection: the
    /// kernel drops further handshakes, as a firewall that drops does.
    async fn blackhole(ip: std::net::IpAddr) -> std::io::Result<(u16, BrokenPort)> {
        let socket = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(ip, 0))?;
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        let connect_to = if ip.is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
        let filler = TcpStream::connect(connect_to).await?;
        Ok((addr.port(), BrokenPort::Blackhole(listener, filler)))
    }
}

impl Idp {
    /// Starts the IdP on ephemeral loopback ports, with a certificate from `ca` (or, for
    /// `behaviour.tls = other-ca`, from a CA of its own).
    pub async fn start(config: IdpConfig, ca: &Ca) -> Result<Idp, IdpError> {
        let (cert, issuer_pem) = server_cert(&config, ca).map_err(IdpError::Tls)?;
        Idp::serve(config, SocketAddr::from(([127, 0, 0, 1], 0)), &cert, issuer_pem).await
    }

    /// Starts the IdP listening on `addr` and presenting `cert` (issued by the CA in `ca_pem`).
    pub async fn serve(
        config: IdpConfig,
        addr: SocketAddr,
        cert: &ServerCert,
        ca_pem: String,
    ) -> Result<Idp, IdpError> {
        let tls_config = cert.server_config().map_err(IdpError::Tls)?;
        let tls_listener = TcpListener::bind(addr).await.map_err(IdpError::Bind)?;
        let port = tls_listener.local_addr().map_err(IdpError::Bind)?.port();
        let base = Url::parse(&format!("https://{}:{port}", config.host)).expect("valid issuer URL");
        let url = |host: &str, port: u16, path: &str| Url::parse(&format!("https://{host}:{port}{path}")).expect("URL");
        let (token_endpoint, broken) = match config.behaviour.token_endpoint {
            TokenEndpoint::Served => (url(&config.host, port, "/token"), None),
            TokenEndpoint::Unresolvable => (url("idp.sso.invalid", port, "/token"), None),
            TokenEndpoint::InternalAlias => (url(IDP_INTERNAL_HOST, port, "/token"), None),
            TokenEndpoint::Refused => {
                let (closed, held) = BrokenPort::refusing(addr.ip()).await.map_err(IdpError::Bind)?;
                (url(&config.host, closed, "/token"), Some(held))
            }
            TokenEndpoint::Blackhole => {
                let (dropping, held) = BrokenPort::blackhole(addr.ip()).await.map_err(IdpError::Bind)?;
                (url(&config.host, dropping, "/token"), Some(held))
            }
        };
        let jwks_host = if config.behaviour.separate_jwks_host { JWKS_HOST } else { config.host.as_str() };
        let endpoints = ProviderEndpoints {
            issuer: base.as_str().trim_end_matches('/').to_owned(),
            authorization_endpoint: base.join("/authorize").expect("valid URL"),
            token_endpoint,
            userinfo_endpoint: base.join("/userinfo").expect("valid URL"),
            jwks_uri: url(jwks_host, port, "/jwks"),
        };
        let state = Arc::new(State {
            config,
            endpoints: endpoints.clone(),
            redirect_uris: Mutex::default(),
            grants: Mutex::default(),
            access_tokens: Mutex::default(),
            requests: Mutex::default(),
            jwks_fetches: Mutex::default(),
            log: PartyLog::new("idp"),
        });
        let server = MockServer::builder().start().await;
        mount(&server, &state).await;
        let tls = Task::spawn(terminate_tls(tls_listener, tls_config, *server.address()));
        Ok(Idp { endpoints, ca_pem, state, _server: server, _tls: tls, _broken: broken })
    }

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

    pub fn config(&self) -> &IdpConfig {
        &self.state.config
    }

    /// Registers a redirect URI for the client (as an administrator does in the IdP's console).
    pub fn register_redirect_uri(&self, uri: &str) {
        self.state.redirect_uris.lock().expect("idp lock").push(uri.to_owned());
    }

    /// Every request the IdP answered, oldest first.
    pub fn requests(&self) -> Vec<IdpRequest> {
        self.state.requests.lock().expect("idp lock").clone()
    }

    /// How many requests reached `METHOD path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.state.count(method, path)
    }

    pub fn log(&self) -> &PartyLog {
        &self.state.log
    }
}

/// An endpoint of the IdP.
type Handler = fn(&State, &Request) -> Answer;

async fn mount(server: &MockServer, state: &Arc<State>) {
    let routes: [(&str, &str, Handler); 5] = [
        ("GET", "/.well-known/openid-configuration", State::discovery),
        ("GET", "/jwks", State::jwks),
        ("GET", "/authorize", State::authorize),
        ("POST", "/token", State::token),
        ("GET", "/userinfo", State::userinfo),
    ];
    for (verb, route, handler) in routes {
        let state = state.clone();
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(move |request: &Request| {
                let response = state.answer(request, handler(&state, request));
                let first_token_request = route == "/token" && state.count("POST", "/token") == 1;
                match state.config.behaviour.token_delay_ms {
                    Some(delay) if first_token_request => response.set_delay(Duration::from_millis(delay)),
                    _ => response,
                }
            })
            .named(format!("{verb} {route}"))
            .mount(server)
            .await;
    }
    let state = state.clone();
    Mock::given(any())
        .respond_with(move |request: &Request| state.answer(request, Answer::status(404, "no such endpoint")))
        .with_priority(u8::MAX)
        .named("anything else")
        .mount(server)
        .await;
}

/// A response and the one-line reason the IdP logs for it.
struct Answer {
    response: ResponseTemplate,
    status: u16,
    note: String,
}

impl Answer {
    fn status(status: u16, note: impl Into<String>) -> Answer {
        Answer { response: ResponseTemplate::new(status), status, note: note.into() }
    }

    fn redirect(location: &Url, note: impl Into<String>) -> Answer {
        let response = ResponseTemplate::new(302).insert_header("location", location.as_str());
        Answer { response, status: 302, note: note.into() }
    }

    fn json(status: u16, body: Value, note: impl Into<String>) -> Answer {
        let response = ResponseTemplate::new(status)
            .insert_header("cache-control", "no-store")
            .set_body_raw(body.to_string(), "application/json");
        Answer { response, status, note: note.into() }
    }

    /// An OAuth error response (RFC 6749 §5.2).
    fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
        let body = json!({ "error": error, "error_description": description });
        Answer::json(status, body, format!("{error}: {description}"))
    }

    fn html(status: u16, message: &str) -> Answer {
        let body = format!("<!DOCTYPE html>\n<html><body><h1>Sign-in error</h1><p>{message}</p></body></html>\n");
        let response = ResponseTemplate::new(status).set_body_raw(body, "text/html; charset=utf-8");
        Answer { response, status, note: message.to_owned() }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

/// Client credentials from an `Authorization: Basic` header, url-decoded (RFC 6749 §2.3.1).
fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let header = request.headers.get("authorization")?.to_str().ok()?;
    let encoded = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((decode(id)?, decode(secret)?))
}

impl State {
    fn count(&self, method: &str, path: &str) -> usize {
        self.requests.lock().expect("idp lock").iter().filter(|r| r.method == method && r.path == path).count()
    }

    fn answer(&self, request: &Request, answer: Answer) -> ResponseTemplate {
        let line = format!("{} {} → {} ({})", request.method, request.url.path(), answer.status, answer.note);
        match answer.status {
            200..=399 => self.log.info(line),
            _ => self.log.error(line),
        }
        let record = IdpRequest {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            status: answer.status,
        };
        self.requests.lock().expect("idp lock").push(record);
        answer.response
    }

    fn auth_methods(&self) -> Vec<ClientAuthMethod> {
        let both = vec![ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost];
        self.config.behaviour.auth_methods.clone().unwrap_or(both)
    }

    fn discovery(&self, _: &Request) -> Answer {
        let e = &self.endpoints;
        let methods: Vec<_> = self.auth_methods().iter().map(|m| m.as_str()).collect();
        let document = json!({
            "issuer": self.config.behaviour.discovery_issuer.as_deref().unwrap_or(&e.issuer),
            "authorization_endpoint": e.authorization_endpoint,
            "token_endpoint": e.token_endpoint,
            "userinfo_endpoint": e.userinfo_endpoint,
            "jwks_uri": e.jwks_uri,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": methods,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
            "grant_types_supported": ["authorization_code"],
        });
        Answer::json(200, document, "discovery document")
    }

    /// The key tokens are signed with (after a rotation: the new one).
    fn signing_key(&self) -> &'static SigningKey {
        match self.config.behaviour.jwks {
            JwksFault::Rotated | JwksFault::RotatedRefetchFails => other_key(),
            _ => idp_key(),
        }
    }

    fn jwks(&self, _: &Request) -> Answer {
        let fetch = {
            let mut fetches = self.jwks_fetches.lock().expect("idp lock");
            *fetches += 1;
            *fetches
        };
        let keys: Vec<&SigningKey> = match (self.config.behaviour.jwks, fetch) {
            (JwksFault::Current, _) => vec![idp_key()],
            (JwksFault::ExtraKey, _) => vec![idp_key(), other_key()],
            (JwksFault::Rotated | JwksFault::RotatedRefetchFails, 1) => vec![idp_key()],
            (JwksFault::Rotated, _) => vec![other_key()],
            (JwksFault::RotatedRefetchFails | JwksFault::Unavailable, _) => {
                return Answer::html(503, "the key service is unavailable")
            }
        };
        let kids: Vec<&str> = keys.iter().map(|k| k.kid()).collect();
        let body = json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() });
        Answer::json(
            200,
            body,
            match keys.len() {
                1 => format!("1 key, kid {}", kids[0]),
                n => format!("{n} keys, kids {}", kids.join(", ")),
            },
        )
    }

    /// The ID token, signed (or forged) as `behaviour.id_token` says.
    fn id_token(&self, nonce: Option<String>) -> String {
        let behaviour = &self.config.behaviour;
        let issued_at = now().saturating_add_signed(behaviour.clock_offset_secs);
        let mut claims = json!({
            "iss": self.endpoints.issuer,
            "sub": self.config.subject,
            "aud": self.config.client_id,
            "iat": issued_at,
            "exp": issued_at + 300,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let key = self.signing_key();
        match behaviour.id_token {
            IdTokenFault::WrongIssuer => claims["iss"] = json!("https://evil.sso.test"),
            IdTokenFault::WrongAudience => claims["aud"] = json!("another-client"),
            IdTokenFault::NoSub => drop(claims.as_object_mut().map(|c| c.remove("sub"))),
            IdTokenFault::NoIat => drop(claims.as_object_mut().map(|c| c.remove("iat"))),
            IdTokenFault::WrongNonce => claims["nonce"] = json!("not-the-nonce-the-rp-sent"),
            _ => {}
        }
        match behaviour.id_token {
            IdTokenFault::BadSignature => {
                let token = key.sign_jwt(&claims);
                let (input, signature) = token.rsplit_once('.').expect("a compact JWT");
                let mut signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
                signature[10] ^= 0xff;
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
            }
            IdTokenFault::UnknownKid => other_key().sign_jwt(&claims),
            IdTokenFault::NoKid => key.sign_jwt_with_header(&json!({ "alg": "RS256", "typ": "JWT" }), &claims),
            IdTokenFault::AlgNone => {
                let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
                format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
            }
            _ => key.sign_jwt(&claims),
        }
    }

    fn authorize(&self, request: &Request) -> Answer {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        if param("client_id") != self.config.client_id {
            return Answer::html(400, &format!("unknown client_id \"{}\"", param("client_id")));
        }
        let redirect_uri = param("redirect_uri");
        if !self.redirect_uris.lock().expect("idp lock").iter().any(|uri| uri == redirect_uri) {
            return Answer::html(400, &format!("redirect_uri {redirect_uri} is not registered for this client"));
        }
        let mut location = Url::parse(redirect_uri).expect("registered redirect URIs are URLs");
        if let Some(state) = query.get("state") {
            location.query_pairs_mut().append_pair("state", state);
        }
        let challenge_method = query.get("code_challenge_method").map(String::as_str);
        let refusal = if let Some(error) = &self.config.behaviour.authorize_error {
            Some((error.as_str(), "the user is not allowed to sign in to this application"))
        } else if param("response_type") != "code" {
            Some(("unsupported_response_type", "only the authorization code flow is supported"))
        } else if !param("scope").split(' ').any(|s| s == "openid") {
            Some(("invalid_scope", "the openid scope is required"))
        } else if query.contains_key("code_challenge") && challenge_method != Some("S256") {
            Some(("invalid_request", "code_challenge_method must be S256"))
        } else {
            None
        };
        if let Some((error, description)) = refusal {
            location.query_pairs_mut().append_pair("error", error).append_pair("error_description", description);
            return Answer::redirect(&location, format!("{error}: {description}"));
        }
        let code = random_token();
        let grant = Grant {
            client_id: param("client_id").to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            nonce: query.get("nonce").cloned(),
            code_challenge: query.get("code_challenge").cloned(),
            issued: Instant::now(),
            used: false,
        };
        self.grants.lock().expect("idp lock").insert(code.clone(), grant);
        location.query_pairs_mut().append_pair("code", &code);
        Answer::redirect(&location, format!("code issued, user {} signed in", self.config.subject))
    }

    fn token(&self, request: &Request) -> Answer {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        let basic = basic_credentials(request);
        let (auth_method, client_id, secret) = match (basic, form.get("client_secret")) {
            (Some(_), Some(_)) => {
                return Answer::oauth_error(400, "invalid_request", "more than one client authentication method")
            }
            (Some((id, secret)), None) => (ClientAuthMethod::ClientSecretBasic, id, secret),
            (None, Some(secret)) => {
                let id = form.get("client_id").cloned().unwrap_or_default();
                (ClientAuthMethod::ClientSecretPost, id, secret.clone())
            }
            (None, None) => return Answer::oauth_error(401, "invalid_client", "no client authentication"),
        };
        if client_id != self.config.client_id || secret != self.config.client_secret {
            let mut answer = Answer::oauth_error(401, "invalid_client", "client authentication failed");
            if auth_method == ClientAuthMethod::ClientSecretBasic {
                answer.response = answer.response.insert_header("www-authenticate", "Basic realm=\"sso-repro idp\"");
            }
            return answer;
        }
        if !self.auth_methods().contains(&auth_method) {
            let description =
                format!("client authentication method {} is not allowed for this client", auth_method.as_str());
            return Answer::oauth_error(401, "invalid_client", &description);
        }
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return Answer::oauth_error(400, "unsupported_grant_type", "only authorization_code is supported");
        }
        let mut grants = self.grants.lock().expect("idp lock");
        let Some(grant) = form.get("code").and_then(|code| grants.get_mut(code)) else {
            return Answer::oauth_error(400, "invalid_grant", "unknown authorization code");
        };
        if grant.used {
            return Answer::oauth_error(400, "invalid_grant", "authorization code already used");
        }
        grant.used = true;
        let lifetime = Duration::from_millis(self.config.behaviour.code_lifetime_ms.unwrap_or(60_000));
        if grant.issued.elapsed() > lifetime {
            return Answer::oauth_error(400, "invalid_grant", "authorization code expired");
        }
        if grant.client_id != client_id {
            return Answer::oauth_error(400, "invalid_grant", "authorization code was issued to another client");
        }
        if form.get("redirect_uri") != Some(&grant.redirect_uri) {
            return Answer::oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request");
        }
        if let Some(challenge) = &grant.code_challenge {
            let Some(verifier) = form.get("code_verifier") else {
                return Answer::oauth_error(400, "invalid_grant", "code_verifier is required");
            };
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                return Answer::oauth_error(400, "invalid_grant", "PKCE verification failed");
            }
        }
        let nonce = grant.nonce.clone();
        drop(grants);
        let access_token = random_token();
        self.access_tokens.lock().expect("idp lock").insert(access_token.clone(), self.config.subject.clone());
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(nonce),
        });
        let authenticated = format!("client authenticated with {}", auth_method.as_str());
        match self.config.behaviour.token_response {
            TokenResponse::Tokens => Answer::json(200, body, format!("tokens issued, {authenticated}")),
            TokenResponse::ServerError => Answer::html(500, "Internal Server Error"),
            TokenResponse::HtmlPage => {
                let mut answer = Answer::html(200, "Please sign in to continue");
                answer.note = format!("an HTML page instead of tokens, {authenticated}");
                answer
            }
            TokenResponse::NoIdToken | TokenResponse::NoAccessToken => {
                let missing = match self.config.behaviour.token_response {
                    TokenResponse::NoIdToken => "id_token",
                    _ => "access_token",
                };
                body.as_object_mut().map(|b| b.remove(missing));
                Answer::json(200, body, format!("tokens issued without {missing}, {authenticated}"))
            }
        }
    }

    fn userinfo(&self, request: &Request) -> Answer {
        let bearer =
            request.headers.get("authorization").and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer "));
        let subject = bearer.and_then(|token| self.access_tokens.lock().expect("idp lock").get(token).cloned());
        match subject {
            Some(sub) => {
                Answer::json(200, json!({ "sub": sub, "name": "Alice Example", "email": "alice@sso.test" }), "userinfo")
            }
            None => {
                let mut answer = Answer::oauth_error(401, "invalid_token", "unknown access token");
                answer.response = answer.response.insert_header("www-authenticate", "Bearer error=\"invalid_token\"");
                answer
            }
        }
    }
}

/// Accepts TLS on `listener` and relays the plaintext to the wiremock server at `backend`.
async fn terminate_tls(listener: TcpListener, config: Arc<rustls::ServerConfig>, backend: SocketAddr) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    while let Ok((stream, _)) = listener.accept().await {
        // Relayed writes are small and split (head, body): without NODELAY, Nagle and delayed ACKs
        // add 40 ms to every POST.
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let mut tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                // Not in the party log: the client has already given up, so recording it would race
                // with the collection of an outcome.
                Err(error) => return tracing::warn!(party = "idp", "TLS handshake failed: {error}"),
            };
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                let _ = plain.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}
