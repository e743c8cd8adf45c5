//! How many environments one engine takes at once: the default concurrency of the containers backend.
//!
//! An environment is three containers and three networks. What runs out first on one engine is
//! (a) the engine's CPU — every container start, network connect and removal is work for `dockerd`,
//! and on a small machine the engine is the bottleneck long before the parties are — and (b) the
//! address pools: Docker's default pools hold 31 bridge subnets (15 × /16 in 172.17–31, 16 × /20 in
//! 192.168/16), each network takes one, and a network the pools cannot fit fails to be created.
//! Memory hardly counts (a party container uses a few MiB) but is checked too.

use super::{docker_error, ContainerBackend, ContainersError};
use testcontainers::bollard::query_parameters::ListNetworksOptions;

/// Bridge subnets in Docker's default address pools (see the module documentation).
const DEFAULT_POOL_SUBNETS: usize = 31;
/// Networks one environment makes (front, idp, egress).
const NETWORKS_PER_ENV: usize = 3;
/// Environments per engine CPU: each mostly waits on the engine, so a few overlap usefully.
const ENVS_PER_CPU: usize = 4;
/// Memory set aside per environment (three small static processes plus the engine's bookkeeping).
const MEMORY_PER_ENV: i64 = 128 * 1024 * 1024;

/// What the engine reported, and the concurrency derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capacity {
    /// CPUs of the engine's machine.
    pub cpus: usize,
    /// Memory of the engine's machine, bytes.
    pub memory: i64,
    /// Bridge networks already on the engine (any owner), each holding one pool subnet.
    pub networks_in_use: usize,
    /// Environments to run at once: the least of the CPU, address-pool and memory bounds, at least 1.
    pub environments: usize,
}

impl Capacity {
    /// The bounds from what the engine reports (pure, for tests).
    pub fn from_engine(cpus: usize, memory: i64, networks_in_use: usize) -> Capacity {
        let by_cpu = cpus.max(1) * ENVS_PER_CPU;
        let by_pools = DEFAULT_POOL_SUBNETS.saturating_sub(networks_in_use) / NETWORKS_PER_ENV;
        let by_memory = usize::try_from(memory / MEMORY_PER_ENV).unwrap_or(usize::MAX).max(1);
        let environments = by_cpu.min(by_pools).min(by_memory).max(1);
        Capacity { cpus, memory, networks_in_use, environments }
    }
}

impl ContainerBackend {
    /// Asks the engine (`docker info`, and its bridge networks) how many environments it can take at
    /// once; the containers backend's default for `--jobs`.
    pub async fn capacity(&self) -> Result<Capacity, ContainersError> {
        let info = self.docker.info().await.map_err(docker_error("report its capacity"))?;
        let cpus = info.ncpu.and_then(|n| usize::try_from(n).ok()).unwrap_or(1);
        let memory = info.mem_total.unwrap_or(0);
        let networks =
            self.docker.list_networks(None::<ListNetworksOptions>).await.map_err(docker_error("list networks"))?;
        // `host` and `none` hold no subnet; `bridge` and every network made since do.
        let in_use = networks.iter().filter(|n| n.driver.as_deref() == Some("bridge")).count();
        Ok(Capacity::from_engine(cpus, memory, in_use))
    }
}

#[cfg(test)]
mod tests {
    use super::Capacity;

    #[test]
    fn the_address_pools_bound_a_large_machine() {
        // 64 CPUs would allow 256, the default pools fit (31 - 1) / 3 = 10 environments.
        assert_eq!(Capacity::from_engine(64, 1 << 40, 1).environments, 10);
    }

    #[test]
    fn the_cpus_bound_a_small_machine() {
        assert_eq!(Capacity::from_engine(1, 1 << 40, 1).environments, 4);
    }

    #[test]
    fn a_full_engine_still_runs_one_at_a_time() {
        assert_eq!(Capacity::from_engine(2, 1 << 40, 31).environments, 1);
        assert_eq!(Capacity::from_engine(2, 0, 1).environments, 1);
    }
}
