//! `sso-party`: serves one party of an sso-repro environment (idp, proxy or rp) in its own process,
//! configured by the JSON in `SSO_PARTY_CONFIG`. The containers backend runs it as each container;
//! `sso-party contract-rp` is the reference RP under the external-RP contract, and `sso-party reaper`
//! the reaper of `sso_harness::reaper`.

use std::process::ExitCode;

use sso_harness::party::{self, PartyConfig, CONFIG_VAR};

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    if std::env::args().nth(1).as_deref() == Some("contract-rp") {
        return match runtime.block_on(party::until_expiry(party::serve_contract_rp())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("sso-party: {}", sso_harness::ErrorChain::from_error(&error));
                ExitCode::FAILURE
            }
        };
    }
    if std::env::args().nth(1).as_deref() == Some("reaper") {
        return match runtime.block_on(sso_harness::reaper::serve_reaper()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("sso-party reaper: {}", sso_harness::ErrorChain::from_error(&error));
                ExitCode::FAILURE
            }
        };
    }
    let config: PartyConfig = match std::env::var(CONFIG_VAR).map(|json| serde_json::from_str(&json)) {
        Ok(Ok(config)) => config,
        Ok(Err(error)) => {
            eprintln!("sso-party: {CONFIG_VAR} is not a valid party configuration: {error}");
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!("sso-party: set {CONFIG_VAR} to a party configuration (JSON); it is written by sso-harness's containers backend");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(party::until_expiry(party::serve(config))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sso-party: {}", sso_harness::ErrorChain::from_error(&error));
            ExitCode::FAILURE
        }
    }
}
