//! `cargo bench --bench harness` (or `just bench`): the in-process backend, as medians. Everything
//! here runs inside this one process (the parties are tasks, not processes); the comparisons with
//! other software, process against process, are in `benches/fair.rs`.
//!
//! Measures: one environment ready (CA, IdP, proxy, RP, agent), one happy-path sign-in on a ready
//! environment, one failing scenario end to end, the whole catalog one scenario after another and
//! several scenarios at a time (with the floor: the slowest scenario and the CPU it all needs over the
//! cores), and the peak memory of a process that runs the catalog so. Plain `Instant` timing
//! over a bounded number of runs; no assertion on the numbers.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cpu_time, machine, median, ms, peak_rss_mib, row};
use sso_harness::{Scenario, SsoEnv};

/// Set in the child that only runs the catalog (several at a time) and reports its own peak memory.
const CHILD: &str = "SSO_BENCH_CATALOG_CHILD";

fn catalog() -> Vec<Scenario> {
    Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap()
}

/// The catalog with at most `jobs` scenarios at a time; returns the wall time, each scenario's own
/// elapsed time, and the ids of those that did not end as documented (overlap must not change that).
async fn catalog_at_once(catalog: &[Arc<Scenario>], jobs: usize) -> (Duration, Vec<Duration>, Vec<String>) {
    let started = Instant::now();
    // As the CLI does it.
    let run = |index: usize| {
        let scenario = catalog[index].clone();
        async move {
            let run = scenario.run().await.unwrap();
            (run.elapsed, (!run.passed()).then(|| scenario.id.clone()))
        }
    };
    let outputs = sso_harness::concurrent::in_start_order(catalog, jobs, run, |_, _| {}).await;
    let (elapsed, failed): (Vec<Duration>, Vec<Option<String>>) = outputs.into_iter().unzip();
    (started.elapsed(), elapsed, failed.into_iter().flatten().collect())
}

/// Scenarios at a time: `SSO_BENCH_JOBS`, else four per core.
fn jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::env::var("SSO_BENCH_JOBS").ok().and_then(|j| j.parse().ok()).unwrap_or(4 * cores)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let catalog_scenarios = catalog();
    let shared: Vec<Arc<Scenario>> = catalog_scenarios.iter().cloned().map(Arc::new).collect();
    if std::env::var_os(CHILD).is_some() {
        runtime().block_on(catalog_at_once(&shared, jobs()));
        println!("{:.1}", peak_rss_mib().unwrap_or(0.0));
        return;
    }
    let failing = catalog_scenarios.iter().find(|s| s.id == "proxy-denies-connect-to-token-endpoint").unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    runtime().block_on(async {
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

        let mut sequential = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            for scenario in &catalog_scenarios {
                assert!(scenario.run().await.unwrap().passed(), "{}", scenario.id);
            }
            sequential.push(started.elapsed());
        }

        let (mut walls, mut slowest, mut cpu, mut failed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..10 {
            let cpu_before = cpu_time();
            let (wall, each, not_as_documented) = catalog_at_once(&shared, jobs()).await;
            failed.extend(not_as_documented);
            cpu.push(cpu_time() - cpu_before);
            walls.push(wall);
            slowest.push(each.into_iter().max().unwrap_or_default());
        }
        let (wall, slowest, cpu) = (median(walls), median(slowest), median(cpu));
        let cpu_floor = cpu / cores as u32;
        let floor = slowest.max(cpu_floor);

        let child_rss = std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, "1")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok());

        println!("sso-repro in-process backend (medians; the parties are tasks of this one process)");
        println!("{}", machine());
        row("what", "figure", "anchor");
        row("environment ready (CA, IdP, proxy, RP, agent), 100 runs", &ms(median(ready)), "< 5 ms; was 0.45 ms");
        row("happy-path sign-in round trip, 100 runs", &ms(median(sign_in)), "< 10 ms; was 2.9 ms");
        row("one failing scenario (proxy 403), env included, 50 runs", &ms(median(failing_runs)), "was 2.0 ms");
        let n = catalog_scenarios.len();
        row(&format!("catalog, {n} scenarios, one after another, 3 runs"), &ms(median(sequential)), "was 1.46 s (52)");
        row(&format!("catalog, {n} scenarios, {} at a time, 10 runs", jobs()), &ms(wall), "< 400 ms");
        row(
            "  runs not as documented (overlap must not change outcomes)",
            &failed.len().to_string(),
            &failed.join(", "),
        );
        row("  its slowest scenario (own start to end of sign-in)", &ms(slowest), "floor 1");
        row(&format!("  CPU it needs ({} ms) over {cores} cores", cpu.as_millis()), &ms(cpu_floor), "floor 2");
        row("  wall / floor", &format!("{:.2}×", wall.as_secs_f64() / floor.as_secs_f64()), "1.00× is ideal");
        match child_rss {
            Some(mib) => row("peak RSS of a process running the catalog so", &format!("{mib:.1} MiB"), "< 64 MiB"),
            None => row("peak RSS of a process running the catalog so", "not measured", "< 64 MiB"),
        }
    });
}
