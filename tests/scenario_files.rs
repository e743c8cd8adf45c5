//! Scenario files checked without running them: a malformed file gets one clear error, the
//! containers backend's own guarantees, and the teaching pages (up to date, valid CommonMark).

use std::path::Path;

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

/// The containers backend's own guarantees (cargo feature `containers`; the scenarios themselves
/// run there from tests/scenarios.rs).
#[cfg(feature = "containers")]
mod containers {
    use std::path::Path;

    use sso_harness::containers::{ContainerBackend, Resources};
    use sso_harness::{ErrorChain, Scenario};

    #[tokio::test(flavor = "current_thread")]
    async fn a_missing_engine_is_one_clear_error_that_names_the_fix() {
        let error = sso_harness::containers::check_engine_at("unix:///nonexistent/docker.sock").await.unwrap_err();

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
        let during = backend.resources(Some(&id)).await.unwrap();

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _env = env;
            panic!("a deliberately panicking test");
        }));

        let after = backend.resources(Some(&id)).await.unwrap();
        assert!(panicked.is_err());
        assert_eq!(
            (during.containers.len(), during.networks.len()),
            (3, 3),
            "three containers and three networks ran: {during:?}"
        );
        assert_eq!(after, Resources::default(), "left behind after the panic");
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

/// The pages render as written when read as CommonMark: no `*` or `_` of a story turns into
/// emphasis, every reference is a link, and companion scenarios are links to their pages.
#[test]
fn the_teaching_pages_render_as_commonmark() {
    use pulldown_cmark::{Event, Parser, Tag};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios = sso_harness::Scenario::load_dir(&root.join("scenarios")).unwrap();
    let pages = sso_harness::docs::render(&root.join("scenarios"), &root.join("snapshots")).unwrap();
    let squash = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    for s in &scenarios {
        let page = &pages[&format!("{}.md", s.id)];
        let (mut text, mut links) = (String::new(), Vec::new());
        for event in Parser::new(page) {
            match event {
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                Event::SoftBreak | Event::HardBreak => text.push(' '),
                Event::End(end) if end != pulldown_cmark::TagEnd::Link => text.push(' '),
                Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
                Event::Start(Tag::Emphasis | Tag::Strong) => panic!("{}: emphasis from the story's text", s.id),
                Event::Html(html) | Event::InlineHtml(html) => panic!("{}: raw HTML {html:?}", s.id),
                _ => {}
            }
        }
        let text = squash(&text);
        for (field, prose) in
            [("title", &s.title), ("symptom", &s.story.symptom), ("cause", &s.story.cause), ("fix", &s.story.fix)]
        {
            assert!(text.contains(&squash(prose)), "{}: the {field} does not render as written", s.id);
        }
        for reference in s.story.references.iter().filter(|r| r.starts_with("http")) {
            assert!(links.contains(reference), "{}: reference {reference} is not a link", s.id);
        }
        for other in scenarios.iter().filter(|o| o.id != s.id) {
            if format!("{} {}", s.story.cause, s.story.fix).contains(&format!("{} ", other.id))
                || s.story.fix.trim_end().trim_end_matches('.').ends_with(&other.id)
            {
                assert!(links.contains(&format!("{}.md", other.id)), "{}: companion {} is not a link", s.id, other.id);
            }
        }
        assert!(s.story.references.iter().all(|r| !r.contains("shared/")), "{}: cites a file users do not have", s.id);
    }
}

/// A concurrent catalog run starts the scenarios that wait on a timeout by design first, so that
/// their waits overlap the rest instead of ending the run alone.
#[test]
fn scenarios_that_wait_on_a_timeout_start_first() {
    let catalog = sso_harness::Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap();
    let order = sso_harness::Scenario::start_order(&catalog);

    let waits: Vec<_> = order.iter().map(|&index| catalog[index].deliberate_wait()).collect();
    assert!(waits.windows(2).all(|pair| pair[0] >= pair[1]), "{waits:?}");
    let mut waiting: Vec<&str> = order
        .iter()
        .take_while(|&&index| !catalog[index].deliberate_wait().is_zero())
        .map(|&index| catalog[index].id.as_str())
        .collect();
    waiting.sort();
    assert_eq!(
        waiting,
        [
            "proxy-accepts-and-never-answers",
            "token-endpoint-connect-timeout",
            "token-endpoint-read-timeout",
            "token-request-retried-code-already-used"
        ]
    );
    let mut all = order.clone();
    all.sort();
    assert_eq!(all, (0..catalog.len()).collect::<Vec<_>>(), "every scenario starts once");
}
