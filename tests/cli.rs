//! The `sso-repro` binary as a user runs it: help, selection, exit codes, JSON, pipes, `diagnose`,
//! authoring (`new`, `accept`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sso() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("sso-repro").unwrap();
    command.current_dir(root()).env_remove("SSO_REPRO_BACKEND");
    command
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh folder of this test's own under the target dir (removed when dropped).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn catalog_file(id: &str) -> String {
    std::fs::read_to_string(root().join("scenarios").join(format!("{id}.toml"))).unwrap()
}

#[test]
fn help_and_version_go_to_stdout_with_success() {
    for args in [&["--help"][..], &["-h"], &["run", "--help"], &["diagnose", "--help"], &["help", "new"]] {
        let output = sso().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(stdout(&output).contains("Usage: sso-repro"), "{args:?}: {}", stdout(&output));
    }
    let output = sso().arg("--help").output().unwrap();
    assert!(stdout(&output).contains("Exit codes:"));
    let output = sso().arg("--version").output().unwrap();
    assert_eq!(stdout(&output).trim(), format!("sso-repro {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_usage_error_is_exit_code_2_on_stderr() {
    let output = sso().args(["run", "--format", "xml"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert!(stderr(&output).contains("xml"));
    assert_eq!(sso().arg("frobnicate").output().unwrap().status.code(), Some(2));
}

#[test]
fn completions_are_printed_for_bash() {
    let output = sso().args(["completions", "bash"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("_sso__repro()"));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = Command::new(cargo_bin("sso-repro"))
        .arg("list")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}

fn listed(args: &[&str]) -> Vec<String> {
    let output = sso().arg("list").args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    stdout(&output).lines().map(|l| l.split_whitespace().next().unwrap().to_owned()).collect()
}

#[test]
fn scenarios_are_selected_by_id_glob_and_family() {
    assert_eq!(listed(&["happy-path"]), ["happy-path"]);
    let proxy = listed(&["proxy-*"]);
    assert!(proxy.len() > 5 && proxy.iter().all(|id| id.starts_with("proxy-")), "{proxy:?}");
    let tls = listed(&["--family", "tls"]);
    let json: Value =
        serde_json::from_slice(&sso().args(["list", "--format", "json"]).output().unwrap().stdout).unwrap();
    let expected: Vec<&str> = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["family"] == "tls")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(tls, expected);
    assert!(!tls.is_empty());
}

#[test]
fn an_empty_selection_is_an_error() {
    for args in [&["list", "no-such-*"][..], &["run", "--family", "no-such-family"], &["explain", "no-such-id"]] {
        let output = sso().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(4), "{args:?}");
        assert!(stderr(&output).contains("no scenario"), "{args:?}: {}", stderr(&output));
    }
}

const MISMATCHING: &str = r#"
id = "expects-a-failure"
title = "Expects a failure that does not happen"
family = "baseline"
[story]
symptom = "s"
cause = "c"
fix = "f"
[expect]
outcome = "failed"
wrapper = "exchanging authorization tokens failed"
root_cause = "invalid-client"
"#;

#[test]
fn a_scenario_file_from_any_path_runs_and_a_mismatch_is_exit_code_1_with_one_spelling_in_json() {
    let dir = TempDir::new("any-path");
    let happy = dir.0.join("my-ticket-1234.toml");
    std::fs::write(&happy, catalog_file("happy-path").replace("id = \"happy-path\"", "id = \"my-ticket-1234\""))
        .unwrap();
    let output = sso().arg("run").arg(&happy).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("my-ticket-1234"));

    let wrong = dir.0.join("expects-a-failure.toml");
    std::fs::write(&wrong, MISMATCHING).unwrap();
    let output = sso().args(["run", "--format", "json"]).arg(&wrong).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["schema_version"], 1);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["expected"]["outcome"], "failed");
    assert_eq!(scenario["observed"]["outcome"], "signed-in");
    let outcome = scenario["mismatches"].as_array().unwrap().iter().find(|m| m["field"] == "outcome").unwrap();
    assert_eq!((&outcome["expected"], &outcome["observed"]), (&Value::from("failed"), &Value::from("signed-in")));
}

#[test]
fn every_load_error_is_reported_and_the_valid_scenarios_still_run() {
    let dir = TempDir::new("load-errors");
    std::fs::write(dir.0.join("happy-path.toml"), catalog_file("happy-path")).unwrap();
    std::fs::write(dir.0.join("broken-syntax.toml"), "id = \n").unwrap();
    std::fs::write(
        dir.0.join("bad-field.toml"),
        MISMATCHING.replace("expects-a-failure", "bad-field").replace("[story]", "colour = \"red\"\n[story]"),
    )
    .unwrap();
    let output = sso().arg("run").arg(&dir.0).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let errors = stderr(&output);
    for words in ["broken-syntax.toml", "line 1", "bad-field.toml", "unknown field `colour`"] {
        assert!(errors.contains(words), "{words:?} missing from:\n{errors}");
    }
    assert!(stdout(&output).contains("happy-path"), "the valid scenario ran:\n{}", stdout(&output));
}

#[test]
fn concurrent_runs_report_in_catalog_order_and_stderr_stays_plain_off_a_terminal() {
    let run = |jobs: &str| {
        let output = sso().args(["run", "--family", "tls", "--format", "json", "--jobs", jobs]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(!stderr(&output).contains('\r'), "no live line without a terminal");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["jobs"], jobs.parse::<u64>().unwrap());
        report["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let sequential = run("1");
    let mut sorted = sequential.clone();
    sorted.sort();
    assert_eq!(sequential, sorted);
    assert_eq!(run("3"), sequential);
}

fn diagnose(log: &str, extra: &[&str]) -> (Option<i32>, String) {
    let output = sso().arg("diagnose").args(extra).write_stdin(log).output().unwrap();
    (output.status.code(), stdout(&output))
}

#[test]
fn diagnose_names_stage_cause_product_and_the_scenario_of_the_jira_log() {
    let file = root().join("tests/fixtures/logs/jira-exchanging-tokens-failed.log");
    let output = sso().arg("diagnose").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for words in [
        "exchanging authorization tokens failed",
        "proxy-refused-connect",
        "Atlassian Data Center",
        "1. proxy-denies-connect-to-token-endpoint",
        "fix: Allow the IdP's host in the outbound proxy",
        "reproduce: sso-repro run proxy-denies-connect-to-token-endpoint",
    ] {
        assert!(text.contains(words), "{words:?} missing from:\n{text}");
    }
    let (code, json) = diagnose(&std::fs::read_to_string(&file).unwrap(), &["--format", "json"]);
    assert_eq!(code, Some(0));
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["stage"], "exchanging-tokens");
    assert_eq!(json["root_cause"], "proxy-refused-connect");
    assert_eq!(json["matches"][0]["id"], "proxy-denies-connect-to-token-endpoint");
}

#[test]
fn diagnose_says_when_nothing_classifies_and_shows_what_it_read() {
    let file = root().join("tests/fixtures/logs/elasticsearch-failed-to-exchange-code.log");
    let output = sso().arg("diagnose").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(5));
    let text = stdout(&output);
    assert!(text.contains("NOT CLASSIFIED"), "{text}");
    assert!(text.contains("ElasticsearchSecurityException(\"Failed to exchange code for Id Token\")"), "{text}");
    assert!(!text.contains("SCENARIOS"), "{text}");
    let (code, json) = diagnose("INFO all good\n", &["--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!((code, &json["classified"], &json["matches"]), (Some(5), &Value::from(false), &Value::Array(vec![])));
}

/// Every `log` excerpt of the catalog's stories finds its own scenario among the first three.
#[test]
fn diagnose_finds_each_story_logs_own_scenario_among_the_first_three() {
    let catalog = sso_harness::catalog::load().unwrap();
    let (mut logs, mut top1, mut top3, mut misses) = (0, 0, 0, Vec::new());
    for scenario in catalog.iter().filter(|s| !s.story.log.trim().is_empty()) {
        logs += 1;
        let (_, json) = diagnose(&scenario.story.log, &["--format", "json", "--limit", "3"]);
        let json: Value = serde_json::from_str(&json).unwrap();
        let ids: Vec<&str> = json["matches"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        match ids.iter().position(|id| *id == scenario.id) {
            Some(0) => (top1, top3) = (top1 + 1, top3 + 1),
            Some(_) => top3 += 1,
            None => misses.push(format!("{}: got {ids:?} ({})", scenario.id, json["root_cause"])),
        }
    }
    println!("diagnose on {logs} story logs: top-1 {top1}/{logs}, top-3 {top3}/{logs}");
    assert!(logs > 0);
    // Wordings the classifier (`RootCause::classify`, issue 11) does not know yet: listed so that the
    // test fails both for a new miss and when one of these starts to be found (then drop it here).
    const NOT_YET_CLASSIFIED: &[&str] = &[
        // "Another algorithm expected, or no matching key(s) found" classifies as unknown-kid.
        "jenkins-id-token-signed-with-unexpected-algorithm",
    ];
    let missed: Vec<&str> = misses.iter().map(|m| m.split(':').next().unwrap()).collect();
    assert_eq!(
        missed,
        NOT_YET_CLASSIFIED,
        "story logs whose own scenario is not among the first three:\n{}",
        misses.join("\n")
    );
}

#[test]
fn new_writes_a_scenario_that_loads_and_accept_makes_it_green() {
    let dir = TempDir::new("authoring");
    let scenarios = dir.0.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::write(scenarios.join("happy-path.toml"), catalog_file("happy-path")).unwrap();
    let output =
        sso().args(["new", "my-ticket", "--from", "happy-path", "--scenarios"]).arg(&scenarios).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("sso-repro accept my-ticket"));
    assert!(scenarios.join("my-ticket.toml").is_file());
    // Writing over an existing file is refused.
    let again =
        sso().args(["new", "my-ticket", "--from", "happy-path", "--scenarios"]).arg(&scenarios).output().unwrap();
    assert_eq!(again.status.code(), Some(2));

    let output = sso().args(["accept", "my-ticket", "--scenarios"]).arg(&scenarios).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let written = std::fs::read_to_string(dir.0.join("snapshots/my-ticket.snap")).unwrap();
    let ours = std::fs::read_to_string(root().join("snapshots/happy-path.snap")).unwrap();
    let body = |s: &str| sso_harness::docs::snapshot_body(s).to_owned();
    assert_eq!(body(&written), body(&ours), "accept writes what the scenario test compares");
    assert!(dir.0.join("docs/scenarios/my-ticket.md").is_file());
}

#[test]
fn new_from_a_log_starts_from_the_best_match_and_keeps_the_log() {
    let dir = TempDir::new("from-log");
    let log = root().join("tests/fixtures/logs/jira-exchanging-tokens-failed.log");
    let output = sso().args(["new", "ticket-42", "--dir"]).arg(&dir.0).arg("--from-log").arg(&log).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let file = dir.0.join("ticket-42.toml");
    let scenario = sso_harness::Scenario::load(&file).unwrap();
    assert_eq!(scenario.expect.root_cause, Some(sso_harness::RootCause::ProxyRefusedConnect));
    assert!(scenario.story.log.contains("Unable to tunnel through proxy"));
    let output = sso().arg("list").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

/// The README's `diagnose` example is what the binary prints (its long first chain line shortened).
#[test]
fn the_readmes_diagnose_example_is_current() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let command = "$ cargo run -q -- diagnose tests/fixtures/logs/jira-exchanging-tokens-failed.log\n";
    let shown = readme.split(command).nth(1).expect("the README shows diagnose").split("```").next().unwrap();
    let output = sso().arg("diagnose").arg("tests/fixtures/logs/jira-exchanging-tokens-failed.log").output().unwrap();
    let printed = stdout(&output);
    for line in shown.lines().filter(|l| !l.contains('…')) {
        assert!(printed.lines().any(|p| p == line), "README line not printed any more: {line:?}\n{printed}");
    }
}

/// On a terminal (`script` gives the binary one), `run` shows a live progress line on stderr.
#[test]
fn a_run_on_a_terminal_shows_a_live_progress_line() {
    let command = format!("{} run --family tls --jobs 2", cargo_bin("sso-repro").display());
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root())
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("\r\x1b[2K[1/"), "no live line:\n{text:?}");
    assert!(text.contains("as documented"), "{text}");
}
