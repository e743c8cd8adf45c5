//! An environment: one IdP, one proxy and one RP wired together, and a browser to drive them.
//!
//! The parties never know of each other; only this module does. It makes one CA per environment,
//! starts the IdP, the proxy and the RP on ephemeral ports under harness host names, registers the
//! RP's redirect URI at the IdP, and collects what everyone recorded into an [`Outcome`].

use std::sync::Arc;

use crate::agent::{Agent, Journey};
use crate::chain::{ErrorChain, RootCause};
use crate::hosts::{Hosts, IDP_NAMES, PROXY_HOST};
use crate::idp::{Idp, IdpError, IdpRequest, IdpSetup};
use crate::oauth::ProviderEndpoints;
use crate::proxy::{Proxy, ProxyEntry, ProxyPolicy};
use crate::rp::{IssuerForm, LaunchRp, Metadata, ReferenceRp, RpError, RpSettings, RpSetup, RunningRp, TrustAnchor};
use crate::tls::{Ca, TlsError};

/// Why an environment could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// The environment's certificate authority could not be made.
    #[error("making the environment's CA failed")]
    Ca(#[source] TlsError),
    /// The IdP could not start.
    #[error("starting the IdP failed")]
    Idp(#[source] IdpError),
    /// The proxy could not start.
    #[error("starting the proxy failed")]
    Proxy(#[source] std::io::Error),
    /// The RP could not start.
    #[error("starting the RP failed")]
    Rp(#[source] RpError),
    /// The browser could not be built.
    #[error("building the user agent failed")]
    Agent(#[source] reqwest::Error),
    /// The IdP refused the RP's redirect URI.
    #[error("registering the RP's redirect URI at the IdP failed")]
    RedirectUri(#[source] crate::idp::InvalidRedirectUri),
    /// An external party (proxy or IdP) could not be used.
    #[error("using an external party failed")]
    External(#[source] crate::external::ExternalError),
    /// An RP image was set but the environment was started without containers; holds `name:tag`.
    #[error(
        "the RP image {0} runs only on the containers backend: use start_in_containers (cargo feature `containers`)"
    )]
    ImageNeedsContainers(String),
}

/// Builds an [`SsoEnv`].
#[derive(Clone, Debug)]
pub struct EnvBuilder {
    pub(crate) idp: IdpSetup,
    pub(crate) proxy: ProxyPolicy,
    pub(crate) rp: RpSetup,
    pub(crate) browser: BrowserOptions,
    pub(crate) rp_image: Option<RpImage>,
    /// External parties (squid, another proxy, another IdP) and our proxy's persona.
    pub(crate) external: crate::external::Substitutes,
    launcher: Arc<dyn LaunchRp>,
}

impl Default for EnvBuilder {
    fn default() -> Self {
        EnvBuilder {
            idp: IdpSetup::default(),
            proxy: ProxyPolicy::allow_all(),
            rp: RpSetup::default(),
            browser: BrowserOptions::default(),
            rp_image: None,
            external: Default::default(),
            launcher: Arc::new(ReferenceRp),
        }
    }
}

impl EnvBuilder {
    /// What the IdP does (`[setup.idp]`).
    pub fn idp(mut self, setup: IdpSetup) -> Self {
        self.idp = setup;
        self
    }

    /// What the proxy allows, denies or breaks (`[setup.proxy]`); default: allows everything.
    pub fn proxy_policy(mut self, policy: ProxyPolicy) -> Self {
        self.proxy = policy;
        self
    }

    /// How the RP is configured (`[setup.rp]`).
    pub fn rp(mut self, setup: RpSetup) -> Self {
        self.rp = setup;
        self
    }

    /// The RP under test (the reference RP unless set).
    pub fn launcher(mut self, launcher: impl LaunchRp + 'static) -> Self {
        self.launcher = Arc::new(launcher);
        self
    }

    /// A container image as the RP under test (containers backend only).
    pub fn rp_image(mut self, image: RpImage) -> Self {
        self.rp_image = Some(image);
        self
    }

    /// How the browser behaves.
    pub fn browser(mut self, options: BrowserOptions) -> Self {
        self.browser = options;
        self
    }

    /// Starts the CA, IdP, proxy, RP and browser on local ports.
    pub async fn start(self) -> Result<SsoEnv, EnvError> {
        if let Some(image) = &self.rp_image {
            return Err(EnvError::ImageNeedsContainers(format!("{}:{}", image.name, image.tag)));
        }
        let hosts = self.external.hosts(Hosts::harness());
        let policy = self.external.policy(self.proxy);
        let ca = Ca::new("sso-repro test CA").map_err(EnvError::Ca)?;
        let idp = Idp::start(self.idp, &ca).await.map_err(EnvError::Idp)?;
        let trusted_upstream = format!("{}{}", ca.pem(), idp.ca_pem());
        let external = self.external.start(&policy, &hosts, &ca.pem()).await.map_err(EnvError::External)?;
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        crate::secrets::register_policy(&policy);
        let proxy = Proxy::bind_persona(listen, policy, hosts.clone(), &trusted_upstream, self.external.persona)
            .await
            .map_err(EnvError::Proxy)?;
        let trust =
            Trust { env_ca: ca.pem(), idp_issuer: idp.ca_pem(), proxy_interception: proxy.interception_ca_pem() };
        let rp_hosts = if self.rp.direct_route { hosts.clone() } else { hosts.without(&IDP_NAMES) };
        let mut settings = rp_settings(&self.rp, idp.setup(), idp.endpoints(), &trust, proxy.addr().port(), rp_hosts);
        external.adjust(&mut settings, &self.rp);
        crate::secrets::register_idp(idp.setup());
        crate::secrets::register_rp(&settings);
        let rp = self.launcher.launch(settings).await.map_err(|e| EnvError::Rp(RpError::from_launch(e)))?;
        idp.register_redirect_uri(&rp.redirect_uri()).map_err(EnvError::RedirectUri)?;
        let mut browser = self.browser;
        browser.login_form = browser.login_form.or_else(|| external.login_form());
        let browser_ca = format!("{trusted_upstream}{}", external.browser_ca());
        let agent = Agent::new(&hosts, &browser_ca, &browser).map_err(EnvError::Agent)?;
        Ok(SsoEnv { idp, proxy, rp, hosts, agent, callbacks: Default::default(), external })
    }
}

/// The CAs an RP may be told to trust.
pub(crate) struct Trust<'a> {
    pub env_ca: String,
    pub idp_issuer: &'a str,
    pub proxy_interception: &'a str,
}

/// The settings an RP under test gets from its setup: the same on both backends.
pub(crate) fn rp_settings(
    setup: &RpSetup,
    idp: &IdpSetup,
    endpoints: &ProviderEndpoints,
    trust: &Trust<'_>,
    proxy_port: u16,
    hosts: Hosts,
) -> RpSettings {
    let mut proxy = url::Url::parse(&format!("http://{PROXY_HOST}:{proxy_port}")).expect("valid proxy URL");
    if let (Some(user), Some(password)) = (&setup.proxy_user, &setup.proxy_password) {
        let _ = proxy.set_username(user);
        let _ = proxy.set_password(Some(password));
    }
    let mut trusted_ca_pem = trust.env_ca.clone();
    for anchor in &setup.trust {
        trusted_ca_pem.push_str(match anchor {
            TrustAnchor::IdpIssuer => trust.idp_issuer,
            TrustAnchor::ProxyInterception => trust.proxy_interception,
        });
    }
    let issuer = match setup.issuer {
        IssuerForm::Exact => endpoints.issuer.clone(),
        IssuerForm::TrailingSlash => format!("{}/", endpoints.issuer),
    };
    RpSettings {
        issuer,
        endpoints: (setup.metadata == Metadata::Configured).then(|| endpoints.clone()),
        client_id: idp.client.id.clone(),
        client_secret: setup.client_secret.clone().unwrap_or_else(|| idp.client.secret.clone()),
        proxy: setup.use_proxy.then_some(proxy),
        trusted_ca_pem,
        hosts,
        setup: setup.clone(),
    }
}

/// A container image of an RP under test (the containers backend): started with the external-RP
/// contract's environment (see [`crate::command`]), `SSO_LISTEN_PORT`, and the CA and settings files
/// copied in; it must listen on every address on that port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpImage {
    /// The image name, e.g. `ghcr.io/org/rp`.
    pub name: String,
    /// The image tag, e.g. `latest`.
    pub tag: String,
    /// The command (arguments to its entrypoint), if any.
    pub command: Vec<String>,
}

/// How the browser behaves.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BrowserOptions {
    /// The browser does not send the RP's session cookie back (a SameSite or domain problem).
    #[serde(default)]
    pub drops_cookies: bool,
    /// The browser accepts an invalid IdP certificate (the user clicked through the warning). The
    /// browser is not under test; this lets a sign-in reach the RP's back channel.
    #[serde(default)]
    pub accepts_invalid_certificates: bool,
    /// How the browser fills in a login or consent page (a real provider's); none: a page that
    /// answers ends the journey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_form: Option<crate::login_form::LoginForm>,
}

/// A running environment; every party stops when it is dropped.
pub struct SsoEnv {
    /// The identity provider.
    pub idp: Idp,
    /// The egress proxy the RP goes through.
    pub proxy: Proxy,
    /// The relying party under test.
    pub rp: Box<dyn RunningRp>,
    /// How the parties' host names resolve.
    pub hosts: Hosts,
    agent: Agent,
    /// Callbacks the browser has made so far.
    callbacks: std::sync::atomic::AtomicUsize,
    /// The external parties in use (squid is stopped with the environment).
    external: crate::external::InUse,
}

impl std::fmt::Debug for SsoEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoEnv").field("idp", &self.idp).field("proxy", &self.proxy).finish_non_exhaustive()
    }
}

impl SsoEnv {
    /// A builder with every party healthy.
    pub fn builder() -> EnvBuilder {
        EnvBuilder::default()
    }

    /// The browser signs in at the RP; returns what every party saw.
    pub async fn sign_in(&self) -> Outcome {
        let failures_before = self.rp.failures().len();
        let journey = self.agent.sign_in(self.rp.login_url()).await;
        // The RP gives a verdict on each callback, and on a login it refused (discovery failed).
        let refused_login = |hop: &crate::agent::Hop| hop.url.contains("/login") && hop.status >= 400;
        let callbacks = journey.hops.iter().filter(|hop| hop.url.contains("/callback") || refused_login(hop)).count();
        let callbacks = self.callbacks.fetch_add(callbacks, std::sync::atomic::Ordering::SeqCst) + callbacks;
        self.rp.settle(callbacks).await;
        let mut outcome = Outcome {
            journey,
            failure: self.rp.failures().into_iter().nth(failures_before),
            idp_requests: self.idp.requests(),
            proxy_entries: self.proxy.entries(),
            rp_log: self.rp.log(),
            idp_log: self.idp.log().lines(),
            proxy_log: self.proxy.log().lines(),
        };
        self.external.record(&mut outcome).await;
        outcome
    }
}

/// What happened during one sign-in, as each party recorded it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// What the browser went through.
    pub journey: Journey,
    /// The RP's failure, if the sign-in failed at the RP.
    pub failure: Option<ErrorChain>,
    /// Every request the IdP answered, in order.
    pub idp_requests: Vec<IdpRequest>,
    /// The proxy's access log, in order.
    pub proxy_entries: Vec<ProxyEntry>,
    /// The RP's log lines.
    pub rp_log: Vec<String>,
    /// The IdP's log lines.
    pub idp_log: Vec<String>,
    /// The proxy's log lines.
    pub proxy_log: Vec<String>,
}

impl Outcome {
    /// The browser ended on a 200 page and the RP reported no failure.
    pub fn signed_in(&self) -> bool {
        self.failure.is_none() && self.journey.error.is_none() && self.journey.final_status() == 200
    }

    /// The kind of the innermost cause of the RP's failure, if it failed.
    pub fn root_cause(&self) -> Option<RootCause> {
        self.failure.as_ref().map(ErrorChain::root_cause)
    }

    /// Every party's record, normalized (no secrets, no ports): what a snapshot keeps.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        match (&self.failure, self.signed_in()) {
            (_, true) => out.push_str("outcome: signed in\n"),
            (Some(chain), false) => {
                out.push_str(&format!("outcome: sign-in failed\n{chain}\nroot cause: {}\n", chain.root_cause()))
            }
            (None, false) => out.push_str("outcome: sign-in did not complete (the RP reported no failure)\n"),
        }
        out.push_str("\nbrowser:\n");
        for hop in &self.journey.hops {
            out.push_str(&format!("  {} {} → {}\n", hop.method, hop.url, hop.status));
        }
        if let Some(error) = &self.journey.error {
            out.push_str(&format!("  error: {error}\n"));
        }
        for (party, lines) in [("proxy", &self.proxy_log), ("idp", &self.idp_log), ("rp", &self.rp_log)] {
            out.push_str(&format!("\n{party}:\n"));
            if lines.is_empty() {
                out.push_str("  (nothing)\n");
            }
            for line in lines {
                out.push_str(&format!("  {line}\n"));
            }
        }
        crate::redact::normalize(&out)
    }
}
