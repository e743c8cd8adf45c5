//! Scenarios: one TOML file per documented failure — its story, its setup, its expected outcome —
//! and the runner that plays one through an [`SsoEnv`] and compares what happened.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::chain::RootCause;
use crate::env::{BrowserOptions, EnvBuilder, EnvError, Outcome, SsoEnv};
use crate::idp::IdpSetup;
use crate::logchain::bare_message;
use crate::proxy::{ProxyPolicy, Rule};
use crate::rp::RpSetup;

/// One documented failure.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Scenario {
    /// Also the file name, without `.toml`.
    pub id: String,
    /// Former ids (e.g. the OpenID certification's older test names), which find it too.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The one-line headline shown in listings and the generated pages.
    pub title: String,
    /// `egress-proxy`, `network`, `tls`, `token-endpoint`, `id-token`, `flow`, `baseline`.
    pub family: String,
    /// The symptom, cause and fix, as a support article tells them.
    pub story: Story,
    /// How the IdP, proxy, RP and browser are set up; default: everything healthy.
    #[serde(default)]
    pub setup: Setup,
    /// Why the containers backend keeps a snapshot of its own for this scenario (the text really
    /// differs there); absent: both backends share one snapshot.
    pub containers_snapshot_differs: Option<String>,
    /// What the played scenario must show.
    pub expect: Expect,
}

/// The story, the way a support article tells it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Story {
    /// What the user sees.
    pub symptom: String,
    /// Where it is reported, with the products' own words.
    #[serde(default)]
    pub seen_in: Vec<String>,
    /// An excerpt of a product's log.
    #[serde(default)]
    pub log: String,
    /// Why it happens.
    pub cause: String,
    /// What makes it go away.
    pub fix: String,
    /// Links to the issues, articles and specifications that describe it; default: none.
    #[serde(default)]
    pub references: Vec<String>,
}

/// How each party of a scenario is set up; every part defaults to the healthy setup.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Setup {
    /// The identity provider's setup.
    #[serde(default)]
    pub idp: IdpSetup,
    /// The egress proxy's setup; default: allows everything.
    #[serde(default)]
    pub proxy: ProxySetup,
    /// The relying party's setup.
    #[serde(default)]
    pub rp: RpSetup,
    /// How the browser behaves.
    #[serde(default)]
    pub browser: BrowserOptions,
}

/// The proxy's policy: first matching rule decides, no match allows.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProxySetup {
    /// The rules, tried in order; default: none, so everything is allowed.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// How our proxy answers refusals: `sso-repro` (default), `squid`, `tinyproxy`.
    #[serde(default)]
    pub persona: crate::external::Persona,
}

/// What must happen.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Expect {
    /// Whether the sign-in succeeds or fails.
    pub outcome: ExpectedOutcome,
    /// The RP's wrapper message (required when the outcome is `failed`).
    pub wrapper: Option<String>,
    /// The root-cause kind (required when the outcome is `failed`).
    pub root_cause: Option<RootCause>,
    /// What the IdP must have recorded; default: nothing checked.
    #[serde(default)]
    pub idp: IdpExpect,
    /// What the proxy must have recorded; default: nothing checked.
    #[serde(default)]
    pub proxy: ProxyExpect,
    /// What RPs with a given conduct may do instead, where the specification permits it.
    #[serde(default)]
    pub allowed: Vec<crate::capability::Allowance>,
}

/// How a scenario's sign-in ends, written `signed-in` or `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ExpectedOutcome {
    /// The user ends up signed in to the RP.
    SignedIn,
    /// The sign-in fails.
    Failed,
}

/// Facts the IdP recorded.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdpExpect {
    /// How many requests reached `POST /token`.
    pub token_requests: Option<usize>,
    /// Every request the IdP answered, in order, as `"METHOD /path STATUS"`.
    pub requests: Option<Vec<String>>,
}

/// Facts the proxy recorded.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProxyExpect {
    /// The proxy's whole access log, in order (when given).
    pub answered: Option<Vec<ProxyAnswer>>,
}

/// One access-log entry: `request` is `"METHOD host"` (the port may be left out), `status` the answer.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProxyAnswer {
    /// The request as `"METHOD host"` or `"METHOD host:port"`.
    pub request: String,
    /// The HTTP status the proxy answered with.
    pub status: u16,
}

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario file could not be read.
    #[error("cannot read scenario file {}", path.display())]
    Read {
        /// The scenario file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The scenario directory could not be listed.
    #[error("cannot read scenario directory {}", path.display())]
    ReadDir {
        /// The scenario directory.
        path: PathBuf,
        /// Why it could not be listed.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the scenario format.
    #[error("malformed scenario file {}", path.display())]
    Parse {
        /// The scenario file.
        path: PathBuf,
        /// The TOML error.
        source: Box<toml::de::Error>,
    },
    /// A field holds a value the scenario format forbids.
    #[error("invalid scenario file {}: field `{field}`: {message}", path.display())]
    Invalid {
        /// The scenario file.
        path: PathBuf,
        /// The offending field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Two files claim the same id or alias.
    #[error("duplicate scenario id `{id}` in {} and {}", first.display(), second.display())]
    Duplicate {
        /// The id both files claim.
        id: String,
        /// The file that claimed it first.
        first: PathBuf,
        /// The file that claimed it again.
        second: PathBuf,
    },
    /// No scenario has this id or alias.
    #[error("no scenario with id `{0}`")]
    Unknown(
        /// The id asked for.
        String,
    ),
    /// The file is larger than a scenario file may be.
    #[error("scenario file {} is {size} bytes, more than the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The scenario file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The largest size accepted, in bytes.
        limit: u64,
    },
    /// The file does not end in `.toml`.
    #[error("scenario file {} ends in `.{extension}`, not `.toml`: rename it (scenario files end in lowercase `.toml`)", path.display())]
    Extension {
        /// The file.
        path: PathBuf,
        /// Its extension, without the dot.
        extension: String,
    },
    /// A field holds a value the scenario format forbids, at a known place in the file.
    #[error("invalid scenario file {} at line {line}, column {column}: field `{field}`: {message}", path.display())]
    Field {
        /// The scenario file.
        path: PathBuf,
        /// The line of the offending value, from 1.
        line: usize,
        /// The column of the offending value, from 1.
        column: usize,
        /// The offending field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl AsRef<Scenario> for Scenario {
    fn as_ref(&self) -> &Scenario {
        self
    }
}

impl Scenario {
    /// Reads and checks one scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = crate::scenario_checks::read(path)?;
        Scenario::parse(path, &text)
    }

    /// Parses and checks scenario text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let scenario = crate::scenario_checks::deserialize(path, text)?;
        let invalid =
            |field: &str, message: &str| crate::scenario_checks::invalid(path, text, field, message.to_owned());
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if scenario.id != stem {
            return Err(invalid(
                "id",
                &format!("is `{}` but the file is named `{stem}.toml`; they must agree", scenario.id),
            ));
        }
        let expect = &scenario.expect;
        match expect.outcome {
            ExpectedOutcome::Failed if expect.wrapper.is_none() => {
                return Err(invalid("expect.wrapper", "required when expect.outcome = \"failed\""))
            }
            ExpectedOutcome::Failed if expect.root_cause.is_none() => {
                return Err(invalid("expect.root_cause", "required when expect.outcome = \"failed\""))
            }
            ExpectedOutcome::SignedIn if expect.wrapper.is_some() || expect.root_cause.is_some() => {
                return Err(invalid(
                    "expect.outcome",
                    "is \"signed-in\", so expect.wrapper and expect.root_cause must be left out",
                ))
            }
            _ => {}
        }
        if let Some((field, message)) = crate::capability::check_allowances(&expect.allowed) {
            return Err(invalid(field, &message));
        }
        if let Err((field, message)) = scenario.setup.idp.check() {
            return Err(invalid(&format!("setup.idp.{field}"), &message));
        }
        if let Err((field, message)) = scenario.setup.rp.check() {
            return Err(invalid(&format!("setup.rp.{field}"), &message));
        }
        crate::scenario_checks::check(path, text, &scenario)?;
        Ok(scenario)
    }

    /// Every `*.toml` under `dir` (sub-directories included), sorted by path; ids must be unique.
    pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
        let mut paths = Vec::new();
        collect_toml(dir, &mut paths)?;
        paths.sort();
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        let mut scenarios = Vec::new();
        for path in paths {
            let scenario = Scenario::load(&path)?;
            for id in std::iter::once(&scenario.id).chain(&scenario.aliases) {
                if let Some(first) = seen.insert(id.clone(), path.clone()) {
                    return Err(ScenarioError::Duplicate { id: id.clone(), first, second: path });
                }
            }
            scenarios.push(scenario);
        }
        Ok(scenarios)
    }

    /// The environment this scenario describes.
    pub fn env_builder(&self) -> EnvBuilder {
        SsoEnv::builder()
            .idp(self.setup.idp.clone())
            .proxy_policy(ProxyPolicy { rules: self.setup.proxy.rules.clone() })
            .persona(self.setup.proxy.persona)
            .rp(self.setup.rp.clone())
            .browser(self.setup.browser.clone())
    }

    /// How long this scenario waits on a clock by design: the RP's back-channel timeout when its
    /// setup makes a party answer late or never (a delayed token endpoint, a blackholed port, a proxy
    /// that hangs), else zero. Catalog runs start the longest waits first, so that they overlap the
    /// rest instead of ending the run alone.
    pub fn deliberate_wait(&self) -> Duration {
        let idp = &self.setup.idp;
        let stalls = idp.token_delay_ms.is_some()
            || idp.token_endpoint == crate::idp::TokenEndpoint::Blackhole
            || self.setup.proxy.rules.iter().any(|rule| rule.decision == crate::proxy::Decision::Hang);
        if stalls {
            Duration::from_millis(self.setup.rp.timeout_ms)
        } else {
            Duration::ZERO
        }
    }

    /// Indices into `scenarios` in the order a concurrent run should start them: the longest
    /// [`Scenario::deliberate_wait`] first, otherwise as given (reports keep the given order).
    pub fn start_order(scenarios: &[impl AsRef<Scenario>]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..scenarios.len()).collect();
        order.sort_by_key(|&index| std::cmp::Reverse(scenarios[index].as_ref().deliberate_wait()));
        order
    }

    /// This scenario's id or one of its former ids.
    pub fn answers_to(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|alias| alias == id)
    }

    /// Starts the environment, signs in once, and compares what happened with [`Scenario::expect`].
    pub async fn run(&self) -> Result<Run, EnvError> {
        self.run_with(self.env_builder()).await
    }

    /// [`Scenario::run`] with a builder the caller adjusted (e.g. another RP under test).
    pub async fn run_with(&self, builder: EnvBuilder) -> Result<Run, EnvError> {
        let started = Instant::now();
        let env = builder.start().await?;
        let outcome = env.sign_in().await;
        let elapsed = started.elapsed();
        let mismatches = self.check(&outcome);
        Ok(Run { outcome, mismatches, elapsed })
    }

    /// Every way `outcome` differs from the expectation (empty: as documented).
    pub fn check(&self, outcome: &Outcome) -> Vec<Mismatch> {
        let expect = &self.expect;
        let mut mismatches = Vec::new();
        let mut differ = |field: &'static str, expected: String, observed: String| {
            if expected != observed {
                mismatches.push(Mismatch { field, expected, observed });
            }
        };
        let observed_outcome = if outcome.signed_in() { ExpectedOutcome::SignedIn } else { ExpectedOutcome::Failed };
        // Spelled as in the scenario files (`signed-in`, `failed`).
        let spell = |o: ExpectedOutcome| serde_json::to_value(o).ok().and_then(|v| v.as_str().map(str::to_owned));
        differ("outcome", spell(expect.outcome).unwrap_or_default(), spell(observed_outcome).unwrap_or_default());
        if let Some(wrapper) = &expect.wrapper {
            // Compared without an exception class, case or final full stop, so that a Java
            // `…AuthenticationFailedException: Exchanging authorization tokens failed.` matches too.
            let observed = outcome.failure.as_ref().map_or("(no RP failure)".to_owned(), |f| bare_message(f.wrapper()));
            differ("wrapper", bare_message(wrapper), observed);
        }
        if let Some(cause) = expect.root_cause {
            let observed = outcome.root_cause().map_or("(no RP failure)".to_owned(), |c| c.name());
            differ("root_cause", cause.name(), observed);
        }
        if let Some(count) = expect.idp.token_requests {
            let observed = outcome.idp_requests.iter().filter(|r| r.method == "POST" && r.path == "/token").count();
            differ("idp.token_requests", count.to_string(), observed.to_string());
        }
        if let Some(requests) = &expect.idp.requests {
            let observed: Vec<String> =
                outcome.idp_requests.iter().map(|r| format!("{} {} {}", r.method, r.path, r.status)).collect();
            differ("idp.requests", requests.join(", "), observed.join(", "));
        }
        if let Some(answered) = &expect.proxy.answered {
            let matches = answered.len() == outcome.proxy_entries.len()
                && answered.iter().zip(&outcome.proxy_entries).all(|(want, got)| {
                    let request = format!("{} {}", got.method, got.target);
                    want.status == got.status
                        && (request == want.request || request.starts_with(&format!("{}:", want.request)))
                });
            let show = |items: Vec<String>| items.join(", ");
            let expected = show(answered.iter().map(|a| format!("{} → {}", a.request, a.status)).collect());
            let observed = show(
                outcome.proxy_entries.iter().map(|e| format!("{} {} → {}", e.method, e.target, e.status)).collect(),
            );
            if !matches {
                differ("proxy.answered", expected, crate::redact::normalize(&observed));
            }
        }
        mismatches
    }
}

/// Every scenario file under `dir`, sub-directories included, appended to `paths`.
pub(crate) fn collect_toml(dir: &Path, paths: &mut Vec<PathBuf>) -> Result<(), ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::ReadDir { path: dir.to_owned(), source })?;
    for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
        if path.is_dir() {
            collect_toml(&path, paths)?;
        } else if crate::scenario_checks::is_scenario_file(&path) {
            paths.push(path);
        }
    }
    Ok(())
}

/// A difference between the documented and the observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Mismatch {
    /// The checked fact, e.g. `outcome` or `idp.token_requests`.
    pub field: &'static str,
    /// What the scenario documents.
    pub expected: String,
    /// What the run showed.
    pub observed: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: expected {}, observed {}", self.field, self.expected, self.observed)
    }
}

/// One played scenario.
#[derive(Debug)]
#[non_exhaustive]
pub struct Run {
    /// How the sign-in ended.
    pub outcome: Outcome,
    /// Every documented fact the run contradicted; empty when it passed.
    pub mismatches: Vec<Mismatch>,
    /// From starting the environment to the end of the sign-in.
    pub elapsed: Duration,
}

impl Run {
    /// Whether the run matched the scenario in every documented fact.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}
