//! The TLS terminator in front of wiremock: it holds the certificate for the IdP's host name and
//! relays the plaintext to the mock server.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// Accepts TLS on `listener` and relays the plaintext to the wiremock server at `backend`.
pub(super) async fn terminate_tls(listener: TcpListener, config: Arc<rustls::ServerConfig>, backend: SocketAddr) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    while let Ok((stream, _)) = listener.accept().await {
        // Relayed writes are small and split (head, body): without NODELAY, Nagle and delayed ACKs
        // add 40 ms to every POST.
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let mut tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                // Not in the party log: the client has already given up, so recording it would race
                // with the collection of an outcome.
                Err(error) => return tracing::warn!(party = "idp", "TLS handshake failed: {error}"),
            };
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                let _ = plain.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}
