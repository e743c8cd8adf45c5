//! Serving connections the way every party must: each connection task is owned by the party's accept
//! loop (a [`JoinSet`]), so dropping the party — which aborts the loop's [`Task`](crate::task::Task)
//! — ends every connection too; a cap on concurrent connections; and accept errors (out of file
//! descriptors) are retried with backoff and logged instead of ending the loop.
//!
//! Used by the proxy; meant for every listener a party runs (the IdP's TLS front too).

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::log::PartyLog;

/// The first wait after a failed accept; doubled on every failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// The longest wait between accept attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// How an accept loop runs.
#[derive(Clone, Debug)]
pub(crate) struct AcceptLoop {
    /// Where accept errors are reported.
    pub log: PartyLog,
    /// How many connections may be served at once; one more is handed to the `refuse` callback.
    pub max_connections: usize,
}

/// How many refusals may run at once, beyond the served connections; more are closed at once.
const MAX_REFUSALS: usize = 64;

impl AcceptLoop {
    /// Accepts connections until the returned future is dropped. `serve` makes the task for a
    /// connection; at the cap, `refuse` makes a (short) task that turns it away instead.
    pub(crate) async fn run<S, F, R, G>(self, listener: TcpListener, mut serve: S, mut refuse: R)
    where
        S: FnMut(TcpStream, SocketAddr) -> F,
        F: Future<Output = ()> + Send + 'static,
        R: FnMut(TcpStream, usize) -> G,
        G: Future<Output = ()> + Send + 'static,
    {
        let mut connections = JoinSet::new();
        let mut refusals = JoinSet::new();
        let mut backoff = FIRST_BACKOFF;
        loop {
            tokio::select! {
                biased;
                Some(_) = refusals.join_next(), if !refusals.is_empty() => {}
                Some(finished) = connections.join_next(), if !connections.is_empty() => {
                    if let Err(error) = finished {
                        if error.is_panic() {
                            self.log.error(format!("a connection task panicked: {error}"));
                        }
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff = FIRST_BACKOFF;
                        let _ = stream.set_nodelay(true);
                        if connections.len() < self.max_connections {
                            connections.spawn(serve(stream, peer));
                        } else if refusals.len() < MAX_REFUSALS {
                            refusals.spawn(refuse(stream, connections.len()));
                        } else {
                            drop(stream);
                        }
                    }
                    // The peer gave up before we accepted: nothing to report.
                    Err(error) if matches!(error.kind(), ErrorKind::ConnectionAborted | ErrorKind::Interrupted) => {}
                    Err(error) => {
                        self.log.error(format!("accepting a connection failed: {error}; retrying in {backoff:?}"));
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test(flavor = "current_thread")]
    async fn dropping_the_loop_closes_every_connection_it_serves() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (served_tx, mut served_rx) = tokio::sync::mpsc::unbounded_channel();
        let accept = AcceptLoop { log: PartyLog::new("serve-test"), max_connections: 8 };
        let serve = move |stream: TcpStream, _| {
            let served = served_tx.clone();
            async move {
                let _ = served.send(());
                let _held = stream;
                std::future::pending::<()>().await;
            }
        };
        let task = crate::task::Task::spawn(accept.run(listener, serve, |_, _| std::future::ready(())));
        let mut client = TcpStream::connect(addr).await.unwrap();
        served_rx.recv().await.unwrap();

        drop(task);

        let read = tokio::time::timeout(Duration::from_secs(1), client.read(&mut [0u8; 1])).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the connection outlived its loop: {read:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connections_beyond_the_cap_are_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (refused_tx, mut refused_rx) = tokio::sync::mpsc::unbounded_channel();
        let accept = AcceptLoop { log: PartyLog::new("serve-test"), max_connections: 1 };
        let serve = |stream: TcpStream, _| async move {
            let _held = stream;
            std::future::pending::<()>().await;
        };
        let _task = crate::task::Task::spawn(accept.run(listener, serve, move |_, open| {
            let _ = refused_tx.send(open);
            std::future::ready(())
        }));
        let _first = TcpStream::connect(addr).await.unwrap();
        let _second = TcpStream::connect(addr).await.unwrap();
        assert_eq!(refused_rx.recv().await, Some(1));
    }
}
