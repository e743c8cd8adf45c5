//! `sso-repro accept ID`: run a new or changed scenario, and when it behaves as documented keep its
//! snapshot and regenerate the teaching pages, so that `cargo test` is green next.

use std::path::PathBuf;

use super::catalog::{find, Source};
use super::out::outln;
use super::{exit, report};

/// Run one scenario; if it behaves as documented, write its snapshot and update the teaching pages.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario id.
    id: String,
    /// Where the teaching pages go (default: `docs/scenarios` beside the catalog folder).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    #[command(flatten)]
    source: Source,
}

/// The snapshot file insta keeps for a transcript (the header is what the scenario test writes).
pub fn snapshot_file(title: &str, transcript: &str) -> String {
    let description = serde_json::to_string(title).expect("a string");
    format!("---\nsource: tests/scenarios.rs\ndescription: {description}\n---\n{}\n", transcript.trim_end_matches('\n'))
}

pub fn run(args: Args) -> u8 {
    let scenario = match find(&args.source, &args.id) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let run = match runtime.block_on(scenario.run()) {
        Ok(run) => run,
        Err(error) => {
            report(&error);
            return exit::HARNESS;
        }
    };
    let transcript = run.outcome.transcript();
    if !run.passed() {
        eprintln!(
            "error: {} did not behave as documented; fix its `expect` (or its setup) and run this again:",
            scenario.id
        );
        for mismatch in &run.mismatches {
            eprintln!("  - {mismatch}");
        }
        eprintln!("\n{transcript}");
        return exit::MISMATCH;
    }
    let snapshots = args.source.snapshots();
    let path = snapshots.join(format!("{}.snap", scenario.id));
    let written = std::fs::create_dir_all(&snapshots)
        .and_then(|()| std::fs::write(&path, snapshot_file(&scenario.title, &transcript)))
        .and_then(|()| match std::fs::remove_file(snapshots.join(format!("{}.snap.new", scenario.id))) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        });
    if let Err(error) = written {
        eprintln!("error: cannot write the snapshot {}", path.display());
        report(&error);
        return exit::HARNESS;
    }
    outln!("{} behaves as documented; wrote {}", scenario.id, path.display());
    let docs = args
        .docs
        .clone()
        .unwrap_or_else(|| snapshots.parent().map_or_else(PathBuf::new, PathBuf::from).join("docs/scenarios"));
    match super::docs::write(&args.source, &docs) {
        Ok(count) => outln!("wrote {count} teaching pages to {}\nnext: cargo test", docs.display()),
        Err(code) => return code,
    }
    exit::OK
}
