//! The IdP's endpoints: discovery, JWKS, authorize, token, userinfo — each validating like a
//! production IdP, then answering as the scenario's setup says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::answer::Answer;
use super::id_token::Issue;
use super::registration::Refusal;
use super::setup::{Expanded, IdpSetup};
use super::template::Values;
use super::IdpRequest;
use crate::log::PartyLog;
use crate::oauth::{ClientAuthMethod, ProviderEndpoints};

struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    issued: Instant,
    used: bool,
}

/// What the IdP knows and has recorded.
pub(super) struct State {
    pub setup: IdpSetup,
    pub expanded: Expanded,
    pub endpoints: ProviderEndpoints,
    pub redirect_uris: Mutex<Vec<String>>,
    grants: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashMap<String, String>>,
    pub requests: Mutex<Vec<IdpRequest>>,
    jwks_fetches: Mutex<usize>,
    pub log: PartyLog,
}

impl State {
    pub fn new(setup: IdpSetup, endpoints: ProviderEndpoints) -> State {
        State {
            expanded: setup.expanded(),
            setup,
            endpoints,
            redirect_uris: Mutex::default(),
            grants: Mutex::default(),
            access_tokens: Mutex::default(),
            requests: Mutex::default(),
            jwks_fetches: Mutex::default(),
            log: PartyLog::new("idp"),
        }
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests.lock().expect("idp lock").iter().filter(|r| r.method == method && r.path == path).count()
    }

    fn answer(&self, request: &Request, answer: Answer) -> ResponseTemplate {
        let line = format!("{} {} → {} ({})", request.method, request.url.path(), answer.status, answer.note);
        match answer.status {
            200..=399 => self.log.info(line),
            _ => self.log.error(line),
        }
        let record = IdpRequest {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            status: answer.status,
        };
        self.requests.lock().expect("idp lock").push(record);
        answer.response
    }

    /// The values placeholders stand for now (the IdP's clock, its endpoints, the client).
    fn values(&self) -> Values {
        let e = &self.endpoints;
        let mut values = Values { now: super::now(self.setup.clock_offset_secs), ..Values::default() };
        values.text.insert("issuer", e.issuer.clone());
        values.text.insert("client_id", self.expanded.client.id.clone());
        values.text.insert("subject", self.setup.subject().to_owned());
        values.text.insert("authorization_endpoint", e.authorization_endpoint.to_string());
        values.text.insert("token_endpoint", e.token_endpoint.to_string());
        values.text.insert("userinfo_endpoint", e.userinfo_endpoint.to_string());
        values.text.insert("jwks_uri", e.jwks_uri.to_string());
        values
    }

    fn discovery(&self, _: &Request) -> Answer {
        let e = &self.endpoints;
        let methods: Vec<_> = self.expanded.client.auth_methods.iter().map(|m| m.as_str()).collect();
        let document = json!({
            "issuer": e.issuer,
            "authorization_endpoint": e.authorization_endpoint,
            "token_endpoint": e.token_endpoint,
            "userinfo_endpoint": e.userinfo_endpoint,
            "jwks_uri": e.jwks_uri,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": methods,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
            "grant_types_supported": ["authorization_code"],
        });
        let spec = &self.expanded.discovery;
        let rendered = spec.render(200, document, &self.values());
        Answer::rendered(rendered, spec.note.clone().unwrap_or_else(|| "discovery document".to_owned()))
    }

    fn jwks(&self, _: &Request) -> Answer {
        let fetch = {
            let mut fetches = self.jwks_fetches.lock().expect("idp lock");
            *fetches += 1;
            *fetches
        };
        let answer = self.expanded.jwks.fetch(fetch);
        if let Some(status) = answer.status {
            return Answer::html(status, "the key service is unavailable");
        }
        let kids: Vec<&str> = answer.keys.iter().filter_map(|k| k.kid()).collect();
        let body = json!({ "keys": answer.keys.iter().filter_map(|k| k.jwk()).collect::<Vec<_>>() });
        let spec = &self.setup.jwks_response;
        let note = spec.note.clone().unwrap_or_else(|| match kids.len() {
            0 => "no keys".to_owned(),
            1 => format!("1 key, kid {}", kids[0]),
            n => format!("{n} keys, kids {}", kids.join(", ")),
        });
        Answer::rendered(spec.render(200, body, &self.values()), note)
    }

    fn authorize(&self, request: &Request) -> Answer {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        let client = &self.expanded.client;
        if param("client_id") != client.id {
            return Answer::html(400, &format!("unknown client_id \"{}\"", param("client_id")));
        }
        let redirect_uri = param("redirect_uri");
        if !self.redirect_uris.lock().expect("idp lock").iter().any(|uri| uri == redirect_uri) {
            return Answer::html(400, &format!("redirect_uri {redirect_uri} is not registered for this client"));
        }
        let Ok(location) = Url::parse(redirect_uri) else {
            return Answer::html(400, &format!("redirect_uri {redirect_uri} is not a URL"));
        };
        let form_post = match param("response_mode") {
            "" | "query" => false,
            "form_post" => true,
            other => return Answer::html(400, &format!("response_mode {other} is not supported")),
        };
        let mut response = AuthorizationResponse { location, form_post, params: Vec::new() };
        let mut values = self.values();
        values.text.insert("redirect_uri", redirect_uri.to_owned());
        values.text.insert("state", param("state").to_owned());
        let spec = &self.expanded.authorize;
        match spec.state.as_deref() {
            None | Some("echo") => {
                if let Some(state) = query.get("state") {
                    response.add("state", state);
                }
            }
            Some("omit") => {}
            Some(value) => response.add("state", &values.render_str(value)),
        }
        match spec.iss.as_deref() {
            None => {}
            Some("issuer") => response.add("iss", &self.endpoints.issuer),
            Some(value) => response.add("iss", &values.render_str(value)),
        }
        let challenge_method = query.get("code_challenge_method").map(String::as_str);
        let pkce_required = client.refusal(Refusal::PkceRequired);
        let refusal = if let Some(error) = &spec.error {
            Some((error.clone(), spec.error_description.clone().unwrap_or_default()))
        } else if param("response_type") != "code" {
            Some(("unsupported_response_type".to_owned(), "only the authorization code flow is supported".to_owned()))
        } else if !param("scope").split(' ').any(|s| s == "openid") {
            Some(("invalid_scope".to_owned(), "the openid scope is required".to_owned()))
        } else if query.contains_key("code_challenge") && challenge_method != Some("S256") {
            Some(("invalid_request".to_owned(), "code_challenge_method must be S256".to_owned()))
        } else if client.require_pkce && !query.contains_key("code_challenge") {
            Some((pkce_required.error, pkce_required.description))
        } else {
            None
        };
        if let Some((error, description)) = refusal {
            response.add("error", &error);
            if !description.is_empty() {
                response.add("error_description", &description);
            }
            return response.answer(format!("{error}: {description}"));
        }
        let code = random_token();
        let grant = Grant {
            client_id: param("client_id").to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            nonce: query.get("nonce").cloned(),
            code_challenge: query.get("code_challenge").cloned(),
            issued: Instant::now(),
            used: false,
        };
        self.grants.lock().expect("idp lock").insert(code.clone(), grant);
        response.add("code", &code);
        response.answer(format!("code issued, user {} signed in", self.setup.subject()))
    }

    fn refuse(&self, refusal: Refusal) -> Answer {
        Answer::oauth_error(&self.expanded.client.refusal(refusal))
    }

    fn token(&self, request: &Request) -> Answer {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        let client = &self.expanded.client;
        let authorization = request.headers.get("authorization").and_then(|h| h.to_str().ok());
        let presented = match client.presented(authorization, &form) {
            Ok(presented) => presented,
            Err(refusal) => return self.refuse(refusal),
        };
        match client.authenticate(&presented) {
            Ok(()) => {}
            Err(Refusal::MethodNotAllowed) if !client.errors.contains_key(&Refusal::MethodNotAllowed) => {
                let mut error = Refusal::MethodNotAllowed.usual();
                error.description = format!(
                    "client authentication method {} is not allowed for this client",
                    presented.method.as_str()
                );
                return Answer::oauth_error(&error);
            }
            Err(refusal @ (Refusal::UnknownClient | Refusal::WrongSecret)) => {
                let mut answer = self.refuse(refusal);
                if answer.status == 401 && presented.method == ClientAuthMethod::ClientSecretBasic {
                    answer.response =
                        answer.response.insert_header("www-authenticate", "Basic realm=\"sso-repro idp\"");
                }
                return answer;
            }
            Err(refusal) => return self.refuse(refusal),
        }
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return self.refuse(Refusal::UnsupportedGrantType);
        }
        let mut grants = self.grants.lock().expect("idp lock");
        let code = form.get("code").cloned().unwrap_or_default();
        let Some(grant) = grants.get_mut(&code) else {
            return self.refuse(Refusal::UnknownCode);
        };
        if grant.used {
            return self.refuse(Refusal::CodeUsed);
        }
        grant.used = true;
        let lifetime = Duration::from_millis(self.setup.code_lifetime_ms.unwrap_or(60_000));
        if grant.issued.elapsed() > lifetime {
            return self.refuse(Refusal::CodeExpired);
        }
        if grant.client_id != presented.client_id {
            return self.refuse(Refusal::CodeOfAnotherClient);
        }
        if form.get("redirect_uri") != Some(&grant.redirect_uri) {
            return self.refuse(Refusal::RedirectUriMismatch);
        }
        if let Some(challenge) = &grant.code_challenge {
            let Some(verifier) = form.get("code_verifier") else {
                return self.refuse(Refusal::PkceVerifierMissing);
            };
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                return self.refuse(Refusal::PkceMismatch);
            }
        }
        let nonce = grant.nonce.clone();
        let redirect_uri = grant.redirect_uri.clone();
        drop(grants);
        let access_token = random_token();
        self.access_tokens.lock().expect("idp lock").insert(access_token.clone(), self.setup.subject().to_owned());
        let mut values = self.values();
        values.text.insert("nonce", nonce.unwrap_or_default());
        values.text.insert("code", code.clone());
        values.text.insert("redirect_uri", redirect_uri);
        values.text.insert("access_token", access_token.clone());
        let issue = Issue {
            values: &values,
            default_key: self.expanded.jwks.signs_with,
            client_secret: &client.secret,
            access_token: &access_token,
            code: &code,
        };
        let id_token = self.expanded.id_token.issue(&issue);
        values.text.insert("id_token", id_token.clone());
        let body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        });
        let spec = &self.expanded.token_response;
        let rendered = spec.render(200, body, &values);
        let note = match (&spec.note, spec.is_usual()) {
            (Some(note), _) => note.clone(),
            (None, true) => "tokens issued".to_owned(),
            (None, false) => "the scenario's token response".to_owned(),
        };
        let note = match rendered.status {
            200..=399 => format!("{note}, client authenticated with {}", presented.method.as_str()),
            _ => note,
        };
        Answer::rendered(rendered, note)
    }

    fn userinfo(&self, request: &Request) -> Answer {
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        let subject =
            bearer.as_ref().and_then(|token| self.access_tokens.lock().expect("idp lock").get(token).cloned());
        match subject {
            Some(sub) => {
                let mut values = self.values();
                values.text.insert("access_token", bearer.unwrap_or_default());
                let body = json!({ "sub": sub, "name": "Alice Example", "email": "alice@sso.test" });
                let spec = &self.setup.userinfo;
                let note = spec.note.clone().unwrap_or_else(|| "userinfo".to_owned());
                Answer::rendered(spec.render(200, body, &values), note)
            }
            None => {
                let error = super::registration::OAuthError {
                    status: 401,
                    error: "invalid_token".to_owned(),
                    description: "unknown access token".to_owned(),
                };
                let mut answer = Answer::oauth_error(&error);
                answer.response = answer.response.insert_header("www-authenticate", "Bearer error=\"invalid_token\"");
                answer
            }
        }
    }
}

/// The authorization response: its parameters, delivered in the redirect's query (the default) or,
/// with `response_mode=form_post`, as a page whose form the browser posts to the redirect URI
/// (OAuth 2.0 Form Post Response Mode).
struct AuthorizationResponse {
    location: Url,
    form_post: bool,
    params: Vec<(String, String)>,
}

impl AuthorizationResponse {
    fn add(&mut self, name: &str, value: &str) {
        self.params.push((name.to_owned(), value.to_owned()));
    }

    fn answer(mut self, note: String) -> Answer {
        if !self.form_post {
            self.location.query_pairs_mut().extend_pairs(&self.params);
            return Answer::redirect(&self.location, note);
        }
        let escape =
            |text: &str| text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
        let inputs: String = self
            .params
            .iter()
            .map(|(name, value)| {
                format!("<input type=\"hidden\" name=\"{}\" value=\"{}\"/>", escape(name), escape(value))
            })
            .collect();
        let page = format!(
            "<!DOCTYPE html>\n<html><head><title>Submit This Form</title></head>\
             <body onload=\"javascript:document.forms[0].submit()\">\
             <form method=\"post\" action=\"{}\">{inputs}</form></body></html>\n",
            escape(self.location.as_str())
        );
        let response = ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8");
        Answer { response, status: 200, note: format!("{note}, by form post") }
    }
}

fn random_token() -> String {
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
    crate::redact::register(&token);
    token
}

/// An endpoint of the IdP.
type Handler = fn(&State, &Request) -> Answer;

pub(super) async fn mount(server: &MockServer, state: &Arc<State>) {
    let routes: [(&str, &str, Handler); 5] = [
        ("GET", "/.well-known/openid-configuration", State::discovery),
        ("GET", "/jwks", State::jwks),
        ("GET", "/authorize", State::authorize),
        ("POST", "/token", State::token),
        ("GET", "/userinfo", State::userinfo),
    ];
    for (verb, route, handler) in routes {
        let state = state.clone();
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(move |request: &Request| {
                let response = state.answer(request, handler(&state, request));
                let first_token_request = route == "/token" && state.count("POST", "/token") == 1;
                match state.setup.token_delay_ms {
                    Some(delay) if first_token_request => response.set_delay(Duration::from_millis(delay)),
                    _ => response,
                }
            })
            .named(format!("{verb} {route}"))
            .mount(server)
            .await;
    }
    let state = state.clone();
    Mock::given(any())
        .respond_with(move |request: &Request| state.answer(request, Answer::status(404, "no such endpoint")))
        .with_priority(u8::MAX)
        .named("anything else")
        .mount(server)
        .await;
}
