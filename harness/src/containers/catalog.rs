//! Many scenarios on one engine at once: bounded concurrency, one environment (three containers,
//! three networks) per scenario as always, the image built once per process, results in the
//! catalog's order, and each environment removed without blocking the others.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

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
        let permits = Arc::new(Semaphore::new(jobs.max(1)));
        let mut tasks = JoinSet::new();
        // Longest deliberate wait first; a permit is taken before each start, so the order holds.
        for index in Scenario::start_order(scenarios) {
            let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
            let (scenario, backend) = (scenarios[index].clone(), self.clone());
            tasks.spawn(async move {
                let _permit = permit;
                (index, backend.run_scenario(&scenario).await)
            });
        }
        let mut runs: Vec<Option<Result<Run, ContainersError>>> = scenarios.iter().map(|_| None).collect();
        let mut panicked = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, run)) => runs[index] = Some(run),
                Err(error) if error.is_panic() => panicked = panicked.or(Some(error.into_panic())),
                Err(_) => {}
            }
        }
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
        runs.into_iter().map(|run| run.expect("every task reported")).collect()
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
