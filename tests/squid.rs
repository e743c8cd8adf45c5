//! The egress-proxy family through a real squid (Debian's `squid` package, `.ci/run` installs it):
//! squid.conf is generated from each scenario's rules, squid is started and killed per environment,
//! and `proxy.answered` is checked against squid's own access.log. A scenario squid cannot play
//! is named with the reason, and the set of those is fixed here so it cannot grow unnoticed.

mod common;

use std::path::Path;

use sso_harness::{ErrorChain, Scenario, SsoEnv};

/// The egress-proxy scenarios that do not apply to squid, and why (checked, not just skipped).
const NOT_FOR_SQUID: [(&str, &str); 2] = [
    ("proxy-accepts-and-never-answers", "squid cannot accept a request and never answer it"),
    ("proxy-cannot-reach-idp-502", "squid answers 503"),
];

#[tokio::test(flavor = "current_thread")]
async fn the_egress_proxy_family_passes_through_real_squid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios = Scenario::load_dir(&root.join("scenarios")).unwrap();
    let family: Vec<&Scenario> = scenarios.iter().filter(|s| s.family == "egress-proxy").collect();
    assert!(family.len() >= 16, "the family shrank: {}", family.len());
    let mut not_applicable = Vec::new();
    for scenario in family {
        let builder = scenario.env_builder().squid();
        if let Err(why) = scenario.applies_with(&builder) {
            not_applicable.push((scenario.id.clone(), why.why));
            continue;
        }
        let (run, unchecked) = scenario
            .run_substituted(builder)
            .await
            .unwrap_or_else(|error| panic!("{}: {}", scenario.id, ErrorChain::from_error(&error)));
        assert_eq!(unchecked, Vec::<&str>::new(), "squid's log is read, so nothing is left unchecked");
        common::assert_documented(scenario, &run, &format!("{}.squid", scenario.id), "through squid 5.7");
    }
    assert_eq!(not_applicable.len(), NOT_FOR_SQUID.len(), "{not_applicable:#?}");
    for ((id, why), (expected_id, expected_why)) in not_applicable.iter().zip(NOT_FOR_SQUID) {
        assert_eq!(id, expected_id);
        assert!(why.contains(expected_why), "{id}: {why}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn squid_keeps_its_files_in_its_own_directory_and_removes_it_when_dropped() {
    let policy = sso_harness::ProxyPolicy::allow_all().deny("idp.sso.test", 403);
    let squid = sso_harness::external::Squid::start(&policy, &["idp.sso.test"]).await.unwrap();
    let dir = squid.dir().to_owned();
    let conf = std::fs::read_to_string(dir.join("squid.conf")).unwrap();
    assert!(conf.contains(&format!("http_port 127.0.0.1:{}", squid.port())), "{conf}");
    assert!(conf.contains("acl rule1 dstdomain idp.sso.test\nhttp_access deny rule1\n"), "{conf}");
    assert!(conf.contains("shutdown_lifetime 1 seconds"), "{conf}");
    drop(squid);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_external_proxy_is_one_clear_error_before_any_sign_in() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let proxy = sso_harness::external::ExternalProxy::at(format!("http://{closed}").parse().unwrap());
    let started = std::time::Instant::now();
    let error = SsoEnv::builder().external_proxy(proxy).start().await.unwrap_err();
    let message = ErrorChain::from_error(&error).to_string();
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
    for words in ["external proxy", &format!("http://{closed}/"), "a TCP connection to", "refused"] {
        assert!(message.contains(words), "{words:?} missing from: {message}");
    }
}

#[test]
fn an_external_proxy_never_shows_its_password() {
    let mut proxy =
        sso_harness::external::ExternalProxy::at("http://svc:hunter2-secret@127.0.0.1:3128".parse().unwrap());
    proxy.credentials = Some(("svc".to_owned(), "other-secret".to_owned()));
    let shown = format!("{proxy:?} {}", proxy.shown_url());
    assert!(!shown.contains("hunter2-secret") && !shown.contains("other-secret"), "{shown}");
}
