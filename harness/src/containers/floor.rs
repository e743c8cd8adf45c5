//! The engine's floor: what one environment's containers and networks cost the engine with no party
//! work at all — the least the containers catalog can take on this engine, the anchor its wall time
//! is compared with (as the in-process catalog is compared with its slowest scenario and its CPU).
//!
//! Each bare environment makes what [`EnvBuilder::start_in_containers`](crate::EnvBuilder) makes —
//! the front, IdP and egress networks; an IdP, a proxy (its gateway port published) and an RP
//! container of the party image, attached as in an environment — in the cheapest order the engine
//! allows (every network joined before the container starts), lets every container start, then
//! removes it all. The containers run the proxy party with no traffic, so they stay up until removed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use testcontainers::bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use testcontainers::bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use testcontainers::Image;

use super::{docker_error, ContainerBackend, ContainersError};
use crate::hosts::{IDP_NAMES, PROXY_HOST, RP_HOST};
use crate::party::{PartyConfig, CONFIG_VAR, GATEWAY_PORT};
use crate::proxy::ProxyPolicy;

/// What [`ContainerBackend::engine_floor`] measured.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EngineFloor {
    /// From the first network made to the last removed.
    pub wall: Duration,
    /// Each bare environment's `org.sso-repro` label value (for [`ContainerBackend::resources`]).
    pub environments: Vec<String>,
}

impl ContainerBackend {
    /// Makes, starts and removes `environments` bare environments, `jobs` at a time. Everything made
    /// is labelled with this process's session (its reaper removes it if the process dies first).
    pub async fn engine_floor(&self, environments: usize, jobs: usize) -> Result<EngineFloor, ContainersError> {
        let started = Instant::now();
        let bare = |_| {
            let backend = self.clone();
            async move { backend.bare_environment().await }
        };
        let made = crate::concurrent::at_most(jobs, (0..environments).collect(), bare, |_, _| {}).await;
        let environments = made.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(EngineFloor { wall: started.elapsed(), environments })
    }

    /// One bare environment, made, started and removed; its label value.
    async fn bare_environment(&self) -> Result<String, ContainersError> {
        let label = format!("floor-{}", super::environment_id());
        let labels = super::environment_labels(&label);
        let [front, idp_net, egress] = super::network_names(&label);
        let mut containers = Vec::new();
        let made = async {
            for (name, internal) in [(&front, false), (&idp_net, true), (&egress, true)] {
                self.network(name, internal, &labels).await?;
            }
            let idp = self.bare_container(&idp_net, &IDP_NAMES, &labels, false).await?;
            containers.push(idp.clone());
            let proxy = self.bare_container(&front, &[PROXY_HOST], &labels, true).await?;
            containers.push(proxy.clone());
            for network in [&idp_net, &egress] {
                self.connect_network(network, &proxy, &[PROXY_HOST]).await?;
            }
            let rp = self.bare_container(&egress, &[RP_HOST], &labels, false).await?;
            containers.push(rp.clone());
            let start = |id: String| async move {
                self.docker.start_container(&id, None).await.map_err(docker_error(format!("start {id}")))
            };
            let (a, b, c) = tokio::join!(start(idp), start(proxy), start(rp));
            a.and(b).and(c)
        }
        .await;
        let remove = RemoveContainerOptionsBuilder::new().force(true).build();
        for id in containers {
            let _ = self.docker.remove_container(&id, Some(remove.clone())).await;
        }
        for network in [front, idp_net, egress] {
            let _ = self.docker.remove_network(&network).await;
        }
        made.map(|()| label)
    }

    /// A created (not started) container of the party image on `network` under `aliases`.
    async fn bare_container(
        &self,
        network: &str,
        aliases: &[&str],
        labels: &HashMap<String, String>,
        published: bool,
    ) -> Result<String, ContainersError> {
        let idle = PartyConfig::Proxy {
            policy: ProxyPolicy::allow_all(),
            upstream_ca_pem: String::new(),
            persona: Default::default(),
        };
        let config = serde_json::to_string(&idle).expect("party config serializes");
        let mut host_config = HostConfig { network_mode: Some(network.to_owned()), ..Default::default() };
        crate::leftovers::host_config(published.then_some(GATEWAY_PORT))(&mut host_config);
        let endpoint =
            EndpointSettings { aliases: Some(aliases.iter().map(|a| a.to_string()).collect()), ..Default::default() };
        let body = ContainerCreateBody {
            image: Some(format!("{}:{}", self.image.name(), self.image.tag())),
            env: Some(vec![format!("{CONFIG_VAR}={config}")]),
            labels: Some(labels.clone()),
            exposed_ports: published.then(|| vec![format!("{GATEWAY_PORT}/tcp")]),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(network.to_owned(), endpoint)])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new().build();
        let created =
            self.docker.create_container(Some(options), body).await.map_err(docker_error("create a bare container"))?;
        Ok(created.id)
    }
}
