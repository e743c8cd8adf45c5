//! No secret reaches a log, a transcript, a journey or a `Debug` string: failure scenarios of every RP
//! kind (the reference RP in-process, and the Java, Python-requests and curl RPs as commands wrapped
//! in `tests/rps/leaky.sh`, which first prints its secrets the ways real programs leak them) run with
//! seeded secrets — client secrets (registered and configured), proxy passwords, a cookie and a PKCE
//! verifier the harness never saw — and every output is searched for each in every encoding. The
//! scenarios carry secrets on the wire: proxy credentials (refused and accepted), a wrong client
//! secret, the secret in the body, a proxy refusal, a TLS failure; and the happy path.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rstest::rstest;
use sso_harness::proxy::Decision;
use sso_harness::scenario::Run;
use sso_harness::{CommandRp, ErrorChain, Scenario};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The secrets one run is seeded with.
struct Seeds {
    client_id: String,
    /// What the IdP registers.
    registered: String,
    /// What the RP is configured with when the scenario gives it a wrong secret.
    configured: String,
    proxy_password: String,
    /// Printed by the leaky wrapper only: the harness never sees them, so only redaction by name can
    /// catch them.
    cookie: String,
    verifier: String,
}

impl Seeds {
    fn new() -> Seeds {
        let token = |prefix: &str| format!("{prefix}{:016x}", rand_u64());
        Seeds {
            client_id: "sso-repro-rp".to_owned(),
            // Characters that need encoding: what URL-encoding and Base64 do to them must be caught too.
            registered: token("s33d/Registered+Secret:"),
            configured: token("s33d-configured-secret-"),
            proxy_password: token("s33d-proxy-pw-"),
            cookie: token("s33dcookie"),
            verifier: token("s33dverifier"),
        }
    }

    /// Puts the seeds where the scenario has secrets (and a client secret where it has none).
    fn plant(&self, scenario: &mut Scenario) {
        scenario.setup.idp.client.id = self.client_id.clone();
        scenario.setup.idp.client.secret = self.registered.clone();
        let wrong = scenario.setup.rp.client_secret.is_some();
        scenario.setup.rp.client_secret = Some(if wrong { self.configured.clone() } else { self.registered.clone() });
        for rule in &mut scenario.setup.proxy.rules {
            if let Decision::RequireAuth { password, .. } = &mut rule.decision {
                *password = self.proxy_password.clone();
            }
        }
        if scenario.setup.rp.proxy_password.is_some() {
            scenario.setup.rp.proxy_password = Some(self.proxy_password.clone());
        }
    }

    /// Every secret, in every form the harness or an RP writes it in.
    fn forms(&self) -> Vec<(String, String)> {
        let mut forms = Vec::new();
        let form_encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        for (name, secret) in [
            ("registered client secret", &self.registered),
            ("configured client secret", &self.configured),
            ("proxy password", &self.proxy_password),
            ("cookie", &self.cookie),
            ("PKCE verifier", &self.verifier),
        ] {
            forms.push((format!("{name} (raw)"), secret.clone()));
            forms.push((format!("{name} (form-encoded)"), form_encode(secret)));
            forms.push((format!("{name} (percent-encoded)"), form_encode(secret).replace('+', "%20")));
            for user in [self.client_id.as_str(), "svc-sso"] {
                forms.push((format!("{name} (Basic)"), STANDARD.encode(format!("{user}:{secret}"))));
                let encoded = format!("{}:{}", form_encode(user), form_encode(secret));
                forms.push((format!("{name} (Basic, encoded)"), STANDARD.encode(encoded)));
            }
        }
        forms
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn java_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("redaction-java-rp-{}", std::process::id()));
        let status = Command::new("javac")
            .arg("-d")
            .arg(&out)
            .arg(root().join("tests/rps/MiniRp.java"))
            .status()
            .expect("javac runs (JDK 17 is on the machine)");
        assert!(status.success(), "javac failed to compile tests/rps/MiniRp.java");
        out
    })
}

/// A command RP behind the leaky wrapper.
fn leaky(name: &str, seeds: &Seeds) -> CommandRp {
    let wrapper = CommandRp::new(name, "sh")
        .arg(root().join("tests/rps/leaky.sh").display().to_string())
        .arg(seeds.cookie.clone())
        .arg(seeds.verifier.clone());
    let mini_rp = root().join("tests/rps/mini_rp.py").display().to_string();
    match name {
        "java" => wrapper
            .arg("java")
            .arg("-Dhttp.nonProxyHosts=")
            .arg("-cp")
            .arg(java_classes().display().to_string())
            .arg("MiniRp"),
        "python-requests" => wrapper.arg("python3").arg(mini_rp).arg("requests"),
        "curl" => wrapper.arg("python3").arg(mini_rp).arg("curl"),
        other => panic!("no RP called {other}"),
    }
}

/// Everything a run leaves that a user could read.
fn outputs(run: &Run) -> Vec<(&'static str, String)> {
    let outcome = &run.outcome;
    let journey = &outcome.journey;
    vec![
        ("transcript", outcome.transcript()),
        ("rp log", outcome.rp_log.join("\n")),
        ("idp log", outcome.idp_log.join("\n")),
        ("proxy log", outcome.proxy_log.join("\n")),
        ("failure chain", outcome.failure.as_ref().map(ErrorChain::to_string).unwrap_or_default()),
        (
            "journey",
            journey.hops.iter().map(|h| h.url.clone()).chain(journey.error.clone()).collect::<Vec<_>>().join("\n"),
        ),
        ("proxy entries", format!("{:?}", outcome.proxy_entries)),
        ("idp requests", format!("{:?}", outcome.idp_requests)),
        ("mismatches", format!("{:?}", run.mismatches)),
    ]
}

/// Where a seeded form was found unredacted.
fn leaks(forms: &[(String, String)], outputs: &[(&'static str, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (form, value) in forms {
        for (place, text) in outputs {
            if text.contains(value.as_str()) {
                found.push(format!("{form} in the {place}: {value}"));
            }
        }
    }
    found
}

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn no_seeded_secret_survives_any_output(
    #[values("reference", "java", "python-requests", "curl")] rp_name: &str,
    #[values(
        "proxy-requires-authentication",
        "proxy-credentials-fix-407",
        "wrong-client-secret-invalid-client",
        "client-secret-post-not-allowed",
        "proxy-denies-connect-to-token-endpoint",
        "idp-certificate-from-untrusted-ca",
        "happy-path"
    )]
    id: &str,
) {
    let seeds = Seeds::new();
    let mut scenario = Scenario::load(&root().join(format!("scenarios/{id}.toml"))).unwrap();
    seeds.plant(&mut scenario);
    let builder = scenario.env_builder();
    let debug = format!("{:?} {:?} {:?}", scenario.setup, builder, scenario);
    let builder = match rp_name {
        "reference" => builder,
        name => builder.launcher(leaky(name, &seeds)),
    };
    let run = scenario.run_with(builder).await.unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
    let mut places = outputs(&run);
    places.push(("Debug of the setup", debug));
    if rp_name != "reference" {
        // The wrapper ran, and what it printed is in the log, redacted.
        let rp_log = run.outcome.rp_log.join("\n");
        assert!(rp_log.contains("SSO_CLIENT_SECRET=[REDACTED]"), "the leaks are missing:\n{rp_log}");
    }
    let forms = seeds.forms();
    let found = leaks(&forms, &places);
    println!("{rp_name} {id}: secrets seeded (secret × encoding): {}; found unredacted: {}", forms.len(), found.len());
    assert!(found.is_empty(), "unredacted secrets:\n{}", found.join("\n"));
}
