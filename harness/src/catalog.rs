//! The catalog of documented failures, shipped inside this crate, and loading scenario files so
//! that every bad file is reported at once while the good ones still run.
//!
//! ```
//! let catalog = sso_harness::catalog::load().expect("the shipped catalog is valid");
//! assert!(catalog.iter().any(|s| s.id == "proxy-denies-connect-to-token-endpoint"));
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::env::EnvError;
use crate::rp::LaunchRp;
use crate::scenario::{Run, Scenario, ScenarioError};

/// Every scenario file of the catalog as `(path inside the catalog, text)`, embedded at build time.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// Scenario files that could not be used, each with its own error (file and field).
#[derive(Debug, thiserror::Error)]
#[error("{} scenario file(s) cannot be used", errors.len())]
pub struct LoadErrors {
    /// One error per file, in path order.
    pub errors: Vec<ScenarioError>,
}

/// What loading a set of scenario files gave: the valid scenarios and an error per bad file.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Loaded {
    /// The scenarios that loaded, in path order.
    pub scenarios: Vec<Scenario>,
    /// One error per file that did not (also a duplicate id, naming both files).
    pub errors: Vec<ScenarioError>,
}

impl Loaded {
    /// The scenarios, or every error at once.
    pub fn into_result(self) -> Result<Vec<Scenario>, LoadErrors> {
        match self.errors.is_empty() {
            true => Ok(self.scenarios),
            false => Err(LoadErrors { errors: self.errors }),
        }
    }

    fn push(&mut self, seen: &mut HashMap<String, PathBuf>, path: &Path, result: Result<Scenario, ScenarioError>) {
        match result {
            Ok(scenario) => match seen.insert(scenario.id.clone(), path.to_owned()) {
                Some(first) => {
                    self.errors.push(ScenarioError::Duplicate { id: scenario.id, first, second: path.to_owned() })
                }
                None => self.scenarios.push(scenario),
            },
            Err(error) => self.errors.push(error),
        }
    }
}

/// The catalog shipped with this crate (the files of the repository's `scenarios/` folder).
pub fn load() -> Result<Vec<Scenario>, LoadErrors> {
    load_embedded().into_result()
}

/// One scenario of the shipped catalog, by id (or alias).
///
/// ```
/// let scenario = sso_harness::catalog::scenario("proxy-denies-connect-to-token-endpoint").unwrap();
/// assert_eq!(scenario.family, "egress-proxy");
/// ```
pub fn scenario(id: &str) -> Result<Scenario, ScenarioError> {
    let loaded = load_embedded();
    loaded.scenarios.into_iter().find(|s| s.answers_to(id)).ok_or_else(|| ScenarioError::Unknown(id.to_owned()))
}

/// [`load`], keeping the valid scenarios beside the errors.
pub fn load_embedded() -> Loaded {
    let mut loaded = Loaded::default();
    let mut seen = HashMap::new();
    for (name, text) in FILES {
        let path = Path::new("scenarios").join(name);
        let result = Scenario::parse(&path, text);
        loaded.push(&mut seen, &path, result);
    }
    loaded
}

/// Scenario files from disk: each path is a `.toml` file or a folder searched for them (sub-folders
/// included). Every file is read; a bad one is an error of its own and does not stop the others.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut files = Vec::new();
    let mut loaded = Loaded::default();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            let mut found = Vec::new();
            match crate::scenario::collect_toml(path, &mut found) {
                Ok(()) => {
                    found.sort();
                    files.extend(found);
                }
                Err(error) => loaded.errors.push(error),
            }
        } else {
            files.push(path.to_owned());
        }
    }
    let mut seen = HashMap::new();
    for file in files {
        let result = Scenario::load(&file);
        loaded.push(&mut seen, &file, result);
    }
    loaded
}

/// What running scenarios against an RP gave, one entry per scenario in the order given.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// The scenario id and its run (or why its environment did not start).
    pub runs: Vec<(String, Result<Run, EnvError>)>,
}

impl Report {
    /// Every scenario ran and behaved as documented.
    pub fn all_passed(&self) -> bool {
        self.runs.iter().all(|(_, run)| run.as_ref().is_ok_and(Run::passed))
    }
}

impl std::fmt::Display for Report {
    /// One line per scenario that did not behave as documented, with its mismatches.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let passed = self.runs.iter().filter(|(_, run)| run.as_ref().is_ok_and(Run::passed)).count();
        write!(f, "{passed} of {} scenarios behaved as documented", self.runs.len())?;
        for (id, run) in &self.runs {
            match run {
                Ok(run) if run.passed() => {}
                Ok(run) => {
                    let mismatches: Vec<String> = run.mismatches.iter().map(ToString::to_string).collect();
                    write!(f, "\n  {id}: {}", mismatches.join("; "))?;
                }
                Err(error) => write!(f, "\n  {id}: {}", crate::ErrorChain::from_error(error))?,
            }
        }
        Ok(())
    }
}

/// The scenarios that apply to an RP with `abilities`: those it has every capability and setting
/// for ([`Abilities::missing`](crate::capability::Abilities::missing) is empty).
///
/// ```
/// use sso_harness::capability::Abilities;
///
/// let all = sso_harness::catalog::load().unwrap();
/// let for_us = sso_harness::catalog::applicable(all.clone(), &Abilities::default());
/// assert!(for_us.len() < all.len());
/// assert_eq!(sso_harness::catalog::applicable(all.clone(), &Abilities::reference()).len(), all.len());
/// ```
pub fn applicable(scenarios: Vec<Scenario>, abilities: &crate::capability::Abilities) -> Vec<Scenario> {
    scenarios.into_iter().filter(|s| abilities.missing(s).is_empty()).collect()
}

/// Runs `scenarios` one after the other against the RP that `launcher` makes (a new one per
/// scenario), in-process; [`run_against_concurrently`] runs several at once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use sso_harness::{catalog, ReferenceRp};
///
/// let scenarios = catalog::load().unwrap();
/// let report = catalog::run_against(&scenarios, || ReferenceRp).await;
/// assert!(report.all_passed(), "{report}");
/// # }
/// ```
pub async fn run_against<L: LaunchRp + 'static>(scenarios: &[Scenario], launcher: impl Fn() -> L) -> Report {
    run_against_concurrently(scenarios, 1, launcher).await
}

/// [`run_against`] with up to `jobs` scenarios at once, each against a new RP from `launcher` in an
/// environment of its own: for an RP that can run several instances side by side (its own port
/// each, no shared state). The report keeps the order given; each [`Run::elapsed`](crate::scenario::Run)
/// then includes waiting for the CPU the other scenarios share.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use sso_harness::{catalog, ReferenceRp};
///
/// let scenarios = catalog::load().unwrap();
/// let report = catalog::run_against_concurrently(&scenarios, 8, || ReferenceRp).await;
/// assert!(report.all_passed(), "{report}");
/// assert_eq!(report.runs[0].0, scenarios[0].id);
/// # }
/// ```
pub async fn run_against_concurrently<L: LaunchRp + 'static>(
    scenarios: &[Scenario],
    jobs: usize,
    launcher: impl Fn() -> L,
) -> Report {
    let run = |index: usize| {
        let scenario = scenarios[index].clone();
        let builder = scenario.env_builder().launcher(launcher());
        async move { scenario.run_with(builder).await }
    };
    let runs = crate::concurrent::in_start_order(scenarios, jobs, run, |_, _| {}).await;
    Report { runs: scenarios.iter().map(|s| s.id.clone()).zip(runs).collect() }
}

/// A test binary's `main` (a `[[test]]` with `harness = false`) that makes one test per scenario,
/// named `<family>::<id>`, each run against the RP that `launcher` makes: `cargo test -- <id>`,
/// `cargo nextest run -E 'test(<id>)'` and `cargo test -- tls::` select them as usual.
///
/// The body of `fn main` in `tests/catalog.rs`, with `[[test]] name = "catalog"` and
/// `harness = false` in Cargo.toml (`examples/own-rp` does this):
///
/// ```no_run
/// let scenarios = sso_harness::catalog::load().unwrap();
/// sso_harness::catalog::test_main(scenarios, || sso_harness::ReferenceRp);
/// ```
///
/// Needs the `test-main` feature (`sso-harness = { …, features = ["test-main"] }`).
#[cfg(feature = "test-main")]
pub fn test_main<L: LaunchRp + 'static>(
    scenarios: Vec<Scenario>,
    launcher: impl Fn() -> L + Send + Sync + 'static,
) -> ! {
    let launcher = std::sync::Arc::new(launcher);
    let trials = scenarios
        .into_iter()
        .map(|scenario| {
            let launcher = launcher.clone();
            libtest_mimic::Trial::test(format!("{}::{}", scenario.family, scenario.id), move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                let run = runtime
                    .block_on(scenario.run_with(scenario.env_builder().launcher(launcher())))
                    .map_err(|error| crate::ErrorChain::from_error(&error).to_string())?;
                match run.passed() {
                    true => Ok(()),
                    false => {
                        let mismatches: Vec<String> = run.mismatches.iter().map(|m| format!("  - {m}")).collect();
                        Err(format!("not as documented:\n{}\n\n{}", mismatches.join("\n"), run.outcome.transcript())
                            .into())
                    }
                }
            })
        })
        .collect();
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_the_scenarios_folder() {
        let on_disk = load_paths(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")]).into_result().unwrap();
        let embedded = load().unwrap();
        let ids = |s: &[Scenario]| s.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&embedded), ids(&on_disk));
        assert!(embedded.len() > 10);
    }

    #[test]
    fn every_bad_file_is_reported_and_the_good_ones_load() {
        let dir = std::env::temp_dir().join(format!("sso-catalog-errors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = FILES.iter().find(|(name, _)| *name == "happy-path.toml").unwrap().1;
        std::fs::write(dir.join("happy-path.toml"), good).unwrap();
        std::fs::write(dir.join("a.toml"), "id = ").unwrap();
        std::fs::write(dir.join("b.toml"), good).unwrap();
        let loaded = load_paths(&[&dir]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(loaded.scenarios.len(), 1);
        assert_eq!(loaded.errors.len(), 2, "{:?}", loaded.errors);
    }
}
