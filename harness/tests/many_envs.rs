//! Many environments in one process: dropping them together ends within a bound (wiremock's
//! `MockServer` drop used to park the runtime thread for good after about 57 of them).

use std::time::{Duration, Instant};

use sso_harness::SsoEnv;

const ENVIRONMENTS: usize = 300;
/// How long starting and dropping them all may take.
const BOUND: Duration = Duration::from_secs(20);

#[test]
fn dropping_300_environments_at_once_ends_within_a_bound() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    // On a thread of its own: a drop that hangs would hold the thread, and the test must still end.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dropped_in = runtime.block_on(async {
            let mut envs = Vec::new();
            for _ in 0..ENVIRONMENTS {
                envs.push(SsoEnv::builder().start().await.expect("an environment starts"));
            }
            let dropping = Instant::now();
            drop(envs);
            dropping.elapsed()
        });
        let _ = done_tx.send(dropped_in);
    });
    let dropped_in = done_rx.recv_timeout(BOUND).expect("dropping the environments hung");
    println!("dropped {ENVIRONMENTS} environments in {dropped_in:?}");
}
