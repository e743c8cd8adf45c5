//! What a party wrote, line by line. Every line goes through [`crate::redact::secrets`] before it is
//! stored or emitted as a `tracing` event, so logs never hold a secret.

use std::sync::{Arc, Mutex, OnceLock};

/// The party whose lines this process also prints to stdout (a container's log).
static ECHO: OnceLock<&'static str> = OnceLock::new();

/// Prints every line `party` logs to stdout from now on (in the `sso-party` process).
pub fn echo_to_stdout(party: &'static str) {
    let _ = ECHO.set(party);
}

/// The log of one party (`idp`, `proxy`, `rp`), shared between the party's tasks and the test.
#[derive(Clone, Debug)]
pub struct PartyLog {
    party: &'static str,
    lines: Arc<Mutex<Vec<String>>>,
}

impl PartyLog {
    pub fn new(party: &'static str) -> PartyLog {
        PartyLog { party, lines: Arc::default() }
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
        if ECHO.get() == Some(&self.party) {
            println!("{line}");
        }
        self.lines.lock().expect("log lock").push(line);
    }

    /// The lines written so far, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
    }
}
