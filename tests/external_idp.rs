//! The catalog against a real OpenID provider: oidc-provider-mock 0.3.4 (PyPI; `.ci/run` installs
//! it), served over TLS by its own server (uvicorn) with a certificate from a CA of the test's own.
//! The harness knows nothing of that provider: the builder gets its issuer, a client, its CA and
//! what to type into its login page; the endpoints come from its discovery document. The happy
//! path and two proxy failures pass, through our proxy and through a real squid.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sso_harness::external::ExternalIdp;
use sso_harness::login_form::LoginForm;
use sso_harness::{Ca, EnvBuilder, ErrorChain, Scenario, SsoEnv};
use tokio::io::AsyncBufReadExt;

/// A running oidc-provider-mock behind TLS; killed when dropped.
struct Provider {
    issuer: String,
    ca_pem: String,
    _dir: tempdir::Dir,
    _child: tokio::process::Child,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Starts oidc-provider-mock's app under uvicorn with TLS for `localhost`; waits (bounded) for
/// uvicorn's `Uvicorn running on` line.
async fn provider() -> Provider {
    let ca = Ca::new("oidc-provider-mock test CA").unwrap();
    let cert = ca.issue_for(&["localhost".to_owned()], false).unwrap();
    let dir = tempdir::Dir(std::env::temp_dir().join(format!("sso-repro-op-{:016x}", rand_u64())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("cert.pem"), &cert.chain_pem).unwrap();
    std::fs::write(dir.0.join("key.pem"), &cert.key_pem).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let program = format!(
        "import uvicorn, oidc_provider_mock\n\
         uvicorn.run(oidc_provider_mock.app(), interface='wsgi', host='127.0.0.1', port={port}, \
         ssl_certfile='{cert}', ssl_keyfile='{key}', log_level='info')",
        cert = dir.0.join("cert.pem").display(),
        key = dir.0.join("key.pem").display(),
    );
    let mut child = tokio::process::Command::new("python3")
        .args(["-W", "ignore", "-c", &program])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs (pip install oidc-provider-mock==0.3.4)");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline.into(), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.contains("Uvicorn running on") => break,
            Ok(Ok(Some(line))) => seen.push(line),
            other => panic!(
                "oidc-provider-mock did not start ({other:?}); pip install oidc-provider-mock==0.3.4:\n{}",
                seen.join("\n")
            ),
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider { issuer: format!("https://localhost:{port}"), ca_pem: ca.pem(), _dir: dir, _child: child }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    hasher.finish()
}

impl Provider {
    fn external(&self) -> ExternalIdp {
        ExternalIdp {
            issuer: self.issuer.parse().unwrap(),
            client_id: "sso-repro-rp".to_owned(),
            client_secret: "any-secret-the-provider-accepts".to_owned(),
            ca_pem: Some(self.ca_pem.clone()),
            // Its authorize page is a form with a `sub` field and an "Authorize" button.
            login: Some(LoginForm {
                fields: [("sub".to_owned(), "alice".to_owned())].into(),
                button: Some("Authorize".to_owned()),
            }),
        }
    }
}

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
    let provider = provider().await;
    for id in SCENARIOS {
        run_against(&provider, id, |b| b, "our proxy").await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_happy_path_and_two_proxy_failures_pass_against_a_real_provider_through_squid() {
    let provider = provider().await;
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
