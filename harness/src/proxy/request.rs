//! Reading a proxy request head with `httparse`: what a client asked for, or why the proxy answers
//! 400, 414 or 431 the way real proxies do. Pure functions over bytes, so the fuzz target can drive
//! them (`fuzz/fuzz_targets/proxy_request.rs` compiles this file as a module of its own).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The longest request line the proxy reads before answering 414 URI Too Long.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The largest request head the proxy reads before answering 431 Request Header Fields Too Large.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most header fields a head may have (more: 431).
pub const MAX_HEADERS: usize = 64;
/// How many characters of a malformed request line go into the access log (then `…`).
pub const LOGGED_LINE: usize = 120;

/// A complete, well-formed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (`host:port` for CONNECT, an absolute URL otherwise).
    pub target: String,
    /// The minor version of HTTP/1.x.
    pub version: u8,
    /// Header fields in order; values as bytes (they need not be UTF-8).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The length of the head in bytes; what follows is the start of a body or of tunnelled bytes.
    pub head_len: usize,
}

/// Why a head is refused; each maps to the status a real proxy answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    #[error("request line longer than {MAX_REQUEST_LINE} bytes")]
    LineTooLong,
    #[error("request head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("more than {MAX_HEADERS} header fields")]
    TooManyHeaders,
    #[error("malformed request: {0}")]
    Invalid(&'static str),
}

impl Malformed {
    /// The status the proxy answers.
    pub fn status(&self) -> u16 {
        match self {
            Malformed::LineTooLong => 414,
            Malformed::HeadTooLarge | Malformed::TooManyHeaders => 431,
            Malformed::Invalid(_) => 400,
        }
    }
}

/// What the bytes read so far amount to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    Complete(Request),
}

/// Parses the bytes a client sent so far. Lines may end in CRLF or a bare LF.
pub fn parse(buf: &[u8]) -> Result<Parsed, Malformed> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    if line_end.unwrap_or(buf.len()) > MAX_REQUEST_LINE {
        return Err(Malformed::LineTooLong);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let status = match request.parse(buf) {
        Ok(status) => status,
        Err(httparse::Error::TooManyHeaders) => return Err(Malformed::TooManyHeaders),
        Err(error) => return Err(Malformed::Invalid(invalid(error))),
    };
    let head_len = match status {
        httparse::Status::Partial if buf.len() > MAX_HEAD => return Err(Malformed::HeadTooLarge),
        httparse::Status::Partial => return Ok(Parsed::Partial),
        httparse::Status::Complete(_) if line_end.is_none() => return Err(Malformed::Invalid("no request line")),
        httparse::Status::Complete(len) if len > MAX_HEAD => return Err(Malformed::HeadTooLarge),
        httparse::Status::Complete(len) => len,
    };
    let (Some(method), Some(target), Some(version)) = (request.method, request.path, request.version) else {
        return Err(Malformed::Invalid("incomplete request line"));
    };
    let headers = request.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();
    Ok(Parsed::Complete(Request { method: method.to_owned(), target: target.to_owned(), version, headers, head_len }))
}

fn invalid(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid method or target",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// The origin-form path to forward; `None` for a CONNECT tunnel.
    pub forward_path: Option<String>,
}

impl Target {
    /// `host:port` for a tunnel (IPv6 literals in brackets).
    pub fn authority(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }
}

impl Request {
    /// The first header field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    pub fn is_connect(&self) -> bool {
        self.method == "CONNECT"
    }

    /// Where the request goes: `CONNECT host:port` or an absolute `http://` URL; `None` for anything
    /// else (an origin-form request, another scheme, a target without a valid host or port).
    pub fn target(&self) -> Option<Target> {
        if self.is_connect() {
            let url = url::Url::parse(&format!("http://{}", self.target)).ok()?;
            // Exactly an authority: no user info, path, query or fragment, and an explicit port.
            let authority_only = url.username().is_empty()
                && url.password().is_none()
                && url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
                && !self.target.ends_with('/');
            let port = self.target.rsplit_once(':')?.1.parse::<u16>().ok()?;
            if !authority_only || url.port_or_known_default() != Some(port) {
                return None;
            }
            let host = url.host_str()?.trim_matches(['[', ']']).to_owned();
            return Some(Target { host, port, forward_path: None });
        }
        let url = url::Url::parse(&self.target).ok()?;
        if url.scheme() != "http" || !self.target.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")) {
            return None;
        }
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let host = url.host_str()?.trim_matches(['[', ']']).to_owned();
        Some(Target { host, port: url.port_or_known_default()?, forward_path: Some(path) })
    }

    /// The Basic credentials in `Proxy-Authorization` (the scheme is case-insensitive).
    pub fn basic_credentials(&self) -> Option<(String, String)> {
        let value = std::str::from_utf8(self.header("proxy-authorization")?).ok()?.trim();
        let (scheme, credentials) = value.split_once(|c: char| c.is_ascii_whitespace())?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(credentials.trim()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

/// The first line of what a client sent, printable for the access log: everything but printable
/// ASCII is escaped (`\u{16}`, `\xfc` for bytes that are not UTF-8), and it is cut at a fixed length.
pub fn printable_line(buf: &[u8]) -> String {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    printable(line)
}

/// `bytes` as printable text (see [`printable_line`]): at most [`LOGGED_LINE`] characters, and `…`
/// when cut.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut push = |piece: &str| {
        let len = piece.chars().count();
        if count + len > LOGGED_LINE {
            out.push('…');
            return false;
        }
        out.push_str(piece);
        count += len;
        true
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            // Only printable ASCII as itself: no control, line-separator or bidi characters reach a log.
            let piece = match c {
                ' '..='~' => c.to_string(),
                c => c.escape_default().to_string(),
            };
            if !push(&piece) {
                return out;
            }
        }
        for byte in chunk.invalid() {
            if !push(&format!("\\x{byte:02x}")) {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> Request {
        match parse(bytes) {
            Ok(Parsed::Complete(request)) => request,
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn a_connect_head_with_crlf_or_bare_lf_is_complete() {
        for head in [
            "CONNECT idp.sso.test:443 HTTP/1.1\r\nHost: x\r\n\r\nrest",
            "CONNECT idp.sso.test:443 HTTP/1.1\nHost: x\n\nrest",
        ] {
            let request = complete(head.as_bytes());
            assert_eq!((request.method.as_str(), request.target.as_str()), ("CONNECT", "idp.sso.test:443"));
            assert_eq!(&head.as_bytes()[request.head_len..], b"rest");
            let target = request.target().unwrap();
            assert_eq!((target.host.as_str(), target.port, target.forward_path), ("idp.sso.test", 443, None));
        }
    }

    #[test]
    fn a_head_without_its_blank_line_is_partial() {
        assert_eq!(parse(b"CONNECT idp.sso.test:443 HTTP/1.1\r\nHost: x\r\n"), Ok(Parsed::Partial));
    }

    #[test]
    fn oversized_lines_and_heads_get_414_and_431() {
        let long_line = format!("GET http://x/{} HTTP/1.1", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse(long_line.as_bytes()).unwrap_err().status(), 414);
        let big_head = format!("GET http://x/ HTTP/1.1\r\n{}", "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(600));
        assert_eq!(parse(&big_head.as_bytes()[..MAX_HEAD + 1]).unwrap_err().status(), 431);
        let many = format!("GET http://x/ HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(parse(many.as_bytes()).unwrap_err(), Malformed::TooManyHeaders);
    }

    #[test]
    fn garbage_is_a_400_and_prints_escaped() {
        let garbage = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n";
        assert_eq!(parse(garbage).unwrap_err().status(), 400);
        assert_eq!(printable_line(garbage), r"\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\u{0}\u{1}\xfc\u{3}\u{3} hello");
        let long = printable(&[0xf4; 500]);
        assert_eq!((long.chars().count(), long.ends_with('…')), (LOGGED_LINE + 1, true), "{long}");
    }

    #[test]
    fn targets_are_connect_authorities_or_absolute_http_urls() {
        let target = |line: &str| complete(format!("{line}\r\n\r\n").as_bytes()).target();
        assert_eq!(target("CONNECT [::1]:8443 HTTP/1.1").unwrap().authority(), "[::1]:8443");
        let forward = target("GET http://rp.sso.test:8080/cb?x=1 HTTP/1.1").unwrap();
        assert_eq!(forward.forward_path.as_deref(), Some("/cb?x=1"));
        for refused in [
            "GET /origin-form HTTP/1.1",
            "GET https://idp.sso.test/ HTTP/1.1",
            "CONNECT idp.sso.test HTTP/1.1",
            "CONNECT idp.sso.test:99999 HTTP/1.1",
            "CONNECT user:pw@idp.sso.test:443 HTTP/1.1",
            "CONNECT idp.sso.test:443/path HTTP/1.1",
        ] {
            assert_eq!(target(refused), None, "{refused}");
        }
    }

    #[test]
    fn basic_credentials_are_read_whatever_the_scheme_case() {
        for scheme in ["Basic", "basic", "BASIC"] {
            let head = format!("CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: {scheme} dTpwdw==\r\n\r\n");
            assert_eq!(complete(head.as_bytes()).basic_credentials(), Some(("u".into(), "pw".into())));
        }
    }
}
