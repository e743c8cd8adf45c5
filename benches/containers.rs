//! `cargo bench --features containers --bench containers` (or `just bench`): the containers backend,
//! as medians. Measures: the party image build (cold: the image removed first; cached), one
//! environment ready (three containers, three networks), its teardown, the whole catalog with as
//! many environments at once as the engine takes (`ContainerBackend::capacity`; `-- --jobs N`
//! overrides it), the engine's floor for as many environments (`ContainerBackend::engine_floor`: the
//! same networks and containers, no party work), and what is left on the engine afterwards. `--images-only` just builds the image.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use sso_harness::containers::{build_party_image, party_binary, ContainerBackend};
use sso_harness::{Scenario, SsoEnv};

use common::{machine, median, ms, row};

fn main() {
    let images_only = std::env::args().any(|a| a == "--images-only");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let binary = party_binary().await.unwrap();
        if images_only {
            let _image = build_party_image(binary).await.unwrap();
            return;
        }
        // Cold: remove every sso-repro-party image, then build. The reaper runs from that image, so
        // it starts only afterwards (the second connect).
        std::env::set_var("SSO_REPRO_REAPER", "off");
        let without_reaper = ContainerBackend::connect().await.unwrap();
        without_reaper.remove_party_images().await.unwrap();
        let started = Instant::now();
        let _image = build_party_image(binary).await.unwrap();
        let cold = started.elapsed();
        let mut cached = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let _image = build_party_image(binary).await.unwrap();
            cached.push(started.elapsed());
        }
        std::env::remove_var("SSO_REPRO_REAPER");
        let backend = ContainerBackend::connect().await.unwrap();

        let mut ready = Vec::new();
        let mut teardown = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let env = SsoEnv::builder().start_in_containers(&backend).await.unwrap();
            ready.push(started.elapsed());
            let started = Instant::now();
            drop(env);
            teardown.push(started.elapsed());
        }

        let catalog = Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap();
        let capacity = backend.capacity().await.unwrap();
        // `--jobs N` (after `--`) overrides the engine's bound, for comparing concurrency levels.
        let jobs = std::env::args()
            .skip_while(|a| a != "--jobs")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(capacity.environments);
        // Once: the whole catalog with `jobs` environments at a time, every run checked.
        let started = Instant::now();
        let runs = backend.run_catalog(&catalog, jobs).await;
        let catalog_wall = started.elapsed();
        let mut slowest = Duration::ZERO;
        for (scenario, run) in catalog.iter().zip(runs) {
            let run = run.unwrap_or_else(|e| panic!("{}: {}", scenario.id, sso_harness::ErrorChain::from_error(&e)));
            assert!(run.passed(), "{}: {:?}", scenario.id, run.mismatches);
            slowest = slowest.max(run.elapsed);
        }
        // The floor: as many bare environments (the same networks and containers, no party work),
        // as many at a time.
        let floor = backend.engine_floor(catalog.len(), jobs).await.unwrap().wall;
        let left = backend.resources(None).await.unwrap();

        println!("sso-repro containers backend (medians; one local engine)");
        println!("{}", machine());
        let info = backend.engine_version().await.unwrap_or_default();
        println!(
            "engine: Docker {info} at {}, {} CPUs, {:.0} GiB, {} bridge networks in use before the run",
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the local socket".to_owned()),
            capacity.cpus,
            capacity.memory as f64 / (1u64 << 30) as f64,
            capacity.networks_in_use
        );
        row("what", "figure", "anchor");
        row("party image build, cold (FROM scratch + static binary)", &ms(cold), "was 337 ms");
        row("party image build, cached (tag exists), 5 runs", &ms(median(cached)), "was 16 ms");
        row("environment ready (3 containers, 3 networks), 10 runs", &ms(median(ready)), "< 2.5 s; was 1.14 s");
        row("environment teardown (Drop, blocking), 10 runs", &ms(median(teardown)), "was 0.85 s");
        let n = catalog.len();
        row(
            &format!("catalog, {n} scenarios, {jobs} at a time (engine's bound {}), 1 run", capacity.environments),
            &ms(catalog_wall),
            "< 30 s; was 121 s (52, one at a time)",
        );
        row("  its slowest scenario (own start to end of sign-in)", &ms(slowest), "");
        row(
            &format!("  engine floor: {n} bare environments, {jobs} at a time"),
            &ms(floor),
            &format!("catalog / floor = {:.2}×", catalog_wall.as_secs_f64() / floor.as_secs_f64()),
        );
        row(
            "containers / networks of ours left afterwards (with this process's reaper)",
            &format!("{} / {}", left.containers.len(), left.networks.len()),
            "1 / 0 (the reaper ends with the process)",
        );
    });
}
