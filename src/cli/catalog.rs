//! Loading the catalog and selecting scenarios by id, glob, family or path.

use std::path::{Path, PathBuf};

use sso_harness::catalog::{self, Loaded};
use sso_harness::Scenario;

use super::{exit, report, Selection};

/// Which catalog the ids and globs refer to.
#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// The catalog folder (default: `./scenarios` when there is one, else the catalog built into
    /// sso-repro).
    #[arg(long, value_name = "DIR", global = true)]
    pub scenarios: Option<PathBuf>,
}

impl Source {
    /// The catalog folder on disk, if one is used.
    pub fn dir(&self) -> Option<PathBuf> {
        self.scenarios.clone().or_else(|| Some(PathBuf::from("scenarios")).filter(|d| d.is_dir()))
    }

    /// The snapshots beside the catalog folder (`../snapshots`), else this checkout's.
    pub fn snapshots(&self) -> PathBuf {
        match self.dir() {
            Some(dir) => dir.parent().map_or_else(|| PathBuf::from("snapshots"), |p| p.join("snapshots")),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"),
        }
    }

    /// The folder the catalog's scenarios are loaded from (for `docs`): the chosen one, else this
    /// checkout's.
    pub fn dir_or_checkout(&self) -> PathBuf {
        self.dir().unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
    }

    /// Every scenario of the catalog, with an error per bad file.
    pub fn load(&self) -> Loaded {
        match self.dir() {
            Some(dir) => catalog::load_paths(&[dir]),
            None => catalog::load_embedded(),
        }
    }
}

/// The selected scenarios, and what went wrong finding them.
pub struct Selected {
    pub scenarios: Vec<Scenario>,
    /// Files that could not be used (already reported).
    pub load_errors: usize,
}

fn is_path(arg: &str) -> bool {
    arg.ends_with(".toml") || arg.contains(std::path::MAIN_SEPARATOR) || arg.contains('/') || Path::new(arg).is_dir()
}

/// Loads what `selection` names, reports every load error on stderr, and refuses an empty selection
/// (the exit code to end with).
pub fn select(selection: &Selection) -> Result<Selected, u8> {
    let (paths, patterns): (Vec<&String>, Vec<&String>) = selection.select.iter().partition(|a| is_path(a));
    let mut loaded = Loaded::default();
    if !paths.is_empty() {
        loaded = catalog::load_paths(&paths);
    }
    if !patterns.is_empty() || paths.is_empty() {
        let catalog = selection.source.load();
        loaded.errors.extend(catalog.errors);
        let mut unmatched = Vec::new();
        let mut compiled = Vec::new();
        for pattern in &patterns {
            match glob::Pattern::new(pattern) {
                Ok(p) => compiled.push((pattern.as_str(), p)),
                Err(error) => {
                    eprintln!("error: `{pattern}` is not a valid glob: {error}");
                    return Err(exit::USAGE);
                }
            }
        }
        for (pattern, glob) in &compiled {
            if !catalog.scenarios.iter().any(|s| glob.matches(&s.id) || s.answers_to(pattern)) {
                unmatched.push(*pattern);
            }
        }
        if !unmatched.is_empty() {
            for pattern in unmatched {
                eprintln!("error: no scenario matches `{pattern}` (see `sso-repro list`)");
            }
            return Err(exit::EMPTY_SELECTION);
        }
        loaded.scenarios.extend(catalog.scenarios.into_iter().filter(|s| {
            compiled.is_empty() || compiled.iter().any(|(p, glob)| glob.matches(&s.id) || s.answers_to(p))
        }));
    }
    if !selection.family.is_empty() {
        loaded.scenarios.retain(|s| selection.family.contains(&s.family));
    }
    for error in &loaded.errors {
        report(error);
    }
    if loaded.scenarios.is_empty() {
        let families =
            if selection.family.is_empty() { String::new() } else { format!(" in family {:?}", selection.family) };
        eprintln!("error: no scenario selected{families}; nothing to run (see `sso-repro list`)");
        return Err(if loaded.errors.is_empty() { exit::EMPTY_SELECTION } else { exit::LOAD_ERROR });
    }
    Ok(Selected { scenarios: loaded.scenarios, load_errors: loaded.errors.len() })
}

/// One scenario by id from the catalog (for `explain`, `new --from`, `accept`).
pub fn find(source: &Source, id: &str) -> Result<Scenario, u8> {
    let loaded = source.load();
    match loaded.scenarios.into_iter().find(|s| s.answers_to(id)) {
        Some(scenario) => Ok(scenario),
        None => {
            report(&sso_harness::ScenarioError::Unknown(id.to_owned()));
            eprintln!("(see `sso-repro list`)");
            Err(exit::EMPTY_SELECTION)
        }
    }
}
