//! A run killed with SIGKILL leaves nothing behind: its reaper removes the environment's containers
//! and networks as soon as the run is gone, without any later run connecting.
//!
//! The killed run is this test binary itself, started as a child process that runs only
//! `child_starts_an_environment_and_waits_to_be_killed` (ignored otherwise).
#![cfg(feature = "containers")]

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use sso_harness::containers::ContainerBackend;
use sso_harness::SsoEnv;
use testcontainers::bollard::query_parameters::{EventsOptions, ListContainersOptions};
use testcontainers::bollard::Docker;
use tokio::io::{AsyncBufReadExt, BufReader};

const CHILD_VAR: &str = "SSO_KILLED_RUN_CHILD";
const CHILD_TEST: &str = "child_starts_an_environment_and_waits_to_be_killed";

#[tokio::test(flavor = "current_thread")]
#[ignore = "the child process of a_killed_run_leaves_no_container_or_network_behind"]
async fn child_starts_an_environment_and_waits_to_be_killed() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let backend = ContainerBackend::connect().await.unwrap();
    let env = SsoEnv::builder().start_in_containers(&backend).await.unwrap();
    println!("env={}", env.id());
    // Killed long before this bound: it only keeps a forgotten child from living on.
    let _ = tokio::time::timeout(Duration::from_secs(120), std::future::pending::<()>()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_killed_run_leaves_no_container_or_network_behind() {
    // The binary and its image are built here first, so the child only starts containers.
    let backend = ContainerBackend::connect().await.unwrap();
    let binary = sso_harness::containers::party_binary().await.unwrap();
    let docker = Docker::connect_with_defaults().unwrap();

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--ignored", "--nocapture", "--test-threads", "1"])
        .env(CHILD_VAR, "1")
        .env("SSO_REPRO_PARTY_BIN", binary)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let id = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest prints `test <name> ... ` before the test's own output, on the same line.
            if let Some((_, id)) = line.split_once("env=") {
                return id.trim().to_owned();
            }
        }
        panic!("the child ended without starting an environment");
    })
    .await
    .expect("the child started an environment");

    let made = backend.resources(Some(&id)).await.unwrap();
    assert_eq!((made.containers.len(), made.networks.len()), (3, 3), "{made:?}");
    // The child's reaper: the one whose session the environment's containers carry.
    let filters = std::collections::HashMap::from([("label".to_owned(), vec![format!("org.sso-repro={id}")])]);
    let listed = docker
        .list_containers(Some(ListContainersOptions { all: true, filters: Some(filters), ..Default::default() }))
        .await
        .unwrap();
    let session = listed[0].labels.as_ref().unwrap()["org.sso-repro.session"].clone();
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let reaper_gone = std::collections::HashMap::from([
        ("label".to_owned(), vec![format!("org.sso-repro.reaper-of={session}")]),
        ("type".to_owned(), vec!["container".to_owned()]),
        ("event".to_owned(), vec!["destroy".to_owned()]),
    ]);
    let mut destroyed = docker.events(Some(EventsOptions {
        since: Some(since.to_string()),
        filters: Some(reaper_gone),
        ..Default::default()
    }));

    child.start_kill().unwrap();
    child.wait().await.unwrap();

    // The reaper removes everything of its session, then exits, and the engine removes it.
    tokio::time::timeout(Duration::from_secs(30), destroyed.next())
        .await
        .expect("the reaper did not finish within 30 s of the kill")
        .expect("the event stream stays open")
        .unwrap();
    let left = backend.resources(Some(&id)).await.unwrap();
    assert!(left.is_empty(), "left behind by the killed run: {left:?}");
}
