//! `cargo bench --bench harness` (or `just bench`): how fast the harness is, as medians.
//!
//! Measures: one in-process environment ready (CA, IdP, proxy, RP, agent), one happy-path sign-in
//! round trip on a ready environment, one failing scenario end to end, the whole catalog, and the
//! peak RSS of this process. Plain `Instant` timing over many runs; no assertion on the numbers.

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
    });
}
