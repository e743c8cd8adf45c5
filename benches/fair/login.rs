//! One full login against a provider running as its own process, by the same RP and browser for
//! every provider: the reference RP (discovery on its first login, then code exchange, JWKS and ID
//! token checks over a fresh TLS connection per back-channel call) and the harness's browser, both in
//! this bench's process, direct (no proxy), on loopback. A login is: `GET /login` at the RP, the
//! provider's authorize endpoint (and its login form, where it has one), the callback, the RP's
//! page; it counts only when the browser ends on a 200 and the RP recorded no failure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sso_harness::env::BrowserOptions;
use sso_harness::login_form::LoginForm;
use sso_harness::{Agent, Hosts, LaunchRp, ReferenceRp, RpSettings, RpSetup, RunningRp};

/// Logins one after another, for the latency.
pub const SEQUENTIAL: usize = 30;
/// Browser + RP pairs at once, and logins each, for the throughput.
pub const PAIRS: usize = 4;
pub const EACH: usize = 10;
/// Every login a provider answers in [`measure`] (one warm-up per pair included).
pub const LOGINS: usize = PAIRS + SEQUENTIAL + PAIRS * EACH;

/// What the RP and the browser are told of a provider.
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub ca_pem: String,
    pub login: Option<LoginForm>,
}

/// One RP configured for `provider` and a browser with its own cookies.
pub struct Pair {
    pub rp: Box<dyn RunningRp>,
    agent: Agent,
}

fn hosts() -> Hosts {
    Hosts::loopback(&[sso_harness::hosts::IDP_HOST, sso_harness::hosts::RP_HOST, "localhost"])
}

/// [`PAIRS`] RPs and browsers for `provider`; the RPs listen before the provider needs to run.
pub async fn pairs(provider: &Provider) -> Vec<Arc<Pair>> {
    let settings = serde_json::json!({
        "issuer": provider.issuer,
        "endpoints": null,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "proxy": null,
        "trusted_ca_pem": provider.ca_pem,
        "setup": RpSetup::default(),
    });
    let mut settings: RpSettings = serde_json::from_value(settings).expect("RP settings");
    settings.hosts = hosts();
    let mut options = BrowserOptions::default();
    options.login_form = provider.login.clone();
    let mut pairs = Vec::new();
    for _ in 0..PAIRS {
        let rp = ReferenceRp.launch(settings.clone()).await.expect("the reference RP starts");
        let agent = Agent::new(&hosts(), &provider.ca_pem, &options).expect("the browser starts");
        pairs.push(Arc::new(Pair { rp, agent }));
    }
    pairs
}

impl Pair {
    /// One login; its wall time, or what went wrong.
    pub async fn login(&self) -> Result<Duration, String> {
        let failures = self.rp.failures().len();
        let started = Instant::now();
        let journey = self.agent.sign_in(self.rp.login_url()).await;
        let elapsed = started.elapsed();
        let status = journey.final_status();
        match (journey.error, status, self.rp.failures().get(failures)) {
            (None, 200, None) => Ok(elapsed),
            (error, status, failure) => Err(format!("ended on {status}, browser: {error:?}, RP: {failure:?}")),
        }
    }
}

/// Per-login latency (median of [`SEQUENTIAL`], after one login that discovers the provider) and
/// logins per second with [`PAIRS`] pairs at once (on the bench's one-thread runtime: the RPs and
/// browsers share it, for every provider alike).
pub async fn measure(pairs: &[Arc<Pair>]) -> Result<(Duration, f64), String> {
    for pair in pairs {
        pair.login().await?;
    }
    let mut latencies = Vec::new();
    for _ in 0..SEQUENTIAL {
        latencies.push(pairs[0].login().await?);
    }
    let started = Instant::now();
    let mut logins = tokio::task::JoinSet::new();
    for pair in pairs {
        let pair = pair.clone();
        logins.spawn(async move {
            for _ in 0..EACH {
                pair.login().await?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(result) = logins.join_next().await {
        result.map_err(|e| e.to_string())??;
    }
    let per_second = (PAIRS * EACH) as f64 / started.elapsed().as_secs_f64();
    Ok((super::median(latencies), per_second))
}
