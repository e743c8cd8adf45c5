//! Many scenarios at once, as every catalog run does it (the CLI, both backends, a user's RP): at
//! most `jobs` running, started in [`Scenario::start_order`] (the longest deliberate wait first, so a
//! timeout overlaps the rest instead of ending the run alone; a permit is taken before each start,
//! so that order holds), results in the order given.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::scenario::Scenario;

/// Runs `run(index)` for every scenario, at most `jobs` at a time (0 counts as 1), and returns the
/// outputs in the order of `scenarios`; `finished` hears of each as it ends. A panic in one run is
/// resumed once every other run has ended (nothing is left running behind it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scenarios = sso_harness::catalog::load().unwrap();
/// let ids = sso_harness::concurrent::in_start_order(&scenarios, 4, |index| {
///     let id = scenarios[index].id.clone();
///     async move { id }
/// }, |_, _| {}).await;
/// assert_eq!(ids[0], scenarios[0].id);
/// # }
/// ```
pub async fn in_start_order<S, T, F, Fut>(
    scenarios: &[S],
    jobs: usize,
    run: F,
    finished: impl FnMut(usize, &T),
) -> Vec<T>
where
    S: AsRef<Scenario>,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    at_most(jobs, Scenario::start_order(scenarios), run, finished).await
}

/// Runs `run(index)` for every index of `order`, started in that order, at most `jobs` at a time
/// (0 counts as 1); returns the outputs by index (`order` must hold each of `0..n` once).
/// `finished` hears of each as it ends; a panic is resumed once every other run has ended.
pub async fn at_most<T, F, Fut>(
    jobs: usize,
    order: Vec<usize>,
    mut run: F,
    mut finished: impl FnMut(usize, &T),
) -> Vec<T>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let mut outputs: Vec<Option<T>> = order.iter().map(|_| None).collect();
    let mut tasks = JoinSet::new();
    for index in order {
        let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let running = run(index);
        tasks.spawn(async move {
            let _permit = permit;
            (index, running.await)
        });
    }
    let mut panicked = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, output)) => {
                finished(index, &output);
                outputs[index] = Some(output);
            }
            Err(error) if error.is_panic() => panicked = panicked.or(Some(error.into_panic())),
            Err(_) => {}
        }
    }
    if let Some(payload) = panicked {
        std::panic::resume_unwind(payload);
    }
    outputs.into_iter().map(|output| output.expect("every run reported")).collect()
}

#[cfg(test)]
mod tests {
    use super::in_start_order;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "current_thread")]
    async fn no_more_than_jobs_run_at_once_and_outputs_keep_the_given_order() {
        let scenarios = crate::catalog::load().unwrap();
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut heard = 0;
        let outputs = in_start_order(
            &scenarios,
            3,
            |index| {
                let (running, most) = (running.clone(), most.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    index
                }
            },
            |_, _| heard += 1,
        )
        .await;
        assert_eq!(outputs, (0..scenarios.len()).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(heard, scenarios.len());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_is_resumed_after_the_other_runs_end() {
        let scenarios = crate::catalog::load().unwrap();
        let ended = Arc::new(AtomicUsize::new(0));
        let counted = ended.clone();
        let outcome = tokio::spawn(async move {
            in_start_order(
                &scenarios,
                4,
                |index| {
                    let ended = counted.clone();
                    async move {
                        if index == 0 {
                            panic!("the first scenario's run panics");
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        ended.fetch_add(1, Ordering::SeqCst);
                    }
                },
                |_, _| {},
            )
            .await
        })
        .await;
        assert!(outcome.unwrap_err().is_panic());
        assert_eq!(ended.load(Ordering::SeqCst), crate::catalog::load().unwrap().len() - 1);
    }
}
