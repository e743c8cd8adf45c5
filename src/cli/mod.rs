//! The command line: one file per subcommand, the shared selection of scenarios, exit codes and
//! output that ends quietly on a closed pipe.

mod accept;
mod catalog;
mod completions;
mod diagnose;
mod docs;
mod explain;
mod list;
mod new;
mod out;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes, distinct per kind of failure (documented in `--help`).
pub mod exit {
    /// Every selected scenario behaved as documented; a log was diagnosed.
    pub const OK: u8 = 0;
    /// At least one scenario did not behave as documented.
    pub const MISMATCH: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// At least one scenario file cannot be used (the valid ones still ran).
    pub const LOAD_ERROR: u8 = 3;
    /// The selection matched no scenario.
    pub const EMPTY_SELECTION: u8 = 4;
    /// `diagnose`: nothing in the log was recognised.
    pub const UNCLASSIFIED: u8 = 5;
    /// The harness could not do its work (environment, backend, files to write).
    pub const HARNESS: u8 = 6;
}

const EXIT_CODES: &str = "Exit codes:
  0  success (every scenario as documented; the log was diagnosed)
  1  a scenario did not behave as documented
  2  usage error
  3  a scenario file cannot be used (the valid scenarios still ran)
  4  the selection matched no scenario
  5  diagnose: nothing in the log was recognised
  6  the harness itself failed (environment, backend, writing files)";

/// Reproduce single-sign-on failures on demand: a mock IdP, a blocking proxy and a relying party over
/// real sockets, driven by a catalog of documented failures.
#[derive(Debug, Parser)]
#[command(name = "sso-repro", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::Args),
    List(list::Args),
    Explain(explain::Args),
    Diagnose(diagnose::Args),
    New(new::Args),
    Accept(accept::Args),
    Docs(docs::Args),
    Completions(completions::Args),
}

/// Where the scenarios come from and which of them to use.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Scenario ids or globs (`proxy-*`), or paths to scenario files or folders (`./my-ticket.toml`).
    /// None: every scenario of the catalog.
    #[arg(value_name = "SCENARIO")]
    pub select: Vec<String>,
    /// Only scenarios of this family (`tls`, `egress-proxy`, …); repeatable.
    #[arg(long, value_name = "FAMILY")]
    pub family: Vec<String>,
    #[command(flatten)]
    pub source: catalog::Source,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// For tools (has a `schema_version`).
    Json,
}

/// The version of every JSON document the CLI prints.
pub const SCHEMA_VERSION: u32 = 1;

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version go to stdout with 0; usage errors to stderr with 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::List(args) => list::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::New(args) => new::run(args),
        Command::Accept(args) => accept::run(args),
        Command::Docs(args) => docs::run(args),
        Command::Completions(args) => completions::run(args),
    };
    ExitCode::from(code)
}

/// Prints an error and its causes to stderr.
pub fn report(error: &(dyn std::error::Error + 'static)) {
    eprintln!("{}", sso_harness::ErrorChain::from_error(error));
}
