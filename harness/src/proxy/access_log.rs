//! The proxy's access log: one entry per request it answered (or refused to answer), bounded so a
//! long-running party process cannot grow it without limit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::log::PartyLog;

/// How many entries the access log keeps; older ones are dropped (and counted).
pub const ACCESS_LOG_CAPACITY: usize = 10_000;

/// One line of the proxy's access log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProxyEntry {
    /// `CONNECT`, the forwarded method, or `-` when the request could not be read.
    pub method: String,
    /// `host:port` for CONNECT, the absolute URL otherwise; for a malformed request its first line,
    /// printable and shortened.
    pub target: String,
    /// The status the proxy answered (200 for an established tunnel; 0 when it never answered).
    pub status: u16,
    /// Why: `allowed`, `denied by policy`, `upstream unreachable: …`, `malformed request: …`, …
    pub reason: String,
}

impl std::fmt::Display for ProxyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            0 => write!(f, "{} {} → no answer ({})", self.method, self.target, self.reason),
            status => {
                write!(f, "{} {} → {status} {} ({})", self.method, self.target, reason_phrase(status), self.reason)
            }
        }
    }
}

/// The entries, shared between the proxy's connections and its handle.
#[derive(Clone, Debug)]
pub(crate) struct AccessLog {
    inner: Arc<Mutex<Bounded>>,
    log: PartyLog,
}

#[derive(Debug, Default)]
struct Bounded {
    entries: VecDeque<ProxyEntry>,
    dropped: u64,
}

impl AccessLog {
    pub(crate) fn new(log: PartyLog) -> AccessLog {
        AccessLog { inner: Arc::default(), log }
    }

    /// Records an entry and writes it to the party log.
    pub(crate) fn record(&self, method: &str, target: &str, status: u16, reason: &str) {
        let entry =
            ProxyEntry { method: method.to_owned(), target: target.to_owned(), status, reason: reason.to_owned() };
        self.log.info(entry.to_string());
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.entries.len() == ACCESS_LOG_CAPACITY {
            inner.entries.pop_front();
            inner.dropped += 1;
        }
        inner.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<ProxyEntry> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entries.iter().cloned().collect()
    }

    /// How many entries were dropped to keep the log within [`ACCESS_LOG_CAPACITY`].
    pub(crate) fn dropped(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).dropped
    }

    pub(crate) fn party_log(&self) -> &PartyLog {
        &self.log
    }
}

/// The standard reason phrase, as real proxies send it.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_log_keeps_the_newest_entries_within_its_capacity() {
        let log = AccessLog::new(PartyLog::new("proxy-test"));
        for n in 0..ACCESS_LOG_CAPACITY + 5 {
            log.record("CONNECT", &format!("h{n}:1"), 403, "denied by policy");
        }
        let entries = log.entries();
        assert_eq!(entries.len(), ACCESS_LOG_CAPACITY);
        assert_eq!(entries[0].target, "h5:1");
        assert_eq!(log.dropped(), 5);
        assert!(log.party_log().lines().len() <= crate::log::LOG_CAPACITY);
    }
}
