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

/// [`secrets`], then replaces ports of harness hosts with `[PORT]` so that logs compare across runs.
pub fn normalize(text: &str) -> String {
    static PORT: OnceLock<Regex> = OnceLock::new();
    let port = PORT.get_or_init(|| {
        Regex::new(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:test|invalid)|localhost|127\.0\.0\.1)(:|%3A)\d{1,5}\b")
            .expect("valid port rule")
    });
    port.replace_all(&secrets(text), "$1$2[PORT]").into_owned()
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
    fn ports_of_harness_hosts_are_normalized() {
        assert_eq!(
            normalize("CONNECT idp.sso.test:41234 and http://rp.sso.test:5/x and 127.0.0.1:80"),
            "CONNECT idp.sso.test:[PORT] and http://rp.sso.test:[PORT]/x and 127.0.0.1:[PORT]"
        );
    }
}
