//! The client as an administrator registered it at the IdP, and how strictly the IdP checks it:
//! which authentication methods, which redirect URIs, whether PKCE is required, how Basic
//! credentials are decoded, and the error the IdP answers for each refusal.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::oauth::ClientAuthMethod;

/// `[setup.idp.client]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ClientRegistration {
    /// The client ID; default `sso-repro-rp`.
    pub id: String,
    /// Any characters (`:`, `%`, `+`, spaces, non-ASCII): encoding them is the client's job.
    pub secret: String,
    /// The authentication methods the client may use at the token endpoint.
    pub auth_methods: Vec<ClientAuthMethod>,
    /// The redirect URIs registered; absent: exactly the RP's own. `{{rp_redirect_uri}}` stands for
    /// the RP's.
    pub redirect_uris: Option<Vec<String>>,
    /// Refuse a request that authenticates in more than one way (RFC 6749 §2.3: "MUST NOT").
    pub refuse_multiple_methods: bool,
    /// How the IdP decodes `Authorization: Basic` credentials.
    pub basic_decoding: BasicDecoding,
    /// Refuse authorization requests without a PKCE challenge.
    pub require_pkce: bool,
    /// The answer for each refusal, when it differs from the usual one (some IdPs say
    /// `invalid_request` where others say `invalid_client`).
    pub errors: BTreeMap<Refusal, OAuthError>,
}

impl std::fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .field("auth_methods", &self.auth_methods)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl Default for ClientRegistration {
    fn default() -> Self {
        ClientRegistration {
            id: "sso-repro-rp".to_owned(),
            secret: "test-only-client-secret".to_owned(),
            auth_methods: vec![ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost],
            redirect_uris: None,
            refuse_multiple_methods: true,
            basic_decoding: BasicDecoding::FormUrlencoded,
            require_pkce: false,
            errors: BTreeMap::new(),
        }
    }
}

/// How Basic credentials are decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BasicDecoding {
    /// Id and secret are form-url-decoded after Base64 (RFC 6749 §2.3.1).
    #[default]
    FormUrlencoded,
    /// Taken as they are after Base64 (what many servers do).
    Raw,
}

/// Every reason the IdP refuses a request to its authorization or token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Refusal {
    /// The token request carries neither Basic credentials nor a `client_secret`.
    NoAuthentication,
    /// The token request authenticates both with Basic and in the form, and `refuse_multiple_methods` is set.
    MultipleMethods,
    /// The client ID presented is not the registered one.
    UnknownClient,
    /// The secret presented is not the registered one.
    WrongSecret,
    /// The client authenticated with a method not in `auth_methods`.
    MethodNotAllowed,
    /// `grant_type` is not `authorization_code`.
    UnsupportedGrantType,
    /// The code was never issued.
    UnknownCode,
    /// The code was already exchanged once.
    CodeUsed,
    /// The code is older than its lifetime (`code_lifetime_ms`, default 60 s).
    CodeExpired,
    /// The code was issued to another client ID.
    CodeOfAnotherClient,
    /// The token request's `redirect_uri` is absent or differs from the authorization request's.
    RedirectUriMismatch,
    /// The authorization request has no `code_challenge` and `require_pkce` is set.
    PkceRequired,
    /// The code was issued with a PKCE challenge and the token request has no `code_verifier`.
    PkceVerifierMissing,
    /// The `code_verifier` does not match the code's challenge.
    PkceMismatch,
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OAuthError {
    /// The HTTP status of a token endpoint answer (unused when the refusal is a redirect).
    pub status: u16,
    /// The `error` code, e.g. `invalid_client`.
    pub error: String,
    /// The `error_description`; omitted from a redirect when empty.
    pub description: String,
}

impl Refusal {
    /// What the IdP answers by default.
    pub fn usual(self) -> OAuthError {
        let (status, error, description) = match self {
            Refusal::NoAuthentication => (401, "invalid_client", "no client authentication"),
            Refusal::MultipleMethods => (400, "invalid_request", "more than one client authentication method"),
            Refusal::UnknownClient | Refusal::WrongSecret => (401, "invalid_client", "client authentication failed"),
            Refusal::MethodNotAllowed => {
                (401, "invalid_client", "client authentication method is not allowed for this client")
            }
            Refusal::UnsupportedGrantType => (400, "unsupported_grant_type", "only authorization_code is supported"),
            Refusal::UnknownCode => (400, "invalid_grant", "unknown authorization code"),
            Refusal::CodeUsed => (400, "invalid_grant", "authorization code already used"),
            Refusal::CodeExpired => (400, "invalid_grant", "authorization code expired"),
            Refusal::CodeOfAnotherClient => (400, "invalid_grant", "authorization code was issued to another client"),
            Refusal::RedirectUriMismatch => {
                (400, "invalid_grant", "redirect_uri does not match the authorization request")
            }
            Refusal::PkceRequired => (400, "invalid_request", "a PKCE code_challenge is required for this client"),
            Refusal::PkceVerifierMissing => (400, "invalid_grant", "code_verifier is required"),
            Refusal::PkceMismatch => (400, "invalid_grant", "PKCE verification failed"),
        };
        OAuthError { status, error: error.to_owned(), description: description.to_owned() }
    }
}

/// How a token request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// Where the credentials were: the Basic header or the form.
    pub method: ClientAuthMethod,
    /// The client ID presented (empty when the form has none).
    pub client_id: String,
    /// The secret presented.
    pub secret: String,
}

impl ClientRegistration {
    /// The answer for `refusal`: the scenario's, or the usual one.
    pub fn refusal(&self, refusal: Refusal) -> OAuthError {
        self.errors.get(&refusal).cloned().unwrap_or_else(|| refusal.usual())
    }

    /// Who the request says it is, and how; `Err` when it is refused before the secret is compared.
    pub fn presented(
        &self,
        authorization: Option<&str>,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Presented, Refusal> {
        let basic = authorization.and_then(|header| self.basic_credentials(header));
        match (basic, form.get("client_secret")) {
            (Some(_), Some(_)) if self.refuse_multiple_methods => Err(Refusal::MultipleMethods),
            (Some((client_id, secret)), _) => {
                Ok(Presented { method: ClientAuthMethod::ClientSecretBasic, client_id, secret })
            }
            (None, Some(secret)) => Ok(Presented {
                method: ClientAuthMethod::ClientSecretPost,
                client_id: form.get("client_id").cloned().unwrap_or_default(),
                secret: secret.clone(),
            }),
            (None, None) => Err(Refusal::NoAuthentication),
        }
    }

    /// Checks presented credentials against the registration.
    pub fn authenticate(&self, presented: &Presented) -> Result<(), Refusal> {
        if presented.client_id != self.id {
            return Err(Refusal::UnknownClient);
        }
        if presented.secret != self.secret {
            return Err(Refusal::WrongSecret);
        }
        if !self.auth_methods.contains(&presented.method) {
            return Err(Refusal::MethodNotAllowed);
        }
        Ok(())
    }

    /// Client credentials from an `Authorization: Basic` header, decoded as `basic_decoding` says.
    fn basic_credentials(&self, header: &str) -> Option<(String, String)> {
        let (scheme, encoded) = header.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        match self.basic_decoding {
            BasicDecoding::Raw => Some((id.to_owned(), secret.to_owned())),
            BasicDecoding::FormUrlencoded => {
                let decode = |s: &str| {
                    url::form_urlencoded::parse(format!("x={}", s.replace('&', "%26").replace('=', "%3D")).as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                };
                Some((decode(id)?, decode(secret)?))
            }
        }
    }
}
