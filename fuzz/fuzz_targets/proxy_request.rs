//! The proxy's request parser against arbitrary bytes: it never panics, a complete head lies within
//! the input and the limits, a target it accepts is well formed, and what goes into the access log is
//! printable.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The parser's own source file, so the target fuzzes exactly what the proxy runs without building
// the whole harness.
#[allow(dead_code)]
#[path = "../../harness/src/proxy/request.rs"]
mod request;

use request::{Malformed, Parsed, MAX_HEAD, MAX_REQUEST_LINE};

fuzz_target!(|data: &[u8]| {
    let line = request::printable_line(data);
    assert!(line.chars().all(|c| matches!(c, ' '..='~' | '…')), "unprintable log line {line:?}");
    assert!(line.chars().count() <= request::LOGGED_LINE + 1, "log line too long: {line:?}");
    match request::parse(data) {
        Ok(Parsed::Partial) => assert!(data.len() <= MAX_HEAD),
        Ok(Parsed::Complete(head)) => {
            assert!(head.head_len <= data.len() && head.head_len <= MAX_HEAD);
            assert!(head.target.len() <= MAX_REQUEST_LINE);
            if let Some(target) = head.target() {
                assert!(!target.host.is_empty(), "empty host from {:?}", head.target);
                assert!(!target.host.contains(['/', '@', ' ']), "host {:?}", target.host);
                if let Some(path) = &target.forward_path {
                    assert!(path.starts_with('/'), "path {path:?}");
                    assert!(!path.contains([' ', '\r', '\n']), "path {path:?}");
                }
            }
            let _ = head.basic_credentials();
        }
        Err(Malformed::LineTooLong) => assert!(data.len() > MAX_REQUEST_LINE),
        Err(malformed) => assert!([400, 414, 431].contains(&malformed.status())),
    }
});
