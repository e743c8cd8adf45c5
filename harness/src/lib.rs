//! # sso-harness
//!
//! Reproduce single-sign-on failures on demand, over real sockets: a mock OpenID Connect IdP
//! ([`Idp`], on wiremock behind real TLS), a blocking forward proxy ([`Proxy`]), a relying party
//! ([`rp`], axum + openidconnect + reqwest) and a browser ([`Agent`]), wired by [`SsoEnv`].
//!
//! Break something, sign in, and read the error chain the RP reports:
//!
//! ```
//! use sso_harness::{ProxyPolicy, RootCause, RpSetup, SsoEnv};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // The corporate proxy refuses CONNECT to the IdP; the RP sends its back-channel calls through it.
//! let env = SsoEnv::builder()
//!     .proxy_policy(ProxyPolicy::allow_all().deny("idp.sso.test", 403))
//!     .rp(RpSetup::behind_proxy())
//!     .start()
//!     .await
//!     .unwrap();
//!
//! let outcome = env.sign_in().await;
//!
//! let failure = outcome.failure.as_ref().unwrap();
//! assert_eq!(failure.wrapper(), "exchanging authorization tokens failed");
//! assert_eq!(failure.root_cause(), RootCause::ProxyRefusedConnect);
//! assert_eq!(env.proxy.entries()[0].status, 403);
//! assert_eq!(env.idp.count("POST", "/token"), 0);
//! # }
//! ```
//!
//! Scenarios ([`Scenario`]) describe such a setup and its expected chain in a TOML file; the
//! [`fixtures`] module has rstest fixtures for your own tests.

pub mod agent;
pub mod capability;
pub mod catalog;
pub mod chain;
pub mod command;
pub mod compatibility;
pub mod concurrent;
#[cfg(feature = "containers")]
pub mod containers;
pub mod diagnose;
pub mod docs;
pub mod env;
pub mod external;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod hosts;
pub mod idp;
pub mod keys;
#[cfg(feature = "containers")]
mod leftovers;
pub mod log;
pub mod logchain;
pub mod login_form;
pub mod oauth;
#[doc(hidden)] // the entry of the sso-party binary (a crate of its own), not an API
pub mod party;
pub mod proxy;
#[doc(hidden)] // the reaper mode of the sso-party binary, not an API
pub mod reaper;
pub mod redact;
pub mod rp;
pub mod rp_profile;
pub mod scenario;
mod scenario_checks;
mod secrets;
mod serve;
mod task;
pub mod tls;
mod unbudgeted_drop;

pub use agent::{Agent, Journey};
pub use chain::{ErrorChain, RootCause};
pub use command::CommandRp;
pub use env::{EnvBuilder, EnvError, Outcome, SsoEnv};
pub use hosts::Hosts;
pub use idp::{Idp, IdpSetup};
pub use logchain::LogFormat;
pub use oauth::ClientAuthMethod;
pub use proxy::{Decision, Proxy, ProxyPolicy};
pub use rp::{AuthenticationFailed, LaunchRp, ReferenceRp, RpSettings, RpSetup, RunningRp, Stage};
pub use scenario::{Scenario, ScenarioError};
pub use tls::Ca;
