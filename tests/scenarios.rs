//! Every scenario file is a test: it runs on the in-process backend, must produce its documented
//! outcome (wrapper and root cause included), and keeps a snapshot of every party's normalized log.

mod common;

use std::path::{Path, PathBuf};

use rstest::rstest;
use sso_harness::Scenario;

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn scenario(#[files("scenarios/**/*.toml")] path: PathBuf) {
    let scenario =
        Scenario::load(&path).unwrap_or_else(|error| panic!("{}", sso_harness::ErrorChain::from_error(&error)));
    let run = scenario.run().await.expect("the environment starts");
    common::assert_documented(&scenario, &run, &scenario.id, "");
}

/// A malformed scenario gets one clear error that names the file and the field.
mod bad_input {
    use std::path::Path;

    use sso_harness::{ErrorChain, Scenario};

    const VALID: &str = r#"
id = "x"
title = "t"
family = "f"
[story]
symptom = "s"
cause = "c"
fix = "f"
[expect]
outcome = "failed"
wrapper = "exchanging authorization tokens failed"
root_cause = "invalid-client"
"#;

    fn error_for(text: &str) -> String {
        let error = Scenario::parse(Path::new("scenarios/x.toml"), text).expect_err("the scenario must be refused");
        ErrorChain::from_error(&error).to_string()
    }

    fn assert_mentions(error: &str, words: &[&str]) {
        for word in words {
            assert!(error.contains(word), "the error should mention {word:?}:\n{error}");
        }
    }

    #[test]
    fn the_valid_base_parses() {
        Scenario::parse(Path::new("scenarios/x.toml"), VALID).unwrap();
    }

    #[test]
    fn an_unknown_field_is_named_with_the_file() {
        let error = error_for(&VALID.replace("[story]", "colour = \"red\"\n[story]"));
        assert_mentions(&error, &["scenarios/x.toml", "unknown field `colour`"]);
    }

    #[test]
    fn an_unknown_proxy_action_names_the_choices() {
        let text = format!("{VALID}\n[[setup.proxy.rules]]\nhost = \"idp.sso.test\"\naction = \"explode\"\n");
        assert_mentions(&error_for(&text), &["scenarios/x.toml", "unknown variant `explode`", "require-auth"]);
    }

    #[test]
    fn an_unknown_root_cause_names_the_choices() {
        let error = error_for(&VALID.replace("invalid-client", "bad-vibes"));
        assert_mentions(&error, &["unknown variant `bad-vibes`", "proxy-refused-connect"]);
    }

    #[test]
    fn a_status_on_a_rule_that_is_not_deny_is_refused() {
        let text =
            format!("{VALID}\n[[setup.proxy.rules]]\nhost = \"idp.sso.test\"\naction = \"hang\"\nstatus = 403\n");
        assert_mentions(&error_for(&text), &["`status` applies only to action = \"deny\""]);
    }

    #[test]
    fn a_failure_without_a_wrapper_is_refused() {
        let error = error_for(&VALID.replace("wrapper = \"exchanging authorization tokens failed\"\n", ""));
        assert_mentions(&error, &["scenarios/x.toml", "field `expect.wrapper`", "required"]);
    }

    #[test]
    fn an_id_that_differs_from_the_file_name_is_refused() {
        let error = error_for(&VALID.replace("id = \"x\"", "id = \"y\""));
        assert_mentions(&error, &["field `id`", "x.toml"]);
    }

    #[test]
    fn a_toml_syntax_error_names_the_line() {
        assert_mentions(&error_for("id = \n"), &["scenarios/x.toml", "line 1"]);
    }

    #[test]
    fn the_same_id_in_two_folders_is_refused_naming_both_files() {
        let dir = std::env::temp_dir().join(format!("sso-repro-duplicates-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("egress-proxy")).unwrap();
        std::fs::write(dir.join("x.toml"), VALID).unwrap();
        std::fs::write(dir.join("egress-proxy/x.toml"), VALID).unwrap();

        let result = Scenario::load_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();

        let error = ErrorChain::from_error(&result.expect_err("duplicates must be refused")).to_string();
        assert_mentions(&error, &["duplicate scenario id `x`", "egress-proxy/x.toml", "sso-repro-duplicates"]);
    }
}

/// The same scenario files on the containers backend (cargo feature `containers`).
#[cfg(feature = "containers")]
mod containers {
    use std::path::{Path, PathBuf};

    use rstest::rstest;
    use sso_harness::containers::{ours, ContainerBackend};
    use sso_harness::{ErrorChain, Scenario};

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn scenario_in_containers(#[files("scenarios/**/*.toml")] path: PathBuf) {
        let scenario = Scenario::load(&path).unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
        let backend =
            ContainerBackend::connect().await.unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
        let run = scenario
            .run_in_containers(&backend)
            .await
            .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
        // One snapshot for both backends, unless the scenario says why the text differs.
        let name = match &scenario.containers_snapshot_differs {
            Some(_) => format!("{}.containers", scenario.id),
            None => scenario.id.clone(),
        };
        crate::common::assert_documented(&scenario, &run, &name, "");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_missing_engine_is_one_clear_error_that_names_the_fix() {
        let error = sso_harness::containers::connect_engine("unix:///nonexistent/docker.sock").await.unwrap_err();

        let message = ErrorChain::from_error(&error).to_string();
        for words in ["needs a Docker engine", "unix:///nonexistent/docker.sock", "DOCKER_HOST", "in-process backend"] {
            assert!(message.contains(words), "{words:?} missing from:\n{message}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_test_leaves_no_container_or_network_behind() {
        let backend = ContainerBackend::connect().await.unwrap();
        let scenario =
            Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/happy-path.toml")).unwrap();
        let env = scenario.env_builder().start_in_containers(&backend).await.unwrap();
        let id = env.id().to_owned();
        let during = ours(backend.docker(), Some(&id)).await.unwrap();

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _env = env;
            panic!("a deliberately panicking test");
        }));

        let after = ours(backend.docker(), Some(&id)).await.unwrap();
        assert!(panicked.is_err());
        assert_eq!((during.0.len(), during.1.len()), (3, 3), "three containers and three networks ran: {during:?}");
        assert_eq!(after, (vec![], vec![]), "left behind after the panic");
    }
}

/// The teaching pages in docs/scenarios are generated from the scenario files and snapshots; a
/// stale or missing page fails here.
#[test]
fn the_teaching_pages_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = sso_harness::docs::render(&root.join("scenarios"), &root.join("snapshots")).unwrap();
    let docs = root.join("docs/scenarios");
    let mut stale = Vec::new();
    for (name, text) in &pages {
        if std::fs::read_to_string(docs.join(name)).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    let extra: Vec<String> = std::fs::read_dir(&docs)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<String>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.ends_with(".md") && !pages.contains_key(name))
        .collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "the teaching pages are stale (run `cargo run -- docs`): changed or missing {stale:?}, no longer generated {extra:?}"
    );
}
