//! `[setup.idp]`: everything a scenario can make the IdP do, defaulting to a healthy IdP. The
//! named faults are shorthands; [`IdpSetup::expanded`] turns them into the open forms the
//! endpoints actually read.

use serde::{Deserialize, Serialize};

use super::id_token::{IdTokenFault, IdTokenSpec};
use super::jwks::{JwksFault, JwksSpec};
use super::named::NamedOr;
use super::registration::ClientRegistration;
use super::response::ResponseSpec;
use super::template::{check_str, Context};

/// Where the IdP says its token endpoint is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
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

/// The named token answers (shorthands for a [`ResponseSpec`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TokenResponse {
    /// The usual token response: `access_token`, `id_token`, `token_type`, `expires_in`.
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

impl TokenResponse {
    /// The [`ResponseSpec`] this answer is a shorthand for.
    pub fn expand(self) -> ResponseSpec {
        match self {
            TokenResponse::Tokens => ResponseSpec::default(),
            TokenResponse::ServerError => ResponseSpec::html(500, "Internal Server Error", "Internal Server Error"),
            TokenResponse::HtmlPage => {
                ResponseSpec::html(200, "Please sign in to continue", "an HTML page instead of tokens")
            }
            TokenResponse::NoIdToken => ResponseSpec::without(&["id_token"], "tokens issued without id_token"),
            TokenResponse::NoAccessToken => {
                ResponseSpec::without(&["access_token"], "tokens issued without access_token")
            }
        }
    }
}

/// The certificate the IdP presents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IdpTls {
    /// Issued by the environment's CA, which the RP trusts.
    #[default]
    HarnessCa,
    /// Issued by another CA (one the browser trusts, the RP does not).
    OtherCa,
    /// Issued by the environment's CA, expired yesterday.
    Expired,
}

/// The authorization response (the redirect back to the RP), as data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthorizeSpec {
    /// Send the browser back with this `error` instead of a code (e.g. `access_denied`).
    pub error: Option<String>,
    /// The `error_description` sent with `error` (default: none).
    pub error_description: Option<String>,
    /// `state`: `echo` (default) the RP's, `omit` it, or send this value.
    pub state: Option<String>,
    /// `iss` (RFC 9207): absent by default; `issuer` sends the IdP's, any other value is sent as is.
    pub iss: Option<String>,
}

/// `[setup.idp]`.
///
/// It grows with every fault the harness learns, so outside this crate it starts from
/// `IdpSetup::default()` (or a scenario file) and its fields are set one by one:
///
/// ```
/// let mut setup = sso_harness::IdpSetup::default();
/// setup.tls = sso_harness::idp::IdpTls::Expired;
/// ```
///
/// ```compile_fail,E0639
/// let setup = sso_harness::IdpSetup { tls: sso_harness::idp::IdpTls::Expired, ..Default::default() };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdpSetup {
    /// The client's registration (`[setup.idp.client]`).
    #[serde(default)]
    pub client: ClientRegistration,
    /// Shorthand for `client.auth_methods`.
    pub auth_methods: Option<Vec<crate::oauth::ClientAuthMethod>>,
    /// The user who signs in (default `alice`).
    pub subject: Option<String>,
    /// How long an authorization code can be redeemed (default 60 000 ms).
    pub code_lifetime_ms: Option<u64>,
    /// Where the discovery document says the token endpoint is (default: served by the IdP).
    #[serde(default)]
    pub token_endpoint: TokenEndpoint,
    /// A named answer (`"html-page"`) or the answer as data.
    #[serde(default)]
    pub token_response: NamedOr<TokenResponse, ResponseSpec>,
    /// The token endpoint answers the first token request this much later (a cold node, a pause).
    pub token_delay_ms: Option<u64>,
    /// A named forgery (`"bad-signature"`) or the token as data.
    #[serde(default)]
    pub id_token: NamedOr<IdTokenFault, IdTokenSpec>,
    /// A named setup (`"rotated"`) or the fetches as data.
    #[serde(default)]
    pub jwks: NamedOr<JwksFault, JwksSpec>,
    /// Changes to every JWKS answer (e.g. `set = { keys = [] }`, a raw `body`).
    #[serde(default)]
    pub jwks_response: ResponseSpec,
    /// Serve the JWKS under its own host name (`keys.sso.test`).
    #[serde(default)]
    pub separate_jwks_host: bool,
    /// The IdP's clock is this far off (seconds; `now` in every placeholder moves with it).
    #[serde(default)]
    pub clock_offset_secs: i64,
    /// Shorthand for `authorize_response.error` (e.g. `access_denied`).
    pub authorize_error: Option<String>,
    /// The authorization response (default: a code, the RP's `state`, no `iss`).
    #[serde(default)]
    pub authorize_response: AuthorizeSpec,
    /// Shorthand for `discovery.set.issuer`: the issuer the discovery document claims.
    pub discovery_issuer: Option<String>,
    /// Changes to the discovery document.
    #[serde(default)]
    pub discovery: ResponseSpec,
    /// Changes to the userinfo answer.
    #[serde(default)]
    pub userinfo: ResponseSpec,
    /// The certificate the IdP presents (default: issued by the environment's CA).
    #[serde(default)]
    pub tls: IdpTls,
}

/// The open forms the endpoints read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expanded {
    /// The client registration, `auth_methods` applied.
    pub client: ClientRegistration,
    /// The token endpoint's answer.
    pub token_response: ResponseSpec,
    /// The ID token issued.
    pub id_token: IdTokenSpec,
    /// The JWKS answers.
    pub jwks: JwksSpec,
    /// The authorization response, `authorize_error` applied.
    pub authorize: AuthorizeSpec,
    /// Changes to the discovery document, `discovery_issuer` applied.
    pub discovery: ResponseSpec,
}

impl IdpSetup {
    /// The user who signs in.
    pub fn subject(&self) -> &str {
        self.subject.as_deref().unwrap_or("alice")
    }

    /// Every shorthand turned into its open form.
    pub fn expanded(&self) -> Expanded {
        let token_response = match &self.token_response {
            NamedOr::Named(named) => named.expand(),
            NamedOr::Open(open) => open.clone(),
        };
        let id_token = match &self.id_token {
            NamedOr::Named(named) => named.expand(),
            NamedOr::Open(open) => open.clone(),
        };
        let jwks = match &self.jwks {
            NamedOr::Named(named) => named.expand(),
            NamedOr::Open(open) => open.clone(),
        };
        let mut authorize = self.authorize_response.clone();
        if let Some(error) = &self.authorize_error {
            authorize.error.get_or_insert_with(|| error.clone());
            authorize
                .error_description
                .get_or_insert_with(|| "the user is not allowed to sign in to this application".to_owned());
        }
        let mut discovery = self.discovery.clone();
        if let Some(issuer) = &self.discovery_issuer {
            discovery.set.entry("issuer").or_insert_with(|| serde_json::Value::from(issuer.clone()));
        }
        let mut client = self.client.clone();
        if let Some(methods) = &self.auth_methods {
            client.auth_methods = methods.clone();
        }
        Expanded { client, token_response, id_token, jwks, authorize, discovery }
    }

    /// Checks what cannot be checked by types: `Err((field, message))` names the field under
    /// `setup.idp`.
    pub fn check(&self) -> Result<(), (String, String)> {
        fn at(prefix: &'static str) -> impl Fn((&'static str, String)) -> (String, String) {
            move |(field, message)| (format!("{prefix}.{field}"), message)
        }
        if let NamedOr::Open(spec) = &self.token_response {
            spec.check(Context::Token).map_err(at("token_response"))?;
        }
        if let NamedOr::Open(spec) = &self.id_token {
            spec.check().map_err(at("id_token"))?;
        }
        if let NamedOr::Open(spec) = &self.jwks {
            spec.check().map_err(at("jwks"))?;
        }
        self.jwks_response.check(Context::Metadata).map_err(at("jwks_response"))?;
        self.discovery.check(Context::Metadata).map_err(at("discovery"))?;
        self.userinfo.check(Context::Userinfo).map_err(at("userinfo"))?;
        for (field, value) in [("state", &self.authorize_response.state), ("iss", &self.authorize_response.iss)] {
            if let Some(value) = value {
                check_str(value, Context::Authorize)
                    .map_err(|e| (format!("authorize_response.{field}"), e.to_string()))?;
            }
        }
        if self.authorize_error.is_some() && self.authorize_response.error.is_some() {
            return Err((
                "authorize_error".to_owned(),
                "is a shorthand for authorize_response.error; give one of them".to_owned(),
            ));
        }
        if self.discovery_issuer.is_some() && self.discovery.set.contains_key("issuer") {
            return Err((
                "discovery_issuer".to_owned(),
                "is a shorthand for discovery.set.issuer; give one of them".to_owned(),
            ));
        }
        if self.auth_methods.is_some() && self.client.auth_methods != ClientRegistration::default().auth_methods {
            return Err((
                "auth_methods".to_owned(),
                "is a shorthand for client.auth_methods; give one of them".to_owned(),
            ));
        }
        if self.expanded().client.auth_methods.is_empty() {
            return Err((
                "client.auth_methods".to_owned(),
                "allows no method: the client could never authenticate".to_owned(),
            ));
        }
        Ok(())
    }
}
