//! The compatibility page (`docs/compatibility.md`): the catalog × the RPs under test → verdict and
//! root cause, with each RP's own words for each cause. Generated from the scenario files, the
//! RPs' `rp.toml` files and the snapshots the tests keep (`snapshots/<id>.snap` for the reference
//! RP, `snapshots/rps/<rp>/<id>.snap` for the others); a test fails when the page is stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::capability::{Abilities, Capability, CauseReading, Conduct, Need};
use crate::docs::snapshot_body;
use crate::rp_profile::{ProfileError, RpProfile};
use crate::scenario::{ExpectedOutcome, Scenario, ScenarioError};

/// The name of the reference RP's column.
pub const REFERENCE: &str = "reference";

/// Why the page cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompatibilityError {
    /// A scenario file of the catalog could not be loaded.
    #[error("reading the catalog failed")]
    Scenarios(#[source] ScenarioError),
    /// An RP folder under `rps/` could not be loaded.
    #[error("reading the RPs under test failed")]
    Profiles(#[source] ProfileError),
}

/// Where an RP's snapshot of a scenario is kept.
pub fn snapshot_path(snapshots: &Path, rp: &str, id: &str) -> PathBuf {
    match rp {
        REFERENCE => snapshots.join(format!("{id}.snap")),
        rp => snapshots.join("rps").join(rp).join(format!("{id}.snap")),
    }
}

/// One RP on one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cell {
    /// The scenario needs what the RP lacks.
    NotApplicable(Vec<Need>),
    /// It applies, but no snapshot was kept yet (the test has not run).
    NotRun,
    /// What its snapshot says.
    Ran(Observed),
}

/// What a snapshot records, and how it compares with the expectation for this RP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// `None`: signed in.
    pub root_cause: Option<String>,
    /// The innermost level of the RP's chain: its own words for the cause.
    pub words: Option<String>,
    /// The allowance the RP used: its conduct, whether it is a deviation, and what it allows
    /// (`signs in` or the cause).
    pub allowed: Option<(Conduct, bool, String)>,
    /// How the words were read, against the expected cause.
    pub reading: CauseReading,
}

impl Observed {
    fn from_snapshot(body: &str) -> Observed {
        let lines: Vec<&str> = body.lines().collect();
        let root_cause = lines.iter().find_map(|l| l.strip_prefix("root cause: ")).map(str::to_owned);
        let end = lines.iter().position(|l| l.starts_with("root cause: ")).unwrap_or(0);
        let words = lines[..end]
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("  - ").or_else(|| l.strip_prefix("error: ")))
            .map(str::to_owned);
        Observed { root_cause, words, allowed: None, reading: CauseReading::Read }
    }
}

/// The page's rows and columns.
pub struct Matrix {
    /// The catalog's scenarios, one row each.
    pub scenarios: Vec<Scenario>,
    /// The reference RP first, then the RPs under `rps/`: name, title and abilities.
    pub rps: Vec<(String, String, Abilities)>,
    /// `cells[scenario][rp]`.
    pub cells: Vec<Vec<Cell>>,
}

/// Per-RP counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Scenarios that apply to the RP, run or not.
    pub applicable: usize,
    /// As documented or as allowed, root cause read.
    pub passed: usize,
    /// Failure scenarios whose root cause was read.
    pub classified: usize,
    /// Applicable scenarios in which the RP must fail to sign in.
    pub failures: usize,
    /// Words no root cause was read from.
    pub unclassified: usize,
    /// Words read as another cause.
    pub misread: usize,
    /// Allowed only as a deviation from the specification.
    pub deviations: usize,
    /// Applicable scenarios without a snapshot yet.
    pub not_run: usize,
}

impl Matrix {
    /// Reads the catalog, the RPs and their snapshots.
    pub fn read(scenarios: &Path, rps: &Path, snapshots: &Path) -> Result<Matrix, CompatibilityError> {
        let scenarios = Scenario::load_dir(scenarios).map_err(CompatibilityError::Scenarios)?;
        let profiles = RpProfile::load_dir(rps).map_err(CompatibilityError::Profiles)?;
        let mut columns = vec![(
            REFERENCE.to_owned(),
            "the reference RP (openidconnect + reqwest)".to_owned(),
            Abilities::reference(),
        )];
        columns.extend(profiles.into_iter().map(|p| (p.name, p.title, p.abilities)));
        let cells = scenarios
            .iter()
            .map(|scenario| {
                columns.iter().map(|(name, _, abilities)| cell(scenario, name, abilities, snapshots)).collect()
            })
            .collect();
        Ok(Matrix { scenarios, rps: columns, cells })
    }

    /// The counts of the RP in column `column`.
    pub fn counts(&self, column: usize) -> Counts {
        let mut counts = Counts::default();
        for (scenario, row) in self.scenarios.iter().zip(&self.cells) {
            // What this RP must do: the scenario's outcome, or the one its conduct is allowed.
            let abilities = &self.rps[column].2;
            let expected = abilities.allowance(scenario).map_or(scenario.expect.outcome, |a| a.outcome);
            let failure = expected == ExpectedOutcome::Failed;
            match &row[column] {
                Cell::NotApplicable(_) => continue,
                Cell::NotRun => counts.not_run += 1,
                Cell::Ran(observed) => {
                    counts.deviations +=
                        usize::from(observed.allowed.as_ref().is_some_and(|(_, deviation, _)| *deviation));
                    match observed.reading {
                        CauseReading::Unclassified => counts.unclassified += 1,
                        CauseReading::ReadAs(_) => counts.misread += 1,
                        CauseReading::Read => {
                            counts.passed += 1;
                            counts.classified += usize::from(failure && observed.root_cause.is_some());
                        }
                    }
                }
            }
            counts.applicable += 1;
            counts.failures += usize::from(failure);
        }
        counts
    }

    /// The page.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# Compatibility: the catalog against real RPs\n\n\
             Every scenario of the catalog against the reference RP and the real RPs under `rps/`, each driven through \
             the external-RP contract. Generated from `scenarios/`, `rps/*/rp.toml` and the snapshots; do not edit. \
             Regenerate with\n\n```sh\nSSO_REPRO_UPDATE_DOCS=1 cargo test --test real_rps the_compatibility_page_is_up_to_date\n```\n\n\
             A scenario applies to an RP when the RP has every capability the scenario needs (read from its setup; see \
             `harness/src/capability.rs`). Cells: `✓` as documented (outcome, root cause, the IdP's and the proxy's \
             records; the wrapper too where the RP words failures by stage); `allowed` as the scenario allows a \
             spec-conforming RP with that conduct; `⚠ deviates` as the scenario records that this RP departs from the \
             specification; `? unclassified` the outcome is right but sso-repro does not read the RP's words as a root \
             cause yet; `✗ read as` the outcome is right but the words were read as another cause; `n/a` the RP lacks \
             what the scenario needs; `not run` no snapshot yet.\n\n",
        );
        out.push_str(
            "## Counts\n\n| RP | applicable | passed | classified (of failures) | unclassified | read as another cause | deviations | not run |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for (column, (name, _, _)) in self.rps.iter().enumerate() {
            let c = self.counts(column);
            out.push_str(&format!(
                "| {name} | {} | {} | {} of {} | {} | {} | {} | {} |\n",
                c.applicable, c.passed, c.classified, c.failures, c.unclassified, c.misread, c.deviations, c.not_run
            ));
        }
        out.push_str("\n## The RPs\n\n");
        for (name, title, abilities) in &self.rps {
            let conduct: Vec<String> = abilities.conduct.iter().map(|c| format!("`{}`", c.name())).collect();
            let lacks: Vec<String> = Capability::ALL
                .iter()
                .filter(|c| !abilities.capabilities.contains(c))
                .map(|c| format!("`{}`", c.name()))
                .collect();
            out.push_str(&format!("- **{name}** — {title}."));
            if !lacks.is_empty() {
                out.push_str(&format!(" Lacks {}.", lacks.join(", ")));
            }
            if !conduct.is_empty() {
                out.push_str(&format!(" Conduct: {}.", conduct.join(", ")));
            }
            out.push('\n');
        }
        out.push_str("\n## The matrix\n\n| scenario | expected |");
        for (name, _, _) in &self.rps {
            out.push_str(&format!(" {name} |"));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(self.rps.len()));
        out.push('\n');
        for (scenario, row) in self.scenarios.iter().zip(&self.cells) {
            out.push_str(&format!("| [{id}](scenarios/{id}.md) | {} |", expected(scenario), id = scenario.id));
            for cell in row {
                out.push_str(&format!(" {} |", short(cell)));
            }
            out.push('\n');
        }
        out.push_str(&self.not_applicable());
        out.push_str(&self.allowances());
        out.push_str(&self.words());
        out
    }

    fn not_applicable(&self) -> String {
        let mut out = String::from("\n## Why a scenario does not apply\n\n");
        for (column, (name, _, _)) in self.rps.iter().enumerate() {
            let mut by_need: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for (scenario, row) in self.scenarios.iter().zip(&self.cells) {
                if let Cell::NotApplicable(missing) = &row[column] {
                    let key = missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + ");
                    by_need.entry(key).or_default().push(&scenario.id);
                }
            }
            if by_need.is_empty() {
                continue;
            }
            out.push_str(&format!("- **{name}**:\n"));
            for (need, ids) in by_need {
                out.push_str(&format!("  - needs {need}: {}\n", ids.join(", ")));
            }
        }
        out
    }

    fn allowances(&self) -> String {
        let mut out = String::new();
        for scenario in &self.scenarios {
            for allowance in &scenario.expect.allowed {
                if out.is_empty() {
                    out.push_str("\n## What the catalog allows a spec-conforming RP to do instead\n\n");
                }
                let instead = match (allowance.outcome, allowance.root_cause) {
                    (ExpectedOutcome::Failed, Some(cause)) => format!("fail with `{cause}`"),
                    _ => "sign in".to_owned(),
                };
                let kind = if allowance.deviation { "deviate and" } else { "may" };
                out.push_str(&format!(
                    "- `{}`: RPs with conduct `{}` {kind} {instead}: {}\n",
                    scenario.id,
                    allowance.rp.name(),
                    allowance.because.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
        }
        out
    }

    fn words(&self) -> String {
        let mut causes: BTreeMap<String, BTreeMap<usize, (String, String)>> = BTreeMap::new();
        for (scenario, row) in self.scenarios.iter().zip(&self.cells) {
            let Some(cause) = scenario.expect.root_cause else { continue };
            for (column, cell) in row.iter().enumerate() {
                if let Cell::Ran(Observed { words: Some(words), allowed: None, .. }) = cell {
                    causes
                        .entry(cause.name())
                        .or_default()
                        .entry(column)
                        .or_insert_with(|| (words.clone(), scenario.id.clone()));
                }
            }
        }
        let mut out = String::from(
            "\n## Each RP's words for each cause\n\nThe innermost line of each RP's error chain, from the first scenario \
             of the catalog with that cause (as its snapshot keeps it).\n",
        );
        for (cause, by_rp) in causes {
            out.push_str(&format!("\n### `{cause}`\n\n"));
            for (column, (words, id)) in by_rp {
                let words = words.replace('`', "'");
                out.push_str(&format!("- {} (`{id}`): `{words}`\n", self.rps[column].0));
            }
        }
        out
    }
}

fn cell(scenario: &Scenario, rp: &str, abilities: &Abilities, snapshots: &Path) -> Cell {
    let missing = abilities.missing(scenario);
    if !missing.is_empty() {
        return Cell::NotApplicable(missing);
    }
    let Ok(snapshot) = std::fs::read_to_string(snapshot_path(snapshots, rp, &scenario.id)) else {
        return Cell::NotRun;
    };
    let mut observed = Observed::from_snapshot(snapshot_body(&snapshot));
    let allowance = abilities.allowance(scenario);
    observed.allowed =
        allowance.map(|a| (a.rp, a.deviation, a.root_cause.map_or("signs in".to_owned(), |c| format!("`{c}`"))));
    let expected = allowance.map_or(scenario.expect.root_cause, |a| a.root_cause).map(|c| c.name());
    observed.reading = match (&expected, &observed.root_cause) {
        (Some(expected), Some(seen)) if seen != expected && seen == "unclassified" => CauseReading::Unclassified,
        (Some(expected), Some(seen)) if seen != expected => CauseReading::ReadAs(seen.clone()),
        _ => CauseReading::Read,
    };
    Cell::Ran(observed)
}

fn expected(scenario: &Scenario) -> String {
    match scenario.expect.root_cause {
        Some(cause) => format!("`{cause}`"),
        None => "signs in".to_owned(),
    }
}

fn short(cell: &Cell) -> String {
    let Cell::Ran(observed) = cell else {
        return match cell {
            Cell::NotApplicable(_) => "n/a".to_owned(),
            _ => "not run".to_owned(),
        };
    };
    let reading = match &observed.reading {
        CauseReading::Read => "✓".to_owned(),
        CauseReading::Unclassified => "? unclassified".to_owned(),
        CauseReading::ReadAs(cause) => format!("✗ read as `{cause}`"),
    };
    match &observed.allowed {
        None => reading,
        Some((_, false, outcome)) => format!("allowed: {outcome} {reading}"),
        Some((_, true, outcome)) => format!("⚠ deviates: {outcome} {reading}"),
    }
}

/// Snapshots under `snapshots/rps/` that no applicable scenario keeps (a scenario that no longer
/// applies, or was renamed): the staleness test reports them.
pub fn orphan_snapshots(matrix: &Matrix, snapshots: &Path) -> Vec<PathBuf> {
    let mut orphans = Vec::new();
    for (column, (name, _, _)) in matrix.rps.iter().enumerate().skip(1) {
        let Ok(entries) = std::fs::read_dir(snapshots.join("rps").join(name)) else { continue };
        for path in entries.flatten().map(|e| e.path()) {
            let id = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".snap"));
            let kept = id.is_some_and(|id| {
                matrix
                    .scenarios
                    .iter()
                    .zip(&matrix.cells)
                    .any(|(s, row)| s.id == id && matches!(row[column], Cell::Ran(_)))
            });
            if !kept {
                orphans.push(path);
            }
        }
    }
    orphans
}
