//! Diagnosing a pasted log: read the error chain back from what a product printed, name the stage
//! that failed and the root cause, tell whose wording it is, and list the catalog scenarios that
//! produce that cause at that stage, best match first.
//!
//! ```
//! let log = "ERROR Exchanging authorization tokens failed: curl: (56) CONNECT tunnel failed, response 403";
//! let catalog = sso_harness::catalog::load().unwrap();
//! let diagnosis = sso_harness::diagnose::diagnose(log, &catalog);
//! assert_eq!(diagnosis.root_cause, Some(sso_harness::RootCause::ProxyRefusedConnect));
//! assert!(!diagnosis.matches.is_empty());
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;

use crate::chain::{ErrorChain, RootCause};
use crate::logchain::{chain_from_log, LogFormat};
use crate::rp::Stage;
use crate::scenario::Scenario;

/// What a log says, as far as it can be read, and the scenarios that reproduce it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Diagnosis<'a> {
    /// The lines read as the error chain (empty: nothing looked like a failure): outermost first when
    /// the chain reader recognised a stack trace or traceback, else the failure lines in log order.
    pub chain: Vec<String>,
    /// The stage of the sign-in that failed, when the wording names it.
    pub stage: Option<Stage>,
    /// The root cause, when the chain's wording is recognised (never guessed).
    pub root_cause: Option<RootCause>,
    /// Whose wording it is (a product, a client library), most specific first.
    pub wording_from: Vec<&'static str>,
    /// The catalog's scenarios that produce this cause (at this stage, when known), best first.
    pub matches: Vec<Match<'a>>,
}

/// One scenario that reproduces the diagnosed failure.
#[derive(Debug)]
#[non_exhaustive]
pub struct Match<'a> {
    /// The scenario, from the catalog.
    pub scenario: &'a Scenario,
    /// The scenario fails at the diagnosed stage (false: the stage was not known).
    pub same_stage: bool,
    /// How much of the log's wording the scenario's story shares (higher is closer).
    pub similarity: f64,
}

/// The stage a scenario's expected wrapper names.
pub fn scenario_stage(scenario: &Scenario) -> Option<Stage> {
    let wrapper = scenario.expect.wrapper.as_deref()?;
    Stage::ALL.into_iter().find(|stage| stage.to_string().eq_ignore_ascii_case(wrapper.trim()))
}

/// A short kebab-case name for a stage (`exchanging-tokens`), for JSON.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::FetchingMetadata => "fetching-metadata",
        Stage::ValidatingAuthorizationResponse => "validating-authorization-response",
        Stage::ExchangingTokens => "exchanging-tokens",
        Stage::FetchingKeys => "fetching-keys",
        Stage::ValidatingIdToken => "validating-id-token",
        Stage::FetchingUserinfo => "fetching-userinfo",
    }
}

/// Wordings that name a stage, lowercase, checked on the chain's outer levels first.
const STAGE_WORDS: &[(Stage, &[&str])] = &[
    (
        Stage::ExchangingTokens,
        &[
            "exchanging authorization tokens",
            "exchange code",
            "exchanging oidc code",
            "redeeming code",
            "token exchange",
            "token endpoint",
            "token response",
            "oauth/token",
            "access_token",
            "/token",
        ],
    ),
    (Stage::FetchingUserinfo, &["user info", "userinfo"]),
    (Stage::FetchingKeys, &["signing keys", "jwks", "/keys", "certs"]),
    (Stage::FetchingMetadata, &["provider metadata", "discovery", "well-known", "openid-configuration"]),
    (Stage::ValidatingAuthorizationResponse, &["authorization response", "state", "callback error"]),
    (Stage::ValidatingIdToken, &["id token", "id_token", "idtoken", "jwt"]),
];

/// Products and clients recognisable by their wording (lowercase needle, name).
const WORDINGS: &[(&str, &str)] = &[
    ("com.atlassian.plugins.authentication", "SSO for Atlassian Data Center (Jira, Confluence, Bitbucket)"),
    ("elasticsearchsecurityexception", "Elasticsearch (security realm oidc)"),
    ("o.e.x.s.a.o.", "Elasticsearch (security realm oidc)"),
    ("mod_auth_openidc", "Apache mod_auth_openidc"),
    ("oidc_util_", "Apache mod_auth_openidc"),
    ("vault login failed", "HashiCorp Vault"),
    ("login.oauthlogin", "Grafana"),
    ("authlib", "Python Authlib"),
    ("requests.exceptions", "Python requests"),
    ("traceback (most recent call last)", "Python"),
    ("sun.net.www.protocol.http", "Java HttpURLConnection"),
    ("java.io.ioexception: unable to tunnel through proxy", "Java HttpURLConnection"),
    ("java.net.http", "Java HttpClient"),
    ("javax.net.ssl", "Java (JSSE)"),
    ("curl: (", "curl / libcurl"),
    ("oauth2: ", "Go golang.org/x/oauth2"),
    ("go-oidc", "Go coreos/go-oidc"),
    ("dial tcp", "Go net/http"),
    ("x509: ", "Go crypto/x509"),
    ("tunnel error: unsuccessful", "Rust reqwest/hyper"),
    ("(os error ", "Rust std::io"),
];

/// Reads `log` and matches it against `catalog`. A log whose chain is not recognised gets no root
/// cause and no matches; [`Diagnosis::chain`] then shows what was read.
pub fn diagnose<'a>(log: &str, catalog: &'a [Scenario]) -> Diagnosis<'a> {
    let lines = restore_frames(log);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let chain = read_chain(&lines);
    let root_cause = chain.as_ref().map(ErrorChain::root_cause).filter(|cause| *cause != RootCause::Unclassified);
    let chain = chain.map(|c| c.levels).unwrap_or_default();
    let stage = stage_of(&chain);
    let lower = log.to_lowercase();
    let mut wording_from: Vec<&'static str> = Vec::new();
    for (needle, name) in WORDINGS {
        if lower.contains(needle) && !wording_from.contains(name) {
            wording_from.push(name);
        }
    }
    let matches = match root_cause {
        Some(cause) => rank(log, cause, stage, catalog),
        None => Vec::new(),
    };
    Diagnosis { chain, stage, root_cause, wording_from, matches }
}

/// The chain reader's chain when it classifies (its default format, then Apache's error_log, Go's
/// log, every line); else the lines that report a failure (`error`,
/// `warning`, an exception, `caused by`, `failed`, `could not`, `unable`, `rejected`, …) in log
/// order; else every line of the log. The root cause is only ever one whose wording is in the log.
fn read_chain(lines: &[&str]) -> Option<ErrorChain> {
    static FAILURE: OnceLock<Regex> = OnceLock::new();
    let failure = FAILURE.get_or_init(|| {
        Regex::new(r"(?i)\berror|\bwarn|exception|caused by|failed|failure|could not|cannot|unable|rejected|invalid")
            .expect("valid pattern")
    });
    let read = chain_from_log(lines);
    if read.as_ref().is_some_and(|c| c.root_cause() != RootCause::Unclassified) {
        return read;
    }
    for format in [LogFormat::apache_error_log(), LogFormat::go_log(), LogFormat::every_line()] {
        let chain = format.chain(lines);
        if chain.as_ref().is_some_and(|c| c.root_cause() != RootCause::Unclassified) {
            return chain;
        }
    }
    let mut content: Vec<String> = Vec::new();
    for line in lines.iter().map(|l| l.trim()) {
        let frame = line.starts_with("at ") || line.starts_with("...") || line.starts_with("File \"");
        let line = line.strip_prefix("Caused by: ").unwrap_or(line);
        if !frame && !line.is_empty() && !content.iter().any(|seen| seen == line) {
            content.push(line.to_owned());
        }
    }
    let failing = ErrorChain { levels: content.iter().filter(|l| failure.is_match(l)).cloned().collect() };
    let everything = ErrorChain { levels: content };
    if !failing.levels.is_empty() && failing.root_cause() != RootCause::Unclassified {
        return Some(failing);
    }
    if everything.root_cause() != RootCause::Unclassified {
        return Some(everything);
    }
    read.or_else(|| (!failing.levels.is_empty()).then_some(failing))
}

/// The lines of a pasted log, with the tab restored before Java stack frames (`at pkg.Class.method(…)`,
/// `... 3 more`) that a web page or a chat window dropped.
fn restore_frames(log: &str) -> Vec<String> {
    static FRAME: OnceLock<Regex> = OnceLock::new();
    let frame =
        FRAME.get_or_init(|| Regex::new(r"^\s*(at [\w$./<>]+\(.*\)|\.\.\. \d+ more)\s*$").expect("valid pattern"));
    log.lines()
        .map(|line| line.trim_end_matches('\r'))
        .map(|line| match frame.is_match(line) {
            true => format!("\t{}", line.trim()),
            false => line.to_owned(),
        })
        .collect()
}

fn stage_of(chain: &[String]) -> Option<Stage> {
    for level in chain {
        let level = level.to_lowercase();
        if let Some((stage, _)) = STAGE_WORDS.iter().find(|(_, words)| words.iter().any(|w| level.contains(w))) {
            return Some(*stage);
        }
    }
    None
}

fn words(text: &str) -> HashSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| w.len() >= 3 || w.chars().all(|c| c.is_ascii_digit()) && w.len() == 3)
        .map(str::to_owned)
        .collect()
}

/// The words a scenario's story puts in a product's mouth (its log and where it is seen).
fn story_words(scenario: &Scenario) -> HashSet<String> {
    let story = &scenario.story;
    words(&format!("{}\n{}\n{}\n{}", story.log, story.seen_in.join("\n"), scenario.title, story.symptom))
}

fn rank<'a>(log: &str, cause: RootCause, stage: Option<Stage>, catalog: &'a [Scenario]) -> Vec<Match<'a>> {
    let candidates: Vec<&Scenario> = catalog
        .iter()
        .filter(|s| s.expect.root_cause == Some(cause))
        .filter(|s| stage.is_none() || scenario_stage(s) == stage)
        .collect();
    // Fall back to the cause alone when no scenario has it at this stage.
    let candidates = match candidates.is_empty() {
        true => catalog.iter().filter(|s| s.expect.root_cause == Some(cause)).collect(),
        false => candidates,
    };
    // Words weighted by their rarity in the catalog: a shared "403" or "Atlassian" says more than
    // a shared "failed".
    let per_scenario: Vec<HashSet<String>> = catalog.iter().map(story_words).collect();
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for set in &per_scenario {
        for word in set {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let weight = |word: &str| (catalog.len() as f64 / (1 + frequency.get(word).copied().unwrap_or(0)) as f64).ln();
    let log_words = words(log);
    let mut matches: Vec<Match<'a>> = candidates
        .into_iter()
        .map(|scenario| {
            let index = catalog.iter().position(|s| std::ptr::eq(s, scenario)).unwrap_or_default();
            let shared = &per_scenario[index];
            let similarity = log_words.iter().filter(|w| shared.contains(*w)).map(|w| weight(w).max(0.0)).sum();
            Match { scenario, same_stage: stage.is_some() && scenario_stage(scenario) == stage, similarity }
        })
        .collect();
    matches.sort_by(|a, b| {
        (b.same_stage, b.similarity)
            .partial_cmp(&(a.same_stage, a.similarity))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.scenario.id.cmp(&b.scenario.id))
    });
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jira_stack_trace_is_a_proxy_refusal_at_the_token_exchange() {
        let catalog = crate::catalog::load().unwrap();
        let log = "ERROR [c.a.p.a.i.web.filter.ErrorHandlingFilter] Exchanging authorization tokens failed.
com.atlassian.plugins.authentication.impl.web.usercontext.AuthenticationFailedException: Exchanging authorization tokens failed.
\tat com.atlassian.plugins.authentication.impl.web.oidc.OidcConsumerServlet.exchangeAuthorizationCodeForTokens(OidcConsumerServlet.java:196)
Caused by: java.io.IOException: Unable to tunnel through proxy. Proxy returns \"HTTP/1.1 403 Forbidden\"";
        let diagnosis = diagnose(log, &catalog);
        assert_eq!(diagnosis.root_cause, Some(RootCause::ProxyRefusedConnect));
        assert_eq!(diagnosis.stage, Some(Stage::ExchangingTokens));
        assert_eq!(diagnosis.wording_from[0], "SSO for Atlassian Data Center (Jira, Confluence, Bitbucket)");
        assert_eq!(diagnosis.matches[0].scenario.id, "proxy-denies-connect-to-token-endpoint");
        assert!(diagnosis.matches.iter().all(|m| m.scenario.expect.root_cause == Some(RootCause::ProxyRefusedConnect)));
    }

    #[test]
    fn a_log_without_a_recognised_cause_gets_no_cause_and_no_match() {
        let catalog = crate::catalog::load().unwrap();
        let diagnosis = diagnose("ElasticsearchSecurityException: Failed to exchange code for Id Token", &catalog);
        assert_eq!(diagnosis.root_cause, None);
        assert!(diagnosis.matches.is_empty());
        assert_eq!(diagnosis.chain, ["ElasticsearchSecurityException: Failed to exchange code for Id Token"]);
        assert_eq!(diagnose("all good", &catalog).chain, Vec::<String>::new());
    }
}
