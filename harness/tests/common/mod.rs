//! What the party tests share.
#![allow(dead_code)] // each test binary uses a part of it

use std::time::Duration;

use sso_harness::{Hosts, Idp};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

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

/// Reads until `stream` is closed by the other side; panics if that takes longer than `within`.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) {
    let mut sink = [0u8; 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    });
    closed.await.expect("the connection outlived its party");
}
