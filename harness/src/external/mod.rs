//! Bring your own proxy and IdP: the parties of an environment that are someone else's.
//!
//! - [`proxy`] — an external forward proxy (URL, credentials, access log) and its probe
//! - [`access_log`] — readers of a proxy's own access log (squid's native format)
//! - [`squid`], `squid_conf` — a real squid started from a scenario's proxy rules
//! - [`idp`] — an external OpenID provider (issuer, client, CA, login form) and its probe
//! - [`persona`] — how a proxy product answers refusals; our proxy can speak as one
//!
//! The builder keeps its parties' descriptions in a [`Substitutes`]; [`EnvBuilder::start`] probes
//! each external party first (bounded), so an unreachable one is one clear error naming it, never
//! the RP's timeout.

pub mod access_log;
pub mod idp;
pub mod persona;
pub mod proxy;
pub mod squid;
mod squid_conf;

use crate::env::{EnvBuilder, Outcome};
use crate::hosts::{Hosts, IDP_HOST, IDP_INTERNAL_HOST, JWKS_HOST, PROXY_HOST, RP_HOST};
use crate::oauth::ProviderEndpoints;
use crate::proxy::{ProxyPolicy, Rule};
use crate::rp::{IssuerForm, Metadata, RpSettings, RpSetup};
use crate::scenario::{Run, Scenario};

pub use self::access_log::{AccessLog, AccessLogError, LogFormat};
pub use self::idp::ExternalIdp;
pub use self::persona::{Persona, Refusal};
pub use self::proxy::{ExternalProxy, Settle};
pub use self::squid::{Squid, SquidError};
pub use self::squid_conf::NotApplicable;

/// An external party that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalError {
    #[error("the external proxy {url} is unreachable (tried {how})")]
    /// The external proxy did not accept a connection.
    ProxyUnreachable {
        /// The proxy's URL.
        url: String,
        /// What was tried and how it failed.
        how: String,
    },
    #[error("the external IdP {issuer} is unreachable (tried {how})")]
    /// The external IdP's discovery document could not be fetched.
    IdpUnreachable {
        /// The IdP's issuer.
        issuer: String,
        /// What was tried and how it failed.
        how: String,
    },
    #[error("the external IdP's discovery document {url} has no usable `{field}`")]
    /// The external IdP's discovery document lacks a field the harness needs.
    IdpDiscovery {
        /// The discovery document's URL.
        url: String,
        /// The missing or unusable field.
        field: String,
    },
    #[error("starting squid failed")]
    /// The harness could not start squid.
    Squid(#[source] SquidError),
}

/// Which proxy the RP is sent through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyChoice {
    /// The harness's proxy (with its persona).
    #[default]
    Ours,
    /// A real squid the harness starts from the same rules, for this environment only.
    Squid,
    /// A proxy someone else runs.
    External(ExternalProxy),
}

/// The parties of an environment that are not the harness's own, and our proxy's persona.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Substitutes {
    /// The proxy the RP goes through; default: ours.
    pub proxy: ProxyChoice,
    /// An IdP someone else runs, in place of ours; default: none.
    pub idp: Option<ExternalIdp>,
    /// How our proxy answers refusals; default: `sso-repro`.
    pub persona: Persona,
}

impl EnvBuilder {
    /// Sends the RP through `proxy` instead of ours; `proxy.answered` reads its access log.
    pub fn external_proxy(mut self, proxy: ExternalProxy) -> Self {
        self.external.proxy = ProxyChoice::External(proxy);
        self
    }

    /// Sends the RP through a real squid started from the proxy rules (`/usr/sbin/squid`, or
    /// `SSO_SQUID`).
    pub fn squid(mut self) -> Self {
        self.external.proxy = ProxyChoice::Squid;
        self
    }

    /// Points the RP and the browser at `idp` instead of the mock.
    pub fn external_idp(mut self, idp: ExternalIdp) -> Self {
        self.external.idp = Some(idp);
        self
    }

    /// How our proxy answers refusals.
    pub fn persona(mut self, persona: Persona) -> Self {
        self.external.persona = persona;
        self
    }

    /// What is substituted.
    pub fn substitutes(&self) -> &Substitutes {
        &self.external
    }
}

impl Substitutes {
    /// The substitutes the containers backend cannot use (squid, an external proxy or IdP).
    pub fn in_process_only(&self) -> Vec<&'static str> {
        let mut parties = Vec::new();
        match self.proxy {
            ProxyChoice::Ours => {}
            ProxyChoice::Squid => parties.push("squid"),
            ProxyChoice::External(_) => parties.push("an external proxy"),
        }
        if self.idp.is_some() {
            parties.push("an external IdP");
        }
        parties
    }

    /// The host names of the environment: the harness's, plus a loopback external IdP's; the
    /// system's resolver when the external IdP is elsewhere (then the machine's network is used).
    pub(crate) fn hosts(&self, harness: Hosts) -> Hosts {
        match &self.idp {
            None => harness,
            Some(idp) if idp.is_loopback() => Hosts::loopback(&self.names()),
            Some(_) => Hosts::system(),
        }
    }

    /// The names squid resolves to loopback.
    fn names(&self) -> Vec<&str> {
        let mut names = vec![IDP_HOST, JWKS_HOST, IDP_INTERNAL_HOST, RP_HOST, PROXY_HOST];
        if let Some(idp) = self.idp.as_ref().filter(|idp| idp.is_loopback()) {
            if idp.host().parse::<std::net::IpAddr>().is_err() {
                names.push(match idp.issuer.host_str() {
                    Some(host) => host,
                    None => "localhost",
                });
            }
        }
        names
    }

    /// The rules as they apply here: with an external IdP, a rule for `idp.sso.test` is a rule for
    /// the external IdP's host.
    pub(crate) fn policy(&self, policy: ProxyPolicy) -> ProxyPolicy {
        let Some(idp) = &self.idp else { return policy };
        let host = idp.host();
        let rules = policy
            .rules
            .into_iter()
            .map(|rule| match rule.host.eq_ignore_ascii_case(IDP_HOST) {
                true => Rule { host: host.clone(), ..rule },
                false => rule,
            })
            .collect();
        ProxyPolicy { rules }
    }

    /// Probes the external parties and starts squid; what the environment holds while it runs.
    pub(crate) async fn start(
        &self,
        policy: &ProxyPolicy,
        hosts: &Hosts,
        ca_pem: &str,
    ) -> Result<InUse, ExternalError> {
        let mut in_use = InUse::default();
        if let Some(idp) = &self.idp {
            let trusted = format!("{ca_pem}{}", idp.ca_pem.as_deref().unwrap_or_default());
            in_use.idp = Some((idp.clone(), idp.discover(hosts, &trusted).await?));
        }
        let external = match &self.proxy {
            ProxyChoice::Ours => None,
            ProxyChoice::External(proxy) => Some(proxy.clone()),
            ProxyChoice::Squid => {
                let squid = Squid::start(policy, &self.names()).await.map_err(ExternalError::Squid)?;
                let external = squid.external();
                in_use.squid = Some(squid);
                Some(external)
            }
        };
        if let Some(proxy) = external {
            proxy.probe(hosts).await?;
            in_use.proxy = Some(proxy::InUse::new(proxy));
        }
        Ok(in_use)
    }
}

/// The external parties of a running environment.
#[derive(Debug, Default)]
pub(crate) struct InUse {
    proxy: Option<proxy::InUse>,
    idp: Option<(ExternalIdp, ProviderEndpoints)>,
    /// Killed when the environment is dropped.
    squid: Option<Squid>,
}

impl InUse {
    /// Points the RP's settings at the external parties.
    pub fn adjust(&self, settings: &mut RpSettings, setup: &RpSetup) {
        if let Some(proxy) = &self.proxy {
            let mut url = proxy.proxy.url.clone();
            let credentials = match (&setup.proxy_user, &setup.proxy_password) {
                (Some(user), Some(password)) => Some((user.clone(), password.clone())),
                _ => proxy.proxy.credentials.clone(),
            };
            if let Some((user, password)) = credentials {
                let _ = url.set_username(&user);
                let _ = url.set_password(Some(&password));
            }
            settings.proxy = setup.use_proxy.then_some(url);
        }
        if let Some((idp, endpoints)) = &self.idp {
            settings.issuer = match setup.issuer {
                IssuerForm::Exact => endpoints.issuer.clone(),
                IssuerForm::TrailingSlash => format!("{}/", endpoints.issuer.trim_end_matches('/')),
            };
            settings.endpoints = (setup.metadata == Metadata::Configured).then(|| endpoints.clone());
            settings.client_id = idp.client_id.clone();
            settings.client_secret = setup.client_secret.clone().unwrap_or_else(|| idp.client_secret.clone());
            if let Some(ca) = &idp.ca_pem {
                settings.trusted_ca_pem.push_str(ca);
            }
            if !setup.direct_route && idp.is_loopback() {
                settings.hosts = settings.hosts.without(&[idp.host().as_str()]);
            }
        }
    }

    /// The CA the browser must trust besides the environment's.
    pub fn browser_ca(&self) -> &str {
        self.idp.as_ref().and_then(|(idp, _)| idp.ca_pem.as_deref()).unwrap_or_default()
    }

    /// The login form the browser fills in at the external IdP.
    pub fn login_form(&self) -> Option<crate::login_form::LoginForm> {
        self.idp.as_ref().and_then(|(idp, _)| idp.login.clone())
    }

    /// Replaces in `outcome` what our parties recorded with what the external ones did.
    pub async fn record(&self, outcome: &mut Outcome) {
        if let Some(proxy) = &self.proxy {
            let name = if self.squid.is_some() { "squid" } else { "external proxy" };
            match proxy.entries().await {
                Some(Ok(entries)) => {
                    outcome.proxy_log = entries.iter().map(|e| format!("{name}: {e}")).collect();
                    outcome.proxy_entries = entries;
                }
                Some(Err(error)) => {
                    outcome.proxy_log = vec![format!("{name}: {}", crate::ErrorChain::from_error(&error))];
                    outcome.proxy_entries = Vec::new();
                }
                None => {
                    outcome.proxy_log = vec![format!("{name} {}: no access log to read", proxy.proxy.shown_url())];
                    outcome.proxy_entries = Vec::new();
                }
            }
        }
        if let Some((idp, _)) = &self.idp {
            outcome.idp_log =
                vec![format!("external IdP {}: its requests are not the harness's to record", idp.issuer)];
            outcome.idp_requests = Vec::new();
        }
    }
}

/// Why a scenario does not run with a builder's substitutes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("scenario {id} does not apply here: {why}")]
pub struct NotApplicableHere {
    /// The scenario's id.
    pub id: String,
    /// Why the substitutes cannot play it.
    pub why: String,
}

impl Scenario {
    /// Whether this scenario means the same with `builder`'s substitutes (squid, an external IdP),
    /// and if not, why.
    pub fn applies_with(&self, builder: &EnvBuilder) -> Result<(), NotApplicableHere> {
        let not = |why: String| Err(NotApplicableHere { id: self.id.clone(), why });
        let substitutes = builder.substitutes();
        if substitutes.idp.is_some() && self.setup.idp != crate::idp::IdpSetup::default() {
            return not("it changes the IdP, and the IdP is someone else's".to_owned());
        }
        let persona = self.setup.proxy.persona;
        if let ProxyChoice::Squid = substitutes.proxy {
            let policy = ProxyPolicy { rules: self.setup.proxy.rules.clone() };
            let dir = std::env::temp_dir();
            if let Err(error) = squid_conf::squid_conf(&policy, &squid_conf::SquidFiles { dir: &dir, port: 1 }) {
                return not(error.to_string());
            }
            // An answer only the scenario's persona gives (its status for an unreachable upstream).
            let theirs = persona.status(&Refusal::UpstreamUnreachable);
            let squids = Persona::Squid.status(&Refusal::UpstreamUnreachable);
            let denied = |status: u16| {
                self.setup.proxy.rules.iter().any(|r| r.decision == crate::proxy::Decision::Deny { status })
            };
            let answered = self.expect.proxy.answered.iter().flatten();
            if theirs != squids && answered.clone().any(|a| a.status == theirs && !denied(theirs)) {
                return not(format!(
                    "it expects the {persona} proxy's answer to an unreachable upstream ({theirs}); squid answers {squids} \
                     (see the scenario with persona = \"squid\")"
                ));
            }
        }
        Ok(())
    }

    /// Runs with `builder`'s substitutes. Expectations that need our parties' records are left
    /// unchecked and returned by name: `idp.*` with an external IdP, `proxy.answered` with an
    /// external proxy whose log the harness cannot read. With an external IdP, `idp.sso.test` in
    /// the expected proxy answers means the external IdP's host.
    pub async fn run_substituted(&self, builder: EnvBuilder) -> Result<(Run, Vec<&'static str>), crate::EnvError> {
        let substitutes = builder.substitutes().clone();
        let mut scenario = self.clone();
        let mut unchecked = Vec::new();
        if let Some(idp) = &substitutes.idp {
            if scenario.expect.idp.token_requests.take().is_some() {
                unchecked.push("idp.token_requests");
            }
            if scenario.expect.idp.requests.take().is_some() {
                unchecked.push("idp.requests");
            }
            let host = idp.host();
            for answer in scenario.expect.proxy.answered.iter_mut().flatten() {
                if let Some((method, target)) = answer.request.split_once(' ') {
                    if target == IDP_HOST || target.starts_with(&format!("{IDP_HOST}:")) {
                        answer.request = format!("{method} {}", target.replacen(IDP_HOST, &host, 1));
                    }
                }
            }
        }
        if let ProxyChoice::External(proxy) = &substitutes.proxy {
            if proxy.access_log.is_none() && scenario.expect.proxy.answered.take().is_some() {
                unchecked.push("proxy.answered");
            }
        }
        let run = scenario.run_with(builder).await?;
        Ok((run, unchecked))
    }
}
