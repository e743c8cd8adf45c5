//! The catalog against a real OpenID provider: oidc-provider-mock 0.3.4 (PyPI; `.ci/run` installs
//! it), served over TLS by its own server (uvicorn) with a certificate from a CA of the test's own.
//! The harness knows nothing of that provider: the builder gets its issuer, a client, its CA and
//! what to type into its login page; the endpoints come from its discovery document. The happy
//! path and two proxy failures pass, through our proxy and through a real squid.

mod common;
#[path = "common/oidc_provider_mock.rs"]
mod oidc_provider_mock;

use std::path::Path;
use std::time::{Duration, Instant};

use oidc_provider_mock::Provider;
use sso_harness::external::ExternalIdp;
use sso_harness::{EnvBuilder, ErrorChain, Scenario, SsoEnv};

const SCENARIOS: [&str; 3] = ["happy-path", "proxy-denies-connect-to-token-endpoint", "proxy-requires-authentication"];

async fn run_against(provider: &Provider, id: &str, through: fn(EnvBuilder) -> EnvBuilder, label: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(&root.join(format!("scenarios/{id}.toml"))).unwrap();
    let builder = through(scenario.env_builder().external_idp(provider.external()));
    scenario.applies_with(&builder).unwrap();
    let (run, unchecked) = scenario
        .run_substituted(builder)
        .await
        .unwrap_or_else(|error| panic!("{id}: {}", ErrorChain::from_error(&error)));
    assert!(
        run.passed(),
        "{id} against oidc-provider-mock ({label}):\n{:#?}\n{}",
        run.mismatches,
        run.outcome.transcript()
    );
    // The provider's own records are not the harness's: those expectations are named, not faked.
    assert!(unchecked.iter().all(|u| u.starts_with("idp.")), "{unchecked:?}");
    let hops: Vec<String> = run.outcome.journey.hops.iter().map(|h| format!("{} {}", h.method, h.url)).collect();
    assert!(hops.iter().any(|h| h.starts_with("POST https://localhost:")), "the login form was submitted: {hops:#?}");
    let name = format!("{id}.oidc-provider-mock{}", if label == "squid" { ".squid" } else { "" });
    common::assert_documented(&scenario, &run, &name, &format!("against oidc-provider-mock 0.3.4, through {label}"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_happy_path_and_two_proxy_failures_pass_against_a_real_provider_through_our_proxy() {
    let provider = oidc_provider_mock::start().await;
    for id in SCENARIOS {
        run_against(&provider, id, |b| b, "our proxy").await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_happy_path_and_two_proxy_failures_pass_against_a_real_provider_through_squid() {
    let provider = oidc_provider_mock::start().await;
    for id in SCENARIOS {
        run_against(&provider, id, EnvBuilder::squid, "squid").await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_scenario_that_changes_the_idp_does_not_apply_to_an_external_one() {
    let idp = ExternalIdp {
        issuer: "https://localhost:1".parse().unwrap(),
        client_id: "c".to_owned(),
        client_secret: "s".to_owned(),
        ca_pem: None,
        login: None,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(&root.join("scenarios/id-token-signed-with-unknown-key.toml")).unwrap();
    let why = scenario.applies_with(&scenario.env_builder().external_idp(idp)).unwrap_err();
    assert!(why.to_string().contains("it changes the IdP"), "{why}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_external_idp_is_one_clear_error_within_the_probe_bound() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let idp = ExternalIdp {
        issuer: format!("https://localhost:{closed}").parse().unwrap(),
        client_id: "c".to_owned(),
        client_secret: "s".to_owned(),
        ca_pem: None,
        login: None,
    };
    let started = Instant::now();
    let error = SsoEnv::builder().external_idp(idp).start().await.unwrap_err();
    let message = ErrorChain::from_error(&error).to_string();
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    for words in ["external IdP", &format!("https://localhost:{closed}"), "/.well-known/openid-configuration"] {
        assert!(message.contains(words), "{words:?} missing from: {message}");
    }
}
