//! Our proxy's personas against the real products, on the wire: the same request to squid 5.7 and
//! to our proxy speaking as `squid` (and to tinyproxy 1.11 and our `tinyproxy`) must give the same
//! status line, the same headers in the same order (values too, but for the date, the body's
//! length and the port), the same error markers in the body, and the same keep-alive behaviour.
//! `.ci/run` installs both products.

use std::time::Duration;

use sso_harness::external::{Persona, Squid};
use sso_harness::{Decision, Hosts, Proxy, ProxyPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer as a client sees it.
#[derive(Debug)]
struct Answer {
    status_line: String,
    headers: Vec<(String, String)>,
    body: String,
    /// Whether the proxy answered a second request on the same connection.
    kept_alive: bool,
}

const BOUND: Duration = Duration::from_secs(3);

async fn read_response(stream: &mut TcpStream) -> Option<(String, Vec<(String, String)>, String)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let mut body = buf[head_end + 4..].to_vec();
    let length =
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.parse().unwrap());
    match length {
        Some(length) => {
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let n = tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.ok()?.ok()?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            let _ = tokio::time::timeout(BOUND, stream.read_to_end(&mut body)).await;
        }
    }
    Some((status_line, headers, String::from_utf8_lossy(&body).into_owned()))
}

async fn ask(port: u16, request: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status_line, headers, body) = read_response(&mut stream).await.expect("an answer");
    let kept_alive = stream.write_all(request.as_bytes()).await.is_ok() && read_response(&mut stream).await.is_some();
    Answer { status_line, headers, body, kept_alive }
}

fn connect(target: &str) -> String {
    format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")
}

/// The header names in order, and their values but for those that vary per answer.
fn comparable(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .iter()
        .map(|(name, value)| match name.to_ascii_lowercase().as_str() {
            "date" | "content-length" | "x-cache-lookup" => name.clone(),
            _ => format!("{name}: {value}"),
        })
        .collect()
}

fn title(body: &str) -> &str {
    body.split_once("<title>").and_then(|(_, rest)| rest.split_once("</title>")).map_or("", |(t, _)| t)
}

async fn ours(policy: ProxyPolicy, persona: Persona) -> Proxy {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Proxy::bind_persona(addr, policy, Hosts::harness(), "", persona).await.unwrap()
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "current_thread")]
async fn our_squid_persona_answers_deny_auth_and_refused_upstream_as_squid_does() {
    let auth = Decision::RequireAuth { user: "svc".into(), password: "test-only-pw".into() };
    let policy =
        ProxyPolicy::allow_all().deny("idp.sso.test", 403).deny("keys.sso.test", 503).rule("rp.sso.test", auth);
    let squid =
        Squid::start(&policy, &["idp.sso.test", "keys.sso.test", "rp.sso.test", "proxy.sso.test"]).await.unwrap();
    let proxy = ours(policy, Persona::Squid).await;
    let refused = format!("proxy.sso.test:{}", closed_port());
    for target in ["idp.sso.test:443", "keys.sso.test:443", "rp.sso.test:443", refused.as_str()] {
        let theirs = ask(squid.port(), &connect(target)).await;
        let mine = ask(proxy.addr().port(), &connect(target)).await;
        assert_eq!(mine.status_line, theirs.status_line, "{target}");
        assert_eq!(comparable(&mine), comparable(&theirs), "{target}");
        assert_eq!(title(&mine.body), title(&theirs.body), "{target}");
        let marker =
            |body: &str| body.lines().find(|l| l.starts_with("<!-- ") && l.contains("ERR_")).map(str::to_owned);
        assert_eq!(marker(&mine.body), marker(&theirs.body), "{target}");
        assert_eq!(mine.kept_alive, theirs.kept_alive, "{target}: keep-alive after the refusal");
    }
}

/// tinyproxy 1.11 with a filter and Basic auth, on an ephemeral port; killed when dropped.
struct Tinyproxy {
    port: u16,
    _child: tokio::process::Child,
    dir: std::path::PathBuf,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn tinyproxy(extra: &str) -> Tinyproxy {
    let dir = std::env::temp_dir().join(format!("sso-repro-tinyproxy-{}-{}", std::process::id(), closed_port()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("filter"), "^127\\.0\\.0\\.2$\n").unwrap();
    let port = closed_port();
    let conf = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 5\nMaxClients 10\nFilter \"{}\"\nFilterExtended On\n{extra}\n",
        dir.join("filter").display()
    );
    std::fs::write(dir.join("tinyproxy.conf"), conf).unwrap();
    let child = tokio::process::Command::new("tinyproxy")
        .arg("-d")
        .arg("-c")
        .arg(dir.join("tinyproxy.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("tinyproxy is installed (apt-get install tinyproxy)");
    // Ready when it accepts (bounded; a refused connect returns at once).
    let deadline = std::time::Instant::now() + BOUND;
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "tinyproxy did not listen within {BOUND:?}");
        tokio::task::yield_now().await;
    }
    Tinyproxy { port, _child: child, dir }
}

#[tokio::test(flavor = "current_thread")]
async fn our_tinyproxy_persona_answers_filter_auth_and_refused_upstream_as_tinyproxy_does() {
    let filtering = tinyproxy("").await;
    let authenticating = tinyproxy("BasicAuth svc test-only-pw").await;
    let auth = Decision::RequireAuth { user: "svc".into(), password: "test-only-pw".into() };
    let deny = ours(ProxyPolicy::allow_all().deny("127.0.0.2", 403), Persona::Tinyproxy).await;
    let authenticate = ours(ProxyPolicy::allow_all().rule("127.0.0.1", auth), Persona::Tinyproxy).await;
    let refused = format!("127.0.0.1:{}", closed_port());
    let cases = [
        (filtering.port, deny.addr().port(), "127.0.0.2:443".to_owned()),
        (filtering.port, deny.addr().port(), refused.clone()),
        (authenticating.port, authenticate.addr().port(), refused),
    ];
    for (theirs, mine, target) in cases {
        let theirs = ask(theirs, &connect(&target)).await;
        let mine = ask(mine, &connect(&target)).await;
        assert_eq!(mine.status_line, theirs.status_line, "{target}");
        assert_eq!(comparable(&mine), comparable(&theirs), "{target}");
        assert_eq!(title(&mine.body), title(&theirs.body), "{target}");
        assert_eq!(mine.kept_alive, theirs.kept_alive, "{target}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn our_own_persona_differs_from_both_where_the_catalog_says() {
    let refused = format!("127.0.0.1:{}", closed_port());
    let mine = ask(ours(ProxyPolicy::allow_all(), Persona::SsoRepro).await.addr().port(), &connect(&refused)).await;
    assert_eq!(mine.status_line, "HTTP/1.1 502 Bad Gateway");
    assert!(!mine.kept_alive);
    assert!(mine.headers.iter().all(|(n, _)| n != "Server" && n != "Via"), "{:?}", mine.headers);
}
