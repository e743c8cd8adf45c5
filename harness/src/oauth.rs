//! The protocol vocabulary the parties share without knowing each other: how a client
//! authenticates, and the endpoints a provider publishes.

use serde::{Deserialize, Serialize};
use url::Url;

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the url-encoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    /// The method's registered name, e.g. `client_secret_basic`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// The endpoints a provider publishes (or an administrator types into an RP's settings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEndpoints {
    /// The issuer identifier, exactly as it appears in `iss` (no trailing slash).
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: Url,
    /// Where the RP exchanges the code for tokens.
    pub token_endpoint: Url,
    /// Where the RP asks for the user's claims with the access token.
    pub userinfo_endpoint: Url,
    /// Where the RP fetches the provider's signing keys (JWKS).
    pub jwks_uri: Url,
}
