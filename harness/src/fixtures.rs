//! rstest fixtures for your own tests. Each yields a running party (or all three) on ephemeral
//! loopback ports; everything stops when the value is dropped.
//!
//! ```
//! use rstest::rstest;
//! use sso_harness::fixtures::env;
//! use sso_harness::SsoEnv;
//!
//! #[rstest]
//! #[tokio::test(flavor = "current_thread")]
//! async fn the_happy_path_signs_in(#[future(awt)] env: SsoEnv) {
//!     assert!(env.sign_in().await.signed_in());
//! }
//! # fn main() {}
//! ```

use rstest::fixture;

use crate::env::{EnvBuilder, SsoEnv};
use crate::hosts::Hosts;
use crate::idp::{Idp, IdpSetup};
use crate::proxy::{Proxy, ProxyPolicy};
use crate::tls::Ca;

/// The harness's host names, all on loopback.
#[fixture]
pub fn hosts() -> Hosts {
    Hosts::harness()
}

/// A fresh CA for one test.
#[fixture]
pub fn ca() -> Ca {
    Ca::new("sso-repro test CA").expect("a CA can be generated")
}

/// A mock IdP with the default client; trust `idp.ca_pem()` and call `idp.register_redirect_uri()`.
#[fixture]
pub async fn idp(ca: Ca) -> Idp {
    Idp::start(IdpSetup::default(), &ca).await.expect("the IdP starts")
}

/// A forward proxy that allows everything; its access log is `proxy.entries()`.
#[fixture]
pub async fn proxy(hosts: Hosts) -> Proxy {
    Proxy::start(ProxyPolicy::allow_all(), hosts).await.expect("the proxy starts")
}

/// A builder for an environment, to adjust before `start()`.
#[fixture]
pub fn env_builder() -> EnvBuilder {
    SsoEnv::builder()
}

/// IdP, proxy and reference RP wired together, with nothing broken.
#[fixture]
pub async fn env(env_builder: EnvBuilder) -> SsoEnv {
    env_builder.start().await.expect("the environment starts")
}
