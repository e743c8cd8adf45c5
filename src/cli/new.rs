//! `sso-repro new ID --from EXISTING` (or `--from-log FILE`): a scenario file to start from.

use std::path::PathBuf;

use sso_harness::diagnose::diagnose;

use super::catalog::{find, Source};
use super::out::outln;
use super::{exit, report};

/// Write a new scenario file, copied from an existing scenario or from the best match of a log.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The new scenario's id (also its file name).
    id: String,
    /// Start from this scenario of the catalog.
    #[arg(long, value_name = "ID", required_unless_present = "from_log", conflicts_with = "from_log")]
    from: Option<String>,
    /// Start from the scenario that best reproduces this log, and keep the log in the story.
    #[arg(long, value_name = "FILE")]
    from_log: Option<PathBuf>,
    /// The folder to write to (default: the catalog folder, `./scenarios`).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    source: Source,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub fn run(args: Args) -> u8 {
    if !valid_id(&args.id) {
        eprintln!("error: the id `{}` must be lowercase letters, digits, `-` or `_` (it names the file)", args.id);
        return exit::USAGE;
    }
    let mut log = None;
    let from = match (&args.from, &args.from_log) {
        (Some(from), _) => from.clone(),
        (None, Some(path)) => {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(error) => {
                    eprintln!("error: cannot read the log {}", path.display());
                    report(&error);
                    return exit::HARNESS;
                }
            };
            let catalog = args.source.load().scenarios;
            let diagnosis = diagnose(&text, &catalog);
            let Some(best) = diagnosis.matches.first() else {
                eprintln!(
                    "error: `sso-repro diagnose {}` recognises no cause to start from; use --from ID",
                    path.display()
                );
                return exit::UNCLASSIFIED;
            };
            let id = best.scenario.id.clone();
            log = Some(text);
            id
        }
        (None, None) => unreachable!("clap requires --from or --from-log"),
    };
    let base = match find(&args.source, &from) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let dir = args.dir.clone().unwrap_or_else(|| args.source.dir().unwrap_or_else(|| PathBuf::from("scenarios")));
    let path = dir.join(format!("{}.toml", args.id));
    if path.exists() {
        eprintln!("error: {} exists already; choose another id", path.display());
        return exit::USAGE;
    }
    let mut scenario = base.clone();
    scenario.id = args.id.clone();
    scenario.aliases.clear();
    scenario.title = format!("TODO: what breaks (started from {})", base.id);
    if let Some(log) = log {
        scenario.story.log = format!("\n{}\n", log.trim_matches('\n'));
    }
    let text = match toml::to_string(&scenario) {
        Ok(text) => format!("# Started from `{}`: change the title, story, setup and expect.\n{text}", base.id),
        Err(error) => {
            report(&error);
            return exit::HARNESS;
        }
    };
    if let Err(error) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        eprintln!("error: cannot write {}", path.display());
        report(&error);
        return exit::HARNESS;
    }
    outln!("wrote {}", path.display());
    outln!(
        "next: edit it, then `sso-repro accept {}` (runs it, keeps its snapshot, updates the teaching pages)",
        args.id
    );
    exit::OK
}
