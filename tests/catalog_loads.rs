//! The catalog as a whole, as the CLI loads it: every file in every folder, so that what only shows
//! across files (the same id in two folders, a `.TOML` file the per-file tests would skip) fails the
//! test suite too, not only `sso-repro`.

use std::path::Path;

use sso_harness::{ErrorChain, Scenario};

#[test]
fn the_catalog_loads_as_a_whole_with_unique_ids() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = Scenario::load_dir(&dir).unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
    assert!(scenarios.len() > 10, "only {} scenarios found in {}", scenarios.len(), dir.display());
}
