//! The open fault model reaches the wire: every knob of `[setup.idp]` and `[setup.rp]` makes the
//! real party send (or accept) exactly that — status, header, body, claim, signature — and every
//! named fault is the same as its open form.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
mod common;

use rstest::rstest;
use serde_json::{json, Value};
use sha2::Digest;
use sso_harness::fixtures::ca;
use sso_harness::idp::{IdTokenFault, IdTokenSpec, IdpSetup, JwksFault, JwksSpec, ResponseSpec, TokenResponse};
use sso_harness::{Ca, Idp, RootCause, RpSetup, Scenario, SsoEnv};

use common::client;

const REDIRECT: &str = "http://rp.sso.test:1/callback";

/// `[setup.idp]` from TOML, as a scenario file writes it.
fn idp_setup(toml_text: &str) -> IdpSetup {
    let setup: IdpSetup = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
    setup.check().unwrap_or_else(|e| panic!("{e:?}"));
    setup
}

/// The authorization redirect's query.
async fn authorize(idp: &Idp, http: &reqwest::Client, extra: &[(&str, &str)]) -> HashMap<String, String> {
    idp.register_redirect_uri(REDIRECT).expect("a valid redirect URI");
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", "sso-repro-rp"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s-1"),
        ("nonce", "n-1"),
    ];
    query.extend_from_slice(extra);
    let response = http.get(format!("{}/authorize", idp.issuer())).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    location.query_pairs().into_owned().collect()
}

/// A token request; returns status, headers and body.
async fn token(
    idp: &Idp,
    http: &reqwest::Client,
    code: &str,
    basic: Option<(&str, &str)>,
    body_secret: Option<&str>,
) -> (u16, HashMap<String, String>, String) {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)];
    if let Some(secret) = body_secret {
        form.extend([("client_id", "sso-repro-rp"), ("client_secret", secret)]);
    }
    let mut request = http.post(format!("{}/token", idp.issuer())).form(&form);
    if let Some((id, secret)) = basic {
        request = request.header("authorization", format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
    (status, headers, response.text().await.unwrap())
}

const BASIC: Option<(&str, &str)> = Some(("sso-repro-rp", "test-only-client-secret"));

/// An IdP started with `setup`, a client for it, and a code it issued.
async fn with_code(setup: IdpSetup, ca: &Ca) -> (Idp, reqwest::Client, String) {
    let idp = Idp::start(setup, ca).await.unwrap();
    let http = client(&idp);
    let code = authorize(&idp, &http, &[]).await["code"].clone();
    (idp, http, code)
}

async fn tokens_for(setup: IdpSetup, ca: &Ca) -> (Idp, HashMap<String, String>, Value) {
    let (idp, http, code) = with_code(setup, ca).await;
    let (status, headers, body) = token(&idp, &http, &code, BASIC, None).await;
    assert_eq!(status, 200, "{body}");
    (idp, headers, serde_json::from_str(&body).unwrap())
}

fn part(token: &str, index: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(index).unwrap()).unwrap()).unwrap()
}

fn signature(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap()
}

fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').unwrap().0
}

mod answers_as_data {
    use super::*;

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_raw_token_answer_is_sent_with_its_status_headers_and_placeholders(ca: Ca) {
        let setup = idp_setup(
            r#"
            [token_response]
            status = 401
            headers = { content-type = "text/plain", www-authenticate = 'Basic realm="corp"', cache-control = "no-cache" }
            body = "denied at {{now}} for {{client_id}}"
            "#,
        );
        let (idp, http, code) = with_code(setup, &ca).await;

        let (status, headers, body) = token(&idp, &http, &code, BASIC, None).await;

        assert_eq!(status, 401);
        assert_eq!(headers["content-type"], "text/plain");
        assert_eq!(headers["www-authenticate"], "Basic realm=\"corp\"");
        assert_eq!(headers["cache-control"], "no-cache");
        let (prefix, rest) = body.split_once(" at ").unwrap();
        assert_eq!(prefix, "denied");
        let (now, client_id) = rest.split_once(" for ").unwrap();
        assert!(now.parse::<i64>().unwrap() > 1_600_000_000, "{body}");
        assert_eq!(client_id, "sso-repro-rp");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn a_form_encoded_token_answer_carries_the_real_tokens(ca: Ca) {
        let setup = idp_setup(
            r#"
            [token_response]
            form = { access_token = "{{access_token}}", id_token = "{{id_token}}", token_type = "bearer" }
            "#,
        );
        let (idp, http, code) = with_code(setup, &ca).await;

        let (status, headers, body) = token(&idp, &http, &code, BASIC, None).await;

        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
        let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        assert_eq!(form["token_type"], "bearer");
        assert_eq!(form["access_token"].len(), 32, "{body}");
        assert_eq!(part(&form["id_token"], 1)["sub"], "alice");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn set_and_remove_retype_fields_of_the_usual_json_answer(ca: Ca) {
        let setup = idp_setup(
            r#"
            [token_response]
            set = { expires_in = "3600", scope = ["openid", "email"] }
            remove = ["token_type"]
            "#,
        );

        let (_idp, headers, body) = tokens_for(setup, &ca).await;

        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["expires_in"], json!("3600"), "a string, not a number");
        assert_eq!(body["scope"], json!(["openid", "email"]));
        assert!(body.get("token_type").is_none(), "{body}");
        assert!(body["id_token"].as_str().unwrap().starts_with("eyJ"));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn discovery_jwks_and_userinfo_answers_are_data_too(ca: Ca) {
        let setup = idp_setup(
            r#"
            discovery = { set = { issuer = "https://other.sso.test", token_endpoint_auth_methods_supported = ["private_key_jwt"] }, remove = ["jwks_uri"] }
            jwks = { fetches = [{ keys = ["primary", "ec"] }, { status = 503 }] }
            userinfo = { set = { sub = "mallory", email_verified = "true" } }
            "#,
        );
        let (idp, _, tokens) = tokens_for(setup, &ca).await;
        let http = client(&idp);
        let get = |path: &str| http.get(format!("{}{path}", idp.issuer())).send();

        let discovery: Value = get("/.well-known/openid-configuration")
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str::<Value>(&t).unwrap())
            .unwrap();
        let first_jwks: Value =
            get("/jwks").await.unwrap().text().await.map(|t| serde_json::from_str::<Value>(&t).unwrap()).unwrap();
        let second_jwks = get("/jwks").await.unwrap().status();
        let userinfo: Value = http
            .get(format!("{}/userinfo", idp.issuer()))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str::<Value>(&t).unwrap())
            .unwrap();

        assert_eq!(discovery["issuer"], "https://other.sso.test");
        assert_eq!(discovery["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
        assert!(discovery.get("jwks_uri").is_none());
        let kinds: Vec<&str> =
            first_jwks["keys"].as_array().unwrap().iter().map(|k| k["kty"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["RSA", "EC"]);
        assert_eq!(second_jwks, 503);
        assert_eq!((userinfo["sub"].as_str(), userinfo["email_verified"].as_str()), (Some("mallory"), Some("true")));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn the_authorization_response_can_drop_state_and_add_iss_or_an_error(ca: Ca) {
        let idp =
            Idp::start(idp_setup(r#"authorize_response = { state = "omit", iss = "issuer" }"#), &ca).await.unwrap();
        let params = authorize(&idp, &client(&idp), &[]).await;
        assert!(!params.contains_key("state"), "{params:?}");
        assert_eq!(params["iss"], idp.issuer());
        assert!(params.contains_key("code"));

        let setup = idp_setup(
            r#"authorize_response = { error = "interaction_required", error_description = "MFA needed", state = "forged" }"#,
        );
        let idp = Idp::start(setup, &ca).await.unwrap();
        let params = authorize(&idp, &client(&idp), &[]).await;
        assert_eq!(
            (params["error"].as_str(), params["error_description"].as_str(), params["state"].as_str()),
            ("interaction_required", "MFA needed", "forged")
        );
        assert!(!params.contains_key("code"));
    }
}

mod form_post {
    use super::*;

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn the_authorization_response_is_a_page_that_posts_code_and_state(ca: Ca) {
        let idp = Idp::start(IdpSetup::default(), &ca).await.unwrap();
        idp.register_redirect_uri(REDIRECT).unwrap();
        let query = [
            ("response_type", "code"),
            ("client_id", "sso-repro-rp"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s&1"),
            ("response_mode", "form_post"),
        ];

        let response = client(&idp).get(format!("{}/authorize", idp.issuer())).query(&query).send().await.unwrap();

        assert_eq!(response.status(), 200);
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains(r#"<body onload="javascript:document.forms[0].submit()">"#), "{page}");
        assert!(page.contains(&format!(r#"<form method="post" action="{REDIRECT}">"#)), "{page}");
        assert!(page.contains(r#"<input type="hidden" name="state" value="s&amp;1"/>"#), "{page}");
        assert!(page.contains(r#"name="code" value=""#), "{page}");
    }
}

mod id_token_as_data {
    use super::*;

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn claims_are_set_removed_and_retyped_with_clock_expressions(ca: Ca) {
        let setup = idp_setup(
            r#"
            clock_offset_secs = -7200
            [id_token]
            claims = { aud = ["{{client_id}}", "another-client"], iat = "{{now_ms}}", exp = "{{now + 1h | string}}", email_verified = "false" }
            remove = ["sub"]
            header = { typ = "at+jwt", kid = "made-up" }
            "#,
        );

        let (_idp, _, tokens) = tokens_for(setup, &ca).await;
        let id_token = tokens["id_token"].as_str().unwrap();
        let (header, claims) = (part(id_token, 0), part(id_token, 1));

        assert_eq!(claims["aud"], json!(["sso-repro-rp", "another-client"]));
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let iat_ms = claims["iat"].as_i64().expect("iat is a number");
        assert!((iat_ms / 1000 - (wall - 7200)).abs() < 5, "iat in milliseconds of the IdP's clock: {iat_ms}");
        let exp: i64 = claims["exp"].as_str().expect("exp is a string").parse().unwrap();
        assert!((exp - (wall - 7200 + 3600)).abs() < 5);
        assert_eq!(claims["email_verified"], "false");
        assert!(claims.get("sub").is_none());
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(
            (header["typ"].as_str(), header["kid"].as_str(), header["alg"].as_str()),
            (Some("at+jwt"), Some("made-up"), Some("RS256"))
        );
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn an_es256_token_verifies_with_the_published_ec_key(ca: Ca) {
        let setup = idp_setup(
            r#"id_token = { key = "ec" }
            jwks = { fetches = [{ keys = ["primary", "ec"] }] }"#,
        );
        let (idp, _, tokens) = tokens_for(setup, &ca).await;
        let jwks: Value = client(&idp)
            .get(format!("{}/jwks", idp.issuer()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str::<Value>(&t).unwrap())
            .unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        let ec = jwks["keys"].as_array().unwrap().iter().find(|k| k["kty"] == "EC").unwrap();
        assert_eq!(part(id_token, 0)["kid"], ec["kid"]);
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(ec["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(ec["y"].as_str().unwrap()).unwrap());

        let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point);

        assert_eq!(part(id_token, 0)["alg"], "ES256");
        key.verify(signing_input(id_token).as_bytes(), &signature(id_token)).expect("a valid ES256 signature");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn an_hs256_token_is_keyed_with_the_client_secret_and_a_corrupted_one_is_not(ca: Ca) {
        for (corrupted, verifies) in [(false, true), (true, false)] {
            let signature_form = if corrupted { "corrupted" } else { "valid" };
            let setup = idp_setup(&format!(
                "id_token = {{ key = \"client-secret\", signature = \"{signature_form}\" }}\nclient = {{ secret = \"s3cr:t %+ é\" }}"
            ));
            let idp = Idp::start(setup, &ca).await.unwrap();
            let http = client(&idp);
            let code = authorize(&idp, &http, &[]).await["code"].clone();
            let secret = url::form_urlencoded::byte_serialize("s3cr:t %+ é".as_bytes()).collect::<String>();
            let (status, _, body) = token(&idp, &http, &code, Some(("sso-repro-rp", &secret)), None).await;
            assert_eq!(status, 200, "{body}");
            let tokens: Value = serde_json::from_str(&body).unwrap();
            let id_token = tokens["id_token"].as_str().unwrap();

            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, "s3cr:t %+ é".as_bytes());

            assert_eq!(part(id_token, 0)["alg"], "HS256");
            assert!(part(id_token, 0).get("kid").is_none());
            let verified = ring::hmac::verify(&key, signing_input(id_token).as_bytes(), &signature(id_token)).is_ok();
            assert_eq!(verified, verifies, "corrupted = {corrupted}");
        }
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn an_unsigned_token_has_alg_none_and_an_empty_signature(ca: Ca) {
        let (_idp, _, tokens) = tokens_for(idp_setup(r#"id_token = { key = "none" }"#), &ca).await;
        let id_token = tokens["id_token"].as_str().unwrap();

        assert_eq!(part(id_token, 0), json!({ "alg": "none", "typ": "JWT" }));
        assert!(id_token.ends_with('.'));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn at_hash_and_c_hash_are_correct_wrong_or_missing(ca: Ca) {
        let (_idp, _, tokens) =
            tokens_for(idp_setup(r#"id_token = { at_hash = "correct", c_hash = "wrong" }"#), &ca).await;
        let claims = part(tokens["id_token"].as_str().unwrap(), 1);
        let half = |text: &str| URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(text.as_bytes())[..16]);

        assert_eq!(claims["at_hash"], half(tokens["access_token"].as_str().unwrap()));
        assert!(claims["c_hash"].as_str().unwrap().len() == 22);

        let (_idp, _, tokens) = tokens_for(IdpSetup::default(), &ca).await;
        let claims = part(tokens["id_token"].as_str().unwrap(), 1);
        assert!(claims.get("at_hash").is_none() && claims.get("c_hash").is_none(), "missing by default");
    }
}

mod the_client_registration {
    use super::*;

    #[rstest]
    #[case::form_decoding_refuses_a_raw_plus("form-urlencoded", "p+ss", 401)]
    #[case::form_decoding_accepts_an_encoded_plus("form-urlencoded", "p%2Bss", 200)]
    #[case::raw_decoding_accepts_a_raw_plus("raw", "p+ss", 200)]
    #[case::raw_decoding_refuses_an_encoded_plus("raw", "p%2Bss", 401)]
    #[tokio::test(flavor = "current_thread")]
    async fn basic_credentials_are_decoded_as_registered(
        ca: Ca,
        #[case] decoding: &str,
        #[case] sent: &str,
        #[case] expected: u16,
    ) {
        let setup = idp_setup(&format!("client = {{ secret = \"p+ss\", basic_decoding = \"{decoding}\" }}"));
        let (idp, http, code) = with_code(setup, &ca).await;

        let (status, _, body) = token(&idp, &http, &code, Some(("sso-repro-rp", sent)), None).await;

        assert_eq!(status, expected, "{body}");
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn several_methods_in_one_request_are_refused_unless_allowed(ca: Ca) {
        for (refuse, expected) in [(true, 400), (false, 200)] {
            let idp = Idp::start(idp_setup(&format!("client = {{ refuse_multiple_methods = {refuse} }}")), &ca)
                .await
                .unwrap();
            let http = client(&idp);
            let code = authorize(&idp, &http, &[]).await["code"].clone();

            let (status, _, body) = token(&idp, &http, &code, BASIC, Some("test-only-client-secret")).await;

            assert_eq!(status, expected, "refuse_multiple_methods = {refuse}: {body}");
        }
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn each_refusal_answers_what_the_scenario_says(ca: Ca) {
        let setup = idp_setup(
            r#"client = { errors = { wrong-secret = { status = 400, error = "invalid_request", description = "Invalid client credentials" } } }"#,
        );
        let (idp, http, code) = with_code(setup, &ca).await;

        let (status, headers, body) = token(&idp, &http, &code, Some(("sso-repro-rp", "wrong")), None).await;

        assert_eq!(status, 400);
        assert!(!headers.contains_key("www-authenticate"), "a 400 carries no Basic challenge");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body, json!({ "error": "invalid_request", "error_description": "Invalid client credentials" }));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn pkce_can_be_required(ca: Ca) {
        let idp = Idp::start(idp_setup("client = { require_pkce = true }"), &ca).await.unwrap();

        let params = authorize(&idp, &client(&idp), &[]).await;

        assert_eq!(params["error"], "invalid_request");
        assert!(params["error_description"].contains("PKCE"));
    }

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn only_the_registered_redirect_uris_are_accepted(ca: Ca) {
        let setup = idp_setup(r#"client = { redirect_uris = ["https://rp.sso.test/callback"] }"#);
        let idp = Idp::start(setup, &ca).await.unwrap();
        idp.register_redirect_uri(REDIRECT).expect("a valid redirect URI");

        let response = client(&idp)
            .get(format!("{}/authorize", idp.issuer()))
            .query(&[
                ("response_type", "code"),
                ("client_id", "sso-repro-rp"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 400, "the RP's own URI is not registered");
    }
}

mod named_faults {
    use super::*;

    fn open<T: serde::de::DeserializeOwned>(text: &str) -> T {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_id_token_fault_is_its_expansion() {
        let cases: [(IdTokenFault, &str); 10] = [
            (IdTokenFault::Valid, ""),
            (IdTokenFault::BadSignature, r#"signature = "corrupted""#),
            (IdTokenFault::UnknownKid, r#"key = "secondary""#),
            (IdTokenFault::NoKid, r#"remove_header = ["kid"]"#),
            (IdTokenFault::AlgNone, r#"key = "none""#),
            (IdTokenFault::WrongIssuer, r#"claims = { iss = "https://evil.sso.test" }"#),
            (IdTokenFault::WrongAudience, r#"claims = { aud = "another-client" }"#),
            (IdTokenFault::NoSub, r#"remove = ["sub"]"#),
            (IdTokenFault::NoIat, r#"remove = ["iat"]"#),
            (IdTokenFault::WrongNonce, r#"claims = { nonce = "not-the-nonce-the-rp-sent" }"#),
        ];
        for (fault, text) in cases {
            assert_eq!(fault.expand(), open::<IdTokenSpec>(text), "{fault:?}");
        }
    }

    #[test]
    fn each_jwks_setup_is_its_expansion() {
        let cases: [(JwksFault, &str); 5] = [
            (JwksFault::Current, r#"fetches = [{ keys = ["primary"] }]"#),
            (JwksFault::ExtraKey, r#"fetches = [{ keys = ["primary", "secondary"] }]"#),
            (
                JwksFault::Rotated,
                "fetches = [{ keys = [\"primary\"] }, { keys = [\"secondary\"] }]\nsigns_with = \"secondary\"",
            ),
            (
                JwksFault::RotatedRefetchFails,
                "fetches = [{ keys = [\"primary\"] }, { status = 503 }]\nsigns_with = \"secondary\"",
            ),
            (JwksFault::Unavailable, "fetches = [{ status = 503 }]"),
        ];
        for (fault, text) in cases {
            assert_eq!(fault.expand(), open::<JwksSpec>(text), "{fault:?}");
        }
    }

    #[test]
    fn each_token_response_is_its_expansion() {
        let page = |message: &str| {
            format!("<!DOCTYPE html>\n<html><body><h1>Sign-in error</h1><p>{message}</p></body></html>\n")
        };
        let html = |status: u16, message: &str, note: &str| {
            format!(
                "status = {status}\nheaders = {{ content-type = \"text/html; charset=utf-8\" }}\nbody = {:?}\nnote = \"{note}\"",
                page(message)
            )
        };
        let cases: [(TokenResponse, String); 5] = [
            (TokenResponse::Tokens, String::new()),
            (TokenResponse::ServerError, html(500, "Internal Server Error", "Internal Server Error")),
            (TokenResponse::HtmlPage, html(200, "Please sign in to continue", "an HTML page instead of tokens")),
            (TokenResponse::NoIdToken, "remove = [\"id_token\"]\nnote = \"tokens issued without id_token\"".into()),
            (
                TokenResponse::NoAccessToken,
                "remove = [\"access_token\"]\nnote = \"tokens issued without access_token\"".into(),
            ),
        ];
        for (named, text) in cases {
            assert_eq!(named.expand(), open::<ResponseSpec>(&text), "{named:?}");
        }
    }

    /// The named fault and its open form, written in a scenario's `[setup.idp]`, give the same
    /// sign-in: the same outcome and the same normalized transcript of every party.
    #[rstest]
    #[case::bad_signature(r#"id_token = "bad-signature""#, r#"id_token = { signature = "corrupted" }"#)]
    #[case::unknown_kid(r#"id_token = "unknown-kid""#, r#"id_token = { key = "secondary" }"#)]
    #[case::no_kid(r#"id_token = "no-kid""#, r#"id_token = { remove_header = ["kid"] }"#)]
    #[case::alg_none(r#"id_token = "alg-none""#, r#"id_token = { key = "none" }"#)]
    #[case::wrong_issuer(
        r#"id_token = "wrong-issuer""#,
        r#"id_token = { claims = { iss = "https://evil.sso.test" } }"#
    )]
    #[case::wrong_nonce(
        r#"id_token = "wrong-nonce""#,
        r#"id_token = { claims = { nonce = "not-the-nonce-the-rp-sent" } }"#
    )]
    #[case::no_sub(r#"id_token = "no-sub""#, r#"id_token = { remove = ["sub"] }"#)]
    #[case::rotated(
        r#"jwks = "rotated""#,
        "jwks = { fetches = [{ keys = [\"primary\"] }, { keys = [\"secondary\"] }], signs_with = \"secondary\" }"
    )]
    #[case::unavailable_jwks(r#"jwks = "unavailable""#, "jwks = { fetches = [{ status = 503 }] }")]
    #[case::no_id_token(
        r#"token_response = "no-id-token""#,
        "token_response = { remove = [\"id_token\"], note = \"tokens issued without id_token\" }"
    )]
    #[tokio::test(flavor = "current_thread")]
    async fn the_named_and_the_open_form_sign_in_alike(#[case] named: &str, #[case] open_form: &str) {
        let run = |text: &str| {
            let setup = idp_setup(text);
            async move { SsoEnv::builder().idp(setup).start().await.unwrap().sign_in().await }
        };

        let (named_outcome, open_outcome) = (run(named).await, run(open_form).await);

        assert_eq!(named_outcome.transcript(), open_outcome.transcript());
    }
}

mod rp_settings_reach_the_wire {
    use super::*;

    async fn sign_in(idp: &str, rp: RpSetup) -> sso_harness::Outcome {
        SsoEnv::builder().idp(idp_setup(idp)).rp(rp).start().await.unwrap().sign_in().await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn raw_basic_encoding_of_a_plus_fails_at_a_decoding_idp_and_passes_at_a_raw_one() {
        let mut rp = RpSetup::default();
        rp.basic_encoding = sso_harness::rp::BasicEncoding::Raw;

        let decoding = sign_in(r#"client = { secret = "a+b" }"#, rp.clone()).await;
        let raw = sign_in(r#"client = { secret = "a+b", basic_decoding = "raw" }"#, rp).await;

        assert_eq!(decoding.root_cause(), Some(RootCause::InvalidClient), "{}", decoding.transcript());
        assert!(raw.signed_in(), "{}", raw.transcript());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_secret_in_header_and_body_is_refused_by_a_strict_idp() {
        let mut rp = RpSetup::default();
        rp.auth_method = sso_harness::rp::RpAuthMethod::ClientSecretBasicAndPost;

        let strict = sign_in("", rp.clone()).await;
        let lenient = sign_in("client = { refuse_multiple_methods = false }", rp).await;

        assert_eq!(strict.root_cause(), Some(RootCause::InvalidRequest), "{}", strict.transcript());
        assert!(lenient.signed_in(), "{}", lenient.transcript());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn scopes_are_requested_and_the_clock_skew_is_honoured() {
        let mut rp = RpSetup::default();
        rp.scopes = vec!["email".into(), "profile".into()];
        let ahead = sign_in("clock_offset_secs = 90", rp.clone()).await;
        rp.clock_skew_secs = 120;
        let tolerated = sign_in("clock_offset_secs = 90", rp).await;

        assert_eq!(ahead.root_cause(), Some(RootCause::TokenNotYetValid), "{}", ahead.transcript());
        assert!(tolerated.signed_in(), "{}", tolerated.transcript());
        let authorize = tolerated.journey.hops.iter().find(|hop| hop.url.contains("/authorize")).unwrap();
        assert!(authorize.url.contains("scope=openid+email+profile"), "{}", authorize.url);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn userinfo_and_required_claims_are_checked() {
        let mut rp = RpSetup::default();
        rp.userinfo = true;
        rp.required_claims = vec!["email".into()];

        let other_user = sign_in(r#"userinfo = { set = { sub = "mallory" } }"#, rp.clone()).await;
        let from_userinfo = sign_in("", rp.clone()).await;
        let no_email = sign_in(r#"userinfo = { remove = ["email"] }"#, rp).await;

        assert_eq!(other_user.root_cause(), Some(RootCause::SubjectMismatch), "{}", other_user.transcript());
        assert!(from_userinfo.signed_in(), "email comes from userinfo: {}", from_userinfo.transcript());
        assert_eq!(no_email.root_cause(), Some(RootCause::MissingClaim), "{}", no_email.transcript());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_rp_that_accepts_es256_or_hs256_verifies_them() {
        let mut rp = RpSetup::default();
        rp.id_token_algs = vec!["ES256".into()];
        let ec = sign_in(r#"jwks = { fetches = [{ keys = ["ec"] }], signs_with = "ec" }"#, rp.clone()).await;
        rp.id_token_algs = vec!["HS256".into()];
        let hmac = sign_in(r#"id_token = { key = "client-secret" }"#, rp.clone()).await;
        let forged = sign_in(r#"id_token = { key = "client-secret", signature = "corrupted" }"#, rp).await;

        assert!(ec.signed_in(), "{}", ec.transcript());
        assert!(hmac.signed_in(), "{}", hmac.transcript());
        assert_eq!(forged.root_cause(), Some(RootCause::BadSignature), "{}", forged.transcript());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_wrong_at_hash_is_refused() {
        let correct = sign_in(r#"id_token = { at_hash = "correct" }"#, RpSetup::default()).await;
        let wrong = sign_in(r#"id_token = { at_hash = "wrong" }"#, RpSetup::default()).await;

        assert!(correct.signed_in(), "{}", correct.transcript());
        assert_eq!(wrong.root_cause(), Some(RootCause::TokenHashMismatch), "{}", wrong.transcript());
    }
}

mod bad_input {
    use std::path::Path;

    use super::*;

    const BASE: &str = r#"
id = "x"
title = "t"
family = "f"
[story]
symptom = "s"
cause = "c"
fix = "f"
[expect]
outcome = "signed-in"
"#;

    fn error_for(setup: &str) -> String {
        let text = format!("{BASE}\n{setup}");
        let error = Scenario::parse(Path::new("scenarios/x.toml"), &text).expect_err("must be refused");
        sso_harness::ErrorChain::from_error(&error).to_string()
    }

    #[rstest]
    #[case::unknown_placeholder("[setup.idp.token_response]\nbody = \"{{acess_token}}\"", &["scenarios/x.toml", "setup.idp.token_response.body", "unknown placeholder `{{acess_token}}`", "access_token"])]
    #[case::bad_clock_expression("[setup.idp.id_token]\nclaims = { exp = \"{{now + 1 fortnight}}\" }", &["setup.idp.id_token.claims", "not a clock offset"])]
    #[case::placeholder_out_of_place("[setup.idp.discovery]\nset = { issuer = \"{{nonce}}\" }", &["setup.idp.discovery.set", "has no value here"])]
    #[case::two_bodies("[setup.idp.token_response]\nbody = \"x\"\njson = { a = 1 }", &["setup.idp.token_response.body", "not several"])]
    #[case::set_and_remove_one_claim("[setup.idp.id_token]\nclaims = { sub = \"x\" }\nremove = [\"sub\"]", &["setup.idp.id_token.remove", "both set"])]
    #[case::shorthand_and_open_form("[setup.idp]\nauthorize_error = \"access_denied\"\nauthorize_response = { error = \"login_required\" }", &["setup.idp.authorize_error", "give one of them"])]
    #[case::unknown_key("[setup.idp.id_token]\nkey = \"my-key\"", &["scenarios/x.toml", "unknown variant `my-key`", "client-secret"])]
    #[case::unknown_named_fault("[setup.idp]\nid_token = \"bad-sig\"", &["unknown variant `bad-sig`", "bad-signature"])]
    #[case::unpublishable_key("[setup.idp.jwks]\nfetches = [{ keys = [\"client-secret\"] }]", &["setup.idp.jwks.fetches", "cannot be published"])]
    #[case::contradictory_rp("[setup.rp]\npkce = false\nregenerate_pkce_verifier = true", &["setup.rp.regenerate_pkce_verifier", "pkce = true"])]
    #[case::unknown_alg("[setup.rp]\nid_token_algs = [\"RS512\"]", &["setup.rp.id_token_algs", "RS512"])]
    fn names_the_file_and_the_field(#[case] setup: &str, #[case] words: &[&str]) {
        let error = error_for(setup);
        for word in words {
            assert!(error.contains(word), "the error should mention {word:?}:\n{error}");
        }
    }
}
