//! `sso-repro diagnose [FILE]`: read a pasted log back as an error chain and name the scenarios
//! that reproduce it.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use serde_json::json;
use sso_harness::diagnose::{diagnose, stage_name, Diagnosis};

use super::catalog::Source;
use super::explain::{indent, reproduce};
use super::out::outln;
use super::{exit, report, Format, SCHEMA_VERSION};

/// Diagnose a log (a stack trace, a traceback, an error_log excerpt): the stage that failed, the root
/// cause, whose wording it is, and the scenarios that reproduce it, best match first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The log file (`-` or none: standard input).
    file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Show at most this many scenarios.
    #[arg(long, default_value_t = 5)]
    limit: usize,
    #[command(flatten)]
    source: Source,
}

pub fn run(args: Args) -> u8 {
    let mut log = String::new();
    let read = match &args.file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path).map(|bytes| {
            log = String::from_utf8_lossy(&bytes).into_owned();
        }),
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading the log from standard input: paste it, then end with Ctrl-D");
            }
            std::io::stdin().read_to_string(&mut log).map(drop)
        }
    };
    if let Err(error) = read {
        let name = args.file.as_ref().map_or("standard input".to_owned(), |p| p.display().to_string());
        eprintln!("error: cannot read the log {name}");
        report(&error);
        return exit::HARNESS;
    }
    let loaded = args.source.load();
    for error in &loaded.errors {
        report(error);
    }
    let diagnosis = diagnose(&log, &loaded.scenarios);
    match args.format {
        Format::Table => print_table(&diagnosis, args.limit),
        Format::Json => print_json(&diagnosis, args.limit),
    }
    match (diagnosis.root_cause, loaded.errors.is_empty()) {
        (None, _) => exit::UNCLASSIFIED,
        (Some(_), false) => exit::LOAD_ERROR,
        (Some(_), true) => exit::OK,
    }
}

fn print_table(d: &Diagnosis, limit: usize) {
    let Some(cause) = d.root_cause else {
        outln!("NOT CLASSIFIED\n  nothing in this log names a cause sso-repro knows; it guesses none.\n");
        match d.chain.is_empty() {
            true => outln!("READ AS THE CHAIN\n  (no line looked like a failure: an exception, ERROR, failed)"),
            false => outln!("READ AS THE CHAIN\n{}", indent(&d.chain.join("\n"))),
        }
        return;
    };
    outln!("STAGE\n  {}\n", d.stage.map_or("unknown (the log does not name it)".to_owned(), |s| s.to_string()));
    outln!("ROOT CAUSE\n  {cause}\n");
    if !d.wording_from.is_empty() {
        outln!("WORDING FROM\n  {}\n", d.wording_from.join("; "));
    }
    outln!("CHAIN\n{}\n", indent(&d.chain.join("\n")));
    if d.matches.is_empty() {
        outln!("SCENARIOS\n  none in the catalog produces {cause}; `sso-repro new` starts one");
        return;
    }
    outln!("SCENARIOS (best match first)");
    for (rank, m) in d.matches.iter().take(limit).enumerate() {
        let s = m.scenario;
        outln!("{}. {} — {}", rank + 1, s.id, s.title);
        outln!("   fix: {}", s.story.fix.split_whitespace().collect::<Vec<_>>().join(" "));
        outln!("   reproduce: {}", reproduce(&s.id).lines().next().unwrap_or_default());
    }
}

fn print_json(d: &Diagnosis, limit: usize) {
    let matches: Vec<_> = d
        .matches
        .iter()
        .take(limit)
        .map(|m| {
            json!({
                "id": m.scenario.id, "title": m.scenario.title, "family": m.scenario.family,
                "same_stage": m.same_stage, "similarity": m.similarity,
                "fix": m.scenario.story.fix.trim(),
                "reproduce": reproduce(&m.scenario.id).lines().collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "schema_version": SCHEMA_VERSION,
        "classified": d.root_cause.is_some(),
        "stage": d.stage.map(stage_name),
        "root_cause": d.root_cause,
        "wording_from": d.wording_from,
        "chain": d.chain,
        "matches": matches,
    });
    outln!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
}
