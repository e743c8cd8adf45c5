//! Many scenarios on one engine at once: bounded concurrency, one environment (three containers,
//! three networks) per scenario as always, the image built once per process, results in the
//! catalog's order, and each environment removed without blocking the others.

use super::{ContainerBackend, ContainerEnv, ContainersError};
use crate::scenario::{Run, Scenario};

impl ContainerEnv {
    /// Removes the containers, then the networks, awaiting the engine instead of blocking a thread
    /// as Drop must. Drop still removes whatever this leaves (a failed removal, a cancelled task).
    pub async fn remove(mut self, backend: &ContainerBackend) {
        for party in std::mem::take(&mut self.parties) {
            // On failure the container's own Drop tries again.
            let _ = party.container.rm().await;
        }
        let networks = std::mem::take(&mut self.networks);
        let mut left = Vec::new();
        for network in networks {
            if backend.docker.remove_network(&network).await.is_err() {
                left.push(network);
            }
        }
        self.networks = left;
    }
}

impl ContainerBackend {
    /// Runs `scenarios` with at most `jobs` environments at a time (`jobs` 0 counts as 1; see
    /// [`ContainerBackend::capacity`] for the engine's own bound) and returns their runs in the order
    /// given. Each [`Run::elapsed`] is its own environment's start to the end of its sign-in, so with
    /// overlap it includes waiting for the engine, which other environments keep busy; removal is not
    /// included. A panic in a run is resumed here, after every environment is gone.
    pub async fn run_catalog(&self, scenarios: &[Scenario], jobs: usize) -> Vec<Result<Run, ContainersError>> {
        let run = |index: usize| {
            let (scenario, backend) = (scenarios[index].clone(), self.clone());
            async move { backend.run_scenario(&scenario).await }
        };
        crate::concurrent::in_start_order(scenarios, jobs, run, |_, _| {}).await
    }

    /// Runs one scenario in an environment of its own and removes it, awaiting the engine (what
    /// [`ContainerBackend::run_catalog`] does for each scenario; safe to call concurrently).
    pub async fn run_scenario(&self, scenario: &Scenario) -> Result<Run, ContainersError> {
        let started = std::time::Instant::now();
        let env = scenario.env_builder().start_in_containers(self).await?;
        let outcome = env.sign_in().await;
        let elapsed = started.elapsed();
        env.remove(self).await;
        let outcome = outcome?;
        let mismatches = scenario.check(&outcome);
        Ok(Run { outcome, mismatches, elapsed })
    }
}
