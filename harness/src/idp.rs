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

use crate::hosts::IDP_HOST;
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
    /// Advertised on a loopback port where nothing accepts connections: connection refused.
    Refused,
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
    pub code_lifetime: Duration,
    pub token_endpoint: TokenEndpoint,
}

impl Default for IdpConfig {
    fn default() -> Self {
        IdpConfig {
            host: IDP_HOST.to_owned(),
            client_id: "sso-repro-rp".to_owned(),
            client_secret: "test-only-client-secret".to_owned(),
            auth_methods: vec![ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost],
            subject: "alice".to_owned(),
            code_lifetime: Duration::from_secs(60),
            token_endpoint: TokenEndpoint::Served,
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
    /// Holds the port advertised for a refused token endpoint: bound, never listening.
    _refusing: Option<TcpSocket>,
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
    log: PartyLog,
}

impl Idp {
    /// Starts the IdP on ephemeral loopback ports, with a certificate from `ca`.
    pub async fn start(config: IdpConfig, ca: &Ca) -> Result<Idp, IdpError> {
        let cert = ca.issue(&config.host).map_err(IdpError::Tls)?;
        Idp::serve(config, SocketAddr::from(([127, 0, 0, 1], 0)), &cert, ca.pem()).await
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
        let (token_endpoint, refusing) = match config.token_endpoint {
            TokenEndpoint::Served => (base.join("/token").expect("valid URL"), None),
            TokenEndpoint::Refused => {
                let socket = TcpSocket::new_v4().map_err(IdpError::Bind)?;
                socket.bind(SocketAddr::new(addr.ip(), 0)).map_err(IdpError::Bind)?;
                let closed = socket.local_addr().map_err(IdpError::Bind)?.port();
                let url = format!("https://{}:{closed}/token", config.host);
                (Url::parse(&url).expect("valid URL"), Some(socket))
            }
        };
        let endpoints = ProviderEndpoints {
            issuer: base.as_str().trim_end_matches('/').to_owned(),
            authorization_endpoint: base.join("/authorize").expect("valid URL"),
            token_endpoint,
            userinfo_endpoint: base.join("/userinfo").expect("valid URL"),
            jwks_uri: base.join("/jwks").expect("valid URL"),
        };
        let state = Arc::new(State {
            config,
            endpoints: endpoints.clone(),
            redirect_uris: Mutex::default(),
            grants: Mutex::default(),
            access_tokens: Mutex::default(),
            requests: Mutex::default(),
            log: PartyLog::new("idp"),
        });
        let server = MockServer::builder().start().await;
        mount(&server, &state).await;
        let tls = Task::spawn(terminate_tls(tls_listener, tls_config, *server.address(), state.log.clone()));
        Ok(Idp { endpoints, ca_pem, state, _server: server, _tls: tls, _refusing: refusing })
    }

    pub fn issuer(&self) -> &str {
        &self.endpoints.issuer
    }

    /// The endpoints, as the discovery document publishes them.
    pub fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }

    /// The CA that issued the IdP's certificate (PEM): what a client must trust.
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
        self.requests().iter().filter(|r| r.method == method && r.path == path).count()
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
            .respond_with(move |request: &Request| state.answer(request, handler(&state, request)))
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

    fn discovery(&self, _: &Request) -> Answer {
        let e = &self.endpoints;
        let methods: Vec<_> = self.config.auth_methods.iter().map(|m| m.as_str()).collect();
        let document = json!({
            "issuer": e.issuer,
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

    fn jwks(&self, _: &Request) -> Answer {
        let key = crate::keys::idp_key();
        Answer::json(200, json!({ "keys": [key.jwk()] }), format!("1 key, kid {}", key.kid()))
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
        let refusal = if param("response_type") != "code" {
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
        if !self.config.auth_methods.contains(&auth_method) {
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
        if grant.issued.elapsed() > self.config.code_lifetime {
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
        let issued_at = now();
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
        let access_token = random_token();
        self.access_tokens.lock().expect("idp lock").insert(access_token.clone(), self.config.subject.clone());
        let body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": crate::keys::idp_key().sign_jwt(&claims),
        });
        Answer::json(200, body, format!("tokens issued, client authenticated with {}", auth_method.as_str()))
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
async fn terminate_tls(listener: TcpListener, config: Arc<rustls::ServerConfig>, backend: SocketAddr, log: PartyLog) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    while let Ok((stream, _)) = listener.accept().await {
        // Relayed writes are small and split (head, body): without NODELAY, Nagle and delayed ACKs
        // add 40 ms to every POST.
        let _ = stream.set_nodelay(true);
        let (acceptor, log) = (acceptor.clone(), log.clone());
        tokio::spawn(async move {
            let mut tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(error) => return log.error(format!("TLS handshake failed: {error}")),
            };
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                let _ = plain.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}
