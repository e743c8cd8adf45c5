//! `cargo bench --bench fair` (or `just bench`, which builds `sso-party` first): the same work on both
//! sides, process against process, on loopback, one client for both.
//!
//! - Start to first discovery response: the `sso-party` binary serving an IdP (its server
//!   certificate issued inside the timed span; the CA made once before) against oidc-provider-mock
//!   (PyPI). The clock starts before the process is spawned and stops at the first 200 of
//!   `/.well-known/openid-configuration`, both polled every 5 ms by the same reqwest client. Ours is
//!   HTTPS on both sides (a TLS handshake per poll): theirs under uvicorn with a certificate from
//!   the same CA, issued inside the timed span as ours is.
//! - One full login against each provider, the provider already running as its own process, by the
//!   same RP and browser (`fair/login.rs`): per-login latency, logins per second with four browsers
//!   at once, and the provider process's CPU per login.
//! - One CONNECT tunnel: our proxy (`sso-party`, allow-all policy) against squid (Debian), both as
//!   their own processes, relaying to one echo server of this bench: TCP connect to the proxy,
//!   CONNECT, the 200, 64 bytes there and back, close. Latency is the median of that; CPU per
//!   tunnel is the proxy process's user + system time over all tunnels (10 ms ticks) divided by
//!   their number. Our proxy prints a log line per tunnel (to /dev/null), squid writes its access log.
//!
//! Bounded: a fixed number of runs, every wait with a deadline.

mod common;
#[path = "fair/login.rs"]
mod login;
#[path = "../tests/common/oidc_provider_mock.rs"]
mod oidc_provider_mock;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{machine, median, ms, process_cpu_time, row};
use login::Provider;
use sso_harness::party::{PartyConfig, CONFIG_VAR, LOOPBACK_VAR};
use sso_harness::{Ca, Hosts, IdpSetup, ProxyPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

const POLL: Duration = Duration::from_millis(5);
const START_LIMIT: Duration = Duration::from_secs(30);
const TUNNELS: usize = 300;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `target/release/sso-party`, next to this bench's `deps/` folder (`just bench` builds it).
fn party_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("sso-party");
    path.exists().then_some(path)
}

fn spawn_party(binary: &Path, config: &PartyConfig, port: u16) -> Child {
    Command::new(binary)
        .env(CONFIG_VAR, serde_json::to_string(config).unwrap())
        .env(LOOPBACK_VAR, port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The first 200 from `url`, polled every 5 ms, bounded; none if `child` exits first (a provider
/// that is not installed ends at once).
async fn first_ok(http: &reqwest::Client, url: &str, child: &mut Child) -> Option<()> {
    let started = Instant::now();
    while started.elapsed() < START_LIMIT {
        if !matches!(child.try_wait(), Ok(None)) {
            return None;
        }
        if let Ok(response) = http.get(url).send().await {
            if response.status() == 200 {
                return Some(());
            }
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

async fn ours_ready(binary: &Path, ca: &Ca, http: &reqwest::Client) -> Option<Duration> {
    let port = free_port();
    let started = Instant::now();
    let setup = IdpSetup::default();
    let (cert, ca_pem) = sso_harness::idp::server_cert(&setup, ca).ok()?;
    let config = PartyConfig::Idp { config: setup, cert, ca_pem, redirect_uris: Vec::new() };
    let mut child = spawn_party(binary, &config, port);
    let url = format!("https://{}:{port}/.well-known/openid-configuration", sso_harness::hosts::IDP_HOST);
    let ready = first_ok(http, &url, &mut child).await.map(|()| started.elapsed());
    let _ = child.kill().await;
    ready
}

async fn theirs_ready(ca: &Ca, http: &reqwest::Client) -> Option<Duration> {
    let started = Instant::now();
    let mut provider = oidc_provider_mock::spawn(ca);
    provider.drain_stderr();
    let url = format!("{}/.well-known/openid-configuration", provider.issuer);
    let ready = first_ok(http, &url, &mut provider.child).await.map(|()| started.elapsed());
    let _ = provider.child.kill().await;
    ready
}

/// Logins against the `sso-party` IdP as its own process: latency, logins per second, its CPU per
/// login.
async fn our_logins(binary: &Path, ca: &Ca, http: &reqwest::Client) -> Result<Logins, String> {
    let port = free_port();
    let setup = IdpSetup::default();
    let provider = Provider {
        issuer: format!("https://{}:{port}", sso_harness::hosts::IDP_HOST),
        client_id: setup.client.id.clone(),
        client_secret: setup.client.secret.clone(),
        ca_pem: ca.pem(),
        login: None,
    };
    let pairs = login::pairs(&provider).await;
    let (cert, ca_pem) = sso_harness::idp::server_cert(&setup, ca).map_err(|e| e.to_string())?;
    let redirect_uris = pairs.iter().map(|pair| pair.rp.redirect_uri()).collect();
    let config = PartyConfig::Idp { config: setup, cert, ca_pem, redirect_uris };
    let mut child = spawn_party(binary, &config, port);
    logins_once_ready(http, &provider, &pairs, &mut child, "sso-party did not serve discovery").await
}

/// Logins against oidc-provider-mock (under uvicorn, TLS), the same way.
async fn their_logins(ca: &Ca, http: &reqwest::Client) -> Result<Logins, String> {
    let mut spawned = oidc_provider_mock::spawn(ca);
    spawned.drain_stderr();
    let provider = Provider {
        issuer: spawned.issuer.clone(),
        client_id: oidc_provider_mock::CLIENT_ID.to_owned(),
        client_secret: oidc_provider_mock::CLIENT_SECRET.to_owned(),
        ca_pem: ca.pem(),
        login: Some(oidc_provider_mock::login_form()),
    };
    let pairs = login::pairs(&provider).await;
    let missing = "oidc-provider-mock did not serve discovery (pip install oidc-provider-mock==0.3.4)";
    logins_once_ready(http, &provider, &pairs, &mut spawned.child, missing).await
}

struct Logins {
    latency: Duration,
    per_second: f64,
    cpu_per_login: Duration,
}

/// Waits (bounded) for the provider process `child` to serve discovery, then measures the logins of
/// `pairs` against it.
async fn logins_once_ready(
    http: &reqwest::Client,
    provider: &Provider,
    pairs: &[std::sync::Arc<login::Pair>],
    child: &mut Child,
    not_ready: &str,
) -> Result<Logins, String> {
    let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
    first_ok(http, &discovery, child).await.ok_or(not_ready)?;
    let pid = child.id().unwrap_or_default();
    let cpu_before = process_cpu_time(pid).unwrap_or_default();
    let (latency, per_second) = login::measure(pairs).await?;
    let cpu = process_cpu_time(pid).unwrap_or_default().saturating_sub(cpu_before);
    let count = login::LOGINS as u32;
    Ok(Logins { latency, per_second, cpu_per_login: cpu / count })
}

/// A TCP echo server on loopback (the tunnels' target).
async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                while let Ok(n @ 1..) = socket.read(&mut buffer).await {
                    if socket.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

async fn wait_listening(port: u16) -> bool {
    let started = Instant::now();
    while started.elapsed() < START_LIMIT {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

/// One tunnel through the proxy at `proxy` to the echo server at `target`.
async fn tunnel(proxy: u16, target: u16) -> Duration {
    let started = Instant::now();
    let mut socket = TcpStream::connect(("127.0.0.1", proxy)).await.unwrap();
    socket.set_nodelay(true).unwrap();
    let request = format!("CONNECT 127.0.0.1:{target} HTTP/1.1\r\nHost: 127.0.0.1:{target}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(socket.read(&mut byte).await.unwrap(), 1, "the proxy closed before its answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let payload = [b'x'; 64];
    socket.write_all(&payload).await.unwrap();
    let mut back = [0u8; 64];
    socket.read_exact(&mut back).await.unwrap();
    drop(socket);
    started.elapsed()
}

/// Latency (median) and CPU per tunnel of the proxy process `pid` listening on `port`.
async fn tunnels(pid: u32, port: u16, target: u16) -> (Duration, Duration) {
    for _ in 0..20 {
        tunnel(port, target).await;
    }
    let cpu_before = process_cpu_time(pid).unwrap_or_default();
    let mut latencies = Vec::new();
    for _ in 0..TUNNELS {
        latencies.push(tunnel(port, target).await);
    }
    let cpu = process_cpu_time(pid).unwrap_or_default().saturating_sub(cpu_before);
    (median(latencies), cpu / TUNNELS as u32)
}

async fn squid(dir: &Path, port: u16) -> Option<Child> {
    let conf = format!(
        "http_port 127.0.0.1:{port}\nhttp_access allow all\ncache deny all\ncache_mem 8 MB\n\
         pid_filename {d}/squid.pid\ncache_log stdio:{d}/cache.log\naccess_log stdio:{d}/access.log squid\n\
         coredump_dir {d}\nnetdb_filename none\nlogfile_rotate 0\nshutdown_lifetime 0 seconds\n\
         dns_nameservers 127.0.0.1\nvisible_hostname proxy.sso.test\nmax_filedescriptors 1024\n",
        d = dir.display()
    );
    std::fs::write(dir.join("squid.conf"), conf).ok()?;
    Command::new("squid")
        .arg("-f")
        .arg(dir.join("squid.conf"))
        .args(["-N"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()
}

fn version(command: &str, args: &[&str]) -> String {
    std::process::Command::new(command)
        .args(args)
        .output()
        .ok()
        .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "not installed".to_owned())
}

/// The installed version of a PyPI package, as pip reports it.
fn pip_version(package: &str) -> String {
    std::process::Command::new("python3")
        .args(["-m", "pip", "show", package])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout).lines().find_map(|l| l.strip_prefix("Version: ").map(str::to_owned))
        })
        .unwrap_or_default()
}

/// The login figures of one provider, with the ratio to ours beside theirs.
fn login_rows(provider: &str, logins: &Result<Logins, String>, ours: Option<&Logins>) {
    let logins = match logins {
        Ok(logins) => logins,
        Err(why) => return row(&format!("one full login: {provider}"), "failed", why),
    };
    let ratio = |theirs: f64, ours: f64| format!("{:.1}× ours", theirs / ours);
    row(
        &format!("one full login (median of {}): {provider}", login::SEQUENTIAL),
        &ms(logins.latency),
        &ours.map(|o| ratio(logins.latency.as_secs_f64(), o.latency.as_secs_f64())).unwrap_or_default(),
    );
    row(
        &format!("logins per second, {} browsers at once: {provider}", login::PAIRS),
        &format!("{:.0} /s", logins.per_second),
        &ours.map(|o| format!("{:.2}× ours", logins.per_second / o.per_second)).unwrap_or_default(),
    );
    row(
        &format!("provider CPU per login ({} logins): {provider}", login::LOGINS),
        &ms(logins.cpu_per_login),
        &ours.map(|o| ratio(logins.cpu_per_login.as_secs_f64(), o.cpu_per_login.as_secs_f64())).unwrap_or_default(),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(binary) = party_binary() else {
        println!("fair comparisons: target/release/sso-party is missing; `cargo build --release --bin sso-party -p sso-harness` (just bench does)");
        return;
    };
    runtime.block_on(async {
        let ca = Ca::new("bench CA").unwrap();
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
            .dns_resolver(std::sync::Arc::new(Hosts::loopback(&[sso_harness::hosts::IDP_HOST, "localhost"])))
            .no_proxy()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();

        let mut ours = Vec::new();
        for _ in 0..20 {
            ours.push(ours_ready(&binary, &ca, &http).await.expect("sso-party serves discovery"));
        }
        let mut theirs = Vec::new();
        for _ in 0..5 {
            match theirs_ready(&ca, &http).await {
                Some(ready) => theirs.push(ready),
                None => break,
            }
        }

        let our_logins = our_logins(&binary, &ca, &http).await;
        let their_logins = their_logins(&ca, &http).await;

        let target = echo_server().await;
        let our_port = free_port();
        let proxy_config = PartyConfig::Proxy {
            policy: ProxyPolicy::allow_all(),
            upstream_ca_pem: ca.pem(),
            persona: Default::default(),
        };
        let our_proxy = spawn_party(&binary, &proxy_config, our_port);
        assert!(wait_listening(our_port).await, "sso-party proxy did not listen");
        let our_tunnels = tunnels(our_proxy.id().unwrap(), our_port, target).await;
        drop(our_proxy);

        let dir = std::env::temp_dir().join(format!("sso-bench-squid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // squid started as root runs as its effective user (`proxy`), which must write its logs here.
        let _ = std::process::Command::new("chmod").arg("777").arg(&dir).status();
        let squid_port = free_port();
        let squid_tunnels = match squid(&dir, squid_port).await {
            Some(child) if wait_listening(squid_port).await => {
                let figures = tunnels(child.id().unwrap(), squid_port, target).await;
                drop(child);
                Some(figures)
            }
            _ => None,
        };
        let _ = std::fs::remove_dir_all(&dir);

        println!("sso-repro against other software, process against process, loopback (medians)");
        println!("{}", machine());
        row("what", "figure", "anchor");
        let ours = median(ours);
        row("start → first discovery 200: sso-party IdP (HTTPS), 20 runs", &ms(ours), "");
        match theirs.is_empty() {
            true => row(
                "start → first discovery 200: oidc-provider-mock",
                "not installed",
                "pip install oidc-provider-mock",
            ),
            false => {
                let theirs = median(theirs);
                let version = pip_version("oidc-provider-mock");
                let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
                row(
                    &format!("start → first discovery 200: oidc-provider-mock {version} (HTTPS), 5 runs"),
                    &ms(theirs),
                    &format!("{ratio:.1}× ours"),
                );
            }
        }
        login_rows("sso-party IdP", &our_logins, None);
        let theirs = format!("oidc-provider-mock {}", pip_version("oidc-provider-mock"));
        login_rows(&theirs, &their_logins, our_logins.as_ref().ok());
        row(&format!("CONNECT tunnel latency: sso-party proxy, {TUNNELS} tunnels"), &ms(our_tunnels.0), "");
        row(
            "CONNECT tunnel CPU: sso-party proxy, per tunnel",
            &format!("{:.0} µs", our_tunnels.1.as_secs_f64() * 1e6),
            "",
        );
        match squid_tunnels {
            Some((latency, cpu)) => {
                let name = version("squid", &["-v"]);
                row(
                    &format!("CONNECT tunnel latency: squid, {TUNNELS} tunnels"),
                    &ms(latency),
                    &format!("{:.2}× ours", latency.as_secs_f64() / our_tunnels.0.as_secs_f64()),
                );
                row("CONNECT tunnel CPU: squid, per tunnel", &format!("{:.0} µs", cpu.as_secs_f64() * 1e6), &name);
            }
            None => row("CONNECT tunnel: squid", "not installed or did not start", "apt-get install squid"),
        }
    });
}
