//! What an environment creates or is given that is secret, registered with [`crate::redact`] so it is
//! replaced by value wherever it appears: the client secret (registered and configured), proxy
//! passwords (the policy's and the RP's), and — at the places that make them — codes, tokens, state,
//! nonces, PKCE verifiers and session cookies.

use crate::idp::IdpSetup;
use crate::proxy::{Decision, ProxyPolicy};
use crate::redact::{register, register_credentials};
use crate::rp::RpSettings;

/// The IdP's client registration.
pub(crate) fn register_idp(setup: &IdpSetup) {
    register_credentials(&setup.client.id, &setup.client.secret);
}

/// The credentials a proxy policy asks for.
pub(crate) fn register_policy(policy: &ProxyPolicy) {
    for rule in &policy.rules {
        if let Decision::RequireAuth { user, password } = &rule.decision {
            register_credentials(user, password);
        }
    }
}

/// What an RP is configured with: its client secret and the proxy credentials in its proxy URL.
pub(crate) fn register_rp(settings: &RpSettings) {
    register_credentials(&settings.client_id, &settings.client_secret);
    if let Some(proxy) = &settings.proxy {
        if let Some(password) = proxy.password() {
            register_credentials(proxy.username(), password);
            // The URL keeps them percent-encoded; register the decoded forms too.
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            register_credentials(&decode(proxy.username()), &decode(password));
        }
    }
    if let Some(password) = &settings.setup.proxy_password {
        register(password);
    }
}

/// Every environment's setup at once.
#[cfg(feature = "containers")]
pub(crate) fn register_environment(idp: &IdpSetup, policy: &ProxyPolicy, rp: &RpSettings) {
    register_idp(idp);
    register_policy(policy);
    register_rp(rp);
}
