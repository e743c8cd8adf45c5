//! TLS verification stays on everywhere unless a scenario asks otherwise: each party that makes a TLS
//! connection refuses a certificate it has no reason to trust.

use rstest::rstest;
use sso_harness::fixtures::{ca, hosts};
use sso_harness::idp::{IdpSetup, IdpTls};
use sso_harness::proxy::{Decision, ProxyPolicy};
use sso_harness::{Ca, Hosts, Idp, Proxy, RootCause, SsoEnv};

fn idp_with_certificate_from_another_ca() -> IdpSetup {
    let mut setup = IdpSetup::default();
    setup.tls = IdpTls::OtherCa;
    setup
}

#[tokio::test(flavor = "current_thread")]
async fn the_rp_refuses_an_idp_certificate_from_a_ca_it_does_not_trust() {
    let mut browser = sso_harness::env::BrowserOptions::default();
    browser.accepts_invalid_certificates = true;
    let env = SsoEnv::builder().idp(idp_with_certificate_from_another_ca()).browser(browser).start().await.unwrap();

    let outcome = env.sign_in().await;

    assert_eq!(outcome.root_cause(), Some(RootCause::UntrustedCertificate), "{}", outcome.transcript());
}

/// The browser trusts the CA of a certificate "from another CA" (a public CA, in the story); an
/// expired one it refuses, unless the scenario says the user clicked through.
#[tokio::test(flavor = "current_thread")]
async fn the_browser_refuses_an_expired_idp_certificate() {
    let mut expired = IdpSetup::default();
    expired.tls = IdpTls::Expired;
    let env = SsoEnv::builder().idp(expired).start().await.unwrap();

    let outcome = env.sign_in().await;

    let error = outcome.journey.error.clone().unwrap_or_default();
    assert!(error.to_lowercase().contains("expired"), "the browser went on: {}", outcome.transcript());
    assert_eq!(env.idp.count("GET", "/authorize"), 0);
}

/// The proxy re-signs the IdP's traffic with its interception CA (which the client trusts) and must
/// still verify the IdP's real certificate on its upstream side.
#[rstest]
#[case::against_an_unrelated_ca(false)]
#[case::against_the_idps_ca(true)]
#[tokio::test(flavor = "current_thread")]
async fn the_intercepting_proxy_verifies_the_upstream_certificate(ca: Ca, hosts: Hosts, #[case] trusts_the_idp: bool) {
    let idp = Idp::start(IdpSetup::default(), &ca).await.unwrap();
    let unrelated = Ca::new("Unrelated CA").unwrap();
    let upstream_trust = if trusts_the_idp { idp.ca_pem().to_owned() } else { unrelated.pem() };
    let policy = ProxyPolicy::allow_all().rule("idp.sso.test", Decision::Intercept);
    let proxy =
        Proxy::bind_trusting("127.0.0.1:0".parse().unwrap(), policy, hosts.clone(), &upstream_trust).await.unwrap();
    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(proxy.interception_ca_pem().as_bytes()).unwrap())
        .dns_resolver(std::sync::Arc::new(hosts))
        .proxy(reqwest::Proxy::all(format!("http://proxy.sso.test:{}", proxy.addr().port())).unwrap())
        .build()
        .unwrap();

    let answer = http.get(format!("{}/jwks", idp.issuer())).send().await;

    match trusts_the_idp {
        true => assert_eq!(answer.map(|r| r.status().as_u16()).ok(), Some(200), "{:?}", proxy.log().lines()),
        false => {
            assert!(answer.is_err(), "the proxy relayed to an upstream it cannot verify");
            assert_eq!(idp.count("GET", "/jwks"), 0, "no request reached the IdP");
        }
    }
}
