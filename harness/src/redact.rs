//! The one place where secrets are removed from logs and where logs are normalized for snapshots.
//!
//! [`secrets`] runs on every line a party logs, so no client secret, code, token, nonce or state
//! value is ever stored. It works two ways: by value — every secret the environment creates or is
//! given is [`register`]ed, and replaced wherever it appears, raw, URL-encoded, JSON-escaped or as
//! the Base64 of a Basic credential — and by name, for what a foreign program prints of secrets the
//! harness never saw (`code=…`, a JSON `code_verifier`, a Python repr, `SSO_CLIENT_SECRET=…`, curl's
//! `--user id:secret`, a proxy URL's password, cookies). [`normalize`] additionally replaces what
//! changes from run to run (ports), so a snapshot is stable.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use regex::Regex;

/// What a secret found by value is replaced with.
pub const REDACTED: &str = "[REDACTED]";
/// Shorter values are not registered on their own (they would match ordinary words); they are
/// still caught inside the Basic credentials they are part of.
const MIN_SECRET_LEN: usize = 3;
/// How many values the registry keeps (the oldest go first): bounded in a long-running process,
/// and far more than the environments alive at once register.
const REGISTRY_CAPACITY: usize = 4096;
/// How many new values are searched one by one before the automaton is rebuilt with them, at least:
/// building it costs milliseconds, and registrations come between every few log lines. The bound
/// grows with the registry (an eighth of it), so rebuilding stays amortized O(1) per value even when
/// the registry is full and every registration evicts the oldest value.
const PENDING_CAPACITY: usize = 64;

#[derive(Default)]
struct Registry {
    order: VecDeque<String>,
    known: HashSet<String>,
    /// Over `order` minus `pending` (and perhaps values evicted since: matching those too only
    /// redacts more); rebuilt when `pending` is full.
    matcher: Option<Arc<AhoCorasick>>,
    /// Registered since the automaton was built.
    pending: Vec<String>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

fn insert(values: impl IntoIterator<Item = String>) {
    let mut registry = registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for value in values {
        if value.is_empty() || registry.known.contains(&value) {
            continue;
        }
        if registry.order.len() == REGISTRY_CAPACITY {
            if let Some(oldest) = registry.order.pop_front() {
                registry.known.remove(&oldest);
                registry.pending.retain(|pending| *pending != oldest);
            }
        }
        registry.known.insert(value.clone());
        registry.order.push_back(value.clone());
        registry.pending.push(value);
        if registry.pending.len() > PENDING_CAPACITY.max(registry.order.len() / 8) {
            registry.matcher = None;
        }
    }
}

/// The forms the harness and the RPs it runs write a value in.
fn encodings(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    vec![secret.to_owned(), form.replace('+', "%20"), form, json]
}

/// Registers a secret (a client secret, a password, a code, a token, a verifier, a cookie value): from
/// now on [`secrets`] replaces it, in any of its encodings, wherever it appears.
pub fn register(secret: &str) {
    if secret.chars().count() >= MIN_SECRET_LEN {
        insert(encodings(secret));
    }
}

/// Registers Basic credentials: the password (see [`register`]) and the Base64 of `user:password`,
/// raw and with both parts form-url-encoded first (RFC 6749 §2.3.1).
pub fn register_credentials(user: &str, password: &str) {
    register(password);
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    insert([
        STANDARD.encode(format!("{user}:{password}")),
        STANDARD.encode(format!("{}:{}", encode(user), encode(password))),
    ]);
}

/// Replaces every registered value in `text` that stands on its own (not inside a longer word).
fn registered(text: &str) -> String {
    let (matcher, pending) = {
        let mut registry = registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if registry.order.is_empty() {
            return text.to_owned();
        }
        if registry.matcher.is_none() {
            let built = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&registry.order);
            registry.matcher = built.ok().map(Arc::new);
            registry.pending.clear();
        }
        (registry.matcher.clone(), registry.pending.clone())
    };
    // Every occurrence, leftmost first and the longest at a position, without overlaps.
    let mut found: Vec<(usize, usize)> =
        matcher.iter().flat_map(|m| m.find_iter(text)).map(|m| (m.start(), m.end())).collect();
    for value in &pending {
        found.extend(text.match_indices(value.as_str()).map(|(start, _)| (start, start + value.len())));
    }
    found.sort_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in found {
        if start < last || word(text[..start].chars().next_back()) || word(text[end..].chars().next()) {
            continue;
        }
        out.push_str(&text[last..start]);
        out.push_str(REDACTED);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

fn rules() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        [
            // Compact JWTs (ID tokens, signed anything).
            (r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", "[JWT]"),
            // Query strings and form bodies.
            (
                r"\b(code|state|nonce|code_verifier|code_challenge|client_secret|access_token|id_token|refresh_token|password)=[^&\s\x22']+",
                "$1=[REDACTED]",
            ),
            // Environment assignments and options: SSO_CLIENT_SECRET=…, SSO_PROXY_PASSWORD=…, --password=….
            (r"(?i)\b([a-z_]*(?:secret|password|passwd|token))=[^&\s\x22']+", "$1=[REDACTED]"),
            // JSON members, and Python reprs of dicts ('client_secret': '…').
            (
                r#""(code|state|nonce|code_verifier|code_challenge|client_secret|access_token|id_token|refresh_token|password)"\s*:\s*"[^"]*""#,
                r#""$1":"[REDACTED]""#,
            ),
            (
                r"'(code|state|nonce|code_verifier|code_challenge|client_secret|access_token|id_token|refresh_token|password)'\s*:\s*'[^']*'",
                "'$1': '[REDACTED]'",
            ),
            // Credentials in headers, also as a Python repr ('Authorization': 'Basic …').
            (
                r"(?i)\b((?:proxy-)?authorization'?\s*:\s*'?(?:basic|bearer))\s+[A-Za-z0-9._~+/=-]+",
                "$1 [REDACTED]",
            ),
            // Cookies: the value of a Cookie or Set-Cookie header.
            (r"(?i)\b((?:set-)?cookie'?\s*:\s*'?[^=;\s']+)=[^;\s']+", "$1=[REDACTED]"),
            // A password in a URL (http://user:pw@proxy:3128, as SSO_PROXY carries it).
            (r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@", "$1:[REDACTED]@"),
            // curl's --user/--proxy-user id:secret (and -u/-U).
            (r"(\s(?:--user|--proxy-user|-u|-U)[\s=]+'?[^:\s']+):[^\s']+", "$1:[REDACTED]"),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).expect("valid redaction rule"), replacement))
        .collect()
    })
}

/// Removes secrets (tokens, codes, client secrets, credentials) from `text`: every registered value,
/// then what looks like a secret by its name.
pub fn secrets(text: &str) -> String {
    let mut text = registered(text);
    for (pattern, replacement) in rules() {
        text = pattern.replace_all(&text, *replacement).into_owned();
    }
    text
}

/// [`secrets`], then replaces what changes from run to run — ports of harness hosts (`[PORT]`) and
/// clock readings (`[TIME]`, `[UNIX-TIME]`), parse positions (`column [N]`) — so that logs compare
/// across runs and backends.
pub fn normalize(text: &str) -> String {
    static PORT: OnceLock<Regex> = OnceLock::new();
    let port = PORT.get_or_init(|| {
        Regex::new(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:test|invalid)|localhost|127\.0\.0\.1)(:|%3A)\d{1,5}\b")
            .expect("valid port rule")
    });
    let text = port.replace_all(&secrets(text), "$1$2[PORT]").into_owned();
    static TIMES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let times = TIMES.get_or_init(|| {
        [
            // 2026-11-23 19:12:50.735720036 UTC, 2026-11-23T19:12:50Z
            (r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( ?UTC|Z)?", "[TIME]"),
            // rustls: verification time 1795461470 (UNIX) … (59771870 seconds ago)
            (r"\b\d{10}\b", "[UNIX-TIME]"),
            (r"\b\d+ seconds (ago|from now)", "[N] seconds $1"),
            // Parse positions move with the length of URLs (a port's digits) inside the parsed text.
            (r"\bcolumn:? \d+", "column [N]"),
            // Python's urllib3: HTTPSConnectionPool(host='idp.sso.test', port=41234)
            (r"\bport=\d+", "port=[PORT]"),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).expect("valid time rule"), replacement))
        .collect()
    });
    times.iter().fold(text, |text, (pattern, replacement)| pattern.replace_all(&text, *replacement).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_from_query_strings_json_and_headers() {
        let line = r#"GET /cb?code=abc123&state=xyz POST client_secret=hunter2 {"access_token":"at","id_token":"x"} Authorization: Basic c3NvOnNlY3JldA=="#;
        assert_eq!(
            secrets(line),
            r#"GET /cb?code=[REDACTED]&state=[REDACTED] POST client_secret=[REDACTED] {"access_token":"[REDACTED]","id_token":"[REDACTED]"} Authorization: Basic [REDACTED]"#
        );
    }

    #[test]
    fn a_full_registry_still_redacts_what_was_registered_last() {
        // More than the registry holds: every registration evicts the oldest value, and the
        // automaton is rebuilt only now and then.
        let values: Vec<String> =
            (0..REGISTRY_CAPACITY + 700).map(|n| format!("full-registry-secret-{n:05}")).collect();
        for value in &values {
            register(value);
        }
        for recent in values.iter().rev().take(600) {
            assert_eq!(secrets(&format!("saw {recent} here")), format!("saw {REDACTED} here"));
        }
    }

    #[test]
    fn registered_secrets_are_replaced_in_every_encoding_but_not_inside_words() {
        register("s3cr&t value/with+chars");
        register_credentials("svc id", "registered-proxy-pw");
        let basic = STANDARD.encode("svc id:registered-proxy-pw");
        let encoded = STANDARD.encode("svc+id:registered-proxy-pw");
        let line = format!(
            "raw s3cr&t value/with+chars, form s3cr%26t+value%2Fwith%2Bchars, pct s3cr%26t%20value%2Fwith%2Bchars, \
             basic {basic} or {encoded}, pw registered-proxy-pw, word xregistered-proxy-pw"
        );
        assert_eq!(
            secrets(&line),
            "raw [REDACTED], form [REDACTED], pct [REDACTED], basic [REDACTED] or [REDACTED], pw [REDACTED], \
             word xregistered-proxy-pw"
        );
    }

    #[test]
    fn secrets_are_removed_from_what_foreign_programs_print() {
        let cases = [
            (
                "proxy http://svc-sso:hunter2@proxy.sso.test:3128/",
                "proxy http://svc-sso:[REDACTED]@proxy.sso.test:3128/",
            ),
            ("{'client_secret': 'hunter2', 'x': 1}", "{'client_secret': '[REDACTED]', 'x': 1}"),
            ("{'Authorization': 'Basic c3ZjOmh1bnRlcjI='}", "{'Authorization': 'Basic [REDACTED]'}"),
            (
                "SSO_CLIENT_SECRET=hunter2 SSO_PROXY_PASSWORD=pw2",
                "SSO_CLIENT_SECRET=[REDACTED] SSO_PROXY_PASSWORD=[REDACTED]",
            ),
            ("curl -s --user rp-client:hunter2 https://x", "curl -s --user rp-client:[REDACTED] https://x"),
            ("curl -u 'rp-client:hunter2' https://x", "curl -u 'rp-client:[REDACTED]' https://x"),
            ("Set-Cookie: sso_session=abcdef; HttpOnly", "Set-Cookie: sso_session=[REDACTED]; HttpOnly"),
            ("Cookie: sso_session=abcdef", "Cookie: sso_session=[REDACTED]"),
            (r#"{"code_verifier": "dBjftJeZ4CVP"}"#, r#"{"code_verifier":"[REDACTED]"}"#),
        ];
        for (line, redacted) in cases {
            assert_eq!(secrets(line), redacted, "{line}");
        }
    }

    #[test]
    fn jwts_are_replaced_whole() {
        assert_eq!(secrets("token eyJhbGciOi.eyJzdWIi.c2ln end"), "token [JWT] end");
    }

    #[test]
    fn clock_readings_are_normalized() {
        assert_eq!(
            normalize("expired at 2026-11-23 19:12:50 UTC (current time is 2026-11-23 19:17:50.735 UTC)"),
            "expired at [TIME] (current time is [TIME])"
        );
        assert_eq!(
            normalize("verification time 1795461470 (UNIX), not valid after 1735689600 (59771870 seconds ago)"),
            "verification time [UNIX-TIME] (UNIX), not valid after [UNIX-TIME] ([N] seconds ago)"
        );
    }

    #[test]
    fn ports_of_harness_hosts_are_normalized() {
        assert_eq!(
            normalize("CONNECT idp.sso.test:41234 and http://rp.sso.test:5/x and 127.0.0.1:80"),
            "CONNECT idp.sso.test:[PORT] and http://rp.sso.test:[PORT]/x and 127.0.0.1:[PORT]"
        );
    }
}
