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
//!   the wrapper; an RP whose words the classifier does not read yet gets `unclassified`, which a
//!   [`Verdict`] reports as a gap, unlike a wrong root cause, which is a mismatch.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chain::RootCause;
use crate::env::Outcome;
use crate::scenario::{Expect, ExpectedOutcome, Mismatch, Scenario, Setup};

/// What an RP can be set up to do, or checks it makes. A scenario that needs one an RP lacks does
/// not apply to that RP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Capability {
    /// Endpoints typed in (`SSO_TOKEN_ENDPOINT` …).
    ConfiguredEndpoints,
    /// Endpoints discovered from the issuer (`SSO_TOKEN_ENDPOINT` empty).
    Discovery,
    ClientSecretBasic,
    ClientSecretPost,
    /// Basic credentials for the proxy (`SSO_PROXY_USER`).
    ProxyCredentials,
    /// A no-proxy list (`SSO_NO_PROXY`).
    NoProxy,
    /// Resolves names itself from `SSO_HOSTS_FILE` (needed wherever the RP is not behind the proxy).
    HostsFile,
    /// Keeps the state in the browser's session (a cookie), so a lost cookie is a state mismatch.
    SessionCookie,
    /// Validates the ID token: signature, JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`.
    ValidatesIdToken,
    /// Words a failure by the stage it failed at ("exchanging authorization tokens failed").
    NamesStage,
    /// Reference-RP setting: sends another redirect URI with the code.
    TokenRedirectUri,
    /// Reference-RP setting: repeats a timed-out token request with the same code.
    TokenRetries,
    /// Reference-RP setting: makes a new PKCE verifier at the callback.
    RegeneratePkceVerifier,
    /// Reference-RP setting: never refetches the JWKS on an unknown `kid`.
    NoJwksRefetch,
}

impl Capability {
    /// Every capability (what the reference RP has).
    pub const ALL: [Capability; 14] = [
        Capability::ConfiguredEndpoints,
        Capability::Discovery,
        Capability::ClientSecretBasic,
        Capability::ClientSecretPost,
        Capability::ProxyCredentials,
        Capability::NoProxy,
        Capability::HostsFile,
        Capability::SessionCookie,
        Capability::ValidatesIdToken,
        Capability::NamesStage,
        Capability::TokenRedirectUri,
        Capability::TokenRetries,
        Capability::RegeneratePkceVerifier,
        Capability::NoJwksRefetch,
    ];

    /// The kebab-case name used in `rp.toml` files.
    pub fn name(self) -> String {
        kebab(&self)
    }
}

/// What an RP does where the specification leaves it room; a scenario may allow it to end
/// otherwise because of it (`[[expect.allowed]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Conduct {
    /// Accepts an unsigned (`alg: none`) ID token received from the token endpoint over TLS
    /// (OpenID Connect Core 1.0 §3.1.3.7 lets the TLS validation of the token endpoint stand in for
    /// the signature in the code flow).
    AcceptsUnsignedIdTokenFromTokenEndpoint,
    /// Looks at the token endpoint's HTTP status before its body, so a 5xx is a server error.
    ChecksTokenEndpointStatus,
}

impl Conduct {
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
pub struct Allowance {
    /// The RPs this applies to: those with this conduct.
    pub rp: Conduct,
    pub outcome: ExpectedOutcome,
    pub wrapper: Option<String>,
    pub root_cause: Option<RootCause>,
    /// Why the specification permits it (quoted in the compatibility page).
    pub because: String,
}

/// An allowance that cannot be used, as `(field, message)` for the scenario's load error.
pub fn check_allowances(allowed: &[Allowance]) -> Option<(&'static str, String)> {
    allowed.iter().find_map(|allowance| match allowance.outcome {
        ExpectedOutcome::Failed if allowance.root_cause.is_none() => {
            Some(("expect.allowed.root_cause", "required when outcome = \"failed\"".to_owned()))
        }
        ExpectedOutcome::SignedIn if allowance.wrapper.is_some() || allowance.root_cause.is_some() => Some((
            "expect.allowed.outcome",
            "is \"signed-in\", so wrapper and root_cause must be left out".to_owned(),
        )),
        _ if allowance.because.trim().is_empty() => {
            Some(("expect.allowed.because", "must say why the specification permits it".to_owned()))
        }
        _ => None,
    })
}

/// What an RP can do and how it behaves (the reference RP: every capability, no conduct).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Abilities {
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    #[serde(default)]
    pub conduct: Vec<Conduct>,
}

impl Abilities {
    /// The reference RP's.
    pub fn reference() -> Abilities {
        Abilities { capabilities: Capability::ALL.to_vec(), conduct: Vec::new() }
    }

    /// The capabilities `scenario` needs that this RP lacks (empty: it applies).
    pub fn missing(&self, scenario: &Scenario) -> Vec<Capability> {
        needs(scenario).into_iter().filter(|need| !self.capabilities.contains(need)).collect()
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
        }
        if !self.capabilities.contains(&Capability::ValidatesIdToken) {
            without_key_fetches(&mut fair.expect);
        }
        let names_stage = self.capabilities.contains(&Capability::NamesStage);
        if !names_stage {
            fair.expect.wrapper = None;
        }
        let mut unclassified = false;
        let mismatches = fair
            .check(outcome)
            .into_iter()
            .filter(|mismatch| {
                let gap = mismatch.field == "root_cause" && mismatch.observed == RootCause::Unclassified.name();
                unclassified |= gap;
                !gap
            })
            .collect();
        Verdict {
            mismatches,
            unclassified,
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

/// How one RP did on one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Differences from what this RP must do: outcome, wrapper (if compared), a root cause that is
    /// *another* cause, the IdP's and proxy's records. Not empty: the RP failed the scenario.
    pub mismatches: Vec<Mismatch>,
    /// The outcome was right but the RP's words were not read as any root cause (a gap in the
    /// classifier, not in the RP).
    pub unclassified: bool,
    /// The conduct whose allowance was used.
    pub allowed: Option<Conduct>,
    pub wrapper_compared: bool,
}

impl Verdict {
    /// As documented (or allowed), with the root cause read.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && !self.unclassified
    }
}

/// The capabilities a scenario needs, from its setup and expectation.
pub fn needs(scenario: &Scenario) -> Vec<Capability> {
    let setup = serde_json::to_value(&scenario.setup).unwrap_or(Value::Null);
    let default = serde_json::to_value(Setup::default()).unwrap_or(Value::Null);
    let set = |pointer: &str| setup.pointer(pointer) != default.pointer(pointer);
    let is = |pointer: &str, value: Value| setup.pointer(pointer) == Some(&value);
    let rp = &scenario.setup.rp;
    let mut needs = Vec::new();
    let mut need = |capability: Capability, when: bool| {
        if when {
            needs.push(capability);
        }
    };
    need(Capability::Discovery, is("/rp/metadata", "discovery".into()));
    need(Capability::ConfiguredEndpoints, !is("/rp/metadata", "discovery".into()));
    need(Capability::ClientSecretPost, is("/rp/auth_method", "client_secret_post".into()));
    need(Capability::ClientSecretBasic, !is("/rp/auth_method", "client_secret_post".into()));
    need(Capability::ProxyCredentials, rp.proxy_user.is_some());
    need(Capability::NoProxy, rp.no_proxy.is_some());
    need(Capability::HostsFile, rp.use_proxy == Some(false) || rp.no_proxy.is_some() || rp.direct_route);
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
        || ["/idp/id_token", "/idp/jwks", "/idp/clock_offset_secs", "/idp/separate_jwks_host", "/rp/issuer"]
            .iter()
            .any(|p| set(p));
    need(Capability::ValidatesIdToken, validating);
    need(Capability::TokenRedirectUri, rp.token_redirect_uri.is_some());
    need(Capability::TokenRetries, rp.token_retries > 0);
    need(Capability::RegeneratePkceVerifier, rp.regenerate_pkce_verifier);
    need(Capability::NoJwksRefetch, rp.refetch_jwks_on_unknown_kid == Some(false));
    needs
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

    const FAILED: &str = "outcome = \"failed\"\nwrapper = \"validating the ID token failed\"\nroot_cause = \"disallowed-algorithm\"";

    #[test]
    fn a_reference_only_setting_makes_the_scenario_not_apply_to_other_rps() {
        let s = scenario("[setup.rp]\ntoken_redirect_uri = \"https://rp.sso.test/x\"", "outcome = \"signed-in\"");
        let other = Abilities { capabilities: vec![Capability::ConfiguredEndpoints, Capability::ClientSecretBasic], conduct: vec![] };
        assert_eq!(other.missing(&s), [Capability::TokenRedirectUri]);
        assert!(Abilities::reference().missing(&s).is_empty());
    }

    #[test]
    fn id_token_faults_need_an_rp_that_validates_id_tokens() {
        let s = scenario("[setup.idp]\nid_token = \"alg-none\"", FAILED);
        assert!(needs(&s).contains(&Capability::ValidatesIdToken));
        assert!(!needs(&scenario("", "outcome = \"signed-in\"")).contains(&Capability::ValidatesIdToken));
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
