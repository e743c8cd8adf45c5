//! What a party wrote, line by line. Every line goes through [`crate::redact::secrets`] before it is
//! stored or emitted as a `tracing` event, so logs never hold a secret. A log keeps at most
//! [`LOG_CAPACITY`] lines (the oldest go first), so a long-running party process stays bounded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How many lines a party log keeps.
pub const LOG_CAPACITY: usize = 10_000;

/// The party whose lines this process also prints to stdout (a container's log).
static ECHO: OnceLock<&'static str> = OnceLock::new();

/// Prints every line `party` logs to stdout from now on (in the `sso-party` process).
pub(crate) fn echo_to_stdout(party: &'static str) {
    let _ = ECHO.set(party);
}

/// The log of one party (`idp`, `proxy`, `rp`), shared between the party's tasks and the test.
#[derive(Clone, Debug)]
pub struct PartyLog {
    party: &'static str,
    lines: Arc<Mutex<VecDeque<String>>>,
    /// How many lines were ever written; waiters watch it.
    written: Arc<tokio::sync::watch::Sender<u64>>,
}

impl PartyLog {
    /// An empty log for `party`.
    pub fn new(party: &'static str) -> PartyLog {
        PartyLog { party, lines: Arc::default(), written: Arc::new(tokio::sync::watch::Sender::new(0)) }
    }

    /// Records `message`, secrets redacted, as an `INFO` line and a `tracing` info event.
    pub fn info(&self, message: impl AsRef<str>) {
        let line = crate::redact::secrets(message.as_ref());
        tracing::info!(party = self.party, "{line}");
        self.push(format!("INFO  {line}"));
    }

    /// Records `message`, secrets redacted, as an `ERROR` line and a `tracing` error event.
    pub fn error(&self, message: impl AsRef<str>) {
        let line = crate::redact::secrets(message.as_ref());
        tracing::error!(party = self.party, "{line}");
        self.push(format!("ERROR {line}"));
    }

    fn push(&self, line: String) {
        if ECHO.get() == Some(&self.party) {
            println!("{line}");
        }
        {
            let mut lines = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if lines.len() == LOG_CAPACITY {
                lines.pop_front();
            }
            lines.push_back(line);
        }
        self.written.send_modify(|written| *written += 1);
    }

    /// The lines written so far, oldest first (at most [`LOG_CAPACITY`]).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect()
    }

    /// Waits, at most `within`, until a line matching `wanted` has been written; returns it.
    pub async fn wait_for(&self, within: Duration, mut wanted: impl FnMut(&str) -> bool) -> Option<String> {
        let mut written = self.written.subscribe();
        let found = async {
            loop {
                if let Some(line) = self.lines().into_iter().find(|line| wanted(line)) {
                    return line;
                }
                // The sender lives as long as `self`, so this only returns once a line was written.
                let _ = written.changed().await;
            }
        };
        tokio::time::timeout(within, found).await.ok()
    }
}
