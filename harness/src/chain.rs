//! Error chains: the walk down `source()`, their one rendering, and the taxonomy of root causes.
//!
//! A scenario states its expected root cause as a [`RootCause`], independent of how a client words
//! it; [`RootCause::classify`] reads a chain's text and knows the wordings of many clients
//! (reqwest/hyper, openidconnect, Java HttpURLConnection/HttpClient/Nimbus, curl, Python
//! requests/httpx/urllib/Authlib, Go net/http/x/oauth2/go-oidc, Node, mod_auth_openidc). The corpus
//! `harness/tests/wordings.tsv` holds every wording it knows, with the cause it must give.

use std::error::Error;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An error and its causes, outermost first, one message per level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorChain {
    /// One message per level, the outermost (the wrapper) first, the root cause last.
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
    /// A host name could not be resolved.
    DnsFailure,
    /// Nothing listens on the port: the connection was refused.
    ConnectionRefused,
    /// The peer reset the connection (or hung up) mid-exchange.
    ConnectionReset,
    /// A connection or request timed out.
    Timeout,
    /// The server's certificate is not signed by a CA the client trusts (self-signed, unknown issuer).
    UntrustedCertificate,
    /// The server's certificate is not valid for the host name the client connected to.
    HostnameMismatch,
    /// The server's certificate has expired.
    ExpiredCertificate,
    /// The IdP refused the client's authentication (`invalid_client`): wrong ID, secret or method.
    InvalidClient,
    /// The `redirect_uri` does not match the one registered or sent with the authorization request.
    RedirectUriMismatch,
    /// PKCE failed: the verifier does not match the challenge, or the provider requires PKCE the RP did
    /// not send.
    PkceMismatch,
    /// The IdP refused the authorization code (`invalid_grant`): unknown, used, expired or another client's.
    InvalidGrant,
    /// The token endpoint answered with something that is not a token response (HTML, bad JSON).
    InvalidTokenResponse,
    /// The ID token's signature does not verify with the IdP's key.
    BadSignature,
    /// The ID token's `kid` names no key in the IdP's JWKS.
    UnknownKid,
    /// The issuer (the ID token's `iss`, or the metadata's `issuer`) is not the one configured.
    IssuerMismatch,
    /// The ID token's `aud` does not contain the RP's client ID.
    AudienceMismatch,
    /// The ID token's `nonce` is missing or not the one the RP sent.
    NonceMismatch,
    /// The ID token's `exp` has passed.
    TokenExpired,
    /// The token's `iat` is ahead of the RP's clock beyond the allowed skew.
    TokenNotYetValid,
    /// A required claim (`sub`, `iat`, …) is missing from the ID token.
    MissingClaim,
    /// The ID token is not signed (`alg: none`) or uses an algorithm the RP does not allow.
    DisallowedAlgorithm,
    /// The IdP answered 5xx.
    ServerError,
    /// The callback's `state` is missing or not the one the RP sent, or no sign-in was in progress.
    StateMismatch,
    /// The IdP answered `access_denied`: the user or the IdP refused the sign-in.
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

    /// Classifies a chain by its wording: the most specific cause found anywhere in the chain. Each
    /// level is read together with the levels beneath it (so a wording that a log split at `: `,
    /// `Tunnel failed, got: 403`, still matches). A cause named outright found at any
    /// depth beats a general OAuth error (`invalid_grant`), which beats a transport symptom (refused,
    /// reset, timeout, 5xx) — the DNS lookup that timed out is a DNS failure, a 503 through a proxy is
    /// the proxy's refusal; within a tier the innermost level decides, and within a level the order of
    /// the rules.
    pub fn classify<S: AsRef<str>>(levels: &[S]) -> RootCause {
        let levels: Vec<String> = levels.iter().map(|l| l.as_ref().trim().to_lowercase()).collect();
        let mut best: Option<(Tier, usize, usize, RootCause)> = None;
        for depth in (0..levels.len()).rev() {
            let text = levels[depth..].join(": ");
            let exact = exact_level(&levels, depth).map(|cause| (Tier::Specific, cause));
            let found = exact.or_else(|| {
                RULES
                    .iter()
                    .find(|rule| rule.words.iter().any(|w| text.contains(w)))
                    .map(|rule| (rule.tier, rule.cause))
            });
            if let Some((tier, cause)) = found {
                let order = RULES.iter().position(|r| r.cause == cause).unwrap_or(0);
                // Lower tier first, then the deeper level, then the earlier rule.
                let key = (tier, usize::MAX - depth, order, cause);
                if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                    best = Some(key);
                }
            }
        }
        best.map_or(RootCause::Unclassified, |b| b.3)
    }

    /// Every wording this classifier maps to the cause (lowercase substrings), for documentation.
    pub fn wordings(self) -> Vec<String> {
        let rules = RULES.iter().filter(|r| r.cause == self).flat_map(|r| r.words).map(|w| (*w).to_owned());
        let exact = EXACT_AFTER_REQUEST
            .iter()
            .filter(|(_, c)| *c == self)
            .map(|(w, _)| format!("{w} (a whole level, right under post \"…\")"));
        rules.chain(exact).collect()
    }
}

/// How telling a wording is: a specific cause anywhere in a chain beats a transport symptom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// Names the cause (a proxy's refusal, a certificate problem, an OAuth error, a token check).
    Specific,
    /// An OAuth error code that a description may refine (`invalid_grant` with "redirect_uri does not
    /// match" is a redirect URI mismatch, wherever the two are printed).
    Refinable,
    /// A symptom that a more specific cause may explain (refused, reset, timed out, a 5xx).
    Transport,
}

struct Rule {
    cause: RootCause,
    tier: Tier,
    words: &'static [&'static str],
}

const fn rule(cause: RootCause, words: &'static [&'static str]) -> Rule {
    Rule { cause, tier: Tier::Specific, words }
}

const fn transport(cause: RootCause, words: &'static [&'static str]) -> Rule {
    Rule { cause, tier: Tier::Transport, words }
}

/// Go's net/http turns a refused CONNECT into the status text alone (`Post "https://…/token":
/// Forbidden`): a level that is exactly a reason phrase, right under a `Post "…"`/`Get "…"` level.
const EXACT_AFTER_REQUEST: &[(&str, RootCause)] = &[
    ("proxy authentication required", RootCause::ProxyAuthRequired),
    ("forbidden", RootCause::ProxyRefusedConnect),
    ("bad gateway", RootCause::ProxyRefusedConnect),
    ("service unavailable", RootCause::ProxyRefusedConnect),
    ("gateway timeout", RootCause::ProxyRefusedConnect),
];

fn exact_level(levels: &[String], depth: usize) -> Option<RootCause> {
    let above = levels.get(depth.checked_sub(1)?)?;
    let request = ["post \"", "get \"", "post http", "get http"].iter().any(|p| above.starts_with(p));
    if !request || depth + 1 != levels.len() {
        return None;
    }
    EXACT_AFTER_REQUEST.iter().find(|(w, _)| levels[depth] == *w).map(|(_, c)| *c)
}

/// Wordings per root cause, lowercase; within a level, the earlier rule wins.
const RULES: &[Rule] = &[
    rule(
        RootCause::ProxyAuthRequired,
        &[
            "proxy authorization required",
            "407 proxy authentication required",
            "tunnel failed, got: 407",
            "response 407",
            "proxyerror: 407",
            "connect refused by proxy: http/1.1 407",
        ],
    ),
    rule(
        RootCause::ProxyRefusedConnect,
        &[
            "tunnel error: unsuccessful",
            "unable to tunnel through proxy",
            "tunnel failed, got:",
            "connect tunnel failed",
            "tunnel connection failed",
            "connect refused by proxy",
            "tunnelrefusedexception",
            "proxyerror: 4",
            "proxyerror: 5",
        ],
    ),
    rule(
        RootCause::DnsFailure,
        &[
            "dns error",
            "failed to lookup address",
            "unknownhostexception",
            "unresolvedaddressexception",
            "no such host",
            "could not resolve host",
            "could not resolve proxy",
            "name or service not known",
            "temporary failure in name resolution",
            "nodename nor servname provided",
            "failed to resolve '",
            "nameresolutionerror",
            "getaddrinfo enotfound",
            "getaddrinfo eai_again",
            "dial tcp: lookup ",
            "dial udp: lookup ",
            "resolving timed out",
        ],
    ),
    rule(
        RootCause::ExpiredCertificate,
        &[
            "certificate expired",
            "certificate has expired",
            "expired certificate",
            "certificateexpiredexception",
            "cert_has_expired",
        ],
    ),
    rule(
        RootCause::HostnameMismatch,
        &[
            "notvalidforname",
            "certificate not valid for name",
            "hostname mismatch",
            "doesn't match any of the subject alternative names",
            "no subject alternative",
            "certificate is valid for",
            "no alternative certificate subject name matches",
            "does not match certificate's altnames",
            "err_tls_cert_altname_invalid",
        ],
    ),
    rule(
        RootCause::UntrustedCertificate,
        &[
            "unknownissuer",
            "pkix path building failed",
            "certificate signed by unknown authority",
            "self signed certificate",
            "self-signed certificate",
            "unable to get local issuer certificate",
            "unable to verify the first certificate",
            "depth_zero_self_signed_cert",
        ],
    ),
    rule(RootCause::InvalidClient, &["invalid_client"]),
    rule(
        RootCause::RedirectUriMismatch,
        &["redirect_uri does not match", "redirect_uri mismatch", "invalid redirect_uri", "redirect uri mismatch"],
    ),
    rule(RootCause::PkceMismatch, &["pkce", "code_verifier"]),
    Rule { cause: RootCause::InvalidGrant, tier: Tier::Refinable, words: &["invalid_grant"] },
    rule(
        RootCause::InvalidRequest,
        &["invalid_request", "unauthorized_client", "unsupported_grant_type", "invalid_scope"],
    ),
    rule(RootCause::SubjectMismatch, &["subject mismatch", "userinfo sub"]),
    rule(RootCause::TokenHashMismatch, &["at_hash does not match", "c_hash does not match", "access token hash"]),
    rule(
        RootCause::StateMismatch,
        &[
            "state mismatch",
            "mismatching_state",
            "state not equal",
            "state has expired",
            "unable to restore state",
            "state cookie found",
            "authorization_request_not_found",
        ],
    ),
    rule(RootCause::AccessDenied, &["access_denied"]),
    rule(
        RootCause::NonceMismatch,
        &[
            "invalid nonce",
            "nonce mismatch",
            "nonce cannot be validated",
            "the nonce value",
            "invalid claim \"nonce\"",
            "invalid claim 'nonce'",
        ],
    ),
    rule(
        RootCause::IssuerMismatch,
        &[
            "invalid issuer",
            "unexpected issuer",
            "unexpected jwt issuer",
            "issued by a different provider",
            "does not match received \"iss\" value",
            "invalid claim \"iss\"",
            "invalid claim 'iss'",
        ],
    ),
    rule(
        RootCause::MissingClaim,
        &[
            "missing field `sub`",
            "missing field `iat`",
            "missing field `iss`",
            "missing field `aud`",
            "missing field `exp`",
            "claim, which the rp requires",
            "missing_claim",
        ],
    ),
    rule(
        RootCause::DisallowedAlgorithm,
        &["no signature found", "disallowed signature algorithm", "unsigned jwt", "unsupported_algorithm"],
    ),
    rule(
        RootCause::AudienceMismatch,
        &[
            "invalid audiences",
            "invalid audience",
            "aud claim",
            "\"aud\" claim",
            "invalid claim \"aud\"",
            "invalid claim 'aud'",
        ],
    ),
    rule(
        RootCause::TokenNotYetValid,
        &["issued in the future", "issue time ahead", "iat is in the future", "used before", "token is not valid yet"],
    ),
    rule(
        RootCause::TokenExpired,
        &[
            "token expired",
            "token is expired",
            "token has expired",
            "expired_token",
            "jwt expired",
            "expiredjwtexception",
        ],
    ),
    rule(
        RootCause::UnknownKid,
        &["no matching key", "unable to match key", "kidnotfound", "no key found", "ambiguous key identification"],
    ),
    rule(
        RootCause::BadSignature,
        &[
            "signature verification failed",
            "invalid signature",
            "failed to verify signature",
            "signature validation failed",
            "bad_signature",
        ],
    ),
    rule(
        RootCause::InvalidMetadata,
        &[
            "missing field `jwks_uri`",
            "missing field `authorization_endpoint`",
            "missing field `response_types_supported`",
            "missing field `subject_types_supported`",
            "missing field `id_token_signing_alg_values_supported`",
        ],
    ),
    rule(
        RootCause::InvalidTokenResponse,
        &[
            "failed to parse server response",
            "expected value at line",
            "content type was expected",
            "unexpected response content-type",
            "has no id_token",
            "looking for beginning of value",
            "jsondecodeerror",
            "server response missing access_token",
            "expected near '<'",
            "tokentype cannot be null",
        ],
    ),
    transport(
        RootCause::ConnectionRefused,
        &[
            "connection refused",
            "econnrefused",
            "couldn't connect to server",
            "connectexception: java.nio.channels.closedchannelexception",
        ],
    ),
    transport(RootCause::ConnectionReset, &["connection reset", "reset by peer", "econnreset", "socket hang up"]),
    transport(
        RootCause::Timeout,
        &["timed out", "i/o timeout", "timeout", "deadline exceeded", "etimedout", "aborted due to timeout"],
    ),
    transport(
        RootCause::ServerError,
        &[
            "http status code 50",
            "status code 50",
            "500 internal server error",
            "503 service unavailable",
            "500 server error",
            "http error 500",
            "http error 503",
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
    fn a_cause_named_anywhere_beats_a_transport_symptom_beneath_it() {
        // Go's resolver, refused: the lookup is what failed.
        let go = [
            "Post \"https://idp/token\"",
            "dial tcp: lookup idp on 127.0.0.1:53: read udp 127.0.0.1:1->127.0.0.1:53: read: connection refused",
        ];
        assert_eq!(RootCause::classify(&go), RootCause::DnsFailure);
        // A 503 through a proxy is the proxy's refusal, not the IdP's server error.
        assert_eq!(RootCause::classify(&["httpx.ProxyError: 503 Service Unavailable"]), RootCause::ProxyRefusedConnect);
        assert_eq!(RootCause::classify(&["Post \"https://idp/token\"", "Forbidden"]), RootCause::ProxyRefusedConnect);
    }

    #[test]
    fn an_expired_certificate_is_never_an_expired_token() {
        let java = [
            "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: validity check failed",
            "java.security.cert.CertificateExpiredException: NotAfter: Sun Nov 29 18:17:41 UTC 2026",
        ];
        assert_eq!(RootCause::classify(&java), RootCause::ExpiredCertificate);
        assert_eq!(RootCause::classify(&["oidc_restore_proto_state: state has expired"]), RootCause::StateMismatch);
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
