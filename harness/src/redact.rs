//! The one place where secrets are removed from logs and where logs are normalized for snapshots.
//!
//! [`secrets`] runs on every line a party logs, so no client secret, code, token, nonce or state
//! value is ever stored. [`normalize`] additionally replaces what changes from run to run (ports),
//! so a snapshot is stable.

use regex::Regex;
use std::sync::OnceLock;

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
            // JSON members.
            (
                r#""(code|state|nonce|client_secret|access_token|id_token|refresh_token|password)"\s*:\s*"[^"]*""#,
                r#""$1":"[REDACTED]""#,
            ),
            // Credentials in headers.
            (
                r"(?i)\b((?:proxy-)?authorization:\s*(?:basic|bearer))\s+[A-Za-z0-9._~+/=-]+",
                "$1 [REDACTED]",
            ),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).expect("valid redaction rule"), replacement))
        .collect()
    })
}

/// Removes secrets (tokens, codes, client secrets, credentials) from `text`.
pub fn secrets(text: &str) -> String {
    let mut text = text.to_owned();
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
