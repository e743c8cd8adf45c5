//! The keys the IdP can sign with, by name, as a scenario names them.

use serde::{Deserialize, Serialize};

use crate::keys::{ec_key, idp_key, other_key, Signer};

/// A signing key of the IdP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyName {
    /// RS256, kid `sso-repro-test-1`: the key the JWKS publishes by default.
    #[default]
    Primary,
    /// RS256, kid `sso-repro-test-2`: unpublished by default (the next key of a rotation).
    Secondary,
    /// ES256 (P-256), kid `sso-repro-test-ec`.
    Ec,
    /// HS256 with the client secret as the key.
    ClientSecret,
    /// `alg: none`, no signature.
    None,
}

impl KeyName {
    /// The signer for this key; `client_secret` keys HS256.
    pub fn signer(self, client_secret: &str) -> Signer<'_> {
        match self {
            KeyName::Primary => Signer::Rsa(idp_key()),
            KeyName::Secondary => Signer::Rsa(other_key()),
            KeyName::Ec => Signer::Ec(ec_key()),
            KeyName::ClientSecret => Signer::Hmac(client_secret.as_bytes()),
            KeyName::None => Signer::Unsigned,
        }
    }

    /// The key as a JWKS publishes it (`None` for keys that cannot be published).
    pub fn jwk(self) -> Option<serde_json::Value> {
        match self {
            KeyName::Primary => Some(idp_key().jwk()),
            KeyName::Secondary => Some(other_key().jwk()),
            KeyName::Ec => Some(ec_key().jwk()),
            KeyName::ClientSecret | KeyName::None => None,
        }
    }

    /// The `kid` the key is published and signs with (`None` for keys that have none).
    pub fn kid(self) -> Option<&'static str> {
        match self {
            KeyName::Primary => Some(idp_key().kid()),
            KeyName::Secondary => Some(other_key().kid()),
            KeyName::Ec => Some(ec_key().kid()),
            KeyName::ClientSecret | KeyName::None => None,
        }
    }
}
