//! What a party wrote, line by line. Every line goes through [`crate::redact::secrets`] before it is
//! stored or emitted as a `tracing` event, so logs never hold a secret.

use std::sync::{Arc, Mutex};

/// The log of one party (`idp`, `proxy`, `rp`), shared between the party's tasks and the test.
#[derive(Clone, Debug)]
pub struct PartyLog {
    party: &'static str,
    lines: Arc<Mutex<Vec<String>>>,
}

impl PartyLog {
    pub fn new(party: &'static str) -> PartyLog {
        PartyLog {
            party,
            lines: Arc::default(),
        }
    }

    pub fn info(&self, message: impl AsRef<str>) {
        let line = crate::redact::secrets(message.as_ref());
        tracing::info!(party = self.party, "{line}");
        self.push(format!("INFO  {line}"));
    }

    pub fn error(&self, message: impl AsRef<str>) {
        let line = crate::redact::secrets(message.as_ref());
        tracing::error!(party = self.party, "{line}");
        self.push(format!("ERROR {line}"));
    }

    fn push(&self, line: String) {
        self.lines.lock().expect("log lock").push(line);
    }

    /// The lines written so far, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
    }
}
