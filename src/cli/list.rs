//! `sso-repro list`: one line per scenario.

use serde_json::json;

use super::catalog::select;
use super::out::outln;
use super::{exit, Format, Selection, SCHEMA_VERSION};

/// List the scenarios (id, family, title).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub fn run(args: Args) -> u8 {
    let selected = match select(&args.selection) {
        Ok(selected) => selected,
        Err(code) => return code,
    };
    match args.format {
        Format::Table => {
            for s in &selected.scenarios {
                outln!("{:<48} {:<15} {}", s.id, s.family, s.title);
            }
        }
        Format::Json => {
            let items: Vec<_> = selected
                .scenarios
                .iter()
                .map(|s| json!({ "id": s.id, "family": s.family, "title": s.title, "expected": super::run::expected_json(s) }))
                .collect();
            let doc = json!({ "schema_version": SCHEMA_VERSION, "scenarios": items });
            outln!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        }
    }
    if selected.load_errors > 0 {
        exit::LOAD_ERROR
    } else {
        exit::OK
    }
}
