//! `cargo bench --features containers --bench containers` (or `just bench`): the containers backend,
//! as medians. Measures: the party image build (cold: the image removed first; cached), one
//! environment ready (three containers, three networks), its teardown, the whole catalog, and what
//! is left on the engine afterwards. `--images-only` just builds the image.

use std::path::Path;
use std::time::{Duration, Instant};

use sso_harness::containers::{build_party_image, ours, party_binary, ContainerBackend};
use sso_harness::{Scenario, SsoEnv};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let images_only = std::env::args().any(|a| a == "--images-only");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let binary = party_binary().await.unwrap();
        if images_only {
            let _image = build_party_image(binary).await.unwrap();
            return;
        }
        let backend = ContainerBackend::connect().await.unwrap();
        let docker = backend.docker();

        // Cold: remove every sso-repro-party image, then build.
        backend.remove_party_images().await.unwrap();
        let started = Instant::now();
        let _image = build_party_image(binary).await.unwrap();
        let cold = started.elapsed();
        let mut cached = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let _image = build_party_image(binary).await.unwrap();
            cached.push(started.elapsed());
        }

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
        let mut catalog_runs = Vec::new();
        // Once: 52 scenarios at ≈2.5 s each (three containers and three networks made and removed).
        for _ in 0..1 {
            let started = Instant::now();
            for scenario in &catalog {
                let run = scenario.run_in_containers(&backend).await.unwrap();
                assert!(run.passed(), "{}: {:?}", scenario.id, run.mismatches);
            }
            catalog_runs.push(started.elapsed());
        }
        let (containers, networks) = ours(docker, None).await.unwrap();

        println!("sso-repro containers backend benchmark (medians)");
        println!("  party image build, cold (FROM scratch + static binary)  {:>8}", ms(cold));
        println!("  party image build, cached (tag exists)                 {:>8}   (5 runs)", ms(median(cached)));
        println!("  environment ready (3 containers, 3 networks)           {:>8}   (10 runs)", ms(median(ready)));
        println!("  environment teardown (containers and networks removed) {:>8}   (10 runs)", ms(median(teardown)));
        println!(
            "  whole catalog ({} scenarios), sequential                 {:>8}   (1 run)",
            catalog.len(),
            ms(median(catalog_runs))
        );
        println!("  containers / networks of ours left afterwards          {} / {}", containers.len(), networks.len());
    });
}
