//! `sso-repro`: run the catalog of documented SSO failures, explain them, diagnose a pasted log.
//! `sso-repro --help` lists the commands; each has its own `--help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
