//! oidc-provider-mock 0.3.4 (PyPI; `.ci/run` installs it) served over TLS by its own server
//! (uvicorn), with a certificate from a CA of the caller's: the real OpenID provider of
//! `tests/external_idp.rs` and the other side of `benches/fair.rs`.
#![allow(dead_code)] // the tests use `start`, the bench `spawn`

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sso_harness::external::ExternalIdp;
use sso_harness::login_form::LoginForm;
use sso_harness::Ca;
use tokio::io::AsyncBufReadExt;

/// The client the provider is asked for (it registers any client on first use).
pub const CLIENT_ID: &str = "sso-repro-rp";
/// Any secret: the provider accepts whatever the client sends.
pub const CLIENT_SECRET: &str = "any-secret-the-provider-accepts";

/// A running oidc-provider-mock behind TLS for `localhost`; killed (and its folder removed) when
/// dropped.
pub struct Provider {
    /// `https://localhost:PORT`.
    pub issuer: String,
    /// The CA its certificate chains to.
    pub ca_pem: String,
    /// The process (its stderr is piped: uvicorn's log).
    pub child: tokio::process::Child,
    _dir: Dir,
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the provider's app under uvicorn on a free loopback port without waiting for it.
pub fn spawn(ca: &Ca) -> Provider {
    let cert = ca.issue_for(&["localhost".to_owned()], false).unwrap();
    let dir = Dir(std::env::temp_dir().join(format!("sso-repro-op-{:016x}", rand_u64())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("cert.pem"), &cert.chain_pem).unwrap();
    std::fs::write(dir.0.join("key.pem"), &cert.key_pem).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let program = format!(
        "import uvicorn, oidc_provider_mock\n\
         uvicorn.run(oidc_provider_mock.app(), interface='wsgi', host='127.0.0.1', port={port}, \
         ssl_certfile='{cert}', ssl_keyfile='{key}', log_level='info')",
        cert = dir.0.join("cert.pem").display(),
        key = dir.0.join("key.pem").display(),
    );
    let child = tokio::process::Command::new("python3")
        .args(["-W", "ignore", "-c", &program])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs (pip install oidc-provider-mock==0.3.4)");
    Provider { issuer: format!("https://localhost:{port}"), ca_pem: ca.pem(), child, _dir: dir }
}

/// [`spawn`] with a CA of its own, then waits (bounded) for uvicorn's `Uvicorn running on` line.
pub async fn start() -> Provider {
    let mut provider = spawn(&Ca::new("oidc-provider-mock test CA").unwrap());
    let mut lines = tokio::io::BufReader::new(provider.child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline.into(), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.contains("Uvicorn running on") => break,
            Ok(Ok(Some(line))) => seen.push(line),
            other => panic!(
                "oidc-provider-mock did not start ({other:?}); pip install oidc-provider-mock==0.3.4:\n{}",
                seen.join("\n")
            ),
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    provider
}

/// Its authorize page: a form with a `sub` field and an "Authorize" button.
pub fn login_form() -> LoginForm {
    LoginForm { fields: [("sub".to_owned(), "alice".to_owned())].into(), button: Some("Authorize".to_owned()) }
}

impl Provider {
    /// Reads uvicorn's log away in a task of its own, so that a full pipe never stops the provider.
    pub fn drain_stderr(&mut self) {
        if let Some(stderr) = self.child.stderr.take() {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        }
    }

    /// The provider as the harness's builder takes it.
    pub fn external(&self) -> ExternalIdp {
        ExternalIdp {
            issuer: self.issuer.parse().unwrap(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            ca_pem: Some(self.ca_pem.clone()),
            login: Some(login_form()),
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    hasher.finish()
}
