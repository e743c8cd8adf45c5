//! The IdP's lifetimes and limits: its connections end with it, and running out of descriptors makes
//! starting an environment fail with an error, never a panic.

use std::time::Duration;

mod common;

use common::closed_within;
use rstest::rstest;
use sso_harness::fixtures::ca;
use sso_harness::idp::IdpSetup;
use sso_harness::{Ca, Idp, SsoEnv};
use tokio::net::TcpStream;

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn a_connection_waiting_in_the_tls_handshake_is_closed_when_the_idp_is_dropped(ca: Ca) {
    let idp = Idp::start(IdpSetup::default(), &ca).await.unwrap();
    let port = url::Url::parse(idp.issuer()).unwrap().port().unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // The TLS front has accepted it and waits for a ClientHello that never comes.
    tokio::task::yield_now().await;

    drop(idp);

    closed_within(&mut client, Duration::from_millis(500)).await;
}

/// Set in the child process of [`starting_under_a_low_descriptor_limit_is_an_error_not_a_panic`].
const FD_CHILD: &str = "SSO_TEST_IDP_FD_CHILD";
/// What the child prints when a start failed with an error.
const REFUSED: &str = "an environment could not start:";

/// Runs [`idp_fd_limit_child`] in a process of its own (a descriptor limit is per process).
#[tokio::test(flavor = "current_thread")]
async fn starting_under_a_low_descriptor_limit_is_an_error_not_a_panic() {
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "idp_fd_limit_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(FD_CHILD, "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), child).await.expect("the child finished").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child panicked or failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(REFUSED), "{stdout}");
}

/// Lowers this process's descriptor limit and starts environments until one cannot start: that one
/// must be an `Err`, and the ones before it must still sign in.
#[test]
#[ignore = "run by starting_under_a_low_descriptor_limit_is_an_error_not_a_panic in a child process"]
fn idp_fd_limit_child() {
    if std::env::var_os(FD_CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
        let limit = libc::rlimit { rlim_cur: open + 64, rlim_max: open + 64 };
        // wiremock's own thread reports its failure on stderr; the caller must get an error.
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        let mut running = Vec::new();
        for _ in 0..64 {
            match SsoEnv::builder().start().await {
                Ok(env) => running.push(env),
                Err(error) => {
                    println!("{REFUSED} {}", sso_harness::ErrorChain::from_error(&error));
                    assert!(!running.is_empty(), "the limit leaves room for one environment");
                    drop(running);
                    // wiremock's server threads close their sockets after Drop returns: wait
                    // (bounded) until the descriptors are back before starting again.
                    let deadline = std::time::Instant::now() + Duration::from_secs(5);
                    while std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 > open + 16
                        && std::time::Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    let env = SsoEnv::builder().start().await.expect("descriptors are free again");
                    assert!(env.sign_in().await.signed_in());
                    return;
                }
            }
        }
        panic!("64 environments started under a limit of {} descriptors", open + 64);
    });
}
