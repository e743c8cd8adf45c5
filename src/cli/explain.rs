//! `sso-repro explain ID`: the story, the expected chain, the captured log, how to reproduce.

use super::catalog::{find, Source};
use super::exit;
use super::out::outln;

/// Explain one scenario: story, expected chain, captured log, references.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario id (see `sso-repro list`).
    id: String,
    #[command(flatten)]
    source: Source,
}

pub fn run(args: Args) -> u8 {
    let s = match find(&args.source, &args.id) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let story = &s.story;
    outln!("{} — {}\nfamily: {}\n", s.id, s.title, s.family);
    outln!("SYMPTOM\n  {}\n", story.symptom);
    if !story.seen_in.is_empty() {
        outln!("SEEN IN");
        for seen in &story.seen_in {
            outln!("  - {seen}");
        }
        outln!();
    }
    if !story.log.trim().is_empty() {
        outln!("PRODUCT LOG\n{}\n", indent(story.log.trim_matches('\n')));
    }
    outln!("CAUSE\n  {}\n\nFIX\n  {}\n", story.cause.trim(), story.fix.trim());
    match (&s.expect.wrapper, s.expect.root_cause) {
        (Some(wrapper), Some(cause)) => outln!("EXPECTED CHAIN\n  error: {wrapper}\n  root cause: {cause}\n"),
        _ => outln!("EXPECTED\n  the user signs in\n"),
    }
    let snapshot = args.source.snapshots().join(format!("{}.snap", s.id));
    if let Ok(text) = std::fs::read_to_string(&snapshot) {
        let captured = text.splitn(3, "---").nth(2).unwrap_or_default();
        outln!("CAPTURED (what sso-repro recorded, normalized)\n{}\n", indent(captured.trim_matches('\n')));
    }
    if !story.references.is_empty() {
        outln!("REFERENCES");
        for reference in &story.references {
            outln!("  - {reference}");
        }
        outln!();
    }
    outln!("REPRODUCE\n{}", indent(&reproduce(&s.id)));
    exit::OK
}

/// The commands that reproduce scenario `id`.
pub fn reproduce(id: &str) -> String {
    format!("sso-repro run {id}\ncargo test --test scenarios -- {id}")
}

pub fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
}
