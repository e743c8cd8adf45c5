//! Error chains: the walk down `source()`, their one rendering, and the taxonomy of root causes.
//!
//! A scenario states its expected root cause as a [`RootCause`], independent of how a client words
//! it; [`RootCause::classify`] reads a chain's text and knows the wordings of several clients
//! (reqwest/hyper, openidconnect, Java, curl, Python requests, Go).

use std::error::Error;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An error and its causes, outermost first, one message per level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorChain {
    pub levels: Vec<String>,
}

impl ErrorChain {
    /// Walks `error` and its `source()`s. A level whose text repeats the previous one is kept once.
    pub fn from_error(error: &(dyn Error + 'static)) -> ErrorChain {
        let mut levels: Vec<String> = Vec::new();
        let mut next = Some(error);
        while let Some(error) = next {
            let message = error.to_string();
            if levels.last() != Some(&message) {
                levels.push(message);
            }
            next = error.source();
        }
        ErrorChain { levels }
    }

    /// The outermost message (the wrapper).
    pub fn wrapper(&self) -> &str {
        self.levels.first().map_or("", String::as_str)
    }

    /// The innermost message.
    pub fn root(&self) -> &str {
        self.levels.last().map_or("", String::as_str)
    }

    /// The root cause this chain reports.
    pub fn root_cause(&self) -> RootCause {
        RootCause::classify(&self.levels)
    }
}

impl fmt::Display for ErrorChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.wrapper())?;
        if self.levels.len() > 1 {
            write!(f, "\ncaused by:")?;
            for level in &self.levels[1..] {
                write!(f, "\n  - {level}")?;
            }
        }
        Ok(())
    }
}

/// What ultimately went wrong, whatever the client's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RootCause {
    /// The proxy answered a CONNECT with a refusal (403, 502, …).
    ProxyRefusedConnect,
    /// The proxy answered 407.
    ProxyAuthRequired,
    DnsFailure,
    ConnectionRefused,
    ConnectionReset,
    Timeout,
    UntrustedCertificate,
    HostnameMismatch,
    ExpiredCertificate,
    InvalidClient,
    RedirectUriMismatch,
    /// PKCE failed: the verifier does not match the challenge, or the provider requires PKCE the RP did
    /// not send.
    PkceMismatch,
    InvalidGrant,
    /// The token endpoint answered with something that is not a token response (HTML, bad JSON).
    InvalidTokenResponse,
    BadSignature,
    UnknownKid,
    IssuerMismatch,
    AudienceMismatch,
    NonceMismatch,
    TokenExpired,
    /// The token's `iat` is ahead of the RP's clock beyond the allowed skew.
    TokenNotYetValid,
    /// A required claim (`sub`, `iat`, …) is missing from the ID token.
    MissingClaim,
    /// The ID token is not signed (`alg: none`) or uses an algorithm the RP does not allow.
    DisallowedAlgorithm,
    /// The IdP answered 5xx.
    ServerError,
    StateMismatch,
    AccessDenied,
    /// The provider's metadata (discovery document) lacks what it must have or cannot be read.
    InvalidMetadata,
    /// The IdP refused the request itself (`invalid_request`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`): not a credentials problem.
    InvalidRequest,
    /// The userinfo response is about another user than the ID token (its `sub` differs).
    SubjectMismatch,
    /// The ID token's `at_hash` (or `c_hash`) does not match the token it vouches for.
    TokenHashMismatch,
    /// Nothing in the chain was recognised.
    Unclassified,
}

impl RootCause {
    /// Every kind, for listings and documentation.
    pub const ALL: [RootCause; 31] = [
        RootCause::ProxyRefusedConnect,
        RootCause::ProxyAuthRequired,
        RootCause::DnsFailure,
        RootCause::ConnectionRefused,
        RootCause::ConnectionReset,
        RootCause::Timeout,
        RootCause::UntrustedCertificate,
        RootCause::HostnameMismatch,
        RootCause::ExpiredCertificate,
        RootCause::InvalidClient,
        RootCause::RedirectUriMismatch,
        RootCause::PkceMismatch,
        RootCause::InvalidGrant,
        RootCause::InvalidTokenResponse,
        RootCause::BadSignature,
        RootCause::UnknownKid,
        RootCause::IssuerMismatch,
        RootCause::AudienceMismatch,
        RootCause::NonceMismatch,
        RootCause::TokenExpired,
        RootCause::TokenNotYetValid,
        RootCause::MissingClaim,
        RootCause::DisallowedAlgorithm,
        RootCause::ServerError,
        RootCause::StateMismatch,
        RootCause::AccessDenied,
        RootCause::InvalidMetadata,
        RootCause::InvalidRequest,
        RootCause::SubjectMismatch,
        RootCause::TokenHashMismatch,
        RootCause::Unclassified,
    ];

    /// The kebab-case name used in scenario files.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Classifies a chain by its wording, innermost level first (the most specific words). Each
    /// level is read together with the levels beneath it, so a wording that a log split at `: `
    /// (`Tunnel failed, got: 403`) still matches.
    pub fn classify<S: AsRef<str>>(levels: &[S]) -> RootCause {
        let levels: Vec<String> = levels.iter().map(|l| l.as_ref().to_lowercase()).collect();
        for depth in (0..levels.len()).rev() {
            let text = levels[depth..].join(": ");
            if let Some(cause) = RULES.iter().find(|(_, words)| words.iter().any(|w| text.contains(w))).map(|r| r.0) {
                return cause;
            }
        }
        RootCause::Unclassified
    }
}

/// Wordings per root cause, lowercase. The more specific rules come first.
const RULES: &[(RootCause, &[&str])] = &[
    (
        RootCause::ProxyAuthRequired,
        &[
            "proxy authorization required",
            "407 proxy authentication required",
            "tunnel failed, got: 407",
            "response 407",
        ],
    ),
    (
        RootCause::ProxyRefusedConnect,
        &[
            "tunnel error: unsuccessful",
            "unable to tunnel through proxy",
            "tunnel failed, got:",
            "connect tunnel failed",
            "tunnel connection failed",
        ],
    ),
    (
        RootCause::DnsFailure,
        &[
            "failed to lookup address",
            "unknownhostexception",
            "no such host",
            "could not resolve host",
            "name or service not known",
        ],
    ),
    (RootCause::ConnectionRefused, &["connection refused"]),
    (RootCause::ConnectionReset, &["connection reset", "reset by peer"]),
    (RootCause::Timeout, &["timed out", "operation timed out", "i/o timeout", "timeout"]),
    (RootCause::ExpiredCertificate, &["certificate expired", "certificate has expired", "expired certificate"]),
    (
        RootCause::HostnameMismatch,
        &[
            "notvalidforname",
            "certificate not valid for name",
            "hostname mismatch",
            "doesn't match any of the subject alternative names",
            "no subject alternative",
            "x509: certificate is valid for",
        ],
    ),
    (
        RootCause::UntrustedCertificate,
        &[
            "unknownissuer",
            "pkix path building failed",
            "certificate signed by unknown authority",
            "self signed certificate",
            "self-signed certificate",
            "unable to get local issuer certificate",
        ],
    ),
    (RootCause::InvalidClient, &["invalid_client"]),
    (RootCause::RedirectUriMismatch, &["redirect_uri"]),
    (RootCause::PkceMismatch, &["pkce", "code_verifier"]),
    (RootCause::InvalidGrant, &["invalid_grant"]),
    (RootCause::InvalidRequest, &["invalid_request", "unauthorized_client", "unsupported_grant_type", "invalid_scope"]),
    (RootCause::SubjectMismatch, &["subject mismatch", "userinfo sub"]),
    (RootCause::TokenHashMismatch, &["at_hash does not match", "c_hash does not match", "access token hash"]),
    (RootCause::StateMismatch, &["state mismatch", "mismatching_state", "state not equal"]),
    (RootCause::AccessDenied, &["access_denied"]),
    (RootCause::NonceMismatch, &["invalid nonce", "nonce mismatch", "nonce cannot be validated"]),
    (
        RootCause::IssuerMismatch,
        &["invalid issuer", "unexpected issuer", "unexpected jwt issuer", "issued by a different provider"],
    ),
    (
        RootCause::MissingClaim,
        &[
            "missing field `sub`",
            "missing field `iat`",
            "missing field `iss`",
            "missing field `aud`",
            "missing field `exp`",
            "claim, which the rp requires",
        ],
    ),
    (RootCause::DisallowedAlgorithm, &["no signature found", "disallowed signature algorithm", "unsigned jwt"]),
    (
        RootCause::ServerError,
        &["http status code 50", "status code 50", "500 internal server error", "503 service unavailable"],
    ),
    (RootCause::AudienceMismatch, &["invalid audiences", "invalid audience", "aud claim"]),
    (RootCause::TokenNotYetValid, &["issued in the future", "issue time ahead", "iat is in the future", "used before"]),
    (RootCause::TokenExpired, &["expired"]),
    (
        RootCause::UnknownKid,
        &["no matching key", "unable to match key", "kidnotfound", "no key found", "ambiguous key identification"],
    ),
    (
        RootCause::BadSignature,
        &[
            "signature verification failed",
            "invalid signature",
            "failed to verify signature",
            "signature validation failed",
        ],
    ),
    (
        RootCause::InvalidMetadata,
        &[
            "missing field `jwks_uri`",
            "missing field `authorization_endpoint`",
            "missing field `response_types_supported`",
            "missing field `subject_types_supported`",
            "missing field `id_token_signing_alg_values_supported`",
        ],
    ),
    (
        RootCause::InvalidTokenResponse,
        &[
            "failed to parse server response",
            "expected value at line",
            "content type was expected",
            "unexpected response content-type",
            "has no id_token",
        ],
    ),
];

impl fmt::Display for RootCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("exchanging authorization tokens failed")]
    struct Wrapper(#[source] std::io::Error);

    #[test]
    fn a_chain_walks_every_source_and_renders_one_cause_per_line() {
        let error = Wrapper(std::io::Error::other("tunnel error: unsuccessful"));
        let chain = ErrorChain::from_error(&error);
        assert_eq!(
            chain.to_string(),
            "error: exchanging authorization tokens failed\ncaused by:\n  - tunnel error: unsuccessful"
        );
        assert_eq!(chain.root_cause(), RootCause::ProxyRefusedConnect);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Middle(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("exchanging authorization tokens failed")]
    struct Outer(#[source] Middle);

    #[test]
    fn the_rendering_is_one_message_then_one_cause_per_level() {
        let error = Outer(Middle(std::io::Error::other("Connection refused (os error 111)")));
        insta::assert_snapshot!(ErrorChain::from_error(&error), @r"
        error: exchanging authorization tokens failed
        caused by:
          - request failed
          - Connection refused (os error 111)
        ");
    }

    #[test]
    fn other_clients_wordings_classify_to_the_same_kind() {
        let cases = [
            (
                r#"java.io.IOException: Unable to tunnel through proxy. Proxy returns "HTTP/1.1 403 Forbidden""#,
                RootCause::ProxyRefusedConnect,
            ),
            ("Tunnel failed, got: 403", RootCause::ProxyRefusedConnect),
            ("CONNECT tunnel failed, response 403", RootCause::ProxyRefusedConnect),
            ("Tunnel connection failed: 403 Forbidden", RootCause::ProxyRefusedConnect),
            (
                r#"Unable to tunnel through proxy. Proxy returns "HTTP/1.1 407 Proxy Authentication Required""#,
                RootCause::ProxyAuthRequired,
            ),
            ("tunnel error: proxy authorization required", RootCause::ProxyAuthRequired),
            ("PKIX path building failed", RootCause::UntrustedCertificate),
            ("x509: certificate signed by unknown authority", RootCause::UntrustedCertificate),
            ("invalid peer certificate: UnknownIssuer", RootCause::UntrustedCertificate),
            ("dial tcp 10.0.0.1:443: connect: connection refused", RootCause::ConnectionRefused),
            ("Server returned error response: invalid_client: client authentication failed", RootCause::InvalidClient),
        ];
        for (text, expected) in cases {
            assert_eq!(RootCause::classify(&[text]), expected, "{text}");
        }
    }

    #[test]
    fn the_innermost_recognised_level_decides() {
        let levels = [
            "exchanging authorization tokens failed",
            "Request failed",
            "tcp connect error",
            "Connection refused (os error 111)",
        ];
        assert_eq!(RootCause::classify(&levels), RootCause::ConnectionRefused);
        assert_eq!(RootCause::classify(&["something odd"]), RootCause::Unclassified);
    }

    #[test]
    fn names_are_kebab_case() {
        assert_eq!(RootCause::ProxyRefusedConnect.name(), "proxy-refused-connect");
        assert_eq!(
            RootCause::ALL.len(),
            RootCause::ALL.iter().map(|c| c.name()).collect::<std::collections::HashSet<_>>().len()
        );
    }
}
