//! Error chains read back from what real products print: Java stack traces (`Caused by:` lines),
//! Python tracebacks ("The above exception was the direct cause …", and the causes nested in a
//! repr), and one-line chains joined by `: ` (Go's wrapped errors, Rust chains, libcurl messages).
//! The chain's root cause is then classified with [`RootCause::classify`](crate::RootCause), the
//! same taxonomy the scenarios use.

use std::sync::OnceLock;

use regex::Regex;

use crate::chain::ErrorChain;

/// The chain in `lines`, if they hold a failure: a Python traceback, else a Java stack trace, else
/// the last line that says `ERROR`.
pub fn chain_from_log<S: AsRef<str>>(lines: &[S]) -> Option<ErrorChain> {
    let lines: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
    python(&lines).or_else(|| java(&lines)).or_else(|| one_line(&lines))
}

/// Python: every exception line of the tracebacks, outermost (printed last) first, each followed by
/// the causes quoted in its repr (`(Caused by ProxyError('…', OSError('…')))`).
fn python(lines: &[&str]) -> Option<ErrorChain> {
    let first = lines.iter().position(|l| l.starts_with("Traceback (most recent call last):"))?;
    let mut exceptions = Vec::new();
    let mut in_frames = false;
    for line in &lines[first..] {
        if line.starts_with("Traceback (most recent call last):") {
            in_frames = true;
        } else if in_frames && !line.starts_with(' ') && !line.trim().is_empty() {
            exceptions.push(line.to_string());
            in_frames = false;
        }
    }
    let mut levels = Vec::new();
    for exception in exceptions.iter().rev() {
        levels.push(exception.clone());
        levels.extend(nested_causes(exception));
    }
    (!levels.is_empty()).then_some(ErrorChain { levels })
}

/// `… (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 403')))`
/// → the quoted messages, outermost first.
fn nested_causes(line: &str) -> Vec<String> {
    static QUOTED: OnceLock<Regex> = OnceLock::new();
    let quoted = QUOTED.get_or_init(|| Regex::new(r#"'([^']+)'|"([^"]+)""#).expect("valid pattern"));
    let Some(start) = line.find("(Caused by ") else { return Vec::new() };
    quoted
        .captures_iter(&line[start..])
        .filter_map(|c| c.get(1).or_else(|| c.get(2)).map(|m| m.as_str().to_owned()))
        .collect()
}

/// Java: the exception line that starts a stack trace, then every `Caused by:`.
fn java(lines: &[&str]) -> Option<ErrorChain> {
    static EXCEPTION: OnceLock<Regex> = OnceLock::new();
    let exception = EXCEPTION.get_or_init(|| {
        Regex::new(r"^([A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(Exception|Error|Throwable)(: .*)?$").expect("valid pattern")
    });
    let top = lines
        .iter()
        .enumerate()
        .find(|(i, line)| exception.is_match(line) && lines.get(i + 1).is_some_and(|next| next.starts_with("\tat ")))?
        .0;
    let mut levels = vec![lines[top].to_owned()];
    levels.extend(lines[top + 1..].iter().filter_map(|l| l.strip_prefix("Caused by: ")).map(str::to_owned));
    Some(ErrorChain { levels })
}

/// One line: the last that says `ERROR`, split at `: ` (keeping `curl: (56) …` together).
fn one_line(lines: &[&str]) -> Option<ErrorChain> {
    let line = lines.iter().rev().find(|l| l.contains("ERROR"))?;
    let text = line[line.find("ERROR")? + "ERROR".len()..].trim_start_matches([' ', ':']).trim();
    let text = text.strip_prefix("sign-in failed: ").unwrap_or(text);
    let mut levels: Vec<String> = Vec::new();
    for part in text.split(": ") {
        match levels.last_mut() {
            Some(last)
                if last == "curl" || last.ends_with(" curl") || part.starts_with('(') && last.ends_with("curl") =>
            {
                last.push_str(": ");
                last.push_str(part);
            }
            _ => levels.push(part.to_owned()),
        }
    }
    (!levels.is_empty()).then_some(ErrorChain { levels })
}

/// The message of a chain level without a leading exception class (`pkg.SomeException: `), for
/// comparing wrappers across languages: lowercase, without a final full stop.
pub fn bare_message(level: &str) -> String {
    static CLASS: OnceLock<Regex> = OnceLock::new();
    let class = CLASS.get_or_init(|| Regex::new(r"^([A-Za-z_$][\w$]*\.)*[A-Z][\w$]*: ").expect("valid pattern"));
    class.replace(level.trim(), "").trim_end_matches('.').to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::RootCause;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_java_stack_trace_gives_the_exception_and_every_caused_by() {
        let log = lines(
            "com.atlassian.plugins.authentication.impl.web.usercontext.AuthenticationFailedException: Exchanging authorization tokens failed.
\tat com.atlassian.plugins.authentication.impl.web.oidc.OidcConsumerServlet.exchangeAuthorizationCodeForTokens(OidcConsumerServlet.java:196)
Caused by: java.io.IOException: Unable to tunnel through proxy. Proxy returns \"HTTP/1.1 403 Forbidden\"
\tat java.base/sun.net.www.protocol.http.HttpURLConnection.doTunneling0(HttpURLConnection.java:2311)
\t... 3 more",
        );
        let chain = chain_from_log(&log).unwrap();
        assert_eq!(chain.levels.len(), 2);
        assert_eq!(
            chain.root(),
            "java.io.IOException: Unable to tunnel through proxy. Proxy returns \"HTTP/1.1 403 Forbidden\""
        );
        assert_eq!(bare_message(chain.wrapper()), "exchanging authorization tokens failed");
        assert_eq!(chain.root_cause(), RootCause::ProxyRefusedConnect);
    }

    #[test]
    fn a_python_traceback_gives_the_outermost_first_and_the_causes_in_the_repr() {
        let log = lines(
            "Traceback (most recent call last):
  File \"/x/rp.py\", line 40, in exchange
    r = session.post(TOKEN_ENDPOINT, data=form)
requests.exceptions.ProxyError: HTTPSConnectionPool(host='idp.sso.test', port=443): Max retries exceeded with url: /token (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 407 Proxy Authentication Required')))

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File \"/x/rp.py\", line 60, in do_GET
    exchange(code)
__main__.AuthenticationFailed: Exchanging authorization tokens failed",
        );
        let chain = chain_from_log(&log).unwrap();
        assert_eq!(chain.wrapper(), "__main__.AuthenticationFailed: Exchanging authorization tokens failed");
        assert_eq!(chain.root(), "Tunnel connection failed: 407 Proxy Authentication Required");
        assert_eq!(chain.root_cause(), RootCause::ProxyAuthRequired);
    }

    #[test]
    fn go_and_curl_one_line_chains_split_at_colons() {
        let go = lines(
            r#"ERROR Error redeeming code during OAuth2 callback: token exchange failed: Post "https://github.com/login/oauth/access_token": dial tcp: i/o timeout"#,
        );
        let chain = chain_from_log(&go).unwrap();
        assert_eq!(chain.wrapper(), "Error redeeming code during OAuth2 callback");
        assert_eq!(chain.root_cause(), RootCause::Timeout);

        let curl =
            lines("ERROR Exchanging authorization tokens failed: curl: (56) CONNECT tunnel failed, response 403");
        let chain = chain_from_log(&curl).unwrap();
        assert_eq!(
            chain.levels,
            ["Exchanging authorization tokens failed", "curl: (56) CONNECT tunnel failed, response 403"]
        );
        assert_eq!(chain.root_cause(), RootCause::ProxyRefusedConnect);
    }

    #[test]
    fn the_wordings_of_the_catalog_classify_like_the_scenarios() {
        let cases = [
            ("ERROR x: javax.net.ssl.SSLHandshakeException: PKIX path building failed: unable to find valid certification path", RootCause::UntrustedCertificate),
            ("ERROR login.OAuthLogin(NewTransportWithCode): Post https://x/oauth/token: x509: certificate signed by unknown authority", RootCause::UntrustedCertificate),
            ("ERROR Vault login failed: Error exchanging oidc code: x509: certificate signed by unknown authority", RootCause::UntrustedCertificate),
            ("ERROR x: curl: (60) SSL certificate problem: unable to get local issuer certificate", RootCause::UntrustedCertificate),
            ("ERROR x: curl: (56) CONNECT tunnel failed, response 407", RootCause::ProxyAuthRequired),
            ("ERROR x: Tunnel failed, got: 403", RootCause::ProxyRefusedConnect),
        ];
        for (line, cause) in cases {
            assert_eq!(chain_from_log(&[line]).unwrap().root_cause(), cause, "{line}");
        }
    }

    #[test]
    fn nothing_that_looks_like_a_failure_gives_no_chain() {
        assert!(chain_from_log(&["INFO all good", "sso-repro-rp: signed in"]).is_none());
    }
}
