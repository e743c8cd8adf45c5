//! Every scenario file is a test: it runs on the in-process backend, must produce its documented
//! outcome (wrapper and root cause included), and keeps a snapshot of every party's normalized log.

use std::path::{Path, PathBuf};

use rstest::rstest;
use sso_harness::Scenario;

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn scenario(#[files("scenarios/*.toml")] path: PathBuf) {
    let scenario = Scenario::load(&path)
        .unwrap_or_else(|error| panic!("{}", sso_harness::ErrorChain::from_error(&error)));
    let run = scenario.run().await.expect("the environment starts");
    let transcript = run.outcome.transcript();
    assert!(
        run.passed(),
        "scenario {} did not behave as documented:\n{}\n\n{transcript}",
        scenario.id,
        run.mismatches
            .iter()
            .map(|m| format!("  - {m}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"),
        prepend_module_to_snapshot => false,
        description => scenario.title.clone(),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(scenario.id.clone(), transcript);
    });
}
