//! Error chains read back from what real products print.
//!
//! A log is read whole: every error record (a line its [`LogFormat`] calls an error, with its
//! continuation lines), every Java stack trace (`Caused by:` lines), every Python traceback (chained
//! by "The above exception was the direct cause …" or "During handling of the above exception …",
//! and the causes nested in a repr), and every Node error block (`Error: …`, `    at …`,
//! `[cause]: …`). Blocks printed later are taken as the outer ones (a product logs the detail first
//! and the summary last), so the wrapper is what was printed last, unless a trace directly follows
//! an error record, in which case it belongs to that record. The chain's root cause is then
//! classified with [`RootCause::classify`](crate::RootCause), which picks the most specific cause
//! found anywhere in the chain.

use std::sync::OnceLock;

use regex::Regex;

use crate::chain::ErrorChain;

/// How an RP's log marks its error records: which lines are errors, where the message starts, and
/// (optionally) which lines start a new record, every other line being a continuation of the record
/// above it. Stack traces, tracebacks and Node error blocks are recognised in every format.
///
/// ```
/// use sso_harness::logchain::LogFormat;
/// use sso_harness::RootCause;
///
/// let log = [
///     "[Tue Dec 01 18:00:00.123456 2026] [auth_openidc:error] [pid 7:tid 9] [client 127.0.0.1:4711] oidc_util_http_call: curl_easy_perform() failed on: https://idp.sso.test:8443/token (CONNECT tunnel failed, response 403)",
///     "[Tue Dec 01 18:00:00.123490 2026] [auth_openidc:error] [pid 7:tid 9] [client 127.0.0.1:4711] oidc_proto_resolve_code: failed to resolve the code",
/// ];
/// let chain = LogFormat::apache_error_log().chain(&log).unwrap();
/// assert_eq!(chain.wrapper(), "oidc_proto_resolve_code");
/// assert_eq!(chain.root_cause(), RootCause::ProxyRefusedConnect);
/// ```
#[derive(Clone, Debug)]
pub struct LogFormat {
    error: Regex,
    record: Option<Regex>,
}

impl Default for LogFormat {
    /// A line with the level `ERROR` (`ERROR …`, `… ERROR: …`, `[ERROR] …`, Python logging's
    /// `ERROR:logger:…`), or curl's `curl: (N) …`; continuation lines are indented or start with
    /// `Caused by:`, `Response:`, `{`, `}` or `<`.
    fn default() -> LogFormat {
        LogFormat::new(r"(?:^|[\s\[|])ERROR(?:\]|:[\w.]*:|:)?\s+|^(?:ERROR:[\w.]*:)|^(?P<message>curl: \(\d+\) .*)")
            .expect("valid pattern")
    }
}

impl LogFormat {
    /// Error records are the lines `error` matches; the message is its capture group `message` when
    /// it has one, else the text after the match.
    pub fn new(error: &str) -> Result<LogFormat, regex::Error> {
        Ok(LogFormat { error: Regex::new(error)?, record: None })
    }

    /// Only lines that `record` matches start a record (of any level); the others continue the record
    /// above them (`Response: …` under an x/oauth2 error, a message split over lines).
    pub fn records(mut self, record: &str) -> Result<LogFormat, regex::Error> {
        self.record = Some(Regex::new(record)?);
        Ok(self)
    }

    /// Apache httpd's error_log: `[date] [module:level] [pid N:tid N] [client a:p] message`, any
    /// module's `error`, `crit`, `alert` or `emerg` level (mod_auth_openidc writes `[auth_openidc:error]`).
    pub fn apache_error_log() -> LogFormat {
        LogFormat::new(r"^\[[^\]]*\] \[(?:[\w-]*:)?(?:error|crit|alert|emerg)\](?: \[pid [^\]]*\])?(?: [\w.]+\(\d+\):)?(?: \[client [^\]]*\])?(?: [A-Z]+\d+:)?\s*")
            .and_then(|f| f.records(r"^\[[^\]]*\] \["))
            .expect("valid pattern")
    }

    /// Go's standard `log` package: `2006/01/02 15:04:05 message` (optionally with microseconds and a
    /// `file.go:N: ` prefix). Every record is read; a line without the timestamp continues the record
    /// above it (x/oauth2 prints the response body on the next line).
    pub fn go_log() -> LogFormat {
        LogFormat::new(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? (?:[\w./-]+\.go:\d+: )?(?:ERROR:? |error: )?")
            .and_then(|f| f.records(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"))
            .expect("valid pattern")
    }

    /// Every line that is not a continuation line is an error record (a program that prints
    /// nothing but its error).
    pub fn every_line() -> LogFormat {
        LogFormat::new(r"^\s*").expect("valid pattern")
    }

    /// The chain in `lines`, if they hold a failure.
    pub fn chain<S: AsRef<str>>(&self, lines: &[S]) -> Option<ErrorChain> {
        let lines: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
        let mut blocks: Vec<Vec<String>> = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if let Some((levels, next)) = trace(&lines, i) {
                blocks.push(levels);
                i = next;
            } else if let Some(message) = self.error_message(lines[i]) {
                let mut levels = split_levels(message);
                i += 1;
                while i < lines.len() && self.continues(lines[i]) {
                    if let Some((trace_levels, next)) = trace(&lines, i) {
                        levels.extend(trace_levels);
                        i = next;
                        continue;
                    }
                    levels.extend(continuation(lines[i]));
                    i += 1;
                }
                // A trace printed right under the record is its cause.
                if let Some((trace_levels, next)) = trace(&lines, i) {
                    levels.extend(trace_levels);
                    i = next;
                }
                blocks.push(levels);
            } else {
                i += 1;
            }
        }
        let levels: Vec<String> = blocks.into_iter().rev().flatten().collect();
        (!levels.is_empty()).then_some(ErrorChain { levels })
    }

    fn error_message<'a>(&self, line: &'a str) -> Option<&'a str> {
        if is_markup(line) {
            return None;
        }
        let captures = self.error.captures(line)?;
        let message = match captures.name("message") {
            Some(message) => message.as_str(),
            None => &line[captures.get(0)?.end()..],
        };
        let message = message.trim();
        let message = message.strip_prefix("sign-in failed: ").unwrap_or(message);
        (!message.is_empty()).then_some(message)
    }

    fn continues(&self, line: &str) -> bool {
        if line.trim().is_empty() || line.starts_with("Traceback (most recent call last):") {
            return false;
        }
        match &self.record {
            Some(record) => !record.is_match(line),
            None => {
                line.starts_with([' ', '\t', '{', '}', '<'])
                    || ["Caused by: ", "Response: ", "Suppressed: "].iter().any(|p| line.starts_with(p))
            }
        }
    }
}

/// The chain in `lines` read with the [default](LogFormat::default) format.
pub fn chain_from_log<S: AsRef<str>>(lines: &[S]) -> Option<ErrorChain> {
    LogFormat::default().chain(lines)
}

/// A line of an HTML page (a proxy's error page printed inside an exception): never a record, and
/// never a level of its own.
fn is_markup(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('<') || line.starts_with("Response: <")
}

/// A continuation line as a level: `Response: {…}` → the body; markup and frames → nothing.
fn continuation(line: &str) -> Option<String> {
    let text = line.trim();
    if text.is_empty() || is_markup(text) || is_frame(line) || text == "}" || text == "{" {
        return None;
    }
    Some(text.strip_prefix("Caused by: ").unwrap_or(text).to_owned())
}

fn is_frame(line: &str) -> bool {
    let text = line.trim_start();
    line.starts_with([' ', '\t']) && (text.starts_with("at ") || text.starts_with("... ") && text.ends_with(" more"))
}

/// A one-line chain split at `: ` (keeping `curl: (56) …` together).
fn split_levels(text: &str) -> Vec<String> {
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
    levels
}

/// A trace that starts at `lines[start]`: its levels (outermost first) and the index after it.
fn trace(lines: &[&str], start: usize) -> Option<(Vec<String>, usize)> {
    if start >= lines.len() {
        return None;
    }
    python(lines, start).or_else(|| java(lines, start)).or_else(|| node(lines, start))
}

const PYTHON_TRACEBACK: &str = "Traceback (most recent call last):";
const PYTHON_CHAINS: [&str; 2] = [
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
];

/// Python: every exception of the chained tracebacks, outermost (printed last) first, each followed
/// by the causes quoted in its repr (`ProxyError('…', OSError('…'))`) and by its continuation lines
/// (urllib's `HTTPError` body printed under it).
fn python(lines: &[&str], start: usize) -> Option<(Vec<String>, usize)> {
    if !lines[start].starts_with(PYTHON_TRACEBACK) {
        return None;
    }
    // Each exception: its line and the lines that continue it.
    let mut exceptions: Vec<Vec<String>> = Vec::new();
    let mut i = start;
    let mut expecting_exception = false;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with(PYTHON_TRACEBACK) || PYTHON_CHAINS.contains(&line.trim()) {
            expecting_exception = true;
        } else if line.trim().is_empty() {
            if expecting_exception {
                i += 1;
                continue;
            }
            // A blank line separates a chain's parts; the traceback ends unless a chain line follows.
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            if !next.is_some_and(|n| PYTHON_CHAINS.contains(&n.trim()) || n.starts_with(PYTHON_TRACEBACK)) {
                i += 1;
                break;
            }
        } else if line.starts_with(' ') {
            // A frame or its source line.
        } else if expecting_exception {
            exceptions.push(vec![line.to_owned()]);
            expecting_exception = false;
        } else if let Some(last) = exceptions.last_mut().filter(|_| !is_markup(line) && !looks_like_a_record(line)) {
            last.push(line.to_owned());
        } else {
            break;
        }
        i += 1;
    }
    let mut levels = Vec::new();
    for exception in exceptions.iter().rev() {
        levels.push(exception[0].clone());
        levels.extend(nested_causes(&exception[0]));
        levels.extend(exception[1..].iter().cloned());
    }
    (!levels.is_empty()).then_some((levels, i))
}

/// A line that starts a record of its own in common formats (a level word or a timestamp first).
fn looks_like_a_record(line: &str) -> bool {
    static RECORD: OnceLock<Regex> = OnceLock::new();
    let record = RECORD.get_or_init(|| {
        Regex::new(r"^(?:\[?(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE)\b|\d{4}[-/]\d{2}[-/]\d{2}|sso-repro-rp)")
            .expect("valid pattern")
    });
    record.is_match(line)
}

/// `… (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 403')))`,
/// `('Unable to connect to proxy', OSError('…'))` → the quoted messages, outermost first.
fn nested_causes(line: &str) -> Vec<String> {
    static QUOTED: OnceLock<Regex> = OnceLock::new();
    let quoted = QUOTED.get_or_init(|| Regex::new(r#"'([^']+)'|"([^"]+)""#).expect("valid pattern"));
    let Some(start) = line.find("(Caused by ").or_else(|| line.find(": ('")).or_else(|| line.find("Error('")) else {
        return Vec::new();
    };
    quoted
        .captures_iter(&line[start..])
        .filter_map(|c| c.get(1).or_else(|| c.get(2)).map(|m| m.as_str().to_owned()))
        .collect()
}

/// Java: the exception line that starts a stack trace, then every `Caused by:` (frames skipped).
fn java(lines: &[&str], start: usize) -> Option<(Vec<String>, usize)> {
    static EXCEPTION: OnceLock<Regex> = OnceLock::new();
    let exception = EXCEPTION.get_or_init(|| {
        Regex::new(r"^([A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(Exception|Error|Throwable)(: .*)?$").expect("valid pattern")
    });
    let line = lines[start].strip_prefix("Caused by: ").unwrap_or(lines[start]);
    if !exception.is_match(line) || !lines.get(start + 1).is_some_and(|next| next.starts_with("\tat ")) {
        return None;
    }
    let mut levels = vec![line.to_owned()];
    let mut i = start + 1;
    while i < lines.len() {
        let line = lines[i];
        if let Some(cause) = line.strip_prefix("Caused by: ") {
            levels.push(cause.to_owned());
        } else if !line.starts_with('\t') && !line.starts_with("Suppressed: ") {
            break;
        }
        i += 1;
    }
    Some((levels, i))
}

/// Node: `TypeError: fetch failed` / `Error [ERR_X]: …` / `DOMException [TimeoutError]: …` followed by
/// `    at …` frames, an object dump in braces, and `[cause]: Error: …` lines.
fn node(lines: &[&str], start: usize) -> Option<(Vec<String>, usize)> {
    static ERROR: OnceLock<Regex> = OnceLock::new();
    let error = ERROR.get_or_init(|| {
        Regex::new(r"^(?:Uncaught )?(?:[A-Z]\w*)?(?:Error|Exception)(?: \[[\w]+\])?: .+").expect("valid pattern")
    });
    if !error.is_match(lines[start]) || !lines.get(start + 1).is_some_and(|next| next.starts_with("    at ")) {
        return None;
    }
    let mut levels = vec![lines[start].trim_end_matches(" {").to_owned()];
    let mut i = start + 1;
    while i < lines.len() {
        let line = lines[i];
        if let Some(cause) = line.trim_start().strip_prefix("[cause]: ") {
            levels.push(cause.trim_end_matches(" {").to_owned());
        } else if !(line.starts_with(' ') || line.trim() == "}") {
            break;
        }
        i += 1;
    }
    Some((levels, i))
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
    fn a_python_chain_without_a_second_traceback_header_and_a_body_under_the_exception_is_read_whole() {
        let log = lines(
            "Traceback (most recent call last):
  File \"/usr/lib/python3/urllib3/connectionpool.py\", line 774, in urlopen
OSError: Tunnel connection failed: 403 Forbidden

The above exception was the direct cause of the following exception:

urllib3.exceptions.ProxyError: ('Unable to connect to proxy', OSError('Tunnel connection failed: 403 Forbidden'))

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"<string>\", line 8, in <module>
urllib.error.HTTPError: HTTP Error 401: Unauthorized
{\"error\":\"invalid_client\"}",
        );
        let chain = chain_from_log(&log).unwrap();
        assert_eq!(
            chain.levels,
            [
                "urllib.error.HTTPError: HTTP Error 401: Unauthorized",
                "{\"error\":\"invalid_client\"}",
                "urllib3.exceptions.ProxyError: ('Unable to connect to proxy', OSError('Tunnel connection failed: 403 Forbidden'))",
                "Unable to connect to proxy",
                "Tunnel connection failed: 403 Forbidden",
                "OSError: Tunnel connection failed: 403 Forbidden",
            ]
        );
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
    fn every_error_line_is_read_and_the_most_specific_cause_wins() {
        // The informative line comes first; only the last one was read before.
        let log = lines(
            "ERROR oidc_util_http_call: curl_easy_perform() failed on: https://idp/token (CONNECT tunnel failed, response 403)
ERROR oidc_proto_token_endpoint_request: error when calling the token endpoint (https://idp/token)
ERROR oidc_proto_resolve_code: failed to resolve the code",
        );
        let chain = chain_from_log(&log).unwrap();
        assert_eq!(chain.wrapper(), "oidc_proto_resolve_code");
        assert_eq!(chain.root_cause(), RootCause::ProxyRefusedConnect);
    }

    #[test]
    fn a_go_error_continues_on_the_next_line() {
        let log = lines(
            "2026/12/01 18:17:25 token exchange failed: oauth2: cannot fetch token: 401 Unauthorized
Response: {\"error\":\"invalid_client\",\"error_description\":\"client authentication failed\"}",
        );
        let chain = LogFormat::go_log().chain(&log).unwrap();
        assert_eq!(chain.wrapper(), "token exchange failed");
        assert_eq!(
            chain.root(),
            "Response: {\"error\":\"invalid_client\",\"error_description\":\"client authentication failed\"}"
        );
        assert_eq!(chain.root_cause(), RootCause::InvalidClient);
    }

    #[test]
    fn a_node_error_block_gives_the_error_and_its_causes() {
        let log = lines(
            "TypeError: fetch failed
    at node:internal/deps/undici/undici:14976:13
  [cause]: Error: connect ECONNREFUSED 127.0.0.1:52293
      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {
    errno: -111,
    code: 'ECONNREFUSED'
  }
}",
        );
        let chain = chain_from_log(&log).unwrap();
        assert_eq!(chain.levels, ["TypeError: fetch failed", "Error: connect ECONNREFUSED 127.0.0.1:52293"]);
        assert_eq!(chain.root_cause(), RootCause::ConnectionRefused);
    }

    #[test]
    fn an_html_error_page_inside_an_exception_is_never_the_wrapper() {
        let log = lines(
            "ERROR token exchange failed: oauth2: cannot fetch token: 403 Forbidden
Response: <!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01//EN\">
<html><head>
<title>ERROR: The requested URL could not be retrieved</title>
<h1>ERROR</h1>
</body></html>",
        );
        let chain = chain_from_log(&log).unwrap();
        assert_eq!(chain.wrapper(), "token exchange failed");
        assert!(chain.levels.iter().all(|l| !l.contains('<')), "{:?}", chain.levels);
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
    fn an_rp_given_a_log_format_has_each_failure_read_in_it() {
        let printed = lines(
            "[Tue Dec 01 18:35:46.1 2026] [auth_openidc:error] [pid 7:tid 9] [client 127.0.0.1:4711] oidc_proto_validate_nonce: the nonce value (a) in the id_token did not match the one stored in the browser session (b)
[Tue Dec 01 18:35:46.2 2026] [auth_openidc:error] [pid 7:tid 9] [client 127.0.0.1:4711] oidc_proto_parse_idtoken: id_token payload could not be validated, aborting
sso-repro-rp: sign-in failed
[Tue Dec 01 18:35:47.1 2026] [auth_openidc:error] [pid 7:tid 9] [client 127.0.0.1:4711] oidc_util_json_string_print: oidc_util_check_json_error: response contained an \"error\" entry with value: \"\"invalid_client\"\"
sso-repro-rp: sign-in failed",
        );
        let failures = crate::command::failures_in_format(&printed, &LogFormat::apache_error_log());
        let causes: Vec<RootCause> = failures.iter().map(ErrorChain::root_cause).collect();
        assert_eq!(causes, [RootCause::NonceMismatch, RootCause::InvalidClient]);
        assert_eq!(failures[0].wrapper(), "oidc_proto_parse_idtoken");
        // Read as the default format, the lowercase level is not an error line.
        assert!(crate::command::failures_from_lines(&printed)
            .iter()
            .all(|f| f.root_cause() == RootCause::Unclassified));
    }

    #[test]
    fn nothing_that_looks_like_a_failure_gives_no_chain() {
        assert!(chain_from_log(&["INFO all good", "sso-repro-rp: signed in"]).is_none());
        assert!(LogFormat::apache_error_log()
            .chain(&["[Tue Dec 01 18:00:00 2026] [mpm_event:notice] [pid 7:tid 9] AH00489: Apache/2.4.62 configured"])
            .is_none());
    }
}
