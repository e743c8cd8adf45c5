//! The containers backend is safe to run on a shared machine: the browser's gateway reaches only the
//! environment's parties and is published on loopback (a killed run's containers end by themselves:
//! `containers_lifetime.rs`).
#![cfg(feature = "containers")]

use std::time::Duration;

use sso_harness::containers::ContainerBackend;
use sso_harness::SsoEnv;
use testcontainers::bollard::query_parameters::InspectContainerOptions;
use testcontainers::bollard::Docker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` through the gateway and returns the status line it answers.
async fn through(gateway: &url::Url, request: &str) -> String {
    let address = (gateway.host_str().unwrap(), gateway.port().unwrap());
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn the_gateway_reaches_only_the_environment_and_listens_on_loopback() {
    let backend = ContainerBackend::connect().await.unwrap();
    let env = SsoEnv::builder().start_in_containers(&backend).await.unwrap();
    let gateway = env.gateway().unwrap().clone();

    for refused in [
        "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
        "CONNECT 10.0.0.1:22 HTTP/1.1\r\n\r\n",
        "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
        "CONNECT idp.sso.test:22 HTTP/1.1\r\n\r\n",
        "CONNECT sso.test.example.com:8443 HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(through(&gateway, refused).await, "HTTP/1.1 403 Forbidden", "{refused}");
    }
    let allowed = through(&gateway, "CONNECT idp.sso.test:8443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(allowed, "HTTP/1.1 200 Connection established");

    let containers = backend.resources(Some(env.id())).await.unwrap().containers;
    let docker = Docker::connect_with_defaults().unwrap();
    let mut published = Vec::new();
    for name in containers {
        let inspected =
            docker.inspect_container(name.trim_start_matches('/'), None::<InspectContainerOptions>).await.unwrap();
        let ports = inspected.network_settings.and_then(|n| n.ports).unwrap_or_default();
        for binding in ports.into_values().flatten().flatten() {
            published.push(binding.host_ip.unwrap_or_default());
        }
    }
    assert!(!published.is_empty(), "the gateway is published");
    if std::env::var("DOCKER_HOST").map_or(true, |h| h.starts_with("unix://")) {
        assert!(published.iter().all(|ip| ip == "127.0.0.1"), "published on {published:?}");
    }
}
