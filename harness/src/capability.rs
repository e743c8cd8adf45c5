//! Scenarios fair to every RP: which scenarios apply to an RP, and what a spec-conforming RP may do
//! instead of what the reference RP must do.
//!
//! - A scenario *needs* [`Capability`]s, read from what it sets up (never a hand-kept list of ids):
//!   a setting only some RPs understand (a different redirect URI at the token step, retries with
//!   the same code, a regenerated PKCE verifier, never refetching the JWKS), a way of configuring
//!   them (discovery, `client_secret_post`, proxy credentials, a no-proxy list), or checks it
//!   exercises (ID-token validation, state kept in the browser's session). An RP that lacks one is
//!   not run on the scenario, and every report says which capability was missing: never a silent
//!   pass.
//! - A scenario may *allow* RPs with a given [`Conduct`] to end otherwise (`[[expect.allowed]]`),
//!   when the specification permits it, with the reason. The reference RP has no conduct: what it
//!   must do is never weakened.
//! - An RP that does not word its failures by stage ([`Capability::NamesStage`]) is not compared on
//!   the wrapper. When the RP's outcome is right, how its words were read as a root cause is
//!   reported beside the verdict ([`CauseReading`]: read, unclassified, or read as another cause)
//!   rather than failing it: reading real software's words is the classifier's part, and the
//!   compatibility page shows every gap.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chain::RootCause;
use crate::env::Outcome;
use crate::scenario::{Expect, ExpectedOutcome, Mismatch, ProxyAnswer, Scenario, Setup};

/// What an RP can do, or checks it makes. A scenario that needs one an RP lacks does not apply to
/// that RP. (Which `[setup.rp]` settings an RP understands is a list of field names beside these.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Capability {
    /// Endpoints typed in (`SSO_TOKEN_ENDPOINT` …).
    ConfiguredEndpoints,
    /// Endpoints discovered from the issuer (`SSO_TOKEN_ENDPOINT` empty).
    Discovery,
    /// Authenticates at the token endpoint with an `Authorization: Basic` header (`client_secret_basic`).
    ClientSecretBasic,
    /// Authenticates at the token endpoint with the secret in the form body (`client_secret_post`).
    ClientSecretPost,
    /// Resolves names itself from `SSO_HOSTS_FILE` (needed wherever the RP is not behind the proxy).
    HostsFile,
    /// Keeps the state in the browser's session (a cookie), so a lost cookie is a state mismatch.
    SessionCookie,
    /// Validates the ID token: signature, JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`.
    ValidatesIdToken,
    /// Fetches the JWKS again when a token names a key it does not hold, even right after fetching
    /// it (the rotation scenarios serve the old key on the first fetch, which models an RP that
    /// fetched before the rotation only for RPs that refetch at once).
    RefetchesJwksAtOnce,
    /// Words a failure by the stage it failed at ("exchanging authorization tokens failed").
    NamesStage,
}

impl Capability {
    /// Every capability (what the reference RP has).
    pub const ALL: [Capability; 9] = [
        Capability::ConfiguredEndpoints,
        Capability::Discovery,
        Capability::ClientSecretBasic,
        Capability::ClientSecretPost,
        Capability::HostsFile,
        Capability::SessionCookie,
        Capability::ValidatesIdToken,
        Capability::RefetchesJwksAtOnce,
        Capability::NamesStage,
    ];

    /// The kebab-case name used in `rp.toml` files.
    pub fn name(self) -> String {
        kebab(&self)
    }
}

/// What a scenario needs of an RP.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Need {
    /// A capability the RP must have.
    Capability(Capability),
    /// A `[setup.rp]` field set to something other than its default: the RP must understand it.
    Setting(String),
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::Capability(capability) => write!(f, "`{}`", capability.name()),
            Need::Setting(field) => write!(f, "setting `setup.rp.{field}`"),
        }
    }
}

/// What an RP does where the specification leaves it room, or where it deviates; a scenario may
/// allow RPs with it to end otherwise (`[[expect.allowed]]`, with `deviation = true` when the
/// specification does not permit it — the compatibility page flags those).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Conduct {
    /// Accepts an unsigned (`alg: none`) ID token received from the token endpoint over TLS.
    AcceptsUnsignedIdTokenFromTokenEndpoint,
    /// Looks at the token endpoint's HTTP status before its body, so a 5xx is a server error.
    ChecksTokenEndpointStatus,
    /// Does not reject an `iat` in its future (or allows more than the catalog's skew).
    AcceptsIatInTheFuture,
    /// Without a `kid`, tries every key of the JWKS.
    TriesEveryKeyWithoutKid,
    /// Fetches the keys inside its ID-token validation, so a failed fetch is worded as a failed
    /// validation (the expected wrapper "fetching the signing keys failed" becomes "validating the
    /// ID token failed").
    FetchesKeysWhileValidating,
    /// Does not compare the discovery document's issuer with its configuration; the ID token's
    /// `iss` check catches the mismatch later.
    ChecksTheIssuerOnlyInTheIdToken,
    /// Compares issuers ignoring a trailing slash.
    IgnoresTrailingSlashInIssuer,
    /// Does not require the `sub` and `iat` claims.
    DoesNotRequireSubAndIat,
    /// Accepts a token response without `access_token`.
    AcceptsTokenResponseWithoutAccessToken,
    /// Cannot pick the key of an ID token without `kid`, even from a JWKS with one key.
    RequiresKidInIdToken,
    /// After answering the proxy's 407 on CONNECT, sends the token request without the client's
    /// `Authorization` header.
    LosesAuthorizationAfterProxyChallenge,
    /// Fetches the JWKS when it first validates a token, not with the discovery document: an
    /// expected `GET /jwks` right after discovery moves after the token request (and goes, with its
    /// tunnel through the proxy, when there is no token request).
    FetchesKeysWhenValidating,
    /// Calls the userinfo endpoint after signing in when discovery names one.
    CallsUserinfoWhenDiscovered,
    /// Parses the ID token only after the exchange: a failure of a successful (200) token request
    /// that the reference RP reports at the exchange may be reported at the validation.
    ParsesTheIdTokenAfterTheExchange,
    /// Accepts `expires_in` as a JSON string.
    AcceptsExpiresInAsAString,
    /// Accepts a JSON token response labelled `text/html`.
    AcceptsJsonLabelledTextHtml,
    /// Accepts a token response without `token_type`.
    AcceptsTokenResponseWithoutTokenType,
    /// Accepts an ID token signed with any algorithm of a key the JWKS publishes.
    AcceptsAnyPublishedAlgorithm,
    /// Accepts an ID token whose `aud` also names audiences it does not trust.
    AcceptsUntrustedExtraAudiences,
    /// Never checks `iat` at all.
    DoesNotCheckIat,
    /// Sends Basic client credentials without form-url-encoding them first.
    SendsBasicCredentialsUnencoded,
    /// Does not check `at_hash` in the code flow.
    IgnoresAtHash,
    /// Uses a discovery document without `jwks_uri`.
    AcceptsDiscoveryWithoutJwksUri,
}

impl Conduct {
    /// The kebab-case name used in `rp.toml` files and `[[expect.allowed]] rp`.
    pub fn name(self) -> String {
        kebab(&self)
    }
}

fn kebab(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// What RPs with a [`Conduct`] may do instead of the expectation (outcome, wrapper, root cause);
/// the other expectations (the IdP's and the proxy's records) still hold.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Allowance {
    /// The RPs this applies to: those with this conduct.
    pub rp: Conduct,
    /// The outcome instead of `expect.outcome`.
    pub outcome: ExpectedOutcome,
    /// The wrapper instead of `expect.wrapper`; absent: the wrapper is not compared.
    pub wrapper: Option<String>,
    /// The root cause instead of `expect.root_cause`; required when `outcome` is `failed`.
    pub root_cause: Option<RootCause>,
    /// The IdP's requests instead of `expect.idp.requests`.
    pub idp_requests: Option<Vec<String>>,
    /// The proxy's log instead of `expect.proxy.answered`.
    pub proxy_answered: Option<Vec<ProxyAnswer>>,
    /// The specification does not permit it: the RP deviates (the page says so).
    #[serde(default)]
    pub deviation: bool,
    /// Why the specification permits it, or how the RP deviates (quoted in the compatibility page).
    pub because: String,
}

/// An allowance that cannot be used, as `(field, message)` for the scenario's load error.
pub fn check_allowances(allowed: &[Allowance]) -> Option<(&'static str, String)> {
    allowed.iter().find_map(|allowance| match allowance.outcome {
        ExpectedOutcome::Failed if allowance.root_cause.is_none() => {
            Some(("expect.allowed.root_cause", "required when outcome = \"failed\"".to_owned()))
        }
        ExpectedOutcome::SignedIn if allowance.wrapper.is_some() || allowance.root_cause.is_some() => {
            Some(("expect.allowed.outcome", "is \"signed-in\", so wrapper and root_cause must be left out".to_owned()))
        }
        _ if allowance.because.trim().is_empty() => {
            Some(("expect.allowed.because", "must say why the specification permits it".to_owned()))
        }
        _ => None,
    })
}

/// What an RP can do and how it behaves (the reference RP: every capability, no conduct).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Abilities {
    /// What it can do (default: nothing).
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// The `[setup.rp]` fields it honours (through the contract's `SSO_*` settings).
    #[serde(default)]
    pub settings: Vec<String>,
    /// How it behaves where the specification leaves room, or where it deviates (default: none).
    #[serde(default)]
    pub conduct: Vec<Conduct>,
    /// Understands every `[setup.rp]` field (the reference RP).
    #[serde(skip)]
    pub every_setting: bool,
}

impl Abilities {
    /// The reference RP's.
    pub fn reference() -> Abilities {
        Abilities {
            capabilities: Capability::ALL.to_vec(),
            settings: Vec::new(),
            conduct: Vec::new(),
            every_setting: true,
        }
    }

    fn has(&self, need: &Need) -> bool {
        match need {
            Need::Capability(capability) => self.capabilities.contains(capability),
            Need::Setting(field) => self.every_setting || self.settings.contains(field),
        }
    }

    /// What `scenario` needs that this RP lacks (empty: it applies).
    pub fn missing(&self, scenario: &Scenario) -> Vec<Need> {
        needs(scenario).into_iter().filter(|need| !self.has(need)).collect()
    }

    /// The allowance of `scenario` this RP uses, if any (the first that names one of its conducts).
    pub fn allowance<'s>(&self, scenario: &'s Scenario) -> Option<&'s Allowance> {
        scenario.expect.allowed.iter().find(|a| self.conduct.contains(&a.rp))
    }

    /// Compares `outcome` with what `scenario` expects of this RP.
    pub fn check(&self, scenario: &Scenario, outcome: &Outcome) -> Verdict {
        let allowance = self.allowance(scenario);
        let mut fair = scenario.clone();
        if let Some(allowance) = allowance {
            fair.expect = Expect {
                outcome: allowance.outcome,
                wrapper: allowance.wrapper.clone(),
                root_cause: allowance.root_cause,
                ..scenario.expect.clone()
            };
            if let Some(requests) = &allowance.idp_requests {
                fair.expect.idp.requests = Some(requests.clone());
            }
            if let Some(answered) = &allowance.proxy_answered {
                fair.expect.proxy.answered = Some(answered.clone());
            }
        }
        if self.conduct.contains(&Conduct::FetchesKeysWhileValidating)
            && fair.expect.wrapper.as_deref().map(crate::logchain::bare_message).as_deref()
                == Some("fetching the signing keys failed")
        {
            fair.expect.wrapper = Some("validating the ID token failed".to_owned());
        }
        let discovered = scenario.setup.rp.metadata == crate::rp::Metadata::Discovery;
        if self.conduct.contains(&Conduct::FetchesKeysWhenValidating) {
            keys_when_validating(&mut fair.expect, discovered);
        }
        if self.conduct.contains(&Conduct::CallsUserinfoWhenDiscovered)
            && discovered
            && fair.expect.outcome == ExpectedOutcome::SignedIn
        {
            if let Some(requests) = &mut fair.expect.idp.requests {
                if !requests.iter().any(|r| r.starts_with("GET /userinfo")) {
                    requests.push("GET /userinfo 200".to_owned());
                }
            }
        }
        let token_answered =
            outcome.idp_requests.iter().any(|r| r.method == "POST" && r.path == "/token" && r.status == 200);
        let observed_wrapper = outcome.failure.as_ref().map(|f| crate::logchain::bare_message(f.wrapper()));
        if self.conduct.contains(&Conduct::ParsesTheIdTokenAfterTheExchange)
            && token_answered
            && fair.expect.wrapper.as_deref().map(crate::logchain::bare_message).as_deref()
                == Some("exchanging authorization tokens failed")
            && observed_wrapper.as_deref() == Some("validating the id token failed")
        {
            fair.expect.wrapper = Some("validating the ID token failed".to_owned());
        }
        if !self.capabilities.contains(&Capability::RefetchesJwksAtOnce) {
            if let Some(requests) = &mut fair.expect.idp.requests {
                // Right after a fetch, such an RP does not fetch again.
                requests.dedup_by(|later, earlier| later.starts_with("GET /jwks") && earlier.starts_with("GET /jwks"));
            }
        }
        if !self.capabilities.contains(&Capability::ValidatesIdToken) {
            without_key_fetches(&mut fair.expect);
        }
        let names_stage = self.capabilities.contains(&Capability::NamesStage);
        if !names_stage {
            fair.expect.wrapper = None;
        }
        let mut cause = CauseReading::Read;
        let mismatches = fair
            .check(outcome)
            .into_iter()
            .filter(|mismatch| {
                // With the RP's outcome right, how its words were read is the classifier's part.
                let reading = mismatch.field == "root_cause" && outcome.failure.is_some();
                if reading {
                    cause = match mismatch.observed == RootCause::Unclassified.name() {
                        true => CauseReading::Unclassified,
                        false => CauseReading::ReadAs(mismatch.observed.clone()),
                    };
                }
                !reading
            })
            .collect();
        Verdict {
            mismatches,
            cause,
            allowed: allowance.map(|a| a.rp),
            wrapper_compared: names_stage && fair.expect.wrapper.is_some(),
        }
    }
}

/// An RP that does not validate ID tokens does not fetch the keys: the expected IdP requests lose
/// their `GET /jwks…`, and the proxy's log as many of its last allowed CONNECTs (each fetch is one
/// tunnel, after the token exchange's).
fn without_key_fetches(expect: &mut Expect) {
    let Some(requests) = &mut expect.idp.requests else { return };
    let before = requests.len();
    requests.retain(|r| !r.starts_with("GET /jwks"));
    let fetches = before - requests.len();
    if let Some(answered) = &mut expect.proxy.answered {
        for _ in 0..fetches {
            if let Some(last) = answered.iter().rposition(|a| a.request.starts_with("CONNECT ") && a.status == 200) {
                answered.remove(last);
            }
        }
    }
}

/// See [`Conduct::FetchesKeysWhenValidating`]. With discovery, the reference RP fetches the JWKS
/// right after the discovery document; such an RP fetches it after the token request, and not at
/// all when no token request is made (then the fetch's tunnel through the proxy goes too).
fn keys_when_validating(expect: &mut Expect, discovered: bool) {
    if !discovered {
        return;
    }
    let mut fetched = true;
    if let Some(requests) = &mut expect.idp.requests {
        let discovery = requests.iter().position(|r| r.starts_with("GET /.well-known/openid-configuration"));
        let Some(jwks) =
            discovery.map(|d| d + 1).filter(|j| requests.get(*j).is_some_and(|r| r.starts_with("GET /jwks")))
        else {
            return;
        };
        let jwks = requests.remove(jwks);
        match requests.iter().position(|r| r.starts_with("POST /token")) {
            Some(token) => requests.insert(token + 1, jwks),
            None => fetched = false,
        }
    } else {
        fetched = expect.idp.token_requests != Some(0);
    }
    if !fetched {
        if let Some(answered) = &mut expect.proxy.answered {
            // The discovery's tunnel stays; the one after it (the key fetch's) goes.
            let first_refusal = answered.iter().position(|a| a.status != 200).unwrap_or(answered.len());
            if first_refusal >= 2 {
                answered.remove(first_refusal - 1);
            }
        }
    }
}

/// How one RP did on one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// Differences from what this RP must do: outcome, wrapper (if compared), a root cause that is
    /// *another* cause, the IdP's and proxy's records. Not empty: the RP failed the scenario.
    pub mismatches: Vec<Mismatch>,
    /// How sso-repro read the RP's words for the cause.
    pub cause: CauseReading,
    /// The conduct whose allowance was used.
    pub allowed: Option<Conduct>,
    /// Whether the wrapper was compared: the RP names stages and the expectation gives a wrapper.
    pub wrapper_compared: bool,
}

impl Verdict {
    /// As documented (or allowed), with the root cause read.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.cause == CauseReading::Read
    }
}

/// How an RP's words for a failure were read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CauseReading {
    /// As the expected root cause (or there was no failure to read).
    Read,
    /// As no root cause: the classifier does not know these words yet.
    Unclassified,
    /// As another root cause: the classifier misreads these words, or the RP words the cause as
    /// another one; the compatibility page shows which.
    ReadAs(String),
}

/// What a scenario needs, from its setup and expectation.
pub fn needs(scenario: &Scenario) -> Vec<Need> {
    let setup = serde_json::to_value(&scenario.setup).unwrap_or(Value::Null);
    let default = serde_json::to_value(Setup::default()).unwrap_or(Value::Null);
    let set = |pointer: &str| setup.pointer(pointer) != default.pointer(pointer);
    let is = |pointer: &str, value: &str| setup.pointer(pointer).and_then(Value::as_str) == Some(value);
    let rp = &scenario.setup.rp;
    let mut needs = Vec::new();
    // Every `[setup.rp]` field that differs from its default; `metadata` and `auth_method` are
    // capabilities by their value instead.
    if let (Some(Value::Object(fields)), Some(defaults)) = (setup.get("rp"), default.get("rp")) {
        for (field, value) in fields {
            if !["metadata", "auth_method"].contains(&field.as_str()) && defaults.get(field) != Some(value) {
                needs.push(Need::Setting(field.clone()));
            }
        }
    }
    let mut need = |capability: Capability, when: bool| {
        if when {
            needs.push(Need::Capability(capability));
        }
    };
    let discovery = is("/rp/metadata", "discovery");
    need(Capability::Discovery, discovery);
    need(Capability::ConfiguredEndpoints, !discovery);
    need(Capability::ClientSecretPost, is("/rp/auth_method", "client_secret_post"));
    need(Capability::ClientSecretBasic, is("/rp/auth_method", "client_secret_basic"));
    if !["client_secret_post", "client_secret_basic"].iter().any(|m| is("/rp/auth_method", m)) {
        needs_setting(&mut needs, "auth_method");
    }
    let mut need = |capability: Capability, when: bool| {
        if when {
            needs.push(Need::Capability(capability));
        }
    };
    need(Capability::HostsFile, !rp.use_proxy || rp.no_proxy.is_some() || rp.direct_route);
    need(Capability::SessionCookie, scenario.setup.browser.drops_cookies);
    let id_token_causes = [
        RootCause::BadSignature,
        RootCause::UnknownKid,
        RootCause::IssuerMismatch,
        RootCause::AudienceMismatch,
        RootCause::NonceMismatch,
        RootCause::TokenExpired,
        RootCause::TokenNotYetValid,
        RootCause::MissingClaim,
        RootCause::DisallowedAlgorithm,
    ];
    let wrapper = scenario.expect.wrapper.as_deref().map(crate::logchain::bare_message);
    let validating = scenario.expect.root_cause.is_some_and(|c| id_token_causes.contains(&c))
        || matches!(wrapper.as_deref(), Some("validating the id token failed" | "fetching the signing keys failed"))
        || ["/idp/id_token", "/idp/jwks", "/idp/jwks_response", "/idp/clock_offset_secs", "/idp/separate_jwks_host"]
            .iter()
            .any(|p| set(p))
        || set("/rp/issuer");
    need(Capability::ValidatesIdToken, validating);
    need(Capability::RefetchesJwksAtOnce, ["rotated", "rotated-refetch-fails"].iter().any(|j| is("/idp/jwks", j)));
    needs.sort();
    needs.dedup();
    needs
}

fn needs_setting(needs: &mut Vec<Need>, field: &str) {
    needs.push(Need::Setting(field.to_owned()));
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scenario(setup: &str, expect: &str) -> Scenario {
        let text = format!(
            "id = \"x\"\ntitle = \"t\"\nfamily = \"f\"\n[story]\nsymptom = \"s\"\ncause = \"c\"\nfix = \"f\"\n{setup}\n[expect]\n{expect}\n"
        );
        Scenario::parse(Path::new("x.toml"), &text).unwrap()
    }

    const FAILED: &str =
        "outcome = \"failed\"\nwrapper = \"validating the ID token failed\"\nroot_cause = \"disallowed-algorithm\"";

    #[test]
    fn a_reference_only_setting_makes_the_scenario_not_apply_to_other_rps() {
        let s = scenario("[setup.rp]\ntoken_redirect_uri = \"https://rp.sso.test/x\"", "outcome = \"signed-in\"");
        let other = Abilities {
            capabilities: vec![Capability::ConfiguredEndpoints, Capability::ClientSecretBasic],
            ..Abilities::default()
        };
        assert_eq!(other.missing(&s), [Need::Setting("token_redirect_uri".to_owned())]);
        assert!(Abilities::reference().missing(&s).is_empty());
    }

    #[test]
    fn id_token_faults_need_an_rp_that_validates_id_tokens() {
        let s = scenario("[setup.idp]\nid_token = \"alg-none\"", FAILED);
        let validates = Need::Capability(Capability::ValidatesIdToken);
        assert!(needs(&s).contains(&validates));
        assert!(!needs(&scenario("", "outcome = \"signed-in\"")).contains(&validates));
    }

    #[test]
    fn an_allowance_applies_only_to_rps_with_its_conduct_and_never_to_the_reference_rp() {
        let s = scenario(
            "[setup.idp]\nid_token = \"alg-none\"",
            &format!("{FAILED}\n[[expect.allowed]]\nrp = \"accepts-unsigned-id-token-from-token-endpoint\"\noutcome = \"signed-in\"\nbecause = \"Core 3.1.3.7\""),
        );
        let lenient = Abilities {
            capabilities: Capability::ALL.to_vec(),
            conduct: vec![Conduct::AcceptsUnsignedIdTokenFromTokenEndpoint],
            ..Abilities::default()
        };
        assert_eq!(lenient.allowance(&s).map(|a| a.outcome), Some(ExpectedOutcome::SignedIn));
        assert!(Abilities::reference().allowance(&s).is_none());
    }

    #[test]
    fn an_allowance_without_a_reason_is_refused() {
        let text = "id = \"x\"\ntitle = \"t\"\nfamily = \"f\"\n[story]\nsymptom = \"s\"\ncause = \"c\"\nfix = \"f\"\n[expect]\noutcome = \"signed-in\"\n[[expect.allowed]]\nrp = \"checks-token-endpoint-status\"\noutcome = \"signed-in\"\nbecause = \"\"\n";
        let error = Scenario::parse(Path::new("x.toml"), text).unwrap_err().to_string();
        assert!(error.contains("expect.allowed.because"), "{error}");
    }
}
