//! `[setup.rp]`: how the RP under test is configured — one description for scenario files, the
//! builder ([`crate::EnvBuilder::rp`]) and the party process of the containers backend.

use serde::{Deserialize, Serialize};

use crate::oauth::ClientAuthMethod;

/// How the RP is configured. Everything defaults to a correctly configured RP behind the
/// environment's proxy.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RpSetup {
    /// Send back-channel calls through the environment's proxy (default true).
    pub use_proxy: bool,
    /// The RP's network has a route to the IdP that bypasses the proxy (default false: like a
    /// server behind a corporate egress proxy, the RP can leave its network only through the proxy).
    pub direct_route: bool,
    /// Hosts that bypass the proxy (`NO_PROXY` syntax).
    pub no_proxy: Option<String>,
    /// Basic credentials the RP presents to the proxy.
    pub proxy_user: Option<String>,
    /// The password that goes with `proxy_user`.
    pub proxy_password: Option<String>,
    /// CAs the RP trusts besides the environment's.
    pub trust: Vec<TrustAnchor>,
    /// The secret the RP is configured with; absent: the one registered at the IdP.
    pub client_secret: Option<String>,
    /// How the RP authenticates at the token endpoint (default `client_secret_basic`).
    pub auth_method: RpAuthMethod,
    /// How the RP encodes Basic credentials (default: form-url-encoded, RFC 6749 §2.3.1).
    pub basic_encoding: BasicEncoding,
    /// `configured` (default: endpoints typed in, as Jira and Elasticsearch do) or `discovery`.
    pub metadata: Metadata,
    /// The issuer as the RP is configured with it: `exact` (default) or `trailing-slash`.
    pub issuer: IssuerForm,
    /// Back-channel connect and request timeout in milliseconds (default 1000).
    pub timeout_ms: u64,
    /// A defect to reproduce: the redirect URI the RP sends with the code, when it differs from the
    /// one it sent in the authorization request.
    pub token_redirect_uri: Option<String>,
    /// How often the RP repeats a token request that timed out, with the same code (default 0).
    pub token_retries: u8,
    /// Fetch the JWKS again when an ID token names a key it does not hold (default true; false
    /// reproduces RPs that break when the IdP rotates its key).
    pub refetch_jwks_on_unknown_kid: bool,
    /// Send a PKCE challenge (default true).
    pub pkce: bool,
    /// A defect to reproduce: the RP makes a new PKCE verifier at the callback instead of using the
    /// one whose challenge it sent (default false).
    pub regenerate_pkce_verifier: bool,
    /// How far the IdP's clock may be off for `iat` and `exp` (default 60 s).
    pub clock_skew_secs: i64,
    /// Scopes requested besides `openid`.
    pub scopes: Vec<String>,
    /// How the RP asks for the authorization response: `query` (default) or `form-post`.
    pub response_mode: ResponseMode,
    /// The ID-token signing algorithms the RP accepts (default `RS256`).
    pub id_token_algs: Vec<String>,
    /// Claims the RP requires (in the ID token, or from userinfo when it calls it).
    pub required_claims: Vec<String>,
    /// Call the userinfo endpoint after the ID token is validated (default false).
    pub userinfo: bool,
}

impl Default for RpSetup {
    fn default() -> Self {
        RpSetup {
            use_proxy: true,
            direct_route: false,
            no_proxy: None,
            proxy_user: None,
            proxy_password: None,
            trust: Vec::new(),
            client_secret: None,
            auth_method: RpAuthMethod::ClientSecretBasic,
            basic_encoding: BasicEncoding::FormUrlencoded,
            metadata: Metadata::Configured,
            issuer: IssuerForm::Exact,
            timeout_ms: 1000,
            token_redirect_uri: None,
            token_retries: 0,
            refetch_jwks_on_unknown_kid: true,
            pkce: true,
            regenerate_pkce_verifier: false,
            clock_skew_secs: 60,
            scopes: Vec::new(),
            response_mode: ResponseMode::Query,
            id_token_algs: vec!["RS256".to_owned()],
            required_claims: Vec::new(),
            userinfo: false,
        }
    }
}

impl std::fmt::Debug for RpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &Option<String>| secret.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("RpSetup")
            .field("use_proxy", &self.use_proxy)
            .field("direct_route", &self.direct_route)
            .field("no_proxy", &self.no_proxy)
            .field("proxy_user", &self.proxy_user)
            .field("proxy_password", &redacted(&self.proxy_password))
            .field("client_secret", &redacted(&self.client_secret))
            .field("auth_method", &self.auth_method)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl RpSetup {
    /// An RP that sends its back-channel calls through the proxy (the default).
    pub fn behind_proxy() -> RpSetup {
        RpSetup::default()
    }

    /// Checks settings that contradict each other; `Err((field, message))` under `setup.rp`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.no_proxy.is_some() && !self.use_proxy {
            return Err(("no_proxy", "has no effect when setup.rp.use_proxy = false".to_owned()));
        }
        if self.proxy_password.is_some() != self.proxy_user.is_some() {
            return Err(("proxy_user", "proxy_user and proxy_password go together".to_owned()));
        }
        if self.regenerate_pkce_verifier && !self.pkce {
            return Err((
                "regenerate_pkce_verifier",
                "needs pkce = true (there is no verifier to regenerate)".to_owned(),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(("timeout_ms", "must be at least 1".to_owned()));
        }
        if self.id_token_algs.is_empty() {
            return Err(("id_token_algs", "accepts no algorithm: no ID token could ever be valid".to_owned()));
        }
        const KNOWN: &[&str] = &["RS256", "ES256", "HS256", "none"];
        if let Some(alg) = self.id_token_algs.iter().find(|alg| !KNOWN.contains(&alg.as_str())) {
            return Err(("id_token_algs", format!("`{alg}` is not one of {}", KNOWN.join(", "))));
        }
        if self.clock_skew_secs < 0 {
            return Err(("clock_skew_secs", "cannot be negative".to_owned()));
        }
        Ok(())
    }

    /// The registration-side name of the method (for an RP that sends both, `client_secret_basic`).
    pub fn registered_auth_method(&self) -> ClientAuthMethod {
        match self.auth_method {
            RpAuthMethod::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
            RpAuthMethod::ClientSecretBasic | RpAuthMethod::ClientSecretBasicAndPost => {
                ClientAuthMethod::ClientSecretBasic
            }
        }
    }
}

/// How the RP authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RpAuthMethod {
    /// The credentials in an `Authorization: Basic` header.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// The secret both in an `Authorization: Basic` header and in the body (a defect RFC 6749 §2.3
    /// forbids; strict IdPs refuse it).
    ClientSecretBasicAndPost,
}

impl RpAuthMethod {
    /// The method's name as a scenario writes it, e.g. `client_secret_basic`.
    pub fn as_str(self) -> &'static str {
        match self {
            RpAuthMethod::ClientSecretBasic => "client_secret_basic",
            RpAuthMethod::ClientSecretPost => "client_secret_post",
            RpAuthMethod::ClientSecretBasicAndPost => "client_secret_basic_and_post",
        }
    }
}

/// How the authorization response reaches the RP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the redirect's query string.
    #[default]
    Query,
    /// In a form the browser posts to the redirect URI (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

/// How Basic credentials are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BasicEncoding {
    /// Id and secret form-url-encoded before Base64 (RFC 6749 §2.3.1).
    #[default]
    FormUrlencoded,
    /// Base64 of `id:secret` as they are (what many clients do).
    Raw,
}

/// Where the RP gets the provider's endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Metadata {
    /// The endpoints are typed in by an administrator.
    #[default]
    Configured,
    /// The endpoints come from the issuer's discovery document.
    Discovery,
}

/// A CA an RP can be told to trust besides the environment's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TrustAnchor {
    /// Whatever CA issued the IdP's certificate (with `tls = other-ca`: the other CA).
    IdpIssuer,
    /// The CA of a TLS-intercepting proxy.
    ProxyInterception,
}

/// How the RP's configured issuer relates to the IdP's real one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IssuerForm {
    /// Exactly the IdP's issuer.
    #[default]
    Exact,
    /// With a trailing slash (the IdP's `iss` has none).
    TrailingSlash,
}
