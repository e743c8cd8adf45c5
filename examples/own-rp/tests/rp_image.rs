//! README: "Testing your own product", 3. A container image (feature `containers`).
#![cfg(feature = "containers")]

use sso_harness::catalog;
use sso_harness::containers::ContainerBackend;
use sso_harness::env::RpImage;

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs your RP's image and a Docker engine"]
async fn our_rp_image_reports_the_proxy_refusal() {
    let backend = ContainerBackend::connect().await.unwrap();
    let image = RpImage { name: "my-product-rp".into(), tag: "test".into(), command: vec![] };
    let scenario = catalog::scenario("proxy-denies-connect-to-token-endpoint").unwrap();
    let run = scenario.run_in_containers_with(scenario.env_builder().rp_image(image), &backend).await.unwrap();
    assert!(run.passed(), "{:?}", run.mismatches);
}
