//! The TLS terminator in front of wiremock: it holds the certificate for the IdP's host name and
//! relays the plaintext to the mock server.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

use crate::log::PartyLog;
use crate::serve::AcceptLoop;

/// Accepts TLS on `listener` and relays the plaintext to the wiremock server at `backend`. Every
/// connection is owned by the accept loop, so it ends when the IdP is dropped; accept errors (out of
/// descriptors) are logged to `log` and retried with backoff.
pub(super) async fn terminate_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    backend: SocketAddr,
    log: PartyLog,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let serve = move |stream: TcpStream, _| {
        let acceptor = acceptor.clone();
        async move {
            let mut tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                // Not in the party log: the client has already given up, so recording it would race
                // with the collection of an outcome.
                Err(error) => return tracing::warn!(party = "idp", "TLS handshake failed: {error}"),
            };
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                // Relayed writes are small and split (head, body): without NODELAY, Nagle and delayed
                // ACKs add 40 ms to every POST.
                let _ = plain.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        }
    };
    let accept = AcceptLoop { log, max_connections: MAX_CONNECTIONS };
    accept.run(listener, serve, |_, _| std::future::ready(())).await;
}

/// Connections the IdP serves at once; more are closed at once (a test IdP has one client).
const MAX_CONNECTIONS: usize = 256;
