//! What the party tests share.

use sso_harness::{Hosts, Idp};

/// A client that trusts the IdP's CA, resolves the harness's names, follows no redirects and uses
/// no proxy: a relying party's back channel with nothing in between.
pub fn client(idp: &Idp) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(idp.ca_pem().as_bytes()).unwrap())
        .dns_resolver(std::sync::Arc::new(Hosts::harness()))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}
