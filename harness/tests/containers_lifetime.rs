//! A killed run's containers end by themselves: the party process exits at its expiry and the engine
//! removes the exited container, whether or not any later run connects.
#![cfg(feature = "containers")]

use std::time::Duration;

use futures_util::StreamExt;
use sso_harness::containers::{ours, ContainerBackend};
use sso_harness::SsoEnv;
use testcontainers::bollard::query_parameters::EventsOptions;

#[tokio::test(flavor = "current_thread")]
async fn a_killed_runs_containers_end_by_themselves() {
    // The only test of this binary: the lifetime applies to its environment alone.
    std::env::set_var("SSO_REPRO_CONTAINER_LIFETIME_SECS", "3");
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let backend = ContainerBackend::connect().await.unwrap();
    let env = SsoEnv::builder().start_in_containers(&backend).await.unwrap();
    std::env::remove_var("SSO_REPRO_CONTAINER_LIFETIME_SECS");
    let id = env.id().to_owned();
    let (containers, networks) = ours(backend.docker(), Some(&id)).await.unwrap();
    assert_eq!(containers.len(), 3);
    let filters = std::collections::HashMap::from([
        ("label".to_owned(), vec![format!("org.sso-repro={id}")]),
        ("type".to_owned(), vec!["container".to_owned()]),
        ("event".to_owned(), vec!["destroy".to_owned()]),
    ]);
    let mut destroyed = backend.docker().events(Some(EventsOptions {
        since: Some(since.to_string()),
        filters: Some(filters),
        ..Default::default()
    }));

    // As if the process were killed: nothing of the environment's own cleanup runs.
    std::mem::forget(env);

    let all_destroyed = async {
        for _ in 0..containers.len() {
            destroyed.next().await.expect("the event stream stays open").unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(30), all_destroyed).await.expect("the containers outlived their lifetime");
    let (left, _) = ours(backend.docker(), Some(&id)).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    // The networks are empty now and expired: the next run's sweep removes them; this test does it
    // itself so that the suite leaves nothing behind.
    for network in networks {
        backend.docker().remove_network(&network).await.unwrap();
    }
}
