//! Checks of a scenario file beyond its types, and errors that point at the field at fault.
//!
//! - [`read`]: a file above [`MAX_FILE_BYTES`] is refused before it is read whole.
//! - [`is_scenario_file`]: folder walks take `.toml` in any case, and [`read`] refuses `x.TOML` (not
//!   skipped: the test suite's `scenarios/**/*.toml` would skip it on a case-sensitive file system).
//! - [`deserialize`]: serde's field path (`serde_path_to_error`) and toml_edit's spans turn a table's
//!   own check (a proxy rule's `status` on `action = "hang"`) into an error at the key whose removal
//!   makes the table valid, and `[[story]]` for `[story]` (or the reverse) into an error that says
//!   which table form is expected — found by trying the other form, so no schema is repeated here.
//! - [`check`]: the expected wrapper is a stage the RP reports, every proxy rule names a party of the
//!   environment, and the RP's back-channel waits end before the browser gives up.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use serde_path_to_error::Segment;
use toml_edit::{ArrayOfTables, DocumentMut, ImDocument, Item};

use crate::agent::BROWSER_TIMEOUT;
use crate::hosts::{IDP_NAMES, PROXY_HOST, RP_HOST};
use crate::rp::Stage;
use crate::scenario::{Scenario, ScenarioError};

/// The largest scenario file that is read (1 MiB; the catalog's largest is a few KiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The host names a proxy rule can name: the parties of an environment.
const PARTY_HOSTS: [&str; 5] = [IDP_NAMES[0], IDP_NAMES[1], IDP_NAMES[2], RP_HOST, PROXY_HOST];

/// A scenario file's text, refused above [`MAX_FILE_BYTES`] (also when the file grows while read) or
/// when its extension is `.toml` in another case.
pub(crate) fn read(path: &Path) -> Result<String, ScenarioError> {
    check_extension(path)?;
    let read_error = |source| ScenarioError::Read { path: path.to_owned(), source };
    let too_large = |size| ScenarioError::TooLarge { path: path.to_owned(), size, limit: MAX_FILE_BYTES };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Whether a file found in a scenario folder is meant as a scenario file: `.toml` in any case, so
/// that [`read`] refuses `x.TOML` rather than the folder walk skipping it.
pub(crate) fn is_scenario_file(path: &Path) -> bool {
    path.extension().and_then(|ext| ext.to_str()).is_some_and(|ext| ext.eq_ignore_ascii_case("toml"))
}

/// `.TOML`, `.Toml`, … are refused with the rename that fixes them (ids equal lowercase file names,
/// and the test suite's `scenarios/**/*.toml` would skip them on a case-sensitive file system).
fn check_extension(path: &Path) -> Result<(), ScenarioError> {
    match path.extension().and_then(|ext| ext.to_str()) {
        Some(ext) if ext != "toml" && ext.eq_ignore_ascii_case("toml") => {
            Err(ScenarioError::Extension { path: path.to_owned(), extension: ext.to_owned() })
        }
        _ => Ok(()),
    }
}

/// One step of a field path: a key or a position in an array.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

type Typed = Result<Scenario, serde_path_to_error::Error<toml::de::Error>>;

fn typed(text: &str) -> Typed {
    serde_path_to_error::deserialize(toml::Deserializer::new(text))
}

fn steps(path: &serde_path_to_error::Path) -> Vec<Step> {
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

fn field_name(steps: &[Step]) -> String {
    let mut name = String::new();
    for step in steps {
        match step {
            Step::Key(key) if name.is_empty() => name.push_str(key),
            Step::Key(key) => {
                name.push('.');
                name.push_str(key);
            }
            Step::Index(index) => name.push_str(&format!("[{index}]")),
        }
    }
    name
}

/// The scenario in `text`, or an error at the field at fault.
pub(crate) fn deserialize(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let error = match typed(text) {
        Ok(scenario) => return Ok(scenario),
        Err(error) => error,
    };
    let at = steps(error.path());
    if let Some(pointed) = pointed(path, text, &at, error.inner().message()) {
        return Err(pointed);
    }
    Err(ScenarioError::Parse { path: path.to_owned(), source: Box::new(error.into_inner()) })
}

/// Whether `edited` no longer fails where the original failed (`at`) nor above it.
fn fixes(edited: &DocumentMut, at: &[Step]) -> bool {
    match typed(&edited.to_string()) {
        Ok(_) => true,
        Err(error) => {
            let now = steps(error.path());
            now != at && !at.starts_with(&now)
        }
    }
}

fn get<'a>(mut item: &'a Item, at: &[Step]) -> Option<&'a Item> {
    for step in at {
        item = match step {
            Step::Key(key) => item.get(key.as_str())?,
            Step::Index(index) => item.get(*index)?,
        };
    }
    Some(item)
}

/// The item at `at`, which [`get`] found in the same text (so indexing cannot fail).
fn get_mut<'a>(doc: &'a mut DocumentMut, at: &[Step]) -> Option<&'a mut Item> {
    get(doc.as_item(), at)?;
    let mut item = doc.as_item_mut();
    for step in at {
        item = match step {
            Step::Key(key) => &mut item[key.as_str()],
            Step::Index(index) => &mut item[*index],
        };
    }
    Some(item)
}

/// Where the key at `at` is written (else its value).
fn key_span(spans: &ImDocument<&str>, at: &[Step]) -> Option<Range<usize>> {
    let (Step::Key(key), parent) = at.split_last()? else { return get(spans.as_item(), at)?.span() };
    let parent = get(spans.as_item(), parent)?;
    let key_span = match parent {
        Item::Table(table) => table.key(key).and_then(|k| k.span()),
        Item::Value(value) => value.as_inline_table().and_then(|t| t.key(key)).and_then(|k| k.span()),
        _ => None,
    };
    key_span.or_else(|| get(parent, &at[at.len() - 1..])?.span())
}

fn field_error(path: &Path, text: &str, span: Range<usize>, field: String, message: String) -> ScenarioError {
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ScenarioError::Field { path: path.to_owned(), line, column, field, message }
}

/// A better error than toml's for the failure at `at`: a table written in the other form, or the
/// one key of a table that makes it invalid.
fn pointed(path: &Path, text: &str, at: &[Step], message: &str) -> Option<ScenarioError> {
    let spans = ImDocument::parse(text).ok()?;
    let original: DocumentMut = text.parse().ok()?;
    // A table written in the other form: the failure goes away, or moves past the table, when the
    // table is written the other way.
    for (len, step) in at.iter().enumerate() {
        if !matches!(step, Step::Key(_)) {
            continue;
        }
        let table = &at[..=len];
        let name = field_name(table);
        let mut edited = original.clone();
        let (Some(written), Some(item)) = (get(spans.as_item(), table), get_mut(&mut edited, table)) else { continue };
        let converted = match item {
            Item::ArrayOfTables(list) if list.len() == 1 => {
                let first = list.get(0).cloned().unwrap_or_default();
                *item = Item::Table(first);
                let span = written.as_array_of_tables().and_then(|list| list.get(0)).and_then(|t| t.span());
                Some((
                    span,
                    format!("`[[{name}]]` makes a list of tables, but `{name}` is one table: write `[{name}]`"),
                ))
            }
            Item::Table(single) if !single.is_implicit() && !single.is_dotted() => {
                let mut list = ArrayOfTables::new();
                list.push(single.clone());
                *item = Item::ArrayOfTables(list);
                let hint = format!(
                    "`[{name}]` is one table, but `{name}` is a list of tables: write `[[{name}]]` for each entry"
                );
                Some((written.span(), hint))
            }
            _ => None,
        };
        if let Some((span, hint)) = converted {
            let moved_on = match typed(&edited.to_string()) {
                Ok(_) => true,
                Err(error) => {
                    let now = steps(error.path());
                    // Under the table is past it only when the table itself was the failure.
                    now != at && !table.starts_with(&now) && (at == table || !now.starts_with(table))
                }
            };
            if moved_on {
                return Some(field_error(path, text, span?, name, hint));
            }
        }
    }
    // The one key whose removal makes the table at `at` valid is the field at fault.
    let keys: Vec<String> = get(original.as_item(), at)?.as_table_like()?.iter().map(|(k, _)| k.to_owned()).collect();
    for key in keys {
        let mut edited = original.clone();
        get_mut(&mut edited, at)?.as_table_like_mut()?.remove(&key);
        if fixes(&edited, at) {
            let field = [at, &[Step::Key(key)]].concat();
            let span = key_span(&spans, &field)?;
            return Some(field_error(path, text, span, field_name(&field), message.to_owned()));
        }
    }
    None
}

/// An error about `field` (`setup.proxy.rules[0].host`), at the line of its key — or, for a field
/// left out, of the nearest table written — when the text has it.
pub(crate) fn invalid(path: &Path, text: &str, field: &str, message: String) -> ScenarioError {
    let mut steps = Vec::new();
    for part in field.split('.') {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(key, rest)| (key, rest));
        steps.push(Step::Key(key.to_owned()));
        steps.extend(indexes.split('[').filter_map(|i| i.trim_end_matches(']').parse().ok()).map(Step::Index));
    }
    let spans = ImDocument::parse(text).ok();
    let span = spans.as_ref().and_then(|doc| {
        (1..=steps.len()).rev().find_map(|len| match get(doc.as_item(), &steps[..len])? {
            Item::Table(table) if len < steps.len() => table.span(),
            _ if len == steps.len() => key_span(doc, &steps),
            _ => None,
        })
    });
    match span {
        Some(span) => field_error(path, text, span, field.to_owned(), message),
        None => ScenarioError::Invalid { path: path.to_owned(), field: field.to_owned(), message },
    }
}

/// What the types cannot say: the wrapper is a stage, rule hosts are parties, waits end in time.
pub(crate) fn check(path: &Path, text: &str, scenario: &Scenario) -> Result<(), ScenarioError> {
    let at = |field: &[Step], message: String| invalid(path, text, &field_name(field), message);
    let key = |k: &str| Step::Key(k.to_owned());
    if let Some(wrapper) = &scenario.expect.wrapper {
        let stages: Vec<String> = Stage::ALL.iter().map(Stage::to_string).collect();
        if !stages.contains(wrapper) {
            let message = format!("`{wrapper}` is not a stage the RP reports; one of: {}", stages.join(", "));
            return Err(at(&[key("expect"), key("wrapper")], message));
        }
    }
    for (index, rule) in scenario.setup.proxy.rules.iter().enumerate() {
        if !PARTY_HOSTS.iter().any(|party| party.eq_ignore_ascii_case(&rule.host)) {
            let message =
                format!("`{}` names no party of the environment; one of: {}", rule.host, PARTY_HOSTS.join(", "));
            return Err(at(&[key("setup"), key("proxy"), key("rules"), Step::Index(index), key("host")], message));
        }
    }
    let rp = &scenario.setup.rp;
    let limit = BROWSER_TIMEOUT.as_millis();
    let waits = u128::from(rp.timeout_ms) * (1 + u128::from(rp.token_retries));
    if waits >= limit {
        let (field, message) = match rp.token_retries {
            0 => ("timeout_ms", format!("is {} ms, not shorter than the browser's own limit of {limit} ms", rp.timeout_ms)),
            retries => (
                "token_retries",
                format!(
                    "timeout_ms × (1 + token_retries) = {} ms × {} = {waits} ms, not shorter than the browser's own limit of {limit} ms",
                    rp.timeout_ms,
                    1 + u128::from(retries)
                ),
            ),
        };
        return Err(at(&[key("setup"), key("rp"), key(field)], message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::chain::ErrorChain;
    use crate::scenario::Scenario;

    const VALID: &str = r#"id = "x"
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

    /// A folder of its own per test, removed when the test ends (also when it fails).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("sso-repro-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_valid_base_parses() {
        Scenario::parse(Path::new("scenarios/x.toml"), VALID).unwrap();
    }

    #[test]
    fn a_status_on_a_rule_points_at_the_status_not_at_the_rules_header() {
        let text = format!("{VALID}[[setup.proxy.rules]]\nhost = \"idp.sso.test\"\naction = \"hang\"\nstatus = 403\n");
        // Lines 12–15: the header, host, action, status.
        assert_mentions(
            &error_for(&text),
            &["scenarios/x.toml at line 15, column 1", "field `setup.proxy.rules[0].status`", "applies only"],
        );
        let text = format!("{VALID}[[setup.proxy.rules]]\nhost = \"idp.sso.test\"\naction = \"deny\"\nstatus = 200\n");
        assert_mentions(&error_for(&text), &["line 15", "field `setup.proxy.rules[0].status`", "not 200"]);
    }

    #[test]
    fn a_field_of_an_inline_rule_is_pointed_at_by_its_column() {
        let text = format!(
            "{VALID}[setup.proxy]\nrules = [{{ host = \"idp.sso.test\", action = \"allow\", user = \"u\" }}]\n"
        );
        assert_mentions(&error_for(&text), &["line 13, column 53", "field `setup.proxy.rules[0].user`"]);
    }

    #[test]
    fn a_list_of_tables_for_a_table_says_which_form_is_expected() {
        let error = error_for(&VALID.replace("[story]", "[[story]]"));
        assert_mentions(&error, &["line 4, column 1", "field `story`", "`[[story]]` makes a list", "write `[story]`"]);
        let error = error_for(&format!("{VALID}[[setup.idp]]\nsubject = \"bob\"\n"));
        assert_mentions(&error, &["field `setup.idp`", "write `[setup.idp]`"]);
    }

    #[test]
    fn a_table_for_a_list_of_tables_says_which_form_is_expected() {
        let error = error_for(&format!("{VALID}[setup.proxy.rules]\nhost = \"idp.sso.test\"\naction = \"deny\"\n"));
        assert_mentions(&error, &["line 12", "field `setup.proxy.rules`", "write `[[setup.proxy.rules]]` for each"]);
    }

    #[test]
    fn a_contradiction_or_a_missing_field_is_pointed_at_too() {
        let error = error_for(&format!("{VALID}[setup.rp]\nuse_proxy = false\nno_proxy = \"idp.sso.test\"\n"));
        assert_mentions(&error, &["line 14, column 1", "field `setup.rp.no_proxy`", "has no effect"]);
        // A required field left out: the table it belongs in.
        let error = error_for(&VALID.replace("wrapper = \"exchanging authorization tokens failed\"\n", ""));
        assert_mentions(&error, &["line 8, column 1", "field `expect.wrapper`", "required"]);
    }

    #[test]
    fn type_errors_keep_toml_s_own_position() {
        let error = error_for(&format!("{VALID}[setup.rp]\ntimeout_ms = \"x\"\n"));
        assert_mentions(&error, &["line 13, column 14", "expected u64"]);
    }

    #[test]
    fn a_wrapper_that_is_no_stage_is_refused_with_the_stages() {
        let error = error_for(&VALID.replace("exchanging authorization tokens failed", "fetching the userinfo failed"));
        assert_mentions(
            &error,
            &[
                "line 10",
                "field `expect.wrapper`",
                "`fetching the userinfo failed` is not a stage",
                "fetching the user info failed",
            ],
        );
    }

    #[test]
    fn a_rule_host_that_names_no_party_is_refused_with_the_parties() {
        let text = format!("{VALID}[[setup.proxy.rules]]\nhost = \"idp.example.com\"\naction = \"deny\"\n");
        assert_mentions(
            &error_for(&text),
            &["line 13", "field `setup.proxy.rules[0].host`", "idp.example.com", "idp.sso.test", "keys.sso.test"],
        );
        // Host names are matched without regard to case, as the proxy matches them.
        let text = format!("{VALID}[[setup.proxy.rules]]\nhost = \"IDP.sso.test\"\naction = \"deny\"\n");
        Scenario::parse(Path::new("scenarios/x.toml"), &text).unwrap();
    }

    #[test]
    fn a_timeout_the_browser_would_not_wait_for_is_refused_with_both_values() {
        let error = error_for(&format!("{VALID}[setup.rp]\ntimeout_ms = 6000\n"));
        assert_mentions(&error, &["field `setup.rp.timeout_ms`", "6000 ms", "browser's own limit of 5000 ms"]);
        let error = error_for(&format!("{VALID}[setup.rp]\ntimeout_ms = 2000\ntoken_retries = 2\n"));
        assert_mentions(&error, &["field `setup.rp.token_retries`", "6000 ms", "5000 ms"]);
        Scenario::parse(Path::new("scenarios/x.toml"), &format!("{VALID}[setup.rp]\ntimeout_ms = 4999\n")).unwrap();
    }

    #[test]
    fn a_file_above_the_size_limit_is_refused_before_it_is_parsed() {
        let dir = TempDir::new("too-large");
        let path = dir.0.join("x.toml");
        let padding = "#".repeat(super::MAX_FILE_BYTES as usize);
        std::fs::write(&path, format!("{VALID}{padding}\n")).unwrap();
        let error = ErrorChain::from_error(&Scenario::load(&path).unwrap_err()).to_string();
        assert_mentions(&error, &["x.toml", "more than the limit of 1048576 bytes"]);

        std::fs::write(&path, VALID).unwrap();
        Scenario::load(&path).unwrap();
    }

    #[test]
    fn an_upper_case_extension_is_refused_not_skipped() {
        let dir = TempDir::new("extension-case");
        std::fs::write(dir.0.join("x.toml"), VALID).unwrap();
        std::fs::create_dir_all(dir.0.join("tls")).unwrap();
        std::fs::write(dir.0.join("tls/y.TOML"), VALID.replace("\"x\"", "\"y\"")).unwrap();
        std::fs::write(dir.0.join("README.md"), "not a scenario").unwrap();
        let error = ErrorChain::from_error(&Scenario::load_dir(&dir.0).unwrap_err()).to_string();
        assert_mentions(&error, &["tls/y.TOML", "ends in `.TOML`", "rename it", "lowercase `.toml`"]);
        // The CLI's loader reports it beside the files that load.
        let loaded = crate::catalog::load_paths(&[&dir.0]);
        assert_eq!((loaded.scenarios.len(), loaded.errors.len()), (1, 1), "{:?}", loaded.errors);
        assert_mentions(&loaded.errors[0].to_string(), &["tls/y.TOML", "rename it"]);

        std::fs::rename(dir.0.join("tls/y.TOML"), dir.0.join("tls/y.toml")).unwrap();
        assert_eq!(Scenario::load_dir(&dir.0).unwrap().len(), 2);
    }
}
