//! Public API calls given bad input answer with an error that names it, never a panic.

use sso_harness::{Ca, ErrorChain, Idp, IdpSetup};

#[tokio::test(flavor = "current_thread")]
async fn a_redirect_uri_that_is_no_absolute_url_is_refused() {
    let ca = Ca::new("sso-repro test CA").unwrap();
    let idp = Idp::start(IdpSetup::default(), &ca).await.unwrap();

    for bad in ["rp.sso.test/callback", "", "https://rp.sso.test/callback#fragment", "mailto:rp@sso.test"] {
        let error = idp.register_redirect_uri(bad).expect_err("the redirect URI must be refused");
        let message = ErrorChain::from_error(&error).to_string();
        assert!(message.contains(&format!("`{bad}`")) && message.contains("absolute URL"), "{message}");
    }
    idp.register_redirect_uri("http://rp.sso.test:8080/callback").unwrap();
}
