//! The relying party: the contract any RP under test meets ([`LaunchRp`], [`RunningRp`],
//! [`RpSettings`]) and the reference RP that implements it with axum, `openidconnect` and `reqwest`.
//!
//! The reference RP serves `/login` (authorization redirect with state, nonce and PKCE) and
//! `/callback` (state check, code exchange, JWKS, ID-token validation). Its back-channel client
//! honours the proxy and no-proxy settings and trusts only the given CA. A failure is one
//! [`AuthenticationFailed`] whose Display names the stage and whose `source()` chain goes down to the
//! root cause; the RP logs it and answers the browser with an error page.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, IssuerUrl,
    JsonWebKey, JsonWebKeySetUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, TokenResponse, TokenUrl,
};
use url::Url;

use crate::chain::ErrorChain;
use crate::hosts::{Hosts, RP_HOST};
use crate::idp::{ClientAuthMethod, ProviderEndpoints};
use crate::log::PartyLog;
use crate::task::Task;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything the harness tells an RP under test: where the IdP is, the client registration, the
/// network (proxy, no-proxy, trusted CA, name service) and how long to wait.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RpSettings {
    /// The issuer identifier, e.g. `https://idp.sso.test:41234`.
    pub issuer: String,
    /// Endpoints typed in by an administrator; `None` means: discover them from the issuer.
    pub endpoints: Option<ProviderEndpoints>,
    pub client_id: String,
    pub client_secret: String,
    pub auth_method: ClientAuthMethod,
    /// The forward proxy for back-channel calls, e.g. `http://proxy.sso.test:3128`.
    pub proxy: Option<Url>,
    /// Hosts that bypass the proxy, in `NO_PROXY` syntax.
    pub no_proxy: Option<String>,
    /// The CA the RP trusts for HTTPS (PEM).
    pub trusted_ca_pem: String,
    /// Connect and request timeout of the back channel.
    pub timeout: Duration,
    /// The name service (in-process: the harness's host map; in a container: the system's).
    #[serde(skip, default = "Hosts::system")]
    pub hosts: Hosts,
    /// A defect to reproduce: the redirect URI the RP sends with the code, when it differs from the
    /// one it sent in the authorization request.
    pub token_redirect_uri: Option<String>,
    /// How often the RP repeats a token request that timed out, with the same code (default 0).
    #[serde(default)]
    pub token_retries: u8,
    /// Fetch the JWKS again when an ID token names a key it does not hold (default true; false
    /// reproduces RPs that break when the IdP rotates its key).
    #[serde(default = "yes")]
    pub refetch_jwks_on_unknown_kid: bool,
    /// A defect to reproduce: the RP makes a new PKCE verifier at the callback instead of using the
    /// one whose challenge it sent (default false).
    #[serde(default)]
    pub regenerate_pkce_verifier: bool,
}

fn yes() -> bool {
    true
}

/// How far in the future an ID token's `iat` may be (the RP's clock-skew allowance).
pub const ALLOWED_CLOCK_SKEW_SECS: i64 = 60;

/// Why an RP could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpError {
    #[error("binding the RP's listener failed")]
    Bind(#[source] std::io::Error),
    #[error("building the RP's HTTP client failed")]
    Client(#[source] reqwest::Error),
    #[error("writing the RP's settings files failed")]
    Files(#[source] std::io::Error),
    #[error("starting the RP under test (`{program}`) failed")]
    Spawn { program: String, source: std::io::Error },
    #[error("the RP under test (`{program}`) exited with {status} before it was ready; expected a line `sso-repro-rp ready on port N`; its last lines:{last_lines}")]
    Exited { program: String, status: String, last_lines: String },
    #[error("the RP under test (`{program}`) printed no line `sso-repro-rp ready on port N` within {waited:?}; its last lines:{last_lines}")]
    NotReady { program: String, waited: Duration, last_lines: String },
}

/// A running RP under test, whatever it is written in.
pub trait RunningRp: Send + Sync {
    /// Where a browser starts to sign in.
    fn login_url(&self) -> Url;
    /// The redirect URI the IdP must have registered for this RP.
    fn redirect_uri(&self) -> String;
    /// Every sign-in failure so far, as error chains, oldest first.
    fn failures(&self) -> Vec<ErrorChain>;
    /// What the RP logged so far (secrets redacted).
    fn log(&self) -> Vec<String>;
    /// Waits, bounded, until the RP has finished with its first `callbacks` callbacks (for an RP in
    /// another process, whose output arrives after it answered). The reference RP is done when it
    /// answers.
    fn settle(&self, callbacks: usize) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let _ = callbacks;
        Box::pin(std::future::ready(()))
    }
}

/// The future of a starting RP.
pub type Launching<'a> = Pin<Box<dyn Future<Output = Result<Box<dyn RunningRp>, RpError>> + Send + 'a>>;

/// Starts an RP under test from [`RpSettings`].
pub trait LaunchRp: Send + Sync + std::fmt::Debug {
    fn launch(&self, settings: RpSettings) -> Launching<'_>;
}

/// The stage of a sign-in at which it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    FetchingMetadata,
    ValidatingAuthorizationResponse,
    ExchangingTokens,
    FetchingKeys,
    ValidatingIdToken,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::FetchingMetadata => "fetching the provider metadata failed",
            Stage::ValidatingAuthorizationResponse => "validating the authorization response failed",
            Stage::ExchangingTokens => "exchanging authorization tokens failed",
            Stage::FetchingKeys => "fetching the signing keys failed",
            Stage::ValidatingIdToken => "validating the ID token failed",
        })
    }
}

/// A failed sign-in: Display names the stage, `source()` leads to the root cause.
#[derive(Debug, thiserror::Error)]
#[error("{stage}")]
pub struct AuthenticationFailed {
    pub stage: Stage,
    #[source]
    pub source: BoxError,
}

/// A failure the RP detects itself (no lower-level error to wrap).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Rejected(String);

fn failed(stage: Stage, source: impl Into<BoxError>) -> AuthenticationFailed {
    AuthenticationFailed { stage, source: source.into() }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The `kid` in a compact JWT's header.
fn header_kid(token: &str) -> Option<String> {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// A request that failed because it timed out (somewhere down its chain).
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        // oauth2 keeps the reqwest error boxed: look through the box too.
        let reqwest_error = error
            .downcast_ref::<reqwest::Error>()
            .or_else(|| error.downcast_ref::<Box<reqwest::Error>>().map(|b| &**b));
        if reqwest_error.is_some_and(reqwest::Error::is_timeout) {
            return true;
        }
        next = error.source();
    }
    false
}

/// The reference RP: axum + openidconnect + reqwest.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferenceRp;

impl LaunchRp for ReferenceRp {
    fn launch(&self, settings: RpSettings) -> Launching<'_> {
        Box::pin(async move { Ok(Box::new(RunningReferenceRp::start(settings).await?) as Box<dyn RunningRp>) })
    }
}

/// A running reference RP; stops when dropped.
#[derive(Debug)]
pub struct RunningReferenceRp {
    base: Url,
    inner: Arc<Inner>,
    _task: Task,
}

struct Pending {
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

struct Inner {
    settings: RpSettings,
    redirect_uri: String,
    http: reqwest::Client,
    endpoints: Mutex<Option<ProviderEndpoints>>,
    jwks: Mutex<Option<CoreJsonWebKeySet>>,
    pending: Mutex<HashMap<String, Pending>>,
    failures: Mutex<Vec<ErrorChain>>,
    log: PartyLog,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("redirect_uri", &self.redirect_uri).finish_non_exhaustive()
    }
}

const SESSION_COOKIE: &str = "sso_repro_session";

/// The back-channel HTTP client: proxy and no-proxy honoured, only the given CA trusted, no
/// redirects followed, short explicit timeouts.
pub fn back_channel_client(settings: &RpSettings) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .tls_built_in_root_certs(false)
        .dns_resolver(Arc::new(settings.hosts.clone()))
        .redirect(reqwest::redirect::Policy::none())
        // One connection per call, so every call shows in the proxy's log, deterministically.
        .pool_max_idle_per_host(0)
        .connect_timeout(settings.timeout)
        .timeout(settings.timeout);
    let mut builder = builder;
    for certificate in reqwest::Certificate::from_pem_bundle(settings.trusted_ca_pem.as_bytes())? {
        builder = builder.add_root_certificate(certificate);
    }
    let builder = match &settings.proxy {
        Some(proxy) => {
            let no_proxy = settings.no_proxy.as_deref().and_then(reqwest::NoProxy::from_string);
            builder.proxy(reqwest::Proxy::all(proxy.as_str())?.no_proxy(no_proxy))
        }
        None => builder.no_proxy(),
    };
    builder.build()
}

impl RunningReferenceRp {
    /// Starts the reference RP on an ephemeral loopback port, as `http://rp.sso.test:PORT`.
    pub async fn start(settings: RpSettings) -> Result<RunningReferenceRp, RpError> {
        RunningReferenceRp::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), settings).await
    }

    /// Starts the reference RP listening on `addr`, as `http://rp.sso.test:PORT`.
    pub async fn bind(addr: std::net::SocketAddr, settings: RpSettings) -> Result<RunningReferenceRp, RpError> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(RpError::Bind)?;
        let port = listener.local_addr().map_err(RpError::Bind)?.port();
        let base = Url::parse(&format!("http://{RP_HOST}:{port}")).expect("valid RP URL");
        let inner = Arc::new(Inner {
            redirect_uri: base.join("/callback").expect("valid URL").to_string(),
            http: back_channel_client(&settings).map_err(RpError::Client)?,
            endpoints: Mutex::new(settings.endpoints.clone()),
            settings,
            jwks: Mutex::default(),
            pending: Mutex::default(),
            failures: Mutex::default(),
            log: PartyLog::new("rp"),
        });
        let app = Router::new().route("/login", get(login)).route("/callback", get(callback)).with_state(inner.clone());
        let task = Task::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RunningReferenceRp { base, inner, _task: task })
    }
}

impl RunningRp for RunningReferenceRp {
    fn login_url(&self) -> Url {
        self.base.join("/login").expect("valid URL")
    }

    fn redirect_uri(&self) -> String {
        self.inner.redirect_uri.clone()
    }

    fn failures(&self) -> Vec<ErrorChain> {
        self.inner.failures.lock().expect("rp lock").clone()
    }

    fn log(&self) -> Vec<String> {
        self.inner.log.lines()
    }
}

type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointNotSet>;

impl Inner {
    /// The provider's endpoints: configured, or discovered once (with the JWKS) and kept.
    async fn endpoints(&self) -> Result<ProviderEndpoints, AuthenticationFailed> {
        if let Some(endpoints) = self.endpoints.lock().expect("rp lock").clone() {
            return Ok(endpoints);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| failed(Stage::FetchingMetadata, e))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| failed(Stage::FetchingMetadata, e))?;
        let token_endpoint = metadata.token_endpoint().ok_or_else(|| {
            failed(Stage::FetchingMetadata, Rejected("the provider metadata has no token_endpoint".into()))
        })?;
        let endpoints = ProviderEndpoints {
            issuer: metadata.issuer().to_string(),
            authorization_endpoint: metadata.authorization_endpoint().url().clone(),
            token_endpoint: token_endpoint.url().clone(),
            userinfo_endpoint: metadata
                .userinfo_endpoint()
                .map_or_else(|| token_endpoint.url().clone(), |u| u.url().clone()),
            jwks_uri: metadata.jwks_uri().url().clone(),
        };
        *self.jwks.lock().expect("rp lock") = Some(metadata.jwks().clone());
        *self.endpoints.lock().expect("rp lock") = Some(endpoints.clone());
        Ok(endpoints)
    }

    fn client(&self, endpoints: &ProviderEndpoints) -> Client {
        let s = &self.settings;
        CoreClient::new(
            ClientId::new(s.client_id.clone()),
            IssuerUrl::new(s.issuer.clone()).expect("issuer URL"),
            Default::default(),
        )
        .set_client_secret(ClientSecret::new(s.client_secret.clone()))
        .set_auth_uri(AuthUrl::from_url(endpoints.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).expect("redirect URI"))
        .set_auth_type(match s.auth_method {
            ClientAuthMethod::ClientSecretBasic => AuthType::BasicAuth,
            ClientAuthMethod::ClientSecretPost => AuthType::RequestBody,
        })
    }

    /// `/login`: the authorization URL and the session that remembers state, nonce and verifier.
    async fn begin(&self) -> Result<(Url, String), AuthenticationFailed> {
        let endpoints = self.endpoints().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client(&endpoints)
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let session = CsrfToken::new_random().secret().clone();
        self.pending.lock().expect("rp lock").insert(session.clone(), Pending { state, nonce, verifier });
        self.log.info(format!("login: redirecting to {}", endpoints.authorization_endpoint));
        Ok((url, session))
    }

    /// `/callback`: state, code exchange, keys, ID token. Returns the signed-in subject.
    async fn finish(
        &self,
        session: Option<&str>,
        params: &HashMap<String, String>,
    ) -> Result<String, AuthenticationFailed> {
        let stage = Stage::ValidatingAuthorizationResponse;
        let pending = session.and_then(|s| self.pending.lock().expect("rp lock").remove(s));
        let Some(pending) = pending else {
            return Err(failed(stage, Rejected("state mismatch: no sign-in is in progress for this browser".into())));
        };
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").map(String::as_str).unwrap_or("no description");
            return Err(failed(stage, Rejected(format!("the provider returned {error}: {description}"))));
        }
        if params.get("state") != Some(pending.state.secret()) {
            return Err(failed(stage, Rejected("state mismatch: the state returned is not the one sent".into())));
        }
        let Some(code) = params.get("code") else {
            return Err(failed(stage, Rejected("the authorization response has no code".into())));
        };
        let endpoints = self.endpoints().await?;
        let client = self.client(&endpoints);
        let token_redirect_uri = match &self.settings.token_redirect_uri {
            Some(uri) => Some(RedirectUrl::new(uri.clone()).map_err(|e| failed(Stage::ExchangingTokens, e))?),
            None => None,
        };
        let mut attempts_left = self.settings.token_retries;
        let tokens = loop {
            let verifier = match self.settings.regenerate_pkce_verifier {
                true => PkceCodeChallenge::new_random_sha256().1,
                false => PkceCodeVerifier::new(pending.verifier.secret().clone()),
            };
            let mut request = client.exchange_code(AuthorizationCode::new(code.clone())).set_pkce_verifier(verifier);
            if let Some(uri) = &token_redirect_uri {
                request = request.set_redirect_uri(Cow::Borrowed(uri));
            }
            match request.request_async(&self.http).await {
                Ok(tokens) => break tokens,
                Err(error) if attempts_left > 0 && is_timeout(&error) => {
                    attempts_left -= 1;
                    self.log.error("token request timed out; retrying with the same code");
                }
                Err(error) => return Err(failed(Stage::ExchangingTokens, error)),
            }
        };
        let stage = Stage::ValidatingIdToken;
        let id_token =
            tokens.id_token().ok_or_else(|| failed(stage, Rejected("the token response has no id_token".into())))?;
        let mut jwks = self.jwks(&endpoints, false).await?;
        if self.settings.refetch_jwks_on_unknown_kid {
            if let Some(kid) = header_kid(&id_token.to_string()) {
                if !jwks.keys().iter().any(|key| key.key_id().is_some_and(|id| **id == kid)) {
                    self.log.info(format!(
                        "the ID token is signed with key {kid}, which the cached JWKS lacks: fetching the JWKS again"
                    ));
                    jwks = self.jwks(&endpoints, true).await?;
                }
            }
        }
        let s = &self.settings;
        let verifier = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(s.client_id.clone()),
            ClientSecret::new(s.client_secret.clone()),
            IssuerUrl::new(s.issuer.clone()).map_err(|e| failed(stage, e))?,
            jwks,
        )
        .set_issue_time_verifier_fn(|iat| {
            let ahead = iat.timestamp() - unix_now();
            match ahead > ALLOWED_CLOCK_SKEW_SECS {
                true => Err(format!(
                    "issued in the future: iat is more than the allowed {ALLOWED_CLOCK_SKEW_SECS} s ahead of the RP's clock"
                )),
                false => Ok(()),
            }
        });
        let claims = id_token.claims(&verifier, &pending.nonce).map_err(|e| failed(stage, e))?;
        Ok(claims.subject().to_string())
    }

    /// The provider's keys: kept from discovery or an earlier fetch (unless `refresh`), else fetched now.
    async fn jwks(
        &self,
        endpoints: &ProviderEndpoints,
        refresh: bool,
    ) -> Result<CoreJsonWebKeySet, AuthenticationFailed> {
        if let Some(jwks) = self.jwks.lock().expect("rp lock").clone().filter(|_| !refresh) {
            return Ok(jwks);
        }
        let url = JsonWebKeySetUrl::from_url(endpoints.jwks_uri.clone());
        let jwks =
            CoreJsonWebKeySet::fetch_async(&url, &self.http).await.map_err(|e| failed(Stage::FetchingKeys, e))?;
        *self.jwks.lock().expect("rp lock") = Some(jwks.clone());
        Ok(jwks)
    }

    /// Logs and keeps a failure, and answers the browser the way products do: an error page.
    fn fail(&self, failure: AuthenticationFailed) -> Response {
        let chain = ErrorChain::from_error(&failure);
        self.log.error(format!("sign-in failed: {}", chain.levels.join(": ")));
        self.failures.lock().expect("rp lock").push(chain);
        let page = format!(
            "<!DOCTYPE html>\n<html><body><h1>Sign-in failed</h1><p>{}</p><p><a href=\"/login\">Try again</a></p></body></html>\n",
            failure.stage
        );
        (StatusCode::UNAUTHORIZED, Html(page)).into_response()
    }
}

async fn login(State(rp): State<Arc<Inner>>) -> Response {
    match rp.begin().await {
        Ok((url, session)) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, url.to_string()),
                (header::SET_COOKIE, format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax")),
            ],
        )
            .into_response(),
        Err(failure) => rp.fail(failure),
    }
}

async fn callback(
    State(rp): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(str::to_owned));
    match rp.finish(session.as_deref(), &params).await {
        Ok(subject) => {
            rp.log.info(format!("signed in as {subject}"));
            crate::command::verdict(true);
            (
                StatusCode::OK,
                Html(format!("<!DOCTYPE html>\n<html><body><h1>Signed in as {subject}</h1></body></html>\n")),
            )
                .into_response()
        }
        Err(failure) => {
            let page = rp.fail(failure);
            crate::command::verdict(false);
            page
        }
    }
}
