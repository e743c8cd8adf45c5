//! The relying party: the contract any RP under test meets ([`LaunchRp`], [`RunningRp`],
//! [`RpSettings`]), how it is configured ([`RpSetup`]) and the reference RP that implements it
//! with axum, `openidconnect` and `reqwest` ([`ReferenceRp`]).
//!
//! - [`setup`] — `[setup.rp]`, the one description of an RP's configuration
//! - [`contract`] — the lines an RP in another process prints (readiness, verdicts)
//! - [`mod@reference`] — the reference RP
//!
//! A failure is one [`AuthenticationFailed`] whose Display names the stage and whose `source()`
//! chain goes down to the root cause.

pub mod contract;
pub mod reference;
pub mod setup;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

pub use self::reference::{back_channel_client, ReferenceRp, RunningReferenceRp};
pub use self::setup::{BasicEncoding, IssuerForm, Metadata, ResponseMode, RpAuthMethod, RpSetup, TrustAnchor};
use crate::chain::ErrorChain;
use crate::hosts::Hosts;
use crate::oauth::ProviderEndpoints;

/// Any error that can cross threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything the harness tells an RP under test: the [`RpSetup`] it is configured with, resolved
/// against the environment — where the IdP is, the client registration, the network (proxy URL,
/// trusted CAs, name service).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RpSettings {
    /// The issuer identifier as configured, e.g. `https://idp.sso.test:41234`.
    pub issuer: String,
    /// Endpoints typed in by an administrator; `None` means: discover them from the issuer.
    pub endpoints: Option<ProviderEndpoints>,
    /// The client ID the IdP registered for the RP.
    pub client_id: String,
    /// The client secret the IdP registered for the RP.
    pub client_secret: String,
    /// The forward proxy for back-channel calls, e.g. `http://proxy.sso.test:3128` (with the
    /// credentials in the URL when the setup has them).
    pub proxy: Option<Url>,
    /// The CAs the RP trusts for HTTPS (PEM).
    pub trusted_ca_pem: String,
    /// The name service (in-process: the harness's host map; in a container: the system's).
    #[serde(skip, default = "Hosts::system")]
    pub hosts: Hosts,
    /// The rest of the configuration, as the scenario set it.
    pub setup: RpSetup,
}

impl std::fmt::Debug for RpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut proxy = self.proxy.clone();
        if let Some(proxy) = proxy.as_mut().filter(|p| p.password().is_some()) {
            let _ = proxy.set_password(Some("[REDACTED]"));
        }
        f.debug_struct("RpSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("proxy", &proxy.map(|p| p.to_string()))
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

impl RpSettings {
    /// Connect and request timeout of the back channel.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.setup.timeout_ms)
    }

    /// Hosts that bypass the proxy, in `NO_PROXY` syntax.
    pub fn no_proxy(&self) -> Option<&str> {
        self.setup.no_proxy.as_deref()
    }
}

/// Why an RP could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpError {
    /// The reference RP could not bind its HTTP listener.
    #[error("binding the RP's listener failed")]
    Bind(#[source] std::io::Error),
    /// The reference RP could not build its back-channel HTTP client.
    #[error("building the RP's HTTP client failed")]
    Client(#[source] reqwest::Error),
    /// The files handed to an RP in another process (settings, trusted CAs, hosts) could not be written.
    #[error("writing the RP's settings files failed")]
    Files(#[source] std::io::Error),
    /// The RP's program could not be started.
    #[error("starting the RP under test (`{program}`) failed")]
    Spawn {
        /// The command line, as the RP describes it.
        program: String,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// The RP's process exited before it printed its readiness line.
    #[error("the RP under test (`{program}`) exited with {status} before it was ready; expected a line `sso-repro-rp ready on port N`; its last lines:{last_lines}")]
    Exited {
        /// The command line, as the RP describes it.
        program: String,
        /// How it exited.
        status: String,
        /// The last lines it printed, one per line.
        last_lines: String,
    },
    /// The RP's process printed no readiness line within its `ready_within` time.
    #[error("the RP under test (`{program}`) printed no line `sso-repro-rp ready on port N` within {waited:?}; its last lines:{last_lines}")]
    NotReady {
        /// The command line, as the RP describes it.
        program: String,
        /// How long the harness waited.
        waited: Duration,
        /// The last lines it printed, one per line.
        last_lines: String,
    },
    /// A [`LaunchRp`] implementation's own error.
    #[error("starting the RP under test failed")]
    Launch(#[source] BoxError),
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

/// The future of a starting RP. Its error is any error (`?` works on your own error types); the
/// environment reports it as [`RpError::Launch`] unless it is an [`RpError`] already.
pub type Launching<'a> = Pin<Box<dyn Future<Output = Result<Box<dyn RunningRp>, BoxError>> + Send + 'a>>;

impl RpError {
    /// `error` as an [`RpError`]: itself when it is one, else [`RpError::Launch`] wrapping it.
    pub fn from_launch(error: BoxError) -> RpError {
        match error.downcast::<RpError>() {
            Ok(rp) => *rp,
            Err(other) => RpError::Launch(other),
        }
    }
}

/// Starts an RP under test from [`RpSettings`].
pub trait LaunchRp: Send + Sync + std::fmt::Debug {
    /// Starts the RP configured with `settings`; the future resolves once it is ready for a sign-in.
    fn launch(&self, settings: RpSettings) -> Launching<'_>;
}

/// The stage of a sign-in at which it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Discovery: fetching or reading the provider metadata.
    FetchingMetadata,
    /// Checking the callback: a sign-in in progress, `state`, an `error` parameter, the `code`.
    ValidatingAuthorizationResponse,
    /// The token request: exchanging the code for tokens.
    ExchangingTokens,
    /// Fetching the IdP's signing keys (JWKS).
    FetchingKeys,
    /// Verifying the ID token: signature, issuer, audience, expiry, nonce.
    ValidatingIdToken,
    /// The userinfo request.
    FetchingUserinfo,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::FetchingMetadata => "fetching the provider metadata failed",
            Stage::ValidatingAuthorizationResponse => "validating the authorization response failed",
            Stage::ExchangingTokens => "exchanging authorization tokens failed",
            Stage::FetchingKeys => "fetching the signing keys failed",
            Stage::ValidatingIdToken => "validating the ID token failed",
            Stage::FetchingUserinfo => "fetching the user info failed",
        })
    }
}

impl Stage {
    /// Every stage, in the order of a sign-in.
    pub const ALL: [Stage; 6] = [
        Stage::FetchingMetadata,
        Stage::ValidatingAuthorizationResponse,
        Stage::ExchangingTokens,
        Stage::FetchingKeys,
        Stage::ValidatingIdToken,
        Stage::FetchingUserinfo,
    ];
}

/// A failed sign-in: Display names the stage, `source()` leads to the root cause.
///
/// It may grow, so it is built with [`AuthenticationFailed::new`], never as a literal:
///
/// ```compile_fail,E0639
/// let failed = sso_harness::AuthenticationFailed {
///     stage: sso_harness::Stage::ExchangingTokens,
///     source: "refused".into(),
/// };
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{stage}")]
#[non_exhaustive]
pub struct AuthenticationFailed {
    /// The stage that failed.
    pub stage: Stage,
    /// The cause: the top of the error chain below the stage.
    #[source]
    pub source: BoxError,
}

impl AuthenticationFailed {
    /// A failure at `stage` caused by `source` (an RP of your own reports its failures so).
    ///
    /// ```
    /// use sso_harness::{AuthenticationFailed, ErrorChain, RootCause, Stage};
    ///
    /// let refused = std::io::Error::other("Unable to tunnel through proxy. Proxy returns \"HTTP/1.1 403 Forbidden\"");
    /// let failed = AuthenticationFailed::new(Stage::ExchangingTokens, refused);
    /// let chain = ErrorChain::from_error(&failed);
    /// assert_eq!(chain.wrapper(), "exchanging authorization tokens failed");
    /// assert_eq!(chain.root_cause(), RootCause::ProxyRefusedConnect);
    /// ```
    pub fn new(stage: Stage, source: impl Into<BoxError>) -> AuthenticationFailed {
        AuthenticationFailed { stage, source: source.into() }
    }
}
