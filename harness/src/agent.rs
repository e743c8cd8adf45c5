//! The user agent: a browser stand-in with a cookie jar that follows the sign-in through
//! RP → IdP → RP over real HTTP(S), and records each hop.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::env::BrowserOptions;
use crate::hosts::Hosts;

const MAX_HOPS: usize = 10;
/// How long the browser waits for any one page (a scenario's RP timeout must stay below it).
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(5);
/// How many forms the browser fills in during one sign-in.
const MAX_FORMS: usize = 3;

/// One request the browser made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Hop {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The URL, secrets redacted.
    pub url: String,
    /// The status of the answer.
    pub status: u16,
}

/// What the browser went through.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct Journey {
    /// Every request the browser made, in order.
    pub hops: Vec<Hop>,
    /// The body of the last page.
    pub body: String,
    /// Set when the browser itself could not go on (a party unreachable, too many redirects).
    pub error: Option<String>,
}

impl Journey {
    /// The status of the last page (0 if there was none).
    pub fn final_status(&self) -> u16 {
        self.hops.last().map_or(0, |hop| hop.status)
    }
}

/// A browser that trusts the environment's CA and resolves its host names.
#[derive(Clone, Debug)]
pub struct Agent {
    http: reqwest::Client,
    /// How to fill in a provider's login page (none: a page ends the journey).
    login_form: Option<crate::login_form::LoginForm>,
}

impl Agent {
    /// A browser that resolves names with `hosts`, trusts `ca_pem` and behaves as `options` says.
    pub fn new(hosts: &Hosts, ca_pem: &str, options: &BrowserOptions) -> reqwest::Result<Agent> {
        let http = Agent::builder(ca_pem, options)?.dns_resolver(Arc::new(hosts.clone())).no_proxy().build()?;
        Ok(Agent { http, login_form: options.login_form.clone() })
    }

    /// A browser that reaches every party through the HTTP proxy at `proxy` (the containers
    /// backend's gateway into the private networks); the proxy resolves the names.
    pub fn via_proxy(proxy: &Url, ca_pem: &str, options: &BrowserOptions) -> reqwest::Result<Agent> {
        let http = Agent::builder(ca_pem, options)?.proxy(reqwest::Proxy::all(proxy.as_str())?).build()?;
        Ok(Agent { http, login_form: options.login_form.clone() })
    }

    /// Trusts every CA in `ca_pem`, keeps cookies (unless told not to), follows no redirect itself.
    fn builder(ca_pem: &str, options: &BrowserOptions) -> reqwest::Result<reqwest::ClientBuilder> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .danger_accept_invalid_certs(options.accepts_invalid_certificates)
            .cookie_store(!options.drops_cookies)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(BROWSER_TIMEOUT);
        for certificate in reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes())? {
            builder = builder.add_root_certificate(certificate);
        }
        Ok(builder)
    }

    /// The underlying HTTP client (cookies, trust and proxy as the browser has them).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Opens `start` and follows redirects until a page answers (at most ten hops); a page with a
    /// form that fits the browser's login data is filled in and submitted (at most three times).
    pub async fn sign_in(&self, start: Url) -> Journey {
        let mut journey = Journey::default();
        let mut next = start;
        let mut submission: Option<crate::login_form::Submission> = None;
        let mut forms = 0;
        for _ in 0..MAX_HOPS {
            let (method, request) = match submission.take() {
                Some(form) if form.method == "GET" => {
                    let mut url = form.url.clone();
                    url.query_pairs_mut().clear().extend_pairs(&form.fields);
                    next = url;
                    ("GET", self.http.get(next.clone()))
                }
                Some(form) => {
                    next = form.url.clone();
                    ("POST", self.http.post(form.url).form(&form.fields))
                }
                None => ("GET", self.http.get(next.clone())),
            };
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    journey.error =
                        Some(crate::redact::secrets(&crate::chain::ErrorChain::from_error(&error).levels.join(": ")));
                    return journey;
                }
            };
            let status = response.status();
            register_given_secrets(&response);
            journey.hops.push(Hop {
                method: method.to_owned(),
                url: crate::redact::secrets(next.as_str()),
                status: status.as_u16(),
            });
            let location = response.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
            match location {
                Some(location) if status.is_redirection() => match next.join(&location) {
                    Ok(url) => next = url,
                    Err(error) => {
                        journey.error = Some(crate::redact::secrets(&format!("bad redirect location: {error}")));
                        return journey;
                    }
                },
                _ => {
                    journey.body = response.text().await.unwrap_or_default();
                    let posting = status.is_success() && forms < MAX_FORMS;
                    if let Some(posted) = crate::login_form::auto_post(&next, &journey.body).filter(|_| posting) {
                        for (name, value) in &posted.fields {
                            if ["code", "state", "id_token", "access_token"].contains(&name.as_str()) {
                                crate::redact::register(value);
                            }
                        }
                        forms += 1;
                        submission = Some(posted);
                        continue;
                    }
                    let form = self.login_form.as_ref().filter(|_| posting);
                    match form.and_then(|form| form.fill(&next, &journey.body)) {
                        Some(filled) => {
                            forms += 1;
                            submission = Some(filled);
                        }
                        None => return journey,
                    }
                }
            }
        }
        journey.error = Some(format!("more than {MAX_HOPS} redirects"));
        journey
    }
}

/// Registers with [`crate::redact`] what the browser is given that is secret: the code and state of a
/// redirect, and the value of every cookie set.
fn register_given_secrets(response: &reqwest::Response) {
    if let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) {
        if let Ok(url) = response.url().join(location) {
            for (name, value) in url.query_pairs() {
                if ["code", "state", "session_state"].contains(&name.as_ref()) {
                    crate::redact::register(&value);
                }
            }
        }
    }
    for cookie in response.headers().get_all("set-cookie").iter().filter_map(|c| c.to_str().ok()) {
        if let Some((_, value)) = cookie.split(';').next().and_then(|pair| pair.split_once('=')) {
            crate::redact::register(value.trim());
        }
    }
}
