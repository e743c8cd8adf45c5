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
    ];
    for cause in RootCause::ALL.into_iter().filter(|c| *c != RootCause::Unclassified && !reference_only.contains(c)) {
        assert!(rows.iter().any(|r| r.cause == cause), "no wording of {cause} in tests/wordings.tsv");
    }
}

/// The README's table of root causes and the wordings that map to each, generated from the classifier.
fn wordings_table() -> String {
    let mut table = String::from("| root cause | wordings |\n|---|---|\n");
    for cause in RootCause::ALL.into_iter().filter(|c| *c != RootCause::Unclassified) {
        let words: Vec<String> = cause.wordings().iter().map(|w| format!("`{}`", w.replace('|', "\\|"))).collect();
        table.push_str(&format!("| `{cause}` | {} |\n", words.join(" · ")));
    }
    table
}

#[test]
fn the_readme_lists_every_root_cause_with_its_wordings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let (begin, end) = ("<!-- root-causes:begin -->\n", "<!-- root-causes:end -->");
    let start = readme.find(begin).expect("README.md has the root-causes markers") + begin.len();
    let stop = readme[start..].find(end).expect("README.md has the root-causes end marker") + start;
    let table = wordings_table();
    if std::env::var_os("SSO_REPRO_UPDATE_README").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[stop..]);
        std::fs::write(&path, updated).expect("README.md is writable");
        return;
    }
    assert!(
        readme[start..stop] == table,
        "the root-cause table in README.md is stale: run SSO_REPRO_UPDATE_README=1 cargo test -p sso-harness --test wordings"
    );
}
