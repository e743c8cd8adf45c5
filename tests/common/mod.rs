//! What every scenario test does with a run: assert it behaved as documented, then snapshot it.

use std::path::Path;

use sso_harness::scenario::Run;
use sso_harness::Scenario;

/// Fails with the mismatches and the whole transcript unless `run` is as documented, then keeps
/// (or compares) the transcript as snapshot `name`; `with` says which RP or backend (empty: the
/// reference RP in-process).
pub fn assert_documented(scenario: &Scenario, run: &Run, name: &str, with: &str) {
    let transcript = run.outcome.transcript();
    assert!(
        run.passed(),
        "scenario {} did not behave as documented ({with}):\n{}\n\n{transcript}",
        scenario.id,
        run.mismatches.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n"),
    );
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"),
        prepend_module_to_snapshot => false,
        description => match with {
            "" => scenario.title.clone(),
            with => format!("{} — {with}", scenario.title),
        },
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name.to_owned(), transcript);
    });
}
