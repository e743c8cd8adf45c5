//! README: "Using the fixtures in your own crate".

use rstest::rstest;
use sso_harness::fixtures::{env, env_builder};
use sso_harness::{EnvBuilder, ProxyPolicy, RootCause, RpSetup, SsoEnv};

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn the_happy_path_signs_in(#[future(awt)] env: SsoEnv) {
    assert!(env.sign_in().await.signed_in());
}

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn a_proxy_502_is_reported_as_a_refused_connect(env_builder: EnvBuilder) {
    let env = env_builder
        .proxy_policy(ProxyPolicy::allow_all().deny("idp.sso.test", 502))
        .rp(RpSetup::behind_proxy())
        .start()
        .await
        .unwrap();

    let outcome = env.sign_in().await;

    assert_eq!(outcome.failure.as_ref().unwrap().wrapper(), "exchanging authorization tokens failed");
    assert_eq!(outcome.root_cause(), Some(RootCause::ProxyRefusedConnect));
    assert_eq!(env.proxy.entries()[0].status, 502);
}
