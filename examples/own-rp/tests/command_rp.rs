//! README: "Testing your own product", 2. An external command (run with `--ignored` after
//! `javac -d build/classes ../../tests/rps/MiniRp.java`).

use sso_harness::{catalog, CommandRp};

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the RP's classes: javac -d build/classes MiniRp.java"]
async fn our_java_rp_reports_the_proxy_refusal() {
    let rp = CommandRp::new("java", "java").arg("-Dhttp.nonProxyHosts=").arg("-cp").arg("build/classes").arg("MiniRp");
    let scenario = catalog::scenario("proxy-denies-connect-to-token-endpoint").unwrap();
    let run = scenario.run_with(scenario.env_builder().launcher(rp)).await.unwrap();
    assert!(run.passed(), "{:?}", run.mismatches);
    assert_eq!(
        run.outcome.failure.unwrap().root(),
        r#"java.io.IOException: Unable to tunnel through proxy. Proxy returns "HTTP/1.1 403 Forbidden""#
    );
}
