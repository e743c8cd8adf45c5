//! README: "Testing your own product", 1. In-process Rust.

use own_rp_example::my_product;
use sso_harness::catalog;
use sso_harness::rp::{LaunchRp, Launching, RpSettings, RunningRp};

#[derive(Debug)]
struct MyRp;

impl LaunchRp for MyRp {
    fn launch(&self, settings: RpSettings) -> Launching<'_> {
        Box::pin(async move {
            // Start your RP with `settings`; return a handle that knows its login URL, its redirect
            // URI, its failures (as ErrorChains, e.g. ErrorChain::from_error(&your_error)) and its log.
            // `?` takes your own error types too.
            let running: Box<dyn RunningRp> = my_product::start_for_tests(settings).await?;
            Ok(running)
        })
    }
}

#[tokio::test(flavor = "current_thread")]
async fn my_rp_reports_the_jira_proxy_failure() {
    let scenario = catalog::scenario("proxy-denies-connect-to-token-endpoint").unwrap();
    let run = scenario.run_with(scenario.env_builder().launcher(MyRp)).await.unwrap();
    assert!(run.passed(), "{:?}", run.mismatches);
}
