//! `sso-repro run`: play the selected scenarios and report each against its documentation.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sso_harness::scenario::{ExpectedOutcome, Run};
use sso_harness::Scenario;

use super::catalog::select;
use super::out::outln;
use super::{exit, report, Format, Selection, SCHEMA_VERSION};

/// Run scenarios (all by default) and compare each with its documented outcome.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Where the parties run (also `SSO_REPRO_BACKEND`).
    #[arg(long, value_enum, env = "SSO_REPRO_BACKEND", default_value = "in-process")]
    backend: Backend,
    /// How many scenarios run at once (1: one after the other; default: four per core in-process,
    /// what the engine can take on containers). The report stays in catalog order; each scenario's
    /// time then includes waiting for the CPU (or the engine) it shares.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

/// Four per core: an in-process scenario mostly waits (on sockets, on its deliberate timeouts), so a
/// few overlap usefully on each core.
fn default_jobs() -> usize {
    4 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    InProcess,
    Containers,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The runtime and, with the `containers` feature, the container backend.
struct Runner {
    #[cfg(feature = "containers")]
    containers: Option<sso_harness::containers::ContainerBackend>,
}

impl Runner {
    async fn new(backend: Backend) -> Result<Runner, BoxError> {
        #[cfg(feature = "containers")]
        {
            let containers = match backend {
                Backend::Containers => Some(sso_harness::containers::ContainerBackend::connect().await?),
                Backend::InProcess => None,
            };
            Ok(Runner { containers })
        }
        #[cfg(not(feature = "containers"))]
        match backend {
            Backend::Containers => Err("this build has no containers backend: run `cargo run --features containers -- run --backend containers`, or use the in-process backend".into()),
            Backend::InProcess => Ok(Runner {}),
        }
    }

    fn name(&self) -> &'static str {
        #[cfg(feature = "containers")]
        if self.containers.is_some() {
            return "containers";
        }
        "in-process"
    }

    /// How many scenarios at once when `--jobs` is not given: four per core in-process, the
    /// engine's capacity on containers.
    async fn default_jobs(&self) -> Result<usize, BoxError> {
        #[cfg(feature = "containers")]
        if let Some(backend) = &self.containers {
            return Ok(backend.capacity().await?.environments);
        }
        Ok(default_jobs())
    }

    async fn run(&self, scenario: &Scenario) -> Result<Run, BoxError> {
        #[cfg(feature = "containers")]
        if let Some(backend) = &self.containers {
            return Ok(backend.run_scenario(scenario).await?);
        }
        Ok(scenario.run().await?)
    }
}

/// A live line on a terminal (stderr), nothing in CI or when stderr is not a terminal.
struct Progress {
    live: bool,
    total: usize,
    done: usize,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Progress { live, total, done: 0 }
    }

    fn finished(&mut self, id: &str, passed: bool) {
        self.done += 1;
        if self.live {
            let verdict = if passed { "ok" } else { "MISMATCH" };
            eprint!("\r\x1b[2K[{}/{}] {id} {verdict}", self.done, self.total);
        }
    }

    fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}

pub fn run(args: Args) -> u8 {
    let selected = match select(&args.selection) {
        Ok(selected) => selected,
        Err(code) => return code,
    };
    if args.jobs == Some(0) {
        eprintln!("error: --jobs must be at least 1");
        return exit::USAGE;
    }
    let threads = args.jobs.unwrap_or_else(default_jobs);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            report(&error);
            return exit::HARNESS;
        }
    };
    let runner = match runtime.block_on(Runner::new(args.backend)) {
        Ok(runner) => Arc::new(runner),
        Err(error) => {
            report(error.as_ref());
            return exit::HARNESS;
        }
    };
    let mut ordered = selected.scenarios;
    ordered.sort_by(|a, b| (&a.family, &a.id).cmp(&(&b.family, &b.id)));
    let ordered: Vec<Arc<Scenario>> = ordered.into_iter().map(Arc::new).collect();
    let jobs = match args.jobs {
        Some(jobs) => jobs,
        None => match runtime.block_on(runner.default_jobs()) {
            Ok(jobs) => jobs,
            Err(error) => {
                report(error.as_ref());
                return exit::HARNESS;
            }
        },
    };
    let started = Instant::now();
    let mut progress = Progress::new(ordered.len());
    let results = runtime.block_on(sso_harness::concurrent::in_start_order(
        &ordered,
        jobs,
        |index| {
            let (runner, scenario) = (runner.clone(), ordered[index].clone());
            async move { runner.run(&scenario).await }
        },
        |index, result: &Result<Run, BoxError>| {
            progress.finished(&ordered[index].id, result.as_ref().is_ok_and(Run::passed))
        },
    ));
    progress.clear();
    let wall = started.elapsed();
    let mut runs = Vec::new();
    for (scenario, result) in ordered.iter().zip(results) {
        match result {
            Ok(run) => runs.push((scenario.as_ref(), run)),
            Err(error) => {
                eprintln!("error: scenario {} could not run", scenario.id);
                report(error.as_ref());
                return exit::HARNESS;
            }
        }
    }
    let failed = runs.iter().filter(|(_, run)| !run.passed()).count();
    match args.format {
        Format::Json => print_json(&runs, runner.name(), jobs, wall, selected.load_errors),
        Format::Table => {
            print_table(&runs);
            outln!(
                "\n{} scenarios on the {} backend ({jobs} at a time): {} as documented, {} mismatched — {:.0} ms wall",
                runs.len(),
                runner.name(),
                runs.len() - failed,
                failed,
                wall.as_secs_f64() * 1000.0
            );
        }
    }
    if selected.load_errors > 0 {
        eprintln!("error: {} scenario file(s) could not be used (above); the others ran", selected.load_errors);
        exit::LOAD_ERROR
    } else if failed > 0 {
        exit::MISMATCH
    } else {
        exit::OK
    }
}

/// `signed-in` / `failed`: the spelling of the scenario files.
pub fn outcome_name(outcome: ExpectedOutcome) -> Value {
    serde_json::to_value(outcome).expect("a plain enum")
}

pub fn expected_json(s: &Scenario) -> Value {
    json!({ "outcome": outcome_name(s.expect.outcome), "wrapper": s.expect.wrapper, "root_cause": s.expect.root_cause })
}

fn print_json(runs: &[(&Scenario, Run)], backend: &str, jobs: usize, wall: Duration, load_errors: usize) {
    let items: Vec<_> = runs
        .iter()
        .map(|(s, run)| {
            let observed = if run.outcome.signed_in() { ExpectedOutcome::SignedIn } else { ExpectedOutcome::Failed };
            json!({
                "id": s.id, "family": s.family, "title": s.title,
                "expected": expected_json(s),
                "observed": {
                    "outcome": outcome_name(observed),
                    "wrapper": run.outcome.failure.as_ref().map(|f| f.wrapper().to_owned()),
                    "root_cause": run.outcome.root_cause(),
                    "chain": run.outcome.failure.as_ref().map(|f| sso_harness::redact::normalize(&f.levels.join("\n")).lines().map(str::to_owned).collect::<Vec<_>>()),
                },
                "passed": run.passed(),
                "mismatches": run.mismatches,
                "elapsed_ms": run.elapsed.as_secs_f64() * 1000.0,
            })
        })
        .collect();
    let failed = runs.iter().filter(|(_, run)| !run.passed()).count();
    let report = json!({
        "schema_version": SCHEMA_VERSION,
        "backend": backend,
        "jobs": jobs,
        "scenarios": items,
        "totals": { "scenarios": runs.len(), "passed": runs.len() - failed, "failed": failed, "load_errors": load_errors, "wall_ms": wall.as_secs_f64() * 1000.0 },
    });
    outln!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
}

fn expected(scenario: &Scenario) -> String {
    match (scenario.expect.outcome, scenario.expect.root_cause) {
        (ExpectedOutcome::Failed, Some(cause)) => format!("failed: {cause}"),
        _ => "signed in".to_owned(),
    }
}

fn observed(run: &Run) -> String {
    match (&run.outcome.failure, run.outcome.signed_in()) {
        (_, true) => "signed in".to_owned(),
        (Some(chain), false) => format!("failed: {}", chain.root_cause()),
        (None, false) => "did not complete".to_owned(),
    }
}

fn print_table(results: &[(&Scenario, Run)]) {
    let mut family = "";
    outln!("{:<48} {:<32} {:<32} {:<8} {:>8}", "SCENARIO", "EXPECTED", "OBSERVED", "VERDICT", "TIME");
    for (scenario, run) in results {
        if scenario.family != family {
            family = &scenario.family;
            let count = results.iter().filter(|(s, _)| s.family == family).count();
            let passed = results.iter().filter(|(s, r)| s.family == family && r.passed()).count();
            outln!("\n{family} ({passed}/{count})");
        }
        let verdict = if run.passed() { "ok" } else { "MISMATCH" };
        let time = format!("{:.1} ms", run.elapsed.as_secs_f64() * 1000.0);
        outln!("  {:<46} {:<32} {:<32} {:<8} {:>8}", scenario.id, expected(scenario), observed(run), verdict, time);
        for mismatch in &run.mismatches {
            outln!("      {mismatch}");
        }
    }
}
