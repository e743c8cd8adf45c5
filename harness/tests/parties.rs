//! Each party on its own, over real sockets: the proxy's protocol and policies, the IdP's validation,
//! and the fixtures as a user's crate uses them.

use std::time::Duration;

mod common;

use rstest::rstest;
use sso_harness::fixtures::{ca, env, env_builder, hosts, idp, proxy};
use sso_harness::idp::IdpSetup;
use sso_harness::proxy::{Decision, ProxyPolicy};
use sso_harness::rp::RpAuthMethod;
use sso_harness::{Ca, ClientAuthMethod, EnvBuilder, Hosts, Idp, Proxy, RootCause, RpSetup, SsoEnv};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` to the proxy over a raw socket and returns everything it answers until close.
async fn raw(proxy: &Proxy, request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(proxy.addr()).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

mod the_proxy {
    use super::*;

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn refuses_connect_with_a_real_status_line_and_an_html_body(hosts: Hosts) {
        let proxy = Proxy::start(ProxyPolicy::allow_all().deny("idp.sso.test", 403), hosts).await.unwrap();

        let answer = raw(&proxy, "CONNECT idp.sso.test:443 HTTP/1.1\r\nHost: idp.sso.test:443\r\n\r\n").await.unwrap();

        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert!(answer.contains("Content-Type: text/html"), "{answer}");
        assert!(answer.contains("<h1>403 Forbidden</h1>"), "{answer}");
        let entry = &proxy.entries()[0];
        assert_eq!((entry.method.as_str(), entry.target.as_str(), entry.status), ("CONNECT", "idp.sso.test:443", 403));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn asks_for_credentials_with_407_and_proxy_authenticate(hosts: Hosts) {
        let decision = Decision::RequireAuth { user: "svc".into(), password: "pw".into() };
        let proxy = Proxy::start(ProxyPolicy::allow_all().rule("idp.sso.test", decision), hosts).await.unwrap();

        let answer = raw(&proxy, "CONNECT idp.sso.test:443 HTTP/1.1\r\n\r\n").await.unwrap();

        assert!(answer.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"), "{answer}");
        assert!(answer.contains("Proxy-Authenticate: Basic realm=\"sso-repro proxy\""), "{answer}");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn tunnels_when_the_credentials_are_right(#[future(awt)] idp: Idp, hosts: Hosts) {
        let decision = Decision::RequireAuth { user: "svc".into(), password: "pw".into() };
        let proxy = Proxy::start(ProxyPolicy::allow_all().rule("idp.sso.test", decision), hosts.clone()).await.unwrap();
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(idp.ca_pem().as_bytes()).unwrap())
            .dns_resolver(std::sync::Arc::new(hosts))
            .proxy(
                reqwest::Proxy::all(format!("http://proxy.sso.test:{}", proxy.addr().port()))
                    .unwrap()
                    .basic_auth("svc", "pw"),
            )
            .build()
            .unwrap();

        let status = http.get(format!("{}/jwks", idp.issuer())).send().await.unwrap().status();

        assert_eq!(status, 200);
        assert_eq!(proxy.entries()[0].status, 200);
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn answers_502_when_the_upstream_cannot_be_resolved(#[future(awt)] proxy: Proxy) {
        let answer = raw(&proxy, "CONNECT idp.example.invalid:443 HTTP/1.1\r\n\r\n").await.unwrap();

        assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{answer}");
        assert!(proxy.entries()[0].reason.contains("no such host idp.example.invalid"), "{:?}", proxy.entries());
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn answers_502_when_the_upstream_refuses_the_connection(#[future(awt)] proxy: Proxy) {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);

        let answer = raw(&proxy, &format!("CONNECT idp.sso.test:{port} HTTP/1.1\r\n\r\n")).await.unwrap();

        assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{answer}");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn forwards_absolute_form_requests_in_origin_form(#[future(awt)] proxy: Proxy) {
        let upstream = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path("/hello"))
            .and(wiremock::matchers::query_param("x", "1"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("hi"))
            .expect(1)
            .mount(&upstream)
            .await;
        let url = format!("http://127.0.0.1:{}/hello?x=1", upstream.address().port());

        let answer =
            raw(&proxy, &format!("GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Connection: keep-alive\r\n\r\n"))
                .await
                .unwrap();

        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("hi"), "{answer}");
        assert_eq!(proxy.entries()[0].target, url);
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_rule_with_a_port_matches_only_that_port(hosts: Hosts) {
        let policy = ProxyPolicy::allow_all().rule_on_port("idp.sso.test", 8443, Decision::Deny { status: 403 });
        let proxy = Proxy::start(policy, hosts).await.unwrap();

        let denied = raw(&proxy, "CONNECT idp.sso.test:8443 HTTP/1.1\r\n\r\n").await.unwrap();
        let other = raw(&proxy, "CONNECT idp.sso.test:9 HTTP/1.1\r\n\r\n").await.unwrap();

        assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
        assert!(other.starts_with("HTTP/1.1 502"), "port 9 is allowed, then unreachable: {other}");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_hanging_proxy_never_answers_and_the_client_times_out(hosts: Hosts) {
        let proxy = Proxy::start(ProxyPolicy::allow_all().rule("idp.sso.test", Decision::Hang), hosts).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        stream.write_all(b"CONNECT idp.sso.test:443 HTTP/1.1\r\n\r\n").await.unwrap();

        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte)).await;

        assert!(read.is_err(), "the proxy answered: {read:?}");
        assert_eq!(proxy.entries()[0].status, 0);
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_resetting_proxy_resets_the_connection(hosts: Hosts) {
        let proxy = Proxy::start(ProxyPolicy::allow_all().rule("idp.sso.test", Decision::Reset), hosts).await.unwrap();

        let error = raw(&proxy, "CONNECT idp.sso.test:443 HTTP/1.1\r\n\r\n").await.unwrap_err();

        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    }
}

mod the_idp {
    use super::*;
    use common::client;
    use std::collections::HashMap;

    const REDIRECT: &str = "http://rp.sso.test:1/callback";

    /// Runs the authorization step and returns the code from the redirect.
    async fn authorize(idp: &Idp, http: &reqwest::Client, extra: &[(&str, &str)]) -> String {
        idp.register_redirect_uri(REDIRECT).expect("a valid redirect URI");
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", "sso-repro-rp"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
        ];
        query.extend_from_slice(extra);
        let response = http.get(format!("{}/authorize", idp.issuer())).query(&query).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let params: HashMap<_, _> = location.query_pairs().into_owned().collect();
        params["code"].clone()
    }

    async fn redeem(idp: &Idp, http: &reqwest::Client, form: &[(&str, &str)], basic: bool) -> (u16, serde_json::Value) {
        let mut request = http.post(format!("{}/token", idp.issuer())).form(form);
        if basic {
            request = request.basic_auth("sso-repro-rp", Some("test-only-client-secret"));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_code_is_redeemed_once_only(#[future(awt)] idp: Idp) {
        let http = client(&idp);
        let code = authorize(&idp, &http, &[]).await;
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)];

        let (first, tokens) = redeem(&idp, &http, &form, true).await;
        let (second, error) = redeem(&idp, &http, &form, true).await;

        assert_eq!(first, 200, "{tokens}");
        assert!(tokens["id_token"].as_str().unwrap().starts_with("eyJ"));
        assert_eq!((second, error["error"].as_str()), (400, Some("invalid_grant")));
        assert_eq!(error["error_description"], "authorization code already used");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn the_pkce_verifier_must_match_the_challenge(#[future(awt)] idp: Idp) {
        let http = client(&idp);
        // S256 of "right-verifier-right-verifier-right-verifier-123".
        let challenge = {
            use base64::Engine;
            use sha2::Digest;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(b"right-verifier-right-verifier-right-verifier-123"))
        };
        let code = authorize(&idp, &http, &[("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "wrong"),
        ];

        let (status, error) = redeem(&idp, &http, &form, true).await;

        assert_eq!((status, error["error_description"].as_str()), (400, Some("PKCE verification failed")));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_client_secret_in_the_body_is_refused_when_only_basic_is_allowed(ca: Ca) {
        let mut setup = IdpSetup::default();
        setup.client.auth_methods = vec![ClientAuthMethod::ClientSecretBasic];
        let idp = Idp::start(setup, &ca).await.unwrap();
        let http = client(&idp);
        let code = authorize(&idp, &http, &[]).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "sso-repro-rp"),
            ("client_secret", "test-only-client-secret"),
        ];

        let (status, error) = redeem(&idp, &http, &form, false).await;

        assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")));
        assert_eq!(
            error["error_description"],
            "client authentication method client_secret_post is not allowed for this client"
        );
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(#[future(awt)] idp: Idp) {
        let http = client(&idp);
        let query = [
            ("response_type", "code"),
            ("client_id", "sso-repro-rp"),
            ("redirect_uri", "https://evil.test/cb"),
            ("scope", "openid"),
        ];

        let response = http.get(format!("{}/authorize", idp.issuer())).query(&query).send().await.unwrap();

        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_client_that_does_not_trust_the_harness_ca_fails_the_handshake(#[future(awt)] idp: Idp) {
        let other_ca = Ca::new("someone else's CA").unwrap();
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(other_ca.pem().as_bytes()).unwrap())
            .dns_resolver(std::sync::Arc::new(Hosts::harness()))
            .no_proxy()
            .build()
            .unwrap();

        let error = http.get(format!("{}/jwks", idp.issuer())).send().await.unwrap_err();

        assert_eq!(sso_harness::ErrorChain::from_error(&error).root_cause(), RootCause::UntrustedCertificate);
    }
}

mod the_fixtures {
    use super::*;

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn the_env_fixture_signs_in(#[future(awt)] env: SsoEnv) {
        let outcome = env.sign_in().await;

        assert!(outcome.signed_in(), "{}", outcome.transcript());
        assert_eq!(env.idp.count("POST", "/token"), 1);
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_builder_fixture_can_break_one_thing(env_builder: EnvBuilder) {
        let env = env_builder
            .proxy_policy(ProxyPolicy::allow_all().deny("idp.sso.test", 502))
            .rp(RpSetup::behind_proxy())
            .start()
            .await
            .unwrap();

        let outcome = env.sign_in().await;

        assert_eq!(outcome.root_cause(), Some(RootCause::ProxyRefusedConnect));
        assert_eq!(outcome.proxy_entries[0].status, 502, "the proxy's record tells 502 from 403");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn no_secret_code_or_token_reaches_a_log_or_transcript(env_builder: EnvBuilder) {
        let mut rp = RpSetup::behind_proxy();
        rp.auth_method = RpAuthMethod::ClientSecretPost;
        let env = env_builder.rp(rp).start().await.unwrap();

        let outcome = env.sign_in().await;

        assert!(outcome.signed_in(), "{}", outcome.transcript());
        let everything = [
            outcome.rp_log.join("\n"),
            outcome.idp_log.join("\n"),
            outcome.proxy_log.join("\n"),
            format!("{:?}", outcome.journey),
            outcome.transcript(),
        ]
        .join("\n");
        assert!(!everything.contains(&env.idp.setup().client.secret), "client secret leaked:\n{everything}");
        assert!(!everything.contains("eyJ"), "a JWT leaked:\n{everything}");
        assert!(everything.contains("code=[REDACTED]"), "the callback hop is recorded, redacted:\n{everything}");
    }
}
