//! How a proxy product answers when it refuses: status line, headers, body, and whether the
//! connection stays open. Our proxy speaks as one of these personas (`[setup.proxy] persona`), so a
//! scenario can reproduce what a client behind squid or tinyproxy sees; an external proxy *is* one.
//!
//! The facts were taken from squid 5.7 and tinyproxy 1.11.1 (Debian 12) on the wire; the bodies
//! carry their markers (title, error name, signature), not the products' templates.

use serde::{Deserialize, Serialize};

/// A proxy product's way of answering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Persona {
    /// The harness's own proxy: a short HTML page, `502` for an unreachable upstream, then close.
    #[default]
    SsoRepro,
    /// squid 5.7: `Server: squid/5.7`, `X-Squid-Error`, `Via`, `503` for an unreachable upstream,
    /// and the connection kept alive after a denial or a `407`.
    Squid,
    /// tinyproxy 1.11: `403 Filtered`, `500 Unable to connect`, a `407` on `HTTP/1.0`, no
    /// `Content-Length`, then close.
    Tinyproxy,
}

/// Why the proxy refuses a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The policy denies the target with this status.
    Denied {
        /// The status the policy asks for.
        status: u16,
    },
    /// The policy wants Basic credentials (absent or wrong).
    AuthRequired {
        /// The realm named in `Proxy-Authenticate`.
        realm: String,
    },
    /// The upstream refused the connection (or could not be resolved or reached).
    UpstreamUnreachable,
    /// Not a request a proxy can serve.
    BadRequest,
}

/// The proxy's own name in `Via`, `X-Cache` and error pages.
const PROXY_NAME: &str = "proxy.sso.test";

impl Persona {
    /// Every persona, for tests and documentation.
    pub const ALL: [Persona; 3] = [Persona::SsoRepro, Persona::Squid, Persona::Tinyproxy];

    /// The persona's name in scenario files, e.g. `squid`.
    pub fn name(self) -> &'static str {
        match self {
            Persona::SsoRepro => "sso-repro",
            Persona::Squid => "squid",
            Persona::Tinyproxy => "tinyproxy",
        }
    }

    /// The status this persona answers `refusal` with.
    pub fn status(self, refusal: &Refusal) -> u16 {
        match (self, refusal) {
            (_, Refusal::Denied { status }) => *status,
            (_, Refusal::AuthRequired { .. }) => 407,
            (_, Refusal::BadRequest) => 400,
            (Persona::SsoRepro, Refusal::UpstreamUnreachable) => 502,
            (Persona::Squid, Refusal::UpstreamUnreachable) => 503,
            (Persona::Tinyproxy, Refusal::UpstreamUnreachable) => 500,
        }
    }

    /// Whether the connection stays open for the client's next request after `refusal` (squid keeps
    /// it alive after a denial and a `407`, so a client can retry with credentials on it).
    pub fn keeps_alive(self, refusal: &Refusal) -> bool {
        self == Persona::Squid && matches!(refusal, Refusal::Denied { .. } | Refusal::AuthRequired { .. })
    }

    /// The reason phrase of `status` as this persona writes it.
    pub fn reason_phrase(self, status: u16, refusal: &Refusal) -> &'static str {
        match (self, refusal) {
            (Persona::Tinyproxy, Refusal::Denied { status: 403 }) => "Filtered",
            (Persona::Tinyproxy, Refusal::UpstreamUnreachable) => "Unable to connect",
            _ => standard_phrase(status),
        }
    }

    /// The whole response for `refusal` of a request for `target`, received on `port`, at `date`
    /// (an HTTP date, e.g. `Tue, 01 Dec 2026 18:47:32 GMT`).
    pub fn response(self, refusal: &Refusal, target: &str, port: u16, date: &str) -> Vec<u8> {
        let status = self.status(refusal);
        let phrase = self.reason_phrase(status, refusal);
        let challenge = match refusal {
            // tinyproxy's realm is fixed; squid's is its `auth_param basic realm`.
            Refusal::AuthRequired { .. } if self == Persona::Tinyproxy => Some("Basic realm=\"Tinyproxy\"".to_owned()),
            Refusal::AuthRequired { realm } => Some(format!("Basic realm=\"{realm}\"")),
            _ => None,
        };
        let keep_alive = self.keeps_alive(refusal);
        let mut head = Vec::<(String, String)>::new();
        let mut add = |name: &str, value: String| head.push((name.to_owned(), value));
        let (version, body) = match self {
            Persona::SsoRepro => {
                let body = format!(
                    "<!DOCTYPE html>\n<html><head><title>{status} {phrase}</title></head>\
                     <body><h1>{status} {phrase}</h1><p>The sso-repro proxy refused this request.</p></body></html>\n"
                );
                add("Content-Type", "text/html; charset=utf-8".to_owned());
                if let Some(challenge) = challenge {
                    add("Proxy-Authenticate", challenge);
                }
                add("Content-Length", body.len().to_string());
                add("Connection", "close".to_owned());
                ("HTTP/1.1", body)
            }
            Persona::Squid => {
                let (error, errno) = squid_error(refusal);
                // A denial with another status names its page with that status (`503:ERR_ACCESS_DENIED`).
                let error = match refusal {
                    Refusal::Denied { status } if *status != 403 => format!("{status}:{error}"),
                    _ => error.to_owned(),
                };
                let heading = match refusal {
                    Refusal::AuthRequired { .. } => "Cache Access Denied",
                    _ => "The requested URL could not be retrieved",
                };
                let body = format!(
                    "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
                     <html><head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n\
                     <title>ERROR: {heading}</title>\n</head><body id={error}>\n\
                     <div id=\"titles\">\n<h1>ERROR</h1>\n<h2>{heading}</h2>\n</div>\n\
                     <hr>\n<div id=\"content\">\n<p>The following error was encountered while trying to retrieve \
                     the URL: <a href=\"{target}\">{target}</a></p>\n</div>\n<hr>\n<div id=\"footer\">\n\
                     <p>Generated {date} by {PROXY_NAME} (squid/5.7)</p>\n<!-- {error} -->\n</div>\n</body></html>\n"
                );
                add("Server", "squid/5.7".to_owned());
                add("Mime-Version", "1.0".to_owned());
                add("Date", date.to_owned());
                add("Content-Type", "text/html;charset=utf-8".to_owned());
                add("Content-Length", body.len().to_string());
                add("X-Squid-Error", format!("{error} {errno}"));
                add("Vary", "Accept-Language".to_owned());
                add("Content-Language", "en".to_owned());
                if let Some(challenge) = challenge {
                    add("Proxy-Authenticate", challenge);
                }
                // squid's answer to a failed connect has no cache, Via or Connection headers.
                if !matches!(refusal, Refusal::UpstreamUnreachable) {
                    add("X-Cache", format!("MISS from {PROXY_NAME}"));
                    add("X-Cache-Lookup", format!("NONE from {PROXY_NAME}:{port}"));
                    add("Via", format!("1.1 {PROXY_NAME} (squid/5.7)"));
                    add("Connection", if keep_alive { "keep-alive" } else { "close" }.to_owned());
                }
                ("HTTP/1.1", body)
            }
            Persona::Tinyproxy => {
                let explanation = match refusal {
                    Refusal::Denied { .. } => "The request you made has been filtered",
                    Refusal::AuthRequired { .. } => "This proxy requires authentication.",
                    Refusal::UpstreamUnreachable => "Tinyproxy was unable to connect to the remote web server.",
                    Refusal::BadRequest => "Could not retrieve all the headers from the client.",
                };
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.1//EN\" \
                     \"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd\">\n<html>\n<head><title>{status} {phrase}</title>\
                     </head>\n<body>\n<h1>{phrase}</h1>\n<p>{explanation}</p>\n<hr />\n<p><em>Generated by tinyproxy \
                     version 1.11.1.</em></p>\n</body>\n</html>\n"
                );
                add("Server", "tinyproxy/1.11.1".to_owned());
                add("Content-Type", "text/html".to_owned());
                if let Some(challenge) = challenge {
                    add("Proxy-Authenticate", challenge);
                }
                add("Connection", "close".to_owned());
                let version = if status == 407 { "HTTP/1.0" } else { "HTTP/1.1" };
                (version, body)
            }
        };
        let mut response = format!("{version} {status} {phrase}\r\n");
        for (name, value) in head {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        response.into_bytes()
    }
}

/// squid's error page name and errno for a refusal.
fn squid_error(refusal: &Refusal) -> (&'static str, u16) {
    match refusal {
        Refusal::Denied { .. } => ("ERR_ACCESS_DENIED", 0),
        Refusal::AuthRequired { .. } => ("ERR_CACHE_ACCESS_DENIED", 0),
        Refusal::UpstreamUnreachable => ("ERR_CONNECT_FAIL", 111),
        Refusal::BadRequest => ("ERR_INVALID_REQ", 0),
    }
}

/// The standard reason phrase.
fn standard_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Now as an HTTP date.
pub fn http_date() -> String {
    chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

impl std::fmt::Display for Persona {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
