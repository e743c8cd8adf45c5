//! Dropping a value whose `Drop` blocks on a tokio primitive, without deadlocking the runtime thread.
//!
//! wiremock's `MockServer::drop` runs `futures::executor::block_on(verify())`, and `verify` takes a
//! `tokio::sync::RwLock`. Inside a tokio task every such acquisition spends the task's cooperative
//! budget (128 units); once a single poll has spent it — about 57 `MockServer`s dropped in one go,
//! e.g. `drop(Vec<SsoEnv>)` — the lock answers `Pending` and defers its wake-up to the end of the
//! task's poll, which never comes because `block_on` holds that poll: the thread parks for good.
//! Dropping inside [`tokio::task::unconstrained`] exempts the drop from the budget.

use std::future::Future;
use std::ops::Deref;
use std::task::{Context, Poll, Waker};

/// Owns a `T` and drops it outside tokio's cooperative budget.
pub(crate) struct UnbudgetedDrop<T>(Option<T>);

impl<T> UnbudgetedDrop<T> {
    pub(crate) fn new(value: T) -> UnbudgetedDrop<T> {
        UnbudgetedDrop(Some(value))
    }
}

impl<T> Deref for UnbudgetedDrop<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_ref().expect("the value lives until drop")
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for UnbudgetedDrop<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Drop for UnbudgetedDrop<T> {
    fn drop(&mut self) {
        let value = self.0.take();
        // The future is ready at its first poll (dropping is synchronous), so no waker is needed.
        let mut drop_it = std::pin::pin!(tokio::task::unconstrained(async move { drop(value) }));
        let polled = drop_it.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        debug_assert!(matches!(polled, Poll::Ready(())));
    }
}
