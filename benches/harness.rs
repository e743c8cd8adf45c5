//! `cargo bench --bench harness` (or `just bench`): how fast the harness is, as medians.
//!
//! Measures: one in-process environment ready (CA, IdP, proxy, RP, agent), one happy-path sign-in
//! round trip on a ready environment, one failing scenario end to end, the whole catalog, the peak
//! RSS of a catalog run of the CLI, and — side by side, when it is installed (`pip install
//! oidc-provider-mock`) — the time from start to the first successful discovery response of the
//! Python mock provider oidc-provider-mock versus this harness's IdP. Plain `Instant` timing over many
//! runs; no assertion on the numbers.

use std::path::Path;
use std::time::{Duration, Instant};

use sso_harness::{Scenario, SsoEnv};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The first 200 from `url`, polled every 5 ms (the other tool offers no readiness signal), bounded.
async fn first_ok(http: &reqwest::Client, url: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(response) = http.get(url).send().await {
            if response.status() == 200 {
                return Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// oidc-provider-mock from start to its first discovery response (None when it is not installed).
async fn oidc_provider_mock_ready() -> Option<Duration> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let started = Instant::now();
    let mut child = tokio::process::Command::new("oidc-provider-mock")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_millis(500)).build().ok()?;
    let url = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
    let ready = first_ok(&http, &url, Duration::from_secs(30)).await.map(|_| started.elapsed());
    let _ = child.kill().await;
    ready
}

/// This harness's IdP from start (CA and certificate included) to its first discovery response over TLS.
async fn our_idp_ready() -> Duration {
    let started = Instant::now();
    let ca = sso_harness::Ca::new("bench CA").unwrap();
    let idp = sso_harness::Idp::start(sso_harness::IdpSetup::default(), &ca).await.unwrap();
    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(idp.ca_pem().as_bytes()).unwrap())
        .dns_resolver(std::sync::Arc::new(sso_harness::Hosts::harness()))
        .no_proxy()
        .build()
        .unwrap();
    let url = format!("{}/.well-known/openid-configuration", idp.issuer());
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    started.elapsed()
}

/// Peak RSS (KiB) of one catalog run of the CLI, measured by /usr/bin/time.
fn catalog_peak_rss_kib() -> Option<u64> {
    let output = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", env!("CARGO_BIN_EXE_sso-repro"), "run", "--scenarios"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stderr).lines().last()?.trim().parse().ok()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let catalog = Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap();
    let failing = catalog.iter().find(|s| s.id == "proxy-denies-connect-to-token-endpoint").unwrap();

    runtime.block_on(async {
        // Warm up once (key parsing, first TLS configs).
        let env = SsoEnv::builder().start().await.unwrap();
        assert!(env.sign_in().await.signed_in());
        drop(env);

        let mut ready = Vec::new();
        for _ in 0..100 {
            let started = Instant::now();
            let env = SsoEnv::builder().start().await.unwrap();
            ready.push(started.elapsed());
            drop(env);
        }

        let env = SsoEnv::builder().start().await.unwrap();
        let mut sign_in = Vec::new();
        for _ in 0..100 {
            let started = Instant::now();
            let outcome = env.sign_in().await;
            sign_in.push(started.elapsed());
            assert!(outcome.signed_in());
        }
        drop(env);

        let mut failing_runs = Vec::new();
        for _ in 0..50 {
            let run = failing.run().await.unwrap();
            assert!(run.passed());
            failing_runs.push(run.elapsed);
        }

        let mut catalog_runs = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            for scenario in &catalog {
                assert!(scenario.run().await.unwrap().passed(), "{}", scenario.id);
            }
            catalog_runs.push(started.elapsed());
        }

        println!("sso-repro harness benchmark (medians, in-process backend)");
        println!("  environment ready (IdP + proxy + RP + agent)  {:>10}   (100 runs)", ms(median(ready)));
        println!("  happy-path sign-in round trip                 {:>10}   (100 runs)", ms(median(sign_in)));
        println!("  one failing scenario (proxy 403), end to end  {:>10}   (50 runs)", ms(median(failing_runs)));
        println!(
            "  whole catalog ({} scenarios), sequential       {:>10}   (10 runs)",
            catalog.len(),
            ms(median(catalog_runs))
        );
        if let Some(rss) = peak_rss_mib() {
            println!("  peak RSS of this process                      {rss:>7.1} MiB");
        }
        match catalog_peak_rss_kib() {
            Some(kib) => println!("  peak RSS of a CLI catalog run (sso-repro run) {:>7.1} MiB", kib as f64 / 1024.0),
            None => println!("  peak RSS of a CLI catalog run: not measured (/usr/bin/time missing)"),
        }

        let mut ours = Vec::new();
        for _ in 0..50 {
            ours.push(our_idp_ready().await);
        }
        let ours = median(ours);
        println!("\nstart to first discovery response (medians)");
        println!("  sso-repro mock IdP (wiremock + rustls, new CA)  {:>10}   (50 runs)", ms(ours));
        let mut theirs = Vec::new();
        for _ in 0..5 {
            match oidc_provider_mock_ready().await {
                Some(ready) => theirs.push(ready),
                None => break,
            }
        }
        match theirs.is_empty() {
            true => println!("  oidc-provider-mock (PyPI): not installed; `pip install oidc-provider-mock` to compare"),
            false => {
                let theirs = median(theirs);
                println!("  oidc-provider-mock 0.3 (PyPI, Python)            {:>10}   (5 runs)", ms(theirs));
                println!(
                    "  ratio                                          {:>9.0}×",
                    theirs.as_secs_f64() / ours.as_secs_f64()
                );
            }
        }
    });
}
