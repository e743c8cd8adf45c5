//! The reference RP: axum + `openidconnect` + `reqwest`.
//!
//! It serves `/login` (authorization redirect with state, nonce and PKCE) and `/callback` (state
//! check, code exchange, JWKS, ID-token validation, optionally userinfo). Its back-channel client
//! honours the proxy and no-proxy settings and trusts only the given CAs. A failure is one
//! [`AuthenticationFailed`]; the RP logs it and answers the browser with an error page.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::AsyncHttpClient;
use openidconnect::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    HttpRequest, IssuerUrl, JsonWebKey, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use sha2::{Digest, Sha256};
use url::Url;

use super::contract::verdict;
use super::setup::{BasicEncoding, ResponseMode, RpAuthMethod};
use super::{AuthenticationFailed, BoxError, LaunchRp, Launching, RpError, RpSettings, RunningRp, Stage};
use crate::chain::ErrorChain;
use crate::hosts::RP_HOST;
use crate::log::PartyLog;
use crate::oauth::ProviderEndpoints;
use crate::task::Task;

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

/// The back-channel client for the token request, with the RP's own Basic encoding when it is not
/// openidconnect's (RFC 6749 form-url-encoding).
struct TokenClient {
    http: reqwest::Client,
    raw_basic: Option<openidconnect::http::HeaderValue>,
}

impl<'c> AsyncHttpClient<'c> for TokenClient {
    type Error = <reqwest::Client as openidconnect::AsyncHttpClient<'c>>::Error;
    type Future = <reqwest::Client as openidconnect::AsyncHttpClient<'c>>::Future;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        if let Some(value) = &self.raw_basic {
            request.headers_mut().insert(openidconnect::http::header::AUTHORIZATION, value.clone());
        }
        self.http.call(request)
    }
}

/// A JWS algorithm by its `alg` name.
fn signing_alg(alg: &str) -> Option<CoreJwsSigningAlgorithm> {
    match alg {
        "RS256" => Some(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "ES256" => Some(CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        "HS256" => Some(CoreJwsSigningAlgorithm::HmacSha256),
        _ => None,
    }
}

/// The claims of a compact JWT (already verified by the caller), as JSON.
fn jwt_payload(token: &str) -> serde_json::Map<String, serde_json::Value> {
    let payload = token.split('.').nth(1).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok());
    payload.and_then(|p| serde_json::from_slice(&p).ok()).unwrap_or_default()
}

/// An `at_hash` claim, when present, must be the left half of SHA-256 of the access token
/// (OpenID Connect Core §3.1.3.8; the SHA-256 algorithms are the only ones the RP accepts).
fn check_at_hash(
    payload: &serde_json::Map<String, serde_json::Value>,
    access_token: &AccessToken,
) -> Result<(), Rejected> {
    let Some(claimed) = payload.get("at_hash") else { return Ok(()) };
    let digest = Sha256::digest(access_token.secret().as_bytes());
    match claimed.as_str() == Some(URL_SAFE_NO_PAD.encode(&digest[..16]).as_str()) {
        true => Ok(()),
        false => Err(Rejected("the ID token's at_hash does not match the access token".into())),
    }
}

/// The `kid` in a compact JWT's header.
fn header_kid(token: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
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
    verifier: Option<PkceCodeVerifier>,
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
        .connect_timeout(settings.timeout())
        .timeout(settings.timeout());
    let mut builder = builder;
    for certificate in reqwest::Certificate::from_pem_bundle(settings.trusted_ca_pem.as_bytes())? {
        builder = builder.add_root_certificate(certificate);
    }
    let builder = match &settings.proxy {
        Some(proxy) => {
            let no_proxy = settings.no_proxy().and_then(reqwest::NoProxy::from_string);
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
        let app = Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback).post(callback_form))
            .with_state(inner.clone());
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

    fn client(&self, endpoints: &ProviderEndpoints) -> Result<Client, AuthenticationFailed> {
        let s = &self.settings;
        let issuer = IssuerUrl::new(s.issuer.clone()).map_err(|e| failed(Stage::FetchingMetadata, e))?;
        let redirect = RedirectUrl::new(self.redirect_uri.clone()).map_err(|e| failed(Stage::FetchingMetadata, e))?;
        Ok(CoreClient::new(ClientId::new(s.client_id.clone()), issuer, Default::default())
            .set_client_secret(ClientSecret::new(s.client_secret.clone()))
            .set_auth_uri(AuthUrl::from_url(endpoints.authorization_endpoint.clone()))
            .set_token_uri(TokenUrl::from_url(endpoints.token_endpoint.clone()))
            .set_redirect_uri(redirect)
            .set_auth_type(match s.setup.auth_method {
                RpAuthMethod::ClientSecretBasic | RpAuthMethod::ClientSecretBasicAndPost => AuthType::BasicAuth,
                RpAuthMethod::ClientSecretPost => AuthType::RequestBody,
            }))
    }

    /// `/login`: the authorization URL and the session that remembers state, nonce and verifier.
    async fn begin(&self) -> Result<(Url, String), AuthenticationFailed> {
        let endpoints = self.endpoints().await?;
        let client = self.client(&endpoints)?;
        let mut request =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in &self.settings.setup.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if self.settings.setup.response_mode == ResponseMode::FormPost {
            request = request.add_extra_param("response_mode", "form_post");
        }
        let verifier = match self.settings.setup.pkce {
            true => {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                request = request.set_pkce_challenge(challenge);
                Some(verifier)
            }
            false => None,
        };
        let (url, state, nonce) = request.url();
        let session = CsrfToken::new_random().secret().clone();
        for secret in
            [state.secret(), nonce.secret(), &session].into_iter().chain(verifier.as_ref().map(|v| v.secret()))
        {
            crate::redact::register(secret);
        }
        self.pending.lock().expect("rp lock").insert(session.clone(), Pending { state, nonce, verifier });
        self.log.info(format!("login: redirecting to {}", endpoints.authorization_endpoint));
        Ok((url, session))
    }

    /// `/callback`: state, code exchange, keys, ID token, userinfo. Returns the signed-in subject.
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
        let client = self.client(&endpoints)?;
        let setup = &self.settings.setup;
        let token_redirect_uri = match &setup.token_redirect_uri {
            Some(uri) => Some(RedirectUrl::new(uri.clone()).map_err(|e| failed(Stage::ExchangingTokens, e))?),
            None => None,
        };
        let s = &self.settings;
        let raw_basic = (setup.basic_encoding == BasicEncoding::Raw
            && setup.auth_method != RpAuthMethod::ClientSecretPost)
            .then(|| format!("Basic {}", STANDARD.encode(format!("{}:{}", s.client_id, s.client_secret))));
        let send = TokenClient { http: self.http.clone(), raw_basic: raw_basic.and_then(|v| v.parse().ok()) };
        let mut attempts_left = setup.token_retries;
        let tokens = loop {
            let mut request = client.exchange_code(AuthorizationCode::new(code.clone()));
            if let Some(pending_verifier) = &pending.verifier {
                request = request.set_pkce_verifier(match setup.regenerate_pkce_verifier {
                    true => {
                        let regenerated = PkceCodeChallenge::new_random_sha256().1;
                        crate::redact::register(regenerated.secret());
                        regenerated
                    }
                    false => PkceCodeVerifier::new(pending_verifier.secret().clone()),
                });
            }
            if setup.auth_method == RpAuthMethod::ClientSecretBasicAndPost {
                request = request
                    .add_extra_param("client_id", s.client_id.clone())
                    .add_extra_param("client_secret", s.client_secret.clone());
            }
            if let Some(uri) = &token_redirect_uri {
                request = request.set_redirect_uri(Cow::Borrowed(uri));
            }
            match request.request_async(&send).await {
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
        let compact = id_token.to_string();
        let mut jwks = self.jwks(&endpoints, false).await?;
        if setup.refetch_jwks_on_unknown_kid {
            if let Some(kid) = header_kid(&compact) {
                if !jwks.keys().iter().any(|key| key.key_id().is_some_and(|id| **id == kid)) {
                    self.log.info(format!(
                        "the ID token is signed with key {kid}, which the cached JWKS lacks: fetching the JWKS again"
                    ));
                    jwks = self.jwks(&endpoints, true).await?;
                }
            }
        }
        let skew = setup.clock_skew_secs;
        let verifier = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(s.client_id.clone()),
            ClientSecret::new(s.client_secret.clone()),
            IssuerUrl::new(s.issuer.clone()).map_err(|e| failed(stage, e))?,
            jwks,
        )
        .set_allowed_algs(setup.id_token_algs.iter().filter_map(|alg| signing_alg(alg)))
        .set_time_fn(move || chrono::Utc::now() - chrono::Duration::seconds(skew))
        .set_issue_time_verifier_fn(move |iat| {
            let ahead = iat.timestamp() - unix_now();
            match ahead > skew {
                true => {
                    Err(format!("issued in the future: iat is more than the allowed {skew} s ahead of the RP's clock"))
                }
                false => Ok(()),
            }
        });
        let claims = id_token.claims(&verifier, &pending.nonce).map_err(|e| failed(stage, e))?;
        let payload = jwt_payload(&compact);
        check_at_hash(&payload, tokens.access_token()).map_err(|e| failed(stage, e))?;
        let subject = claims.subject().to_string();
        let userinfo = match setup.userinfo {
            true => Some(self.userinfo(&endpoints, tokens.access_token(), &subject).await?),
            false => None,
        };
        for claim in &setup.required_claims {
            let present = payload.get(claim).is_some() || userinfo.as_ref().is_some_and(|u| u.get(claim).is_some());
            if !present {
                let source = match setup.userinfo {
                    true => "neither the ID token nor the userinfo response has",
                    false => "the ID token has no",
                };
                return Err(failed(stage, Rejected(format!("{source} `{claim}` claim, which the RP requires"))));
            }
        }
        Ok(subject)
    }

    /// The userinfo response, whose `sub` must be the ID token's (OpenID Connect Core §5.3.2).
    async fn userinfo(
        &self,
        endpoints: &ProviderEndpoints,
        access_token: &AccessToken,
        subject: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AuthenticationFailed> {
        let stage = Stage::FetchingUserinfo;
        let response = self
            .http
            .get(endpoints.userinfo_endpoint.clone())
            .bearer_auth(access_token.secret())
            .send()
            .await
            .map_err(|e| failed(stage, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(stage, Rejected(format!("the userinfo endpoint answered {status}"))));
        }
        let body = response.bytes().await.map_err(|e| failed(stage, e))?;
        let claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).map_err(|e| failed(stage, e))?;
        match claims.get("sub").and_then(|s| s.as_str()) {
            Some(sub) if sub == subject => Ok(claims),
            Some(sub) => Err(failed(
                stage,
                Rejected(format!("subject mismatch: the userinfo sub `{sub}` is not the ID token's sub `{subject}`")),
            )),
            None => {
                Err(failed(stage, Rejected("the userinfo response has no `sub` claim, which the RP requires".into())))
            }
        }
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
    finish_callback(rp, headers, params).await
}

/// The callback with `response_mode=form_post`: the parameters come in the posted form. An RP that
/// did not ask for a form post still reads one (as most libraries do).
async fn callback_form(
    State(rp): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    finish_callback(rp, headers, params).await
}

async fn finish_callback(rp: Arc<Inner>, headers: HeaderMap, params: HashMap<String, String>) -> Response {
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(str::to_owned));
    match rp.finish(session.as_deref(), &params).await {
        Ok(subject) => {
            rp.log.info(format!("signed in as {subject}"));
            verdict(true);
            (
                StatusCode::OK,
                Html(format!("<!DOCTYPE html>\n<html><body><h1>Signed in as {subject}</h1></body></html>\n")),
            )
                .into_response()
        }
        Err(failure) => {
            let page = rp.fail(failure);
            verdict(false);
            page
        }
    }
}
