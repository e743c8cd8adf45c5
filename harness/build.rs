//! Embeds the scenario catalog (`scenarios/`, a link to the workspace's top-level folder) so that
//! `sso_harness::catalog::load()` works from any crate that depends on the harness.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            collect(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            found.push(path);
        }
    }
}

fn main() {
    let root =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("scenarios");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut code = String::from("&[\n");
    for file in &files {
        println!("cargo::rerun-if-changed={}", file.display());
        let name = file.strip_prefix(&root).expect("under the catalog").display().to_string();
        let absolute = std::fs::canonicalize(file).expect("a readable catalog file");
        writeln!(code, "    ({name:?}, include_str!({:?})),", absolute.display().to_string()).expect("a string");
    }
    code.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
