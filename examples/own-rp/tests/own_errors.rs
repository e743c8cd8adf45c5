//! A `LaunchRp` that fails with its own error type: the environment reports it, with its causes.

use sso_harness::rp::{LaunchRp, Launching, RpSettings};
use sso_harness::{ErrorChain, SsoEnv};

#[derive(Debug, thiserror::Error)]
#[error("the product's test database is not running")]
struct NoDatabase(#[source] std::io::Error);

#[derive(Debug)]
struct BrokenRp;

impl LaunchRp for BrokenRp {
    fn launch(&self, _settings: RpSettings) -> Launching<'_> {
        Box::pin(async move {
            Err(NoDatabase(std::io::Error::other("connection refused")))?;
            unreachable!()
        })
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_launchers_own_error_is_reported_with_its_causes() {
    let error = match SsoEnv::builder().launcher(BrokenRp).start().await {
        Ok(_) => panic!("the environment must not start"),
        Err(error) => error,
    };
    let chain = ErrorChain::from_error(&error);
    assert!(chain.levels.iter().any(|l| l == "starting the RP under test failed"), "{chain}");
    assert!(chain.levels.iter().any(|l| l == "the product's test database is not running"), "{chain}");
    assert_eq!(chain.root(), "connection refused");
}
