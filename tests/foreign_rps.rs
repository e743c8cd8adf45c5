//! The catalog against RPs nobody on the team wrote: a Java RP using `HttpURLConnection` (compiled
//! here with the JDK), a Python RP using `requests`, and one whose token call is the curl command
//! line. Each is an external program under the sso-repro contract (`CommandRp`); the harness reads
//! its error chain back from what it prints, and each scenario's single root-cause kind must hold
//! for every RP. Each RP keeps its own snapshot of its own words.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use rstest::rstest;
use sso_harness::{CommandRp, EnvError, ErrorChain, Scenario};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `javac` once per test process, into this test's own directory.
fn java_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("java-rp-{}", std::process::id()));
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

fn rp(name: &str) -> CommandRp {
    let python = |client: &str| {
        CommandRp::new(name, "python3").arg(root().join("tests/rps/mini_rp.py").display().to_string()).arg(client)
    };
    match name {
        // An empty nonProxyHosts: Java would otherwise bypass the proxy for some local names.
        "java" => CommandRp::new(name, "java")
            .arg("-Dhttp.nonProxyHosts=")
            .arg("-cp")
            .arg(java_classes().display().to_string())
            .arg("MiniRp"),
        "python-requests" => python("requests"),
        "curl" => python("curl"),
        other => panic!("no RP called {other}"),
    }
}

#[rstest]
#[tokio::test(flavor = "current_thread")]
async fn the_catalog_holds_for_foreign_rps(
    #[values("java", "python-requests", "curl")] rp_name: &str,
    #[values(
        "proxy-denies-connect-to-token-endpoint",
        "proxy-requires-authentication",
        "proxy-cannot-reach-idp-502",
        "wrong-client-secret-invalid-client",
        "idp-certificate-from-untrusted-ca"
    )]
    id: &str,
) {
    let scenario = Scenario::load(&root().join(format!("scenarios/{id}.toml"))).unwrap();
    let run = scenario
        .run_with(scenario.env_builder().launcher(rp(rp_name)))
        .await
        .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
    if (rp_name, id) == ("java", "proxy-denies-connect-to-token-endpoint") {
        // The words of the Jira support article, exactly.
        let chain = run.outcome.failure.as_ref().expect("a failure");
        assert_eq!(
            chain.root(),
            r#"java.io.IOException: Unable to tunnel through proxy. Proxy returns "HTTP/1.1 403 Forbidden""#
        );
    }
    common::assert_documented(&scenario, &run, &format!("{id}.{rp_name}"), &format!("with the {rp_name} RP"));
}

fn happy_path() -> Scenario {
    Scenario::load(&root().join("scenarios/happy-path.toml")).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn an_rp_that_never_becomes_ready_is_reported_with_its_last_lines() {
    let silent = CommandRp::new("silent", "sh")
        .arg("-c")
        .arg("echo loading plugins; exec sleep 30")
        .ready_within(Duration::from_millis(300));

    let error = happy_path().env_builder().launcher(silent).start().await.unwrap_err();

    let message = ErrorChain::from_error(&error).to_string();
    assert!(matches!(error, EnvError::Rp(_)), "{message}");
    for words in ["printed no line `sso-repro-rp ready on port N` within 300ms", "loading plugins"] {
        assert!(message.contains(words), "{words:?} missing from:\n{message}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_rp_that_exits_early_is_reported_with_its_status_and_last_lines() {
    let broken = CommandRp::new("broken", "sh").arg("-c").arg("echo cannot read realm settings >&2; exit 3");

    let error = happy_path().env_builder().launcher(broken).start().await.unwrap_err();

    let message = ErrorChain::from_error(&error).to_string();
    for words in ["exited with exit status: 3 before it was ready", "cannot read realm settings"] {
        assert!(message.contains(words), "{words:?} missing from:\n{message}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_rp_that_prints_nothing_classifiable_is_a_clear_mismatch() {
    // A tiny RP that fails every callback without printing an error chain.
    let program = r#"
import http.server, sys, urllib.parse, os
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/login"):
            q = urllib.parse.urlencode({"response_type": "code", "scope": "openid", "client_id": os.environ["SSO_CLIENT_ID"],
                 "redirect_uri": "http://%s:%d/callback" % (os.environ["SSO_RP_HOST"], s.server_address[1]), "state": "s"})
            self.send_response(302); self.send_header("Location", os.environ["SSO_AUTHORIZATION_ENDPOINT"] + "?" + q); self.end_headers(); return
        print("oops, something odd happened"); print("sso-repro-rp: sign-in failed", flush=True)
        self.send_response(500); self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("sso-repro-rp ready on port %d" % s.server_address[1], flush=True)
s.serve_forever()
"#;
    let odd = CommandRp::new("odd", "python3").arg("-c").arg(program);
    let scenario = Scenario::load(&root().join("scenarios/wrong-client-secret-invalid-client.toml")).unwrap();

    let run = scenario.run_with(scenario.env_builder().launcher(odd)).await.unwrap();

    let report = run.mismatches.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(report.contains("root_cause: expected invalid-client, observed unclassified"), "{report}");
    let transcript = run.outcome.transcript();
    assert!(transcript.contains("printed no error chain that sso-repro can read"), "{transcript}");
    assert!(transcript.contains("oops, something odd happened"), "{transcript}");
}

/// The third way: a container image of the RP under test, on the containers backend, under the same
/// contract. No image can be pulled here, so the workspace's own static image stands in, running the
/// reference RP in its `contract-rp` mode (settings from the contract's files and variables only).
#[cfg(feature = "containers")]
mod image_rp {
    use super::*;
    use sso_harness::containers::ContainerBackend;
    use sso_harness::env::RpImage;

    #[rstest]
    #[tokio::test(flavor = "current_thread")]
    async fn the_catalog_holds_for_an_rp_image(
        #[values(
            "proxy-denies-connect-to-token-endpoint",
            "proxy-requires-authentication",
            "proxy-cannot-reach-idp-502",
            "wrong-client-secret-invalid-client",
            "idp-certificate-from-untrusted-ca"
        )]
        id: &str,
    ) {
        let backend =
            ContainerBackend::connect().await.unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));
        let (name, tag) = backend.party_image();
        let image = RpImage { name, tag, command: vec!["contract-rp".to_owned()] };
        let scenario = Scenario::load(&root().join(format!("scenarios/{id}.toml"))).unwrap();

        let run = scenario
            .run_in_containers_with(scenario.env_builder().rp_image(image), &backend)
            .await
            .unwrap_or_else(|error| panic!("{}", ErrorChain::from_error(&error)));

        common::assert_documented(&scenario, &run, &format!("{id}.image-rp"), "with an RP image under the contract");
    }
}
