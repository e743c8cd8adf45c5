//! The containers backend's catalog runner and the engine floor the bench compares it with.
#![cfg(feature = "containers")]

use std::time::Duration;

use sso_harness::containers::ContainerBackend;

/// The bench's anchor makes real environments' worth of containers and networks and removes them all.
#[tokio::test(flavor = "current_thread")]
async fn the_engine_floor_starts_bare_environments_and_leaves_nothing() {
    let backend = ContainerBackend::connect().await.unwrap();
    let floor = backend.engine_floor(3, 2).await.unwrap();
    assert_eq!(floor.environments.len(), 3);
    for id in &floor.environments {
        let left = backend.resources(Some(id)).await.unwrap();
        assert!(left.containers.is_empty() && left.networks.is_empty(), "{id} left {left:?}");
    }
    assert!(floor.wall > Duration::ZERO);
}

/// The containers catalog runner (the bench's) reports in the order given, whatever ends first.
#[tokio::test(flavor = "current_thread")]
async fn the_catalog_runner_keeps_the_given_order_whatever_ends_first() {
    let backend = ContainerBackend::connect().await.unwrap();
    let catalog = sso_harness::catalog::load().unwrap();
    // The timeout scenario starts first (its deliberate wait) and ends last; the report keeps its place.
    let ids = ["happy-path", "token-endpoint-read-timeout", "proxy-denies-connect-to-token-endpoint"];
    let scenarios: Vec<_> = ids.iter().map(|id| catalog.iter().find(|s| s.id == *id).unwrap().clone()).collect();
    assert!(scenarios[1].deliberate_wait() > Duration::ZERO);
    let runs = backend.run_catalog(&scenarios, 2).await;
    for (scenario, run) in scenarios.iter().zip(&runs) {
        let run = run.as_ref().unwrap_or_else(|e| panic!("{}: {e}", scenario.id));
        assert!(run.passed(), "{}: {:?}", scenario.id, run.mismatches);
    }
    assert!(runs[0].as_ref().unwrap().outcome.signed_in());
    assert!(!runs[2].as_ref().unwrap().outcome.signed_in());
}
