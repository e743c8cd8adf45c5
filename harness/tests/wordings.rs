//! The wording corpus: every real text in `tests/wordings.tsv` is read the way its RP's log is read
//! and must classify as the root cause it was produced by. Unclassified is tolerated up to 5%; a text
//! classified as a different cause fails the test at once (a wrong answer is worse than none).

use std::path::Path;

use sso_harness::{LogFormat, RootCause};

struct Row {
    line: usize,
    client: String,
    format: String,
    cause: RootCause,
    text: String,
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn corpus() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wordings.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| {
            let fields: Vec<&str> = l.splitn(5, '\t').collect();
            let [_source, client, format, cause, text] = fields[..] else {
                panic!("{}:{}: expected 5 tab-separated fields", path.display(), i + 1)
            };
            let cause = serde_json::from_value(serde_json::Value::String(cause.to_owned()))
                .unwrap_or_else(|_| panic!("{}:{}: unknown root cause {cause:?}", path.display(), i + 1));
            Row { line: i + 1, client: client.to_owned(), format: format.to_owned(), cause, text: unescape(text) }
        })
        .collect()
}

fn format(name: &str) -> LogFormat {
    match name {
        "default" => LogFormat::default(),
        "go" => LogFormat::go_log(),
        "apache" => LogFormat::apache_error_log(),
        "line" => LogFormat::every_line(),
        other => panic!("unknown format {other:?} in tests/wordings.tsv"),
    }
}

fn classify(row: &Row) -> RootCause {
    let lines: Vec<&str> = row.text.lines().collect();
    format(&row.format).chain(&lines).map_or(RootCause::Unclassified, |chain| chain.root_cause())
}

#[test]
fn every_real_wording_classifies_as_its_cause_and_none_as_another() {
    let rows = corpus();
    assert!(rows.len() >= 80, "the corpus must hold at least 80 real texts, it holds {}", rows.len());
    let mut unclassified = Vec::new();
    let mut wrong = Vec::new();
    for row in &rows {
        match classify(row) {
            cause if cause == row.cause => {}
            RootCause::Unclassified => unclassified.push(row),
            cause => wrong.push((row, cause)),
        }
    }
    let right = rows.len() - unclassified.len() - wrong.len();
    let score = 100.0 * right as f64 / rows.len() as f64;
    println!(
        "wording corpus: {right}/{} classified correctly ({score:.1}%), {} unclassified, {} misclassified",
        rows.len(),
        unclassified.len(),
        wrong.len()
    );
    for row in &unclassified {
        println!("  unclassified  line {} {} (expected {}): {}", row.line, row.client, row.cause, first_line(row));
    }
    let report: Vec<String> = wrong
        .iter()
        .map(|(row, cause)| {
            format!("line {} {}: expected {}, got {cause}: {}", row.line, row.client, row.cause, first_line(row))
        })
        .collect();
    assert!(wrong.is_empty(), "misclassified:\n{}", report.join("\n"));
    assert!(score >= 95.0, "only {score:.1}% of the corpus classified correctly (at least 95% wanted)");
}

fn first_line(row: &Row) -> String {
    row.text.replace('\n', " ⏎ ").chars().take(160).collect()
}

#[test]
fn every_root_cause_but_unclassified_has_a_wording_in_the_corpus_or_says_why_not() {
    let rows = corpus();
    // Causes that only the reference RP's own words (its scenarios' snapshots) cover so far.
    let reference_only = [
        RootCause::AccessDenied,
        RootCause::DisallowedAlgorithm,
        RootCause::InvalidRequest,
        RootCause::SubjectMismatch,
        RootCause::TokenHashMismatch,
        RootCause::InvalidMetadata,
    ];
    for cause in RootCause::ALL.into_iter().filter(|c| *c != RootCause::Unclassified && !reference_only.contains(c)) {
        assert!(rows.iter().any(|r| r.cause == cause), "no wording of {cause} in tests/wordings.tsv");
    }
}

/// The README's table of root causes: a row per cause, and every example wording in its third column
/// (outside parentheses) classifies as that row's cause.
#[test]
fn the_readme_root_cause_table_holds_for_the_classifier() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let section = readme.split("### Root causes").nth(1).expect("README.md has a \"### Root causes\" section");
    let mut seen = Vec::new();
    let mut wrong = Vec::new();
    for row in section.lines().take_while(|l| !l.starts_with('#')).filter(|l| l.starts_with("| `")) {
        let columns: Vec<&str> = row.split(" | ").collect();
        let name = columns[0].trim_start_matches("| ").trim_matches('`');
        let cause: RootCause = serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .unwrap_or_else(|_| panic!("README.md names an unknown root cause {name:?}"));
        seen.push(cause);
        let examples = columns.last().expect("a wordings column").split(" (").next().unwrap_or_default();
        let examples = examples.replace("\\`", "\u{1}");
        for example in examples.split('`').skip(1).step_by(2).map(|e| e.replace('\u{1}', "`")) {
            if example.is_empty() || example == "—" {
                continue;
            }
            let got = RootCause::classify(&[example.as_str()]);
            if got != cause {
                wrong.push(format!("{example:?} in the {name} row classifies as {got}"));
            }
        }
    }
    assert!(wrong.is_empty(), "README.md's root-cause table:\n{}", wrong.join("\n"));
    for cause in RootCause::ALL {
        assert!(seen.contains(&cause), "README.md's root-cause table has no row for {cause}");
    }
}
