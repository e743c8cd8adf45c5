//! The proxy against hostile or broken clients, and its lifetimes: malformed heads answered the way
//! real proxies answer them, bounded hangs and tunnels, connections that end with the proxy, and an
//! accept loop that survives running out of file descriptors.

mod common;

use std::time::Duration;

use common::closed_within;
use sso_harness::proxy::{Decision, ProxyConfig, ProxyLimits, ProxyPolicy};
use sso_harness::{Hosts, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long anything in these tests may take.
const BOUND: Duration = Duration::from_secs(2);

async fn proxy_with(policy: ProxyPolicy, limits: ProxyLimits) -> Proxy {
    let config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), policy, Hosts::harness()).limits(limits);
    Proxy::start_with(config).await.unwrap()
}

async fn allow_all() -> Proxy {
    proxy_with(ProxyPolicy::allow_all(), ProxyLimits::default()).await
}

/// Sends `request` and returns everything the proxy answers until it closes.
async fn exchange(proxy: &Proxy, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Connects and opens a CONNECT tunnel (answered 200) to a listener that accepts and holds it.
async fn open_tunnel(proxy: &Proxy) -> (TcpStream, TcpStream) {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = upstream.local_addr().unwrap().port();
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    client.write_all(format!("CONNECT idp.sso.test:{port} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
    let (held, _) = tokio::time::timeout(BOUND, upstream.accept()).await.unwrap().unwrap();
    let mut answer = [0u8; 39];
    tokio::time::timeout(BOUND, client.read_exact(&mut answer)).await.unwrap().unwrap();
    assert_eq!(&answer[..], b"HTTP/1.1 200 Connection established\r\n\r\n");
    (client, held)
}

/// Sends a CONNECT the policy hangs, and waits until the proxy logged it.
async fn hung_connect(proxy: &Proxy) -> TcpStream {
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    client.write_all(b"CONNECT idp.sso.test:443 HTTP/1.1\r\n\r\n").await.unwrap();
    proxy.log().wait_for(BOUND, |line| line.contains("policy: hang")).await.expect("the proxy logged the hang");
    client
}

fn hanging() -> ProxyPolicy {
    ProxyPolicy::allow_all().rule("idp.sso.test", Decision::Hang)
}

mod malformed_requests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn garbage_gets_400_and_a_printable_access_log_entry() {
        let proxy = allow_all().await;

        let answer = exchange(&proxy, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n").await;

        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        let entry = &proxy.entries()[0];
        assert_eq!((entry.method.as_str(), entry.status), ("-", 400));
        assert_eq!(entry.target, r"\u{16}\u{3}\u{1}\u{0}\xa5\u{1}\u{0}\u{0}\xa1\u{3}\u{3}");
        assert!(entry.reason.starts_with("malformed request: "), "{entry:?}");
        let line = &proxy.log().lines()[0];
        assert!(line.chars().all(|c| !c.is_control()), "{line:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_oversized_request_line_gets_414() {
        let proxy = allow_all().await;
        let request = format!("GET http://rp.sso.test/{} HTTP/1.1\r\n\r\n", "a".repeat(9000));

        let answer = exchange(&proxy, request.as_bytes()).await;

        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{answer}");
        assert_eq!(proxy.entries()[0].status, 414);
        assert!(proxy.entries()[0].target.chars().count() < 200, "the logged line is shortened");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_oversized_head_gets_431() {
        let proxy = allow_all().await;
        let request =
            format!("CONNECT idp.sso.test:443 HTTP/1.1\r\n{}\r\n", "X-Filler: 0123456789abcdef\r\n".repeat(700));

        let answer = exchange(&proxy, request.as_bytes()).await;

        assert!(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{answer}");
        assert_eq!(proxy.entries()[0].method, "-");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_origin_form_request_gets_400() {
        let proxy = allow_all().await;

        let answer = exchange(&proxy, b"GET /index.html HTTP/1.1\r\nHost: proxy\r\n\r\n").await;

        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        assert_eq!(proxy.entries()[0].reason, "not a proxy request");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_head_with_bare_lf_line_ends_is_understood() {
        let proxy = proxy_with(ProxyPolicy::allow_all().deny("idp.sso.test", 403), ProxyLimits::default()).await;

        let answer = exchange(&proxy, b"CONNECT idp.sso.test:443 HTTP/1.1\nHost: idp.sso.test:443\n\n").await;

        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert_eq!(proxy.entries()[0].target, "idp.sso.test:443");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_basic_scheme_is_case_insensitive() {
        let decision = Decision::RequireAuth { user: "u".into(), password: "pw".into() };
        let proxy = proxy_with(ProxyPolicy::allow_all().rule("idp.sso.test", decision), ProxyLimits::default()).await;
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = upstream.local_addr().unwrap().port();

        let request = format!("CONNECT idp.sso.test:{port} HTTP/1.1\r\nProxy-Authorization: bAsIc dTpwdw==\r\n\r\n");
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = [0u8; 12];
        tokio::time::timeout(BOUND, client.read_exact(&mut answer)).await.unwrap().unwrap();

        assert_eq!(&answer, b"HTTP/1.1 200");
        assert_eq!(proxy.entries()[0].reason, "allowed");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connect_to_the_proxy_itself_is_refused() {
        let proxy = allow_all().await;
        let port = proxy.addr().port();

        for target in [format!("127.0.0.1:{port}"), format!("proxy.sso.test:{port}")] {
            let answer = exchange(&proxy, format!("CONNECT {target} HTTP/1.1\r\n\r\n").as_bytes()).await;
            assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{target}: {answer}");
        }
        assert!(proxy.entries().iter().all(|e| e.reason == "refused: the target is the proxy itself"));
        assert_eq!(proxy.entries().len(), 2, "no request looped through the proxy");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connections_beyond_the_cap_get_503() {
        let proxy = proxy_with(hanging(), ProxyLimits::default().max_connections(1)).await;
        let _held = hung_connect(&proxy).await;

        let answer = exchange(&proxy, b"CONNECT rp.sso.test:80 HTTP/1.1\r\n\r\n").await;

        assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{answer}");
        assert_eq!(proxy.entries()[1].reason, "connection limit reached (1 open)");
    }
}

mod lifetimes {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_hung_connect_is_closed_when_the_proxy_is_dropped() {
        let proxy = proxy_with(hanging(), ProxyLimits::default()).await;
        let mut client = hung_connect(&proxy).await;

        drop(proxy);

        closed_within(&mut client, Duration::from_millis(500)).await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_open_tunnel_is_closed_when_the_proxy_is_dropped() {
        let proxy = allow_all().await;
        let (mut client, mut upstream) = open_tunnel(&proxy).await;

        drop(proxy);

        closed_within(&mut client, Duration::from_millis(500)).await;
        closed_within(&mut upstream, Duration::from_millis(500)).await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hang_ends_at_the_hang_limit() {
        let limit = Duration::from_millis(200);
        let proxy = proxy_with(hanging(), ProxyLimits::default().holding_at_most(limit)).await;
        let started = std::time::Instant::now();
        let mut client = hung_connect(&proxy).await;

        closed_within(&mut client, BOUND).await;

        assert!(started.elapsed() >= limit, "closed before the limit: {:?}", started.elapsed());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_open_tunnel_ends_at_the_tunnel_limit() {
        let limit = Duration::from_millis(200);
        let proxy = proxy_with(ProxyPolicy::allow_all(), ProxyLimits::default().holding_at_most(limit)).await;
        let started = std::time::Instant::now();
        let (mut client, mut upstream) = open_tunnel(&proxy).await;

        closed_within(&mut client, BOUND).await;
        closed_within(&mut upstream, BOUND).await;

        assert!(started.elapsed() >= limit, "closed before the limit: {:?}", started.elapsed());
    }
}

/// Set in the child process of [`the_accept_loop_survives_running_out_of_file_descriptors`].
const FD_CHILD: &str = "SSO_TEST_FD_CHILD";
/// What the child prints once the proxy answered again.
const SURVIVED: &str = "proxy answered after running out of descriptors";

/// Runs [`fd_limit_child`] in a process of its own (a descriptor limit is per process, and the other
/// tests of this binary may share ours) and reads what it reports.
#[tokio::test(flavor = "current_thread")]
async fn the_accept_loop_survives_running_out_of_file_descriptors() {
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fd_limit_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(FD_CHILD, "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), child).await.expect("the child finished").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(SURVIVED), "{stdout}");
    assert!(stdout.contains("accepting a connection failed: Too many open files"), "{stdout}");
}

/// Lowers this process's descriptor limit, uses up every descriptor, lets a client connect, and
/// checks that the proxy reports the failed accept and answers the client once descriptors are free.
#[test]
#[ignore = "run by the_accept_loop_survives_running_out_of_file_descriptors in a child process"]
fn fd_limit_child() {
    if std::env::var_os(FD_CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let proxy = proxy_with(ProxyPolicy::allow_all().deny("idp.sso.test", 403), ProxyLimits::default()).await;
        let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
        let limit = libc::rlimit { rlim_cur: open + 32, rlim_max: open + 32 };
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

        let mut hogs = Vec::new();
        while let Ok(file) = std::fs::File::open("/dev/null") {
            hogs.push(file);
        }
        hogs.pop();
        // The one free descriptor goes to the client; the proxy's accept then has none.
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        client.write_all(b"CONNECT idp.sso.test:443 HTTP/1.1\r\n\r\n").await.unwrap();
        let failure = proxy.log().wait_for(BOUND, |line| line.contains("accepting a connection failed")).await;
        println!("{}", failure.expect("the proxy reported the failed accept"));

        drop(hogs);

        let mut answer = Vec::new();
        tokio::time::timeout(BOUND, client.read_to_end(&mut answer)).await.unwrap().unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 403 Forbidden\r\n"), "{}", String::from_utf8_lossy(&answer));
        println!("{SURVIVED}");
    });
}
