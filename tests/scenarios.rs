//! Every scenario file is a test: it runs on the in-process backend, must produce its documented
//! outcome (wrapper and root cause included), and keeps a snapshot of every party's normalized log.
//!
//! The tests are named `<family>::<id>` (and `containers::<family>::<id>` with the `containers`
//! feature), so names stay put when files are added: `cargo test --test scenarios -- <id>`,
//! `cargo test --test scenarios -- tls::`, `cargo nextest run -E 'test(<id>)'`.

mod common;

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use sso_harness::{ErrorChain, Scenario};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn in_process(scenario: &Scenario) -> Result<(), Failed> {
    let run = runtime().block_on(scenario.run()).map_err(|error| ErrorChain::from_error(&error).to_string())?;
    common::assert_documented(scenario, &run, &scenario.id, "");
    Ok(())
}

#[cfg(feature = "containers")]
fn in_containers(scenario: &Scenario) -> Result<(), Failed> {
    use sso_harness::containers::ContainerBackend;
    let chain = |error: &(dyn std::error::Error + 'static)| ErrorChain::from_error(error).to_string();
    let run = runtime().block_on(async {
        let backend = ContainerBackend::connect().await.map_err(|e| chain(&e))?;
        scenario.run_in_containers(&backend).await.map_err(|e| chain(&e))
    })?;
    // One snapshot for both backends, unless the scenario says why the text differs.
    let name = match &scenario.containers_snapshot_differs {
        Some(_) => format!("{}.containers", scenario.id),
        None => scenario.id.clone(),
    };
    common::assert_documented(scenario, &run, &name, "");
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let loaded = sso_harness::catalog::load_paths(&[dir]);
    let mut trials: Vec<Trial> = loaded
        .errors
        .into_iter()
        .map(|error| {
            let message = ErrorChain::from_error(&error).to_string();
            Trial::test(format!("load::{}", error_file(&error)), move || Err(message.into()))
        })
        .collect();
    for scenario in loaded.scenarios {
        let name = format!("{}::{}", scenario.family, scenario.id);
        #[cfg(feature = "containers")]
        {
            let scenario = scenario.clone();
            trials.push(Trial::test(format!("containers::{name}"), move || in_containers(&scenario)));
        }
        trials.push(Trial::test(name, move || in_process(&scenario)));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The file a load error is about (its test is named after it).
fn error_file(error: &sso_harness::ScenarioError) -> String {
    let text = error.to_string();
    text.split_whitespace().find(|w| w.ends_with(".toml")).unwrap_or("scenarios").to_owned()
}
