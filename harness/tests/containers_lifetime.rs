//! A killed run's containers end by themselves: the party process exits at its expiry and the engine
//! removes the exited container, whether or not any later run connects.
#![cfg(feature = "containers")]

use std::time::Duration;

use futures_util::StreamExt;
use sso_harness::containers::ContainerBackend;
use sso_harness::SsoEnv;
use testcontainers::bollard::query_parameters::EventsOptions;
use testcontainers::bollard::Docker;

#[tokio::test(flavor = "current_thread")]
async fn a_killed_runs_containers_end_by_themselves() {
    // The only test of this binary: the lifetime applies to its environment alone.
    std::env::set_var("SSO_REPRO_CONTAINER_LIFETIME_SECS", "3");
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let backend = ContainerBackend::connect().await.unwrap();
    let env = SsoEnv::builder().start_in_containers(&backend).await.unwrap();
    std::env::remove_var("SSO_REPRO_CONTAINER_LIFETIME_SECS");
    let id = env.id().to_owned();
    let made = backend.resources(Some(&id)).await.unwrap();
    assert_eq!(made.containers.len(), 3);
    let docker = Docker::connect_with_defaults().unwrap();
    let filters = std::collections::HashMap::from([
        ("label".to_owned(), vec![format!("org.sso-repro={id}")]),
        ("type".to_owned(), vec!["container".to_owned()]),
        ("event".to_owned(), vec!["destroy".to_owned()]),
    ]);
    let mut destroyed = docker.events(Some(EventsOptions {
        since: Some(since.to_string()),
        filters: Some(filters),
        ..Default::default()
    }));

    // As if the process were killed: nothing of the environment's own cleanup runs.
    std::mem::forget(env);

    let all_destroyed = async {
        for _ in 0..made.containers.len() {
            destroyed.next().await.expect("the event stream stays open").unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(30), all_destroyed).await.expect("the containers outlived their lifetime");
    let left = backend.resources(Some(&id)).await.unwrap().containers;
    assert!(left.is_empty(), "{left:?}");
    // The networks are empty now and expired: this process's reaper removes them when it ends
    // (containers_killed_run.rs), the next run's sweep too; this test does it itself.
    for network in made.networks {
        docker.remove_network(&network).await.unwrap();
    }
}
