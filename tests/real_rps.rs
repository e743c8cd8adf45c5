//! The catalog against real RPs — Apache + mod_auth_openidc, a Flask app on Authlib, a Go service on
//! x/oauth2 + go-oidc, a Java 17 HttpClient RP — each under `rps/<name>/` and driven through the
//! external-RP contract. A scenario runs against an RP when the RP has every capability the scenario
//! needs; the RP must then end as documented, or as the scenario allows RPs of its conduct. An
//! RP whose words sso-repro does not read yet is recorded as `unclassified` (never as another
//! cause). Each RP keeps its own snapshots under `snapshots/rps/<name>/`; `docs/compatibility.md`
//! is generated from them.

use std::path::{Path, PathBuf};

use rstest::rstest;
use sso_harness::compatibility::{orphan_snapshots, Matrix};
use sso_harness::rp_profile::RpProfile;
use sso_harness::{ErrorChain, Scenario};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn real_rp(#[files("rps/*/rp.toml")] rp: PathBuf, #[files("scenarios/**/*.toml")] path: PathBuf) {
    let profile = RpProfile::load(rp.parent().expect("rp.toml is in a folder"))
        .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
    let scenario = Scenario::load(&path).unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
    let missing = profile.abilities.missing(&scenario);
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
        eprintln!("{} does not apply to {}: it needs {}", scenario.id, profile.name, names.join(", "));
        return;
    }
    let launcher = profile
        .launcher(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("rps"))
        .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));

    let run = scenario
        .run_with(scenario.env_builder().launcher(launcher))
        .await
        .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));

    let verdict = profile.abilities.check(&scenario, &run.outcome);
    let transcript = profile.normalize(&run.outcome.transcript());
    assert!(
        verdict.mismatches.is_empty(),
        "scenario {} did not behave as documented with the {} RP:\n{}\n\n{transcript}",
        scenario.id,
        profile.name,
        verdict.mismatches.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n"),
    );
    insta::with_settings!({
        snapshot_path => root().join("snapshots/rps").join(&profile.name),
        prepend_module_to_snapshot => false,
        description => format!("{} — with the {} RP", scenario.title, profile.name),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(scenario.id.clone(), transcript);
    });
}

/// `docs/compatibility.md` is generated from the scenario files, the RPs' `rp.toml` and the
/// snapshots; a stale page (or a snapshot no applicable scenario keeps) fails here.
/// `SSO_REPRO_UPDATE_DOCS=1` writes the page instead.
#[test]
fn the_compatibility_page_is_up_to_date() {
    let snapshots = root().join("snapshots");
    let matrix = Matrix::read(&root().join("scenarios"), &root().join("rps"), &snapshots)
        .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
    let page = matrix.render();
    let path = root().join("docs/compatibility.md");
    if std::env::var_os("SSO_REPRO_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    let orphans = orphan_snapshots(&matrix, &snapshots);
    assert!(orphans.is_empty(), "snapshots that no applicable scenario keeps (delete them): {orphans:?}");
    assert!(
        std::fs::read_to_string(&path).ok().as_deref() == Some(page.as_str()),
        "docs/compatibility.md is stale: run `SSO_REPRO_UPDATE_DOCS=1 cargo test --test real_rps the_compatibility_page_is_up_to_date`"
    );
}

/// A broken `rp.toml` gets one error that names the file, the field and the choices.
#[test]
fn a_bad_rp_toml_is_refused_naming_the_file_and_the_field() {
    let dir = std::env::temp_dir().join(format!("sso-repro-bad-rp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rp.toml"), "title = \"t\"\ncommand = [\"true\"]\nlog_format = \"bogus\"\n").unwrap();

    let error = RpProfile::load(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();

    let message = ErrorChain::from_error(&error).to_string();
    for words in ["rp.toml", "field `log_format`", "`bogus`", "apache-error-log"] {
        assert!(message.contains(words), "{words:?} missing from:\n{message}");
    }
}
