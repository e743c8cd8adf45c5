//! Reading a proxy's own access log into the harness's [`ProxyEntry`]s, so `proxy.answered` means the
//! same whoever the proxy is. squid's native format first:
//!
//! ```text
//! 1796150852.260      0 127.0.0.1 TCP_DENIED/403 3461 CONNECT idp.sso.test:443 - HIER_NONE/- text/html
//! ```
//!
//! time (s.ms, when the transaction ended), elapsed ms, client, result code/status, bytes, method,
//! URL (`host:port` for CONNECT), user, hierarchy/peer, content type.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::proxy::ProxyEntry;

/// The formats the harness can read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LogFormat {
    /// squid's `logformat squid` (the default of `access_log`).
    #[default]
    Squid,
}

/// Where a proxy writes its access log and in which format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLog {
    /// The log file, as the harness sees it.
    pub path: PathBuf,
    /// The log's line format; default: squid's.
    #[serde(default)]
    pub format: LogFormat,
}

/// An access log that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessLogError {
    #[error("cannot read the proxy's access log {}", path.display())]
    /// The log file could not be read.
    Read {
        /// The log file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    #[error("line {line} of the proxy's access log {} is not in {format:?} format: {text:?}", path.display())]
    /// A line is not in the expected format.
    Format {
        /// The log file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// The format it was read as.
        format: LogFormat,
        /// The line itself.
        text: String,
    },
}

/// One transaction as squid logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SquidRecord {
    /// When it began, in milliseconds since the epoch (logged end minus elapsed).
    pub started_ms: u64,
    /// `TCP_DENIED`, `TCP_TUNNEL`, `NONE_NONE`, …
    pub result: String,
    /// The status squid answered with (0 when it sent none: squid logs `000`).
    pub status: u16,
    /// The request method, e.g. `CONNECT`.
    pub method: String,
    /// The requested URL, or `host:port` for a `CONNECT`.
    pub url: String,
    /// `HIER_NONE/-`, `HIER_DIRECT/127.0.0.1`, …
    pub hierarchy: String,
}

impl SquidRecord {
    /// Parses one line of the native format; `None` when it is not one.
    pub fn parse(line: &str) -> Option<SquidRecord> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [time, elapsed, _client, code, _bytes, method, url, _user, hierarchy, ..] = fields.as_slice() else {
            return None;
        };
        let (seconds, millis) = time.split_once('.')?;
        let ended_ms = seconds.parse::<u64>().ok()? * 1000 + millis.parse::<u64>().ok()?;
        let (result, status) = code.split_once('/')?;
        Some(SquidRecord {
            started_ms: ended_ms.saturating_sub(elapsed.parse().ok()?),
            result: result.to_owned(),
            status: status.parse().ok()?,
            method: (*method).to_owned(),
            url: (*url).to_owned(),
            hierarchy: (*hierarchy).to_owned(),
        })
    }

    /// The record as the harness's entry. squid logs a reset as status 000, as ours records 0.
    pub fn entry(&self) -> ProxyEntry {
        ProxyEntry {
            method: self.method.clone(),
            target: self.url.clone(),
            status: self.status,
            reason: format!("squid: {} {}", self.result, self.hierarchy),
        }
    }
}

impl AccessLog {
    /// The file's length now: [`AccessLog::entries_since`] reads only what comes after it.
    pub fn mark(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// The entries written after `mark`, in the order the requests began. A connection that closed
    /// before sending a request (squid: `error:transaction-end-before-headers`, method `-`) is no
    /// request and is left out.
    pub fn entries_since(&self, mark: u64) -> Result<Vec<ProxyEntry>, AccessLogError> {
        let text = match std::fs::read(&self.path) {
            Ok(bytes) => String::from_utf8_lossy(bytes.get(mark as usize..).unwrap_or_default()).into_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(AccessLogError::Read { path: self.path.clone(), source }),
        };
        parse(&self.path, self.format, &text)
    }
}

fn parse(path: &Path, format: LogFormat, text: &str) -> Result<Vec<ProxyEntry>, AccessLogError> {
    let LogFormat::Squid = format;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record = SquidRecord::parse(line).ok_or_else(|| AccessLogError::Format {
            path: path.to_owned(),
            line: i + 1,
            format,
            text: line.to_owned(),
        })?;
        if record.method != "-" {
            records.push(record);
        }
    }
    // squid logs a tunnel when it closes; the harness orders by when each began (stable for ties).
    records.sort_by_key(|r| r.started_ms);
    Ok(records.iter().map(SquidRecord::entry).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squid_lines_become_entries_in_the_order_the_requests_began() {
        let text = "\
1796150873.184   1035 127.0.0.1 TCP_TUNNEL/200 39 CONNECT auth.sso.test:39128 svc HIER_DIRECT/127.0.0.1 -
1796150873.184      0 127.0.0.1 NONE_NONE/000 0 - error:transaction-end-before-headers - HIER_NONE/- -
1796150872.260      0 127.0.0.1 TCP_DENIED/403 3461 CONNECT idp.sso.test:443 - HIER_NONE/- text/html
1796150874.740      0 127.0.0.1 TCP_DENIED/000 0 CONNECT idp2.sso.test:443 - HIER_NONE/- -
";
        let entries = parse(Path::new("access.log"), LogFormat::Squid, text).unwrap();
        let shown: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            shown,
            [
                "CONNECT auth.sso.test:39128 → 200 OK (squid: TCP_TUNNEL HIER_DIRECT/127.0.0.1)",
                "CONNECT idp.sso.test:443 → 403 Forbidden (squid: TCP_DENIED HIER_NONE/-)",
                "CONNECT idp2.sso.test:443 → no answer (squid: TCP_DENIED HIER_NONE/-)",
            ]
        );
    }

    #[test]
    fn a_line_in_another_format_is_named() {
        let error = parse(Path::new("/var/log/squid/access.log"), LogFormat::Squid, "GET / 200\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 1 of the proxy's access log /var/log/squid/access.log is not in Squid format: \"GET / 200\""
        );
    }
}
