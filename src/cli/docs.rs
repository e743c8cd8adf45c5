//! `sso-repro docs`: write the teaching pages (one per scenario) from the scenarios and snapshots.

use std::path::{Path, PathBuf};

use super::catalog::Source;
use super::out::outln;
use super::{exit, report};

/// Write the teaching pages (docs/scenarios by default) from the scenario files and snapshots.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the pages go.
    #[arg(long, value_name = "DIR", default_value = "docs/scenarios")]
    out: PathBuf,
    #[command(flatten)]
    source: Source,
}

pub fn run(args: Args) -> u8 {
    match write(&args.source, &args.out) {
        Ok(count) => {
            outln!("wrote {count} pages to {}", args.out.display());
            exit::OK
        }
        Err(code) => code,
    }
}

/// Renders every page and replaces the `.md` files in `out` (the number of pages, or the exit code).
pub fn write(source: &Source, out: &Path) -> Result<usize, u8> {
    let pages = match sso_harness::docs::render(&source.dir_or_checkout(), &source.snapshots()) {
        Ok(pages) => pages,
        Err(error) => {
            report(&error);
            return Err(exit::LOAD_ERROR);
        }
    };
    let written = std::fs::create_dir_all(out).and_then(|()| {
        for entry in std::fs::read_dir(out)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") && !pages.contains_key(&name) {
                std::fs::remove_file(entry.path())?;
            }
        }
        pages.iter().try_for_each(|(name, text)| std::fs::write(out.join(name), text))
    });
    match written {
        Ok(()) => Ok(pages.len()),
        Err(error) => {
            eprintln!("error: writing the pages to {} failed: {error}", out.display());
            Err(exit::HARNESS)
        }
    }
}
