//! What happens after the proxy allowed a request: a CONNECT tunnel, an absolute-form request
//! forwarded in origin form, or a TLS-intercepting tunnel. Each is bounded in time by the caller.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::request::Request;
use crate::tls::Ca;

/// Headers that concern only one hop and are not forwarded.
const HOP_BY_HOP: [&str; 4] = ["proxy-authorization", "proxy-connection", "connection", "keep-alive"];

pub(crate) const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";

/// Relays between client and upstream. For a forwarded request (`forward_path`), the head goes
/// upstream first in origin form, one request per connection; `early` is what the client sent past
/// its head.
pub(crate) async fn relay(
    mut client: TcpStream,
    mut upstream: TcpStream,
    request: &Request,
    forward_path: Option<&str>,
    early: &[u8],
) -> std::io::Result<()> {
    match forward_path {
        None => client.write_all(ESTABLISHED).await?,
        Some(path) => {
            let mut head = format!("{} {path} HTTP/1.{}\r\n", request.method, request.version).into_bytes();
            for (name, value) in &request.headers {
                if !HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                    head.extend_from_slice(name.as_bytes());
                    head.extend_from_slice(b": ");
                    head.extend_from_slice(value);
                    head.extend_from_slice(b"\r\n");
                }
            }
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            upstream.write_all(&head).await?;
        }
    }
    upstream.write_all(early).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// The proxy's own CA, and the trust it verifies upstream servers with.
pub(crate) struct Interception {
    pub(crate) ca: Ca,
    upstream: Arc<rustls::ClientConfig>,
}

impl Interception {
    pub(crate) fn new(upstream_ca_pem: &str) -> Result<Interception, Box<dyn std::error::Error + Send + Sync>> {
        let ca = Ca::new("Corporate TLS Inspection CA")?;
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(upstream_ca_pem.as_bytes()) {
            roots.add(certificate?)?;
        }
        let upstream = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Interception { ca, upstream: Arc::new(upstream) })
    }

    /// Terminates the client's TLS with a certificate for `host` from the proxy's CA, opens TLS to
    /// the upstream, and relays between them.
    pub(crate) async fn relay(&self, host: &str, client: TcpStream, upstream: TcpStream) -> Result<(), String> {
        let config = self.ca.server_config(host).map_err(|e| e.to_string())?;
        let mut client = tokio_rustls::TlsAcceptor::from(config)
            .accept(client)
            .await
            .map_err(|e| format!("the client refused the proxy's certificate for {host}: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
        let mut upstream = tokio_rustls::TlsConnector::from(self.upstream.clone())
            .connect(name, upstream)
            .await
            .map_err(|e| format!("the upstream's certificate failed verification: {e}"))?;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        Ok(())
    }
}
