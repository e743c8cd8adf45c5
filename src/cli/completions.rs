//! `sso-repro completions SHELL`: a completion script on stdout.

use clap::CommandFactory;

/// Print a shell completion script (e.g. `sso-repro completions bash > /etc/bash_completion.d/sso-repro`).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: Args) -> u8 {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sso-repro", &mut script);
    super::out::line(String::from_utf8_lossy(&script).trim_end());
    super::exit::OK
}
