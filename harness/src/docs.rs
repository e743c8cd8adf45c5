//! Teaching pages: one Markdown page per scenario (symptom, the product's log, what sso-repro
//! captured, cause, fix, how to reproduce, references) and an index, generated from the scenario
//! files and their snapshots. `sso-repro docs` writes them; a test fails when they are stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::scenario::{ExpectedOutcome, Scenario, ScenarioError};

/// The scenario's snapshot without insta's header.
pub fn snapshot_body(snapshot: &str) -> &str {
    snapshot.splitn(3, "---\n").nth(2).unwrap_or(snapshot).trim_matches('\n')
}

/// The filter that selects a scenario's test (tests are named `<family>::<id>`).
pub fn test_filter(id: &str) -> String {
    id.to_owned()
}

/// `text` as CommonMark that renders as written: `*`, `_`, `<`, `[` … escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Prose for a page: escaped, and every other scenario id it names a link to that scenario's page.
fn prose(text: &str, ids: &[&str], own: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for (at, _) in rest.char_indices() {
            let word_start = rest[..at].chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_');
            if !word_start {
                continue;
            }
            let found = ids.iter().filter(|id| **id != own && rest[at..].starts_with(**id)).max_by_key(|id| id.len());
            if let Some(id) = found {
                let end = at + id.len();
                if rest[end..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_') {
                    out.push_str(&escape(&rest[..at]));
                    out.push_str(&format!("[{}]({id}.md)", escape(id)));
                    rest = &rest[end..];
                    continue 'outer;
                }
            }
        }
        out.push_str(&escape(rest));
        break;
    }
    out
}

/// One scenario's page.
pub fn page(scenario: &Scenario, file_text: &str, snapshot: Option<&str>) -> String {
    page_linking(scenario, file_text, snapshot, &[])
}

/// [`page`], with the ids of the other scenarios that the story may name (rendered as links).
pub fn page_linking(scenario: &Scenario, file_text: &str, snapshot: Option<&str>, ids: &[&str]) -> String {
    let s = scenario;
    let prose = |text: &str| prose(text, ids, &s.id);
    let mut out = format!("# {}\n\n`{}` · family `{}`\n\n", escape(&s.title), s.id, s.family);
    out.push_str(&format!("## Symptom\n\n{}\n\n", prose(s.story.symptom.trim())));
    if !s.story.seen_in.is_empty() {
        out.push_str("## Seen in\n\n");
        for seen in &s.story.seen_in {
            out.push_str(&format!("- {}\n", prose(seen)));
        }
        out.push('\n');
    }
    if !s.story.log.trim().is_empty() {
        out.push_str(&format!("## A product's log\n\n```text\n{}\n```\n\n", s.story.log.trim_matches('\n')));
    }
    out.push_str(&format!(
        "## Cause\n\n{}\n\n## Fix\n\n{}\n\n",
        prose(s.story.cause.trim()),
        prose(s.story.fix.trim())
    ));
    out.push_str("## What sso-repro asserts\n\n");
    match (s.expect.outcome, &s.expect.wrapper, s.expect.root_cause) {
        (ExpectedOutcome::Failed, Some(wrapper), Some(cause)) => {
            out.push_str(&format!("- the RP reports `{wrapper}`\n- root cause: `{cause}`\n"))
        }
        _ => out.push_str("- the user signs in\n"),
    }
    if let Some(count) = s.expect.idp.token_requests {
        out.push_str(&format!("- the IdP's token endpoint saw {count} request(s)\n"));
    }
    if let Some(requests) = &s.expect.idp.requests {
        out.push_str(&format!("- the IdP answered, in order: {}\n", list_or_nothing(requests)));
    }
    if let Some(answered) = &s.expect.proxy.answered {
        let entries: Vec<String> = answered.iter().map(|a| format!("{} → {}", a.request, a.status)).collect();
        out.push_str(&format!("- the proxy's access log: {}\n", list_or_nothing(&entries)));
    }
    out.push('\n');
    match snapshot {
        Some(snapshot) => out.push_str(&format!(
            "## What sso-repro captured\n\nThe RP's error chain and every party's log (ports, codes, tokens and secrets \
             normalized), from `snapshots/{}.snap`:\n\n```text\n{}\n```\n\n",
            s.id,
            snapshot_body(snapshot)
        )),
        None => out.push_str("## What sso-repro captured\n\n(no snapshot yet: run the tests)\n\n"),
    }
    out.push_str(&format!(
        "## Reproduce\n\n```sh\ncargo test --test scenarios -- {filter}            # in-process\n\
         cargo test --features containers --test scenarios -- {filter}   # containers\ncargo run -- explain {id}\n```\n\n\
         The scenario file, `scenarios/{id}.toml`:\n\n```toml\n{text}\n```\n",
        filter = test_filter(&s.id),
        id = s.id,
        text = file_text.trim_end()
    ));
    if !s.story.references.is_empty() {
        out.push_str("\n## References\n\n");
        for reference in &s.story.references {
            match reference.starts_with("https://") || reference.starts_with("http://") {
                true => out.push_str(&format!("- <{reference}>\n")),
                false => out.push_str(&format!("- {}\n", escape(reference))),
            }
        }
    }
    out
}

fn list_or_nothing(items: &[String]) -> String {
    match items.is_empty() {
        true => "nothing".to_owned(),
        false => items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", "),
    }
}

/// The index: every scenario by family, with counts.
pub fn index(scenarios: &[Scenario]) -> String {
    let mut families: BTreeMap<&str, Vec<&Scenario>> = BTreeMap::new();
    for s in scenarios {
        families.entry(&s.family).or_default().push(s);
    }
    let mut out = format!(
        "# The sso-repro catalog\n\n{} documented SSO failures, each a scenario that runs, asserts the RP's error chain \
         and keeps every party's log. Generated by `cargo run -- docs` from `scenarios/` and `snapshots/`; do not edit.\n\n",
        scenarios.len()
    );
    out.push_str("| family | scenarios |\n|---|---|\n");
    for (family, members) in &families {
        out.push_str(&format!("| {family} | {} |\n", members.len()));
    }
    for (family, members) in &families {
        out.push_str(&format!("\n## {family}\n\n"));
        for s in members {
            let outcome = match (s.expect.outcome, s.expect.root_cause) {
                (ExpectedOutcome::Failed, Some(cause)) => format!("`{cause}`"),
                _ => "signs in".to_owned(),
            };
            out.push_str(&format!("- [{}]({}.md) — {outcome}\n", escape(&s.title), s.id));
        }
    }
    out
}

/// Every page (file name → content) for the catalog in `scenarios_dir`, with snapshots from
/// `snapshots_dir`.
pub fn render(scenarios_dir: &Path, snapshots_dir: &Path) -> Result<BTreeMap<String, String>, ScenarioError> {
    let scenarios = Scenario::load_dir(scenarios_dir)?;
    let mut pages = BTreeMap::new();
    let ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
    for s in &scenarios {
        let path = find(scenarios_dir, &format!("{}.toml", s.id)).expect("a loaded scenario has a file");
        let text = std::fs::read_to_string(&path).map_err(|source| ScenarioError::Read { path, source })?;
        let snapshot = std::fs::read_to_string(snapshots_dir.join(format!("{}.snap", s.id))).ok();
        pages.insert(format!("{}.md", s.id), page_linking(s, &text, snapshot.as_deref(), &ids));
    }
    pages.insert("README.md".to_owned(), index(&scenarios));
    Ok(pages)
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}
