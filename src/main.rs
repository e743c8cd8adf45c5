//! `sso-repro`: run the catalog of documented SSO failures and explain them.
//!
//! ```text
//! sso-repro run [--format table|json] [--scenarios DIR]   run every scenario (in-process backend)
//! sso-repro list [--scenarios DIR]                         one line per scenario
//! sso-repro explain ID [--scenarios DIR]                   the story, the expected chain, the captured log
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use sso_harness::scenario::{ExpectedOutcome, Run};
use sso_harness::{ErrorChain, Scenario, ScenarioError};

const USAGE: &str = "usage: sso-repro run [--format table|json] [--backend in-process|containers] [--scenarios DIR]
       sso-repro list [--scenarios DIR]
       sso-repro explain ID [--scenarios DIR]
       sso-repro docs [--out DIR] [--scenarios DIR]      (teaching pages; default docs/scenarios)";

struct Args {
    command: String,
    containers: bool,
    id: Option<String>,
    json: bool,
    scenarios: PathBuf,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or("no command given")?;
    let containers = match std::env::var("SSO_REPRO_BACKEND").as_deref() {
        Ok("containers") => true,
        Ok("in-process") | Ok("") | Err(_) => false,
        Ok(other) => return Err(format!("SSO_REPRO_BACKEND must be in-process or containers, not {other}")),
    };
    let mut parsed = Args {
        command,
        containers,
        id: None,
        json: false,
        scenarios: default_scenarios_dir(),
        out: PathBuf::from("docs/scenarios"),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--format" => match args.next().as_deref() {
                Some("json") => parsed.json = true,
                Some("table") => parsed.json = false,
                other => return Err(format!("--format takes table or json, not {}", other.unwrap_or("nothing"))),
            },
            "--backend" => match args.next().as_deref() {
                Some("containers") => parsed.containers = true,
                Some("in-process") => parsed.containers = false,
                other => {
                    return Err(format!("--backend takes in-process or containers, not {}", other.unwrap_or("nothing")))
                }
            },
            "--out" => parsed.out = args.next().ok_or("--out takes a directory")?.into(),
            "--scenarios" => parsed.scenarios = args.next().ok_or("--scenarios takes a directory")?.into(),
            "-h" | "--help" => return Err(String::new()),
            _ if parsed.command == "explain" && parsed.id.is_none() && !arg.starts_with('-') => parsed.id = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(parsed)
}

/// `./scenarios` when run from a checkout, else the workspace's own catalog.
fn default_scenarios_dir() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let scenarios = match Scenario::load_dir(&args.scenarios) {
        Ok(scenarios) => scenarios,
        Err(error) => return fail(&error),
    };
    match args.command.as_str() {
        "run" => run(&scenarios, args.json, args.containers),
        "docs" => write_docs(&args.scenarios, &args.out),
        "list" => {
            for s in &scenarios {
                println!("{:<48} {:<15} {}", s.id, s.family, s.title);
            }
            ExitCode::SUCCESS
        }
        "explain" => match args.id.as_deref().map(|id| (id, scenarios.iter().find(|s| s.answers_to(id)))) {
            Some((_, Some(scenario))) => {
                explain(scenario, &args.scenarios);
                ExitCode::SUCCESS
            }
            Some((id, None)) => fail(&ScenarioError::Unknown(id.to_owned())),
            None => {
                eprintln!("error: explain needs a scenario id (see sso-repro list)\n{USAGE}");
                ExitCode::from(2)
            }
        },
        other => {
            eprintln!("error: unknown command {other}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn fail(error: &(dyn std::error::Error + 'static)) -> ExitCode {
    eprintln!("{}", ErrorChain::from_error(error));
    ExitCode::FAILURE
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

/// Runs one scenario on the chosen backend.
struct Runner {
    #[cfg(feature = "containers")]
    containers: Option<sso_harness::containers::ContainerBackend>,
}

impl Runner {
    async fn new(containers: bool) -> Result<Runner, Box<dyn std::error::Error>> {
        #[cfg(feature = "containers")]
        {
            let backend = match containers {
                true => Some(sso_harness::containers::ContainerBackend::connect().await?),
                false => None,
            };
            Ok(Runner { containers: backend })
        }
        #[cfg(not(feature = "containers"))]
        match containers {
            true => Err("this build has no containers backend: run `cargo run --features containers -- run --backend containers`, or use the in-process backend".into()),
            false => Ok(Runner {}),
        }
    }

    fn name(&self) -> &'static str {
        #[cfg(feature = "containers")]
        if self.containers.is_some() {
            return "containers";
        }
        "in-process"
    }

    async fn run(&self, scenario: &Scenario) -> Result<Run, Box<dyn std::error::Error>> {
        #[cfg(feature = "containers")]
        if let Some(backend) = &self.containers {
            return Ok(scenario.run_in_containers(backend).await?);
        }
        Ok(scenario.run().await?)
    }
}

fn run(scenarios: &[Scenario], json: bool, containers: bool) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let runner = match runtime.block_on(Runner::new(containers)) {
        Ok(runner) => runner,
        Err(error) => return fail(error.as_ref()),
    };
    let mut ordered: Vec<&Scenario> = scenarios.iter().collect();
    ordered.sort_by(|a, b| (&a.family, &a.id).cmp(&(&b.family, &b.id)));
    let started = Instant::now();
    let mut results = Vec::new();
    for scenario in ordered {
        match runtime.block_on(runner.run(scenario)) {
            Ok(run) => results.push((scenario, run)),
            Err(error) => return fail(error.as_ref()),
        }
    }
    let wall = started.elapsed();
    let failed = results.iter().filter(|(_, run)| !run.passed()).count();
    if json {
        let items: Vec<_> = results
            .iter()
            .map(|(s, run)| {
                json!({
                    "id": s.id, "family": s.family, "title": s.title,
                    "expected": { "outcome": s.expect.outcome, "wrapper": s.expect.wrapper, "root_cause": s.expect.root_cause },
                    "observed": {
                        "signed_in": run.outcome.signed_in(),
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
        let report = json!({
            "backend": runner.name(),
            "scenarios": items,
            "totals": { "scenarios": results.len(), "passed": results.len() - failed, "failed": failed, "wall_ms": wall.as_secs_f64() * 1000.0 },
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        print_table(&results);
        println!(
            "\n{} scenarios on the {} backend: {} as documented, {} mismatched — {:.0} ms wall",
            results.len(),
            runner.name(),
            results.len() - failed,
            failed,
            wall.as_secs_f64() * 1000.0
        );
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_table(results: &[(&Scenario, Run)]) {
    let mut family = "";
    println!("{:<48} {:<32} {:<32} {:<8} {:>8}", "SCENARIO", "EXPECTED", "OBSERVED", "VERDICT", "TIME");
    for (scenario, run) in results {
        if scenario.family != family {
            family = &scenario.family;
            let count = results.iter().filter(|(s, _)| s.family == family).count();
            let passed = results.iter().filter(|(s, r)| s.family == family && r.passed()).count();
            println!("\n{family} ({passed}/{count})");
        }
        let verdict = if run.passed() { "ok" } else { "MISMATCH" };
        let time = format!("{:.1} ms", run.elapsed.as_secs_f64() * 1000.0);
        println!("  {:<46} {:<32} {:<32} {:<8} {:>8}", scenario.id, expected(scenario), observed(run), verdict, time);
        for mismatch in &run.mismatches {
            println!("      {mismatch}");
        }
    }
}

fn explain(s: &Scenario, scenarios_dir: &Path) {
    let story = &s.story;
    println!("{} — {}\nfamily: {}\n", s.id, s.title, s.family);
    println!("SYMPTOM\n  {}\n", story.symptom);
    if !story.seen_in.is_empty() {
        println!("SEEN IN");
        for seen in &story.seen_in {
            println!("  - {seen}");
        }
        println!();
    }
    if !story.log.trim().is_empty() {
        println!("PRODUCT LOG\n{}\n", indent(story.log.trim_matches('\n')));
    }
    println!("CAUSE\n  {}\n\nFIX\n  {}\n", story.cause.trim(), story.fix.trim());
    match (&s.expect.wrapper, s.expect.root_cause) {
        (Some(wrapper), Some(cause)) => {
            println!("EXPECTED CHAIN\n  error: {wrapper}\n  root cause: {cause}\n")
        }
        _ => println!("EXPECTED\n  the user signs in\n"),
    }
    let snapshot = scenarios_dir.join("..").join("snapshots").join(format!("{}.snap", s.id));
    if let Ok(text) = std::fs::read_to_string(&snapshot) {
        let captured = text.splitn(3, "---").nth(2).unwrap_or_default();
        println!("CAPTURED (what sso-repro recorded, normalized)\n{}\n", indent(captured.trim_matches('\n')));
    }
    if !story.references.is_empty() {
        println!("REFERENCES");
        for reference in &story.references {
            println!("  - {reference}");
        }
        println!();
    }
    println!("REPRODUCE\n  cargo test --test scenarios -- {}", s.id.replace('-', "_"));
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
}

fn write_docs(scenarios_dir: &Path, out: &Path) -> ExitCode {
    let snapshots = scenarios_dir.join("..").join("snapshots");
    let pages = match sso_harness::docs::render(scenarios_dir, &snapshots) {
        Ok(pages) => pages,
        Err(error) => return fail(&error),
    };
    let written = std::fs::create_dir_all(out).and_then(|()| {
        for entry in std::fs::read_dir(out)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") && !pages.contains_key(&name) {
                std::fs::remove_file(entry.path())?;
            }
        }
        pages.iter().try_for_each(|(name, text)| std::fs::write(out.join(name), text))
    });
    match written {
        Ok(()) => {
            println!("wrote {} pages to {}", pages.len(), out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: writing the pages to {} failed: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}
