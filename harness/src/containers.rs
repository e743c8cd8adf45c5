//! The containers backend (cargo feature `containers`): the same environment, with the IdP, the proxy
//! and the RP each in its own container on private networks.
//!
//! ```text
//!   host ──(mapped port)──▶ proxy:8081 gateway (allow-all, for the browser and /records)
//!   front  (bridge)  : proxy
//!   egress (internal): rp, proxy              ← the RP can leave only through the proxy
//!   idp    (internal): idp, proxy, [rp if the scenario gives it a direct route]
//! ```
//!
//! Every party is the `sso-party` binary of this crate, built statically and copied into a
//! `FROM scratch` image (nothing is pulled; the image is tagged with the binary's hash, so a second
//! run reuses it). Parties use the same host names and fixed ports, so issuer URLs are the same
//! inside and outside. Containers and networks carry labels; they are removed on Drop (also when a
//! test panics); a killed run's are removed by its reaper (`containers/reaper.rs`) as soon as the
//! run is gone, expire by themselves, and are swept when the next run connects.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use testcontainers::bollard::models::{
    EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use testcontainers::bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, RemoveContainerOptions};
use testcontainers::bollard::Docker;
use testcontainers::core::logs::LogFrame;
use testcontainers::core::BuildImageOptions;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::{AsyncBuilder, AsyncRunner};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt};
use tokio::sync::{Notify, OnceCell};
use url::Url;

use crate::agent::Agent;
use crate::env::{EnvBuilder, Outcome, Trust};
use crate::hosts::{Hosts, IDP_HOST, IDP_NAMES, PROXY_HOST, RP_HOST};
use crate::party::{PartyConfig, Records, ADMIN_PORT, CONFIG_VAR, GATEWAY_PORT, PROXY_PORT, READY, RP_PORT};
use crate::scenario::{Run, Scenario};
use crate::tls::{Ca, TlsError};

mod capacity;
mod catalog;
mod floor;
mod reaper;
pub use capacity::Capacity;
pub use floor::EngineFloor;

/// The label every container and network of ours carries.
pub const LABEL: &str = "org.sso-repro";
const OWNER_LABEL: &str = "org.sso-repro.owner";
const EXPIRES_LABEL: &str = "org.sso-repro.expires";
/// Anything of ours older than this is a leftover, whoever made it.
const LIFETIME: Duration = Duration::from_secs(30 * 60);
const STARTUP: Duration = Duration::from_secs(20);
const RECORDS_WAIT: Duration = Duration::from_secs(3);
const IMAGE: &str = "sso-repro-party";

/// Why the containers backend could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainersError {
    #[error("{0} run only on the in-process backend (use SsoEnv::builder().start())")]
    InProcessOnly(String),
    #[error(
        "the containers backend needs a Docker engine, and none answered at {host}: start one, or set \
         DOCKER_HOST to a reachable engine, or run the in-process backend instead (unset SSO_REPRO_BACKEND; \
         plain `cargo test` needs no engine)"
    )]
    NoEngine { host: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("building the static sso-party binary failed (`{command}`)\n{output}")]
    Build { command: String, output: String },
    #[error("running `{command}` failed")]
    BuildCommand { command: String, source: std::io::Error },
    #[error("reading the sso-party binary {} failed", path.display())]
    ReadBinary { path: std::path::PathBuf, source: std::io::Error },
    #[error("building the sso-party image failed")]
    Image(#[source] testcontainers::TestcontainersError),
    #[error("starting the {party} container failed")]
    Start { party: &'static str, source: testcontainers::TestcontainersError },
    #[error("the Docker engine refused to {action}")]
    Docker { action: String, source: testcontainers::bollard::errors::Error },
    #[error("making the environment's certificates failed")]
    Tls(#[source] TlsError),
    #[error("reading what the {party} recorded failed")]
    Records { party: &'static str, source: reqwest::Error },
    #[error("the {party} did not answer for its records within {RECORDS_WAIT:?}")]
    RecordsTimeout { party: &'static str },
    #[error("the {party}'s records are not valid JSON")]
    RecordsInvalid { party: &'static str, source: serde_json::Error },
    #[error("building the user agent failed")]
    Agent(#[source] reqwest::Error),
    #[error("the {party} container printed {printed} of the {expected} log lines it recorded within {RECORDS_WAIT:?}")]
    LogsIncomplete { party: &'static str, printed: usize, expected: usize },
    #[error(
        "starting the reaper (it removes this run's containers and networks if the run is killed) failed; it mounts \
         the engine's socket {socket}: set SSO_REPRO_DOCKER_SOCKET to the socket's path on the engine's host, or \
         SSO_REPRO_REAPER=off to rely on the containers' own expiry"
    )]
    Reaper { socket: String, source: testcontainers::TestcontainersError },
    #[error("connecting to the reaper at {address} failed")]
    ReaperConnection { address: String, source: std::io::Error },
}

fn docker_error(action: impl Into<String>) -> impl FnOnce(testcontainers::bollard::errors::Error) -> ContainersError {
    let action = action.into();
    move |source| ContainersError::Docker { action, source }
}

/// A connection to a Docker engine (`DOCKER_HOST`, or the local socket), checked and swept.
#[derive(Clone, Debug)]
pub struct ContainerBackend {
    docker: Docker,
    image: GenericImage,
}

impl ContainerBackend {
    /// Connects to the engine testcontainers is configured for, sweeps leftovers of killed runs,
    /// and builds (or reuses) the party image.
    pub async fn connect() -> Result<ContainerBackend, ContainersError> {
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the local socket".to_owned());
        let docker = match testcontainers::core::client::docker_client_instance().await {
            Ok(docker) => docker,
            Err(error) => return Err(ContainersError::NoEngine { host, source: Box::new(error) }),
        };
        check_engine(&docker, &host).await?;
        static SWEPT: OnceCell<()> = OnceCell::const_new();
        SWEPT.get_or_try_init(|| sweep(&docker)).await?;
        let image = party_image().await?.clone();
        reaper::ensure(&image).await?;
        Ok(ContainerBackend { docker, image })
    }
}

/// What of ours is on the engine (see [`ContainerBackend::resources`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resources {
    /// Container names.
    pub containers: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
}

impl Resources {
    /// Nothing at all.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty()
    }
}

impl ContainerBackend {
    /// The containers and networks of ours on the engine — of one environment when `env` is given
    /// ([`ContainerEnv::id`]), else of every run (reapers included) — for leak checks.
    pub async fn resources(&self, env: Option<&str>) -> Result<Resources, ContainersError> {
        let label = match env {
            Some(id) => format!("{LABEL}={id}"),
            None => LABEL.to_owned(),
        };
        let filters = Some(HashMap::from([("label".to_owned(), vec![label])]));
        let options = ListContainersOptions { all: true, filters: filters.clone(), ..Default::default() };
        let containers = self.docker.list_containers(Some(options)).await.map_err(docker_error("list containers"))?;
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions { filters }))
            .await
            .map_err(docker_error("list networks"))?;
        Ok(Resources {
            containers: containers.into_iter().filter_map(|c| c.names.and_then(|n| n.into_iter().next())).collect(),
            networks: networks.into_iter().filter_map(|n| n.name).collect(),
        })
    }

    /// The engine's version, as it reports it.
    pub async fn engine_version(&self) -> Result<String, ContainersError> {
        let version = self.docker.version().await.map_err(docker_error("report its version"))?;
        Ok(version.version.unwrap_or_default())
    }

    /// Removes every `sso-repro-party` image from the engine (the next run builds it cold); how
    /// many were removed.
    pub async fn remove_party_images(&self) -> Result<usize, ContainersError> {
        use testcontainers::bollard::query_parameters::{ListImagesOptions, RemoveImageOptions};
        let filters = std::collections::HashMap::from([("reference".to_owned(), vec![IMAGE.to_owned()])]);
        let options = ListImagesOptions { filters: Some(filters), ..Default::default() };
        let images = self.docker.list_images(Some(options)).await.map_err(docker_error("list images"))?;
        for image in &images {
            let options = RemoveImageOptions { force: true, ..Default::default() };
            self.docker.remove_image(&image.id, Some(options), None).await.map_err(docker_error("remove an image"))?;
        }
        Ok(images.len())
    }
}

/// A client for the engine at `host` (`unix:///…` or `tcp://…`), for [`check_engine`].
fn docker_at(host: &str) -> Result<Docker, ContainersError> {
    let client = match host.strip_prefix("unix://") {
        Some(path) => Docker::connect_with_unix(path, 3, testcontainers::bollard::API_DEFAULT_VERSION),
        None => Docker::connect_with_http(host, 3, testcontainers::bollard::API_DEFAULT_VERSION),
    };
    client.map_err(|source| ContainersError::NoEngine { host: host.to_owned(), source: Box::new(source) })
}

/// Pings the engine at `host` (`unix:///…` or `tcp://…`): a missing engine is one clear error that
/// names the fix.
pub async fn check_engine_at(host: &str) -> Result<(), ContainersError> {
    check_engine(&docker_at(host)?, host).await
}

/// Pings the engine; a missing engine is one clear error.
async fn check_engine(docker: &Docker, host: &str) -> Result<(), ContainersError> {
    match tokio::time::timeout(Duration::from_secs(3), docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(ContainersError::NoEngine { host: host.to_owned(), source: Box::new(error) }),
        Err(elapsed) => Err(ContainersError::NoEngine { host: host.to_owned(), source: Box::new(elapsed) }),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// This process as an owner label (see [`crate::leftovers::Owner`]).
fn owner() -> String {
    crate::leftovers::Owner::current().map(|owner| owner.label()).unwrap_or_default()
}

/// A leftover: made by a process of this machine that is gone, or past its lifetime.
/// A new environment's id: eight hex digits, the value of its [`LABEL`].
fn environment_id() -> String {
    (0..4).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// The labels on everything the environment labelled `value` makes: its id, this process's
/// session (for its reaper), the owner and the expiry (for a later run's sweep).
fn environment_labels(value: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL.to_owned(), value.to_owned()),
        (crate::reaper::SESSION_LABEL.to_owned(), reaper::session().to_owned()),
        (OWNER_LABEL.to_owned(), owner()),
        (EXPIRES_LABEL.to_owned(), (now() + lifetime().as_secs()).to_string()),
    ])
}

/// The front, IdP and egress networks of the environment labelled `value`.
fn network_names(value: &str) -> [String; 3] {
    ["front", "idp", "egress"].map(|network| format!("sso-repro-{value}-{network}"))
}

fn is_leftover(labels: &HashMap<String, String>) -> bool {
    let expires = labels.get(EXPIRES_LABEL).and_then(|e| e.parse::<u64>().ok());
    crate::leftovers::is_leftover(labels.get(OWNER_LABEL).map(String::as_str), expires, now())
}

/// How long an environment's resources may live: [`LIFETIME`], or `SSO_REPRO_CONTAINER_LIFETIME_SECS`.
fn lifetime() -> Duration {
    std::env::var("SSO_REPRO_CONTAINER_LIFETIME_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .map_or(LIFETIME, Duration::from_secs)
}

fn our_filter() -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![LABEL.to_owned()])])
}

/// Removes containers and networks of ours that a killed run left behind.
async fn sweep(docker: &Docker) -> Result<(), ContainersError> {
    let options = ListContainersOptions { all: true, filters: Some(our_filter()), ..Default::default() };
    let containers = docker.list_containers(Some(options)).await.map_err(docker_error("list containers"))?;
    for container in containers {
        if container.labels.as_ref().is_some_and(is_leftover) {
            let id = container.id.unwrap_or_default();
            let remove = RemoveContainerOptions { force: true, v: true, ..Default::default() };
            let _ = docker.remove_container(&id, Some(remove)).await;
        }
    }
    let options = ListNetworksOptions { filters: Some(our_filter()) };
    let networks = docker.list_networks(Some(options)).await.map_err(docker_error("list networks"))?;
    for network in networks {
        if network.labels.as_ref().is_some_and(is_leftover) {
            let _ = docker.remove_network(&network.name.unwrap_or_default()).await;
        }
    }
    Ok(())
}

/// The static `sso-party` binary: `SSO_REPRO_PARTY_BIN` if set, else built once per process with
/// cargo (`+crt-static`, an explicit target, its own target directory; a no-op when up to date).
pub async fn party_binary() -> Result<&'static PathBuf, ContainersError> {
    static BINARY: OnceCell<PathBuf> = OnceCell::const_new();
    BINARY
        .get_or_try_init(|| async {
            if let Some(path) = std::env::var_os("SSO_REPRO_PARTY_BIN") {
                return Ok(PathBuf::from(path));
            }
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            let target_dir = std::env::var_os("SSO_REPRO_PARTY_TARGET_DIR")
                .map_or_else(|| manifest.join("../target/party-static"), PathBuf::from);
            let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut command = tokio::process::Command::new(&cargo);
            command
                .args(["build", "--bin", "sso-party", "--target", &triple, "--manifest-path"])
                .arg(manifest.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&target_dir)
                .env("RUSTFLAGS", "-C target-feature=+crt-static")
                .env("CARGO_PROFILE_DEV_DEBUG", "0")
                .env("CARGO_PROFILE_DEV_STRIP", "symbols")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_TARGET_DIR")
                .kill_on_drop(true);
            let described =
                format!("{cargo} build --bin sso-party --target {triple} (RUSTFLAGS=-C target-feature=+crt-static)");
            let output = command
                .output()
                .await
                .map_err(|source| ContainersError::BuildCommand { command: described.clone(), source })?;
            if !output.status.success() {
                let output = String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(ContainersError::Build { command: described, output });
            }
            Ok(target_dir.join(triple).join("debug").join("sso-party"))
        })
        .await
}

/// The party image, `sso-repro-party:<hash of the binary>`, built once per process.
async fn party_image() -> Result<&'static GenericImage, ContainersError> {
    static IMAGE_CELL: OnceCell<GenericImage> = OnceCell::const_new();
    IMAGE_CELL.get_or_try_init(|| async { build_party_image(party_binary().await?).await }).await
}

/// Builds `sso-repro-party:<hash of binary>` `FROM scratch` with `binary` as its entrypoint, unless
/// an image with that tag exists (then this costs one engine round trip).
pub async fn build_party_image(binary: &Path) -> Result<GenericImage, ContainersError> {
    let bytes =
        std::fs::read(binary).map_err(|source| ContainersError::ReadBinary { path: binary.to_owned(), source })?;
    let tag: String = Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect();
    GenericBuildableImage::new(IMAGE, &tag)
        .with_dockerfile_string("FROM scratch\nCOPY sso-party /sso-party\nENTRYPOINT [\"/sso-party\"]\n")
        .with_file(binary.to_owned(), "sso-party")
        .build_image_with(BuildImageOptions::new().with_skip_if_exists(true))
        .await
        .map_err(ContainersError::Image)
}

/// A container's stdout, line by line, as the engine streams it.
#[derive(Clone, Default)]
struct Stdout {
    lines: Arc<Mutex<(Vec<String>, String)>>,
    arrived: Arc<Notify>,
}

impl Stdout {
    fn accept(&self, frame: &LogFrame) {
        if let LogFrame::StdOut(bytes) = frame {
            let mut guard = self.lines.lock().expect("stdout lock");
            let (lines, partial) = &mut *guard;
            partial.push_str(&String::from_utf8_lossy(bytes));
            while let Some(end) = partial.find('\n') {
                let line: String = partial.drain(..=end).collect();
                // Redacted here too: the party redacted what it logged, but a container RP's own
                // output (a foreign program) was never seen by the harness before.
                lines.push(crate::redact::secrets(line.trim_end_matches(['\n', '\r'])));
            }
            self.arrived.notify_waiters();
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("stdout lock").0.clone()
    }

    /// Waits (bounded) until at least `count` lines have arrived.
    async fn wait_for(&self, party: &'static str, count: usize) -> Result<Vec<String>, ContainersError> {
        let deadline = Instant::now() + RECORDS_WAIT;
        loop {
            let arrived = self.arrived.notified();
            let lines = self.lines();
            if lines.len() >= count {
                return Ok(lines);
            }
            if tokio::time::timeout_at(deadline.into(), arrived).await.is_err() {
                return Err(ContainersError::LogsIncomplete { party, printed: lines.len(), expected: count });
            }
        }
    }
}

/// One party's container and its captured stdout.
struct Party {
    name: &'static str,
    host: &'static str,
    container: ContainerAsync<GenericImage>,
    stdout: Stdout,
}

/// An environment whose parties run in containers; everything is removed when it is dropped.
pub struct ContainerEnv {
    id: String,
    parties: Vec<Party>,
    networks: Vec<String>,
    /// The RP is an image under the external-RP contract: its verdicts and chains are in its stdout.
    rp_under_contract: bool,
    /// The browser, through the gateway (set once the proxy runs).
    agent: Option<Agent>,
    /// The gateway's published address.
    gateway: Option<Url>,
    rp_login: Url,
}

impl std::fmt::Debug for ContainerEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerEnv").field("networks", &self.networks).finish_non_exhaustive()
    }
}

impl ContainerBackend {
    async fn network(
        &self,
        name: &str,
        internal: bool,
        labels: &HashMap<String, String>,
    ) -> Result<(), ContainersError> {
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            internal: Some(internal),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        self.docker.create_network(request).await.map_err(docker_error(format!("create network {name}")))?;
        Ok(())
    }

    async fn connect_network(&self, network: &str, container: &str, aliases: &[&str]) -> Result<(), ContainersError> {
        let aliases: Vec<String> = aliases.iter().map(|a| a.to_string()).collect();
        let action = format!("connect {} to {network}", aliases.join(", "));
        let endpoint = EndpointSettings { aliases: Some(aliases), ..Default::default() };
        let request = NetworkConnectRequest { container: container.to_owned(), endpoint_config: Some(endpoint) };
        self.docker.connect_network(network, request).await.map_err(docker_error(action))
    }

    /// Leaves `network` and joins it again under `aliases`.
    async fn reconnect_with_aliases(
        &self,
        network: &str,
        container: &str,
        aliases: &[&str],
    ) -> Result<(), ContainersError> {
        let request = NetworkDisconnectRequest { container: container.to_owned(), force: Some(true) };
        let action = format!("disconnect from {network}");
        self.docker.disconnect_network(network, request).await.map_err(docker_error(action))?;
        self.connect_network(network, container, aliases).await
    }

    async fn start_party(
        &self,
        name: &'static str,
        host: &'static str,
        network: &str,
        config: &PartyConfig,
        labels: &HashMap<String, String>,
        exposed: Option<u16>,
    ) -> Result<Party, ContainersError> {
        let stdout = Stdout::default();
        let consumer = stdout.clone();
        let mut image = self.image.clone().with_wait_for(WaitFor::message_on_stderr(READY));
        if let Some(port) = exposed {
            image = image.with_exposed_port(port.tcp());
        }
        let container = image
            .with_network(network)
            .with_hostname(host)
            .with_env_var(CONFIG_VAR, serde_json::to_string(config).expect("party config serializes"))
            .with_env_var(crate::leftovers::EXPIRES_VAR, labels.get(EXPIRES_LABEL).cloned().unwrap_or_default())
            .with_host_config_modifier(crate::leftovers::host_config(exposed))
            .with_labels(labels.clone())
            .with_startup_timeout(STARTUP)
            .with_log_consumer(move |frame: &LogFrame| consumer.accept(frame))
            .start()
            .await
            .map_err(|source| ContainersError::Start { party: name, source })?;
        Ok(Party { name, host, container, stdout })
    }
}

impl ContainerBackend {
    /// Starts an RP image under the external-RP contract on `network`, as `rp.sso.test:8080`.
    async fn start_image_rp(
        &self,
        image: &crate::env::RpImage,
        network: &str,
        settings: &crate::rp::RpSettings,
        labels: &HashMap<String, String>,
    ) -> Result<Party, ContainersError> {
        let (ca_file, settings_file) = ("/sso/trusted-ca.pem", "/sso/settings.json");
        let stdout = Stdout::default();
        let consumer = stdout.clone();
        let mut generic = GenericImage::new(&image.name, &image.tag)
            .with_wait_for(WaitFor::message_on_stdout(crate::command::READY_PREFIX))
            .with_network(network)
            .with_hostname(RP_HOST)
            .with_env_var("SSO_LISTEN_PORT", RP_PORT.to_string())
            .with_copy_to(ca_file, settings.trusted_ca_pem.clone().into_bytes())
            .with_copy_to(settings_file, serde_json::to_vec(settings).expect("settings serialize"))
            .with_host_config_modifier(crate::leftovers::host_config(None))
            .with_labels(labels.clone())
            .with_startup_timeout(STARTUP)
            .with_log_consumer(move |frame: &LogFrame| consumer.accept(frame))
            .with_cmd(image.command.clone());
        for (name, value) in crate::command::environment(settings, ca_file, settings_file, "", false) {
            generic = generic.with_env_var(name, value);
        }
        let container = generic.start().await.map_err(|source| ContainersError::Start { party: "rp", source })?;
        Ok(Party { name: "rp", host: RP_HOST, container, stdout })
    }

    /// The workspace's own party image (for standing in as "your RP image").
    pub fn party_image(&self) -> (String, String) {
        use testcontainers::Image;
        let (name, tag) = (self.image.name().to_owned(), self.image.tag().to_owned());
        (name, tag)
    }
}

impl EnvBuilder {
    /// Starts this environment on the containers backend.
    pub async fn start_in_containers(self, backend: &ContainerBackend) -> Result<ContainerEnv, ContainersError> {
        if !self.external.in_process_only().is_empty() {
            return Err(ContainersError::InProcessOnly(self.external.in_process_only().join(" and ")));
        }
        let id = environment_id();
        let labels = environment_labels(&id);
        let [front, idp_net, egress] = network_names(&id);
        // From here on, Drop removes whatever was made, whatever fails next.
        let mut env = ContainerEnv {
            id: id.clone(),
            parties: Vec::new(),
            networks: Vec::new(),
            agent: None,
            gateway: None,
            rp_under_contract: false,
            rp_login: Url::parse(&format!("http://{RP_HOST}:{RP_PORT}/login")).expect("URL"),
        };
        for (name, internal) in [(&front, false), (&idp_net, true), (&egress, true)] {
            backend.network(name, internal, &labels).await?;
            env.networks.push(name.clone());
        }

        let ca = Ca::new("sso-repro test CA").map_err(ContainersError::Tls)?;
        let redirect_uri = format!("http://{RP_HOST}:{RP_PORT}/callback");
        let (cert, idp_issuer_pem) = crate::idp::server_cert(&self.idp, &ca).map_err(ContainersError::Tls)?;
        let trusted_upstream = format!("{}{idp_issuer_pem}", ca.pem());
        let idp_config = PartyConfig::Idp {
            cert,
            config: self.idp.clone(),
            ca_pem: idp_issuer_pem.clone(),
            redirect_uris: vec![redirect_uri],
        };
        let proxy_config = PartyConfig::Proxy {
            policy: self.proxy.clone(),
            upstream_ca_pem: trusted_upstream.clone(),
            persona: self.external.persona,
        };
        let (idp, proxy) = tokio::join!(
            backend.start_party("idp", IDP_HOST, &idp_net, &idp_config, &labels, None),
            backend.start_party("proxy", PROXY_HOST, &front, &proxy_config, &labels, Some(GATEWAY_PORT)),
        );
        let (idp, proxy) = match (idp, proxy) {
            (Ok(idp), Ok(proxy)) => (idp, proxy),
            (Ok(party), Err(error)) | (Err(error), Ok(party)) => {
                env.parties.push(party);
                return Err(error);
            }
            (Err(error), Err(_)) => return Err(error),
        };
        let proxy_id = proxy.container.id().to_owned();
        let idp_id = idp.container.id().to_owned();
        env.parties.push(idp);
        env.parties.push(proxy);
        for network in [&idp_net, &egress] {
            backend.connect_network(network, &proxy_id, &[PROXY_HOST]).await?;
        }
        // The IdP answers to all its names on its network (its hostname alone gives only one).
        backend.reconnect_with_aliases(&idp_net, &idp_id, &IDP_NAMES).await?;
        let gateway_host = env.parties[1]
            .container
            .get_host()
            .await
            .map_err(|source| ContainersError::Start { party: "proxy", source })?;
        let gateway_port = env.parties[1]
            .container
            .get_host_port_ipv4(GATEWAY_PORT)
            .await
            .map_err(|source| ContainersError::Start { party: "proxy", source })?;
        let gateway = Url::parse(&format!("http://{gateway_host}:{gateway_port}")).expect("gateway URL");
        env.gateway = Some(gateway.clone());
        env.agent = Some(Agent::via_proxy(&gateway, &trusted_upstream, &self.browser).map_err(ContainersError::Agent)?);

        let idp_records = env.records(IDP_HOST).await?;
        let endpoints = idp_records.endpoints.expect("the IdP publishes its endpoints");
        let proxy_records = env.records(PROXY_HOST).await?;
        let interception_pem = proxy_records.interception_ca_pem.unwrap_or_default();
        let trust = Trust { env_ca: ca.pem(), idp_issuer: &idp_issuer_pem, proxy_interception: &interception_pem };
        let settings = crate::env::rp_settings(&self.rp, &self.idp, &endpoints, &trust, PROXY_PORT, Hosts::system());
        crate::secrets::register_environment(&self.idp, &self.proxy, &settings);

        let rp = match &self.rp_image {
            None => backend.start_party("rp", RP_HOST, &egress, &PartyConfig::Rp { settings }, &labels, None).await?,
            Some(image) => {
                env.rp_under_contract = true;
                backend.start_image_rp(image, &egress, &settings, &labels).await?
            }
        };
        let rp_id = rp.container.id().to_owned();
        env.parties.push(rp);
        if self.rp.direct_route {
            backend.connect_network(&idp_net, &rp_id, &[RP_HOST]).await?;
        }
        Ok(env)
    }
}

impl ContainerEnv {
    /// The value of this environment's `org.sso-repro` label.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The browser's gateway into the environment (`http://host:port`, an HTTP proxy that reaches
    /// only the environment's parties).
    pub fn gateway(&self) -> Option<&Url> {
        self.gateway.as_ref()
    }

    fn agent(&self) -> &Agent {
        self.agent.as_ref().expect("the gateway runs before anything is fetched")
    }

    /// What the party at `host` recorded, fetched through the gateway.
    async fn records(&self, host: &'static str) -> Result<Records, ContainersError> {
        let party = self.parties.iter().find(|p| p.host == host).map_or("party", |p| p.name);
        let url = format!("http://{host}:{ADMIN_PORT}/records");
        let fetch = async { self.agent().http().get(&url).send().await?.error_for_status()?.text().await };
        let text = tokio::time::timeout(RECORDS_WAIT, fetch)
            .await
            .map_err(|_| ContainersError::RecordsTimeout { party })?
            .map_err(|source| ContainersError::Records { party, source })?;
        serde_json::from_str(&text).map_err(|source| ContainersError::RecordsInvalid { party, source })
    }

    fn party(&self, name: &str) -> &Party {
        self.parties.iter().find(|p| p.name == name).expect("every party runs")
    }

    /// The browser signs in at the RP; returns what every party recorded, with each party's log as
    /// its container printed it.
    pub async fn sign_in(&self) -> Result<Outcome, ContainersError> {
        if self.rp_under_contract {
            return self.sign_in_with_contract_rp().await;
        }
        let failures_before = self.records(RP_HOST).await?.rp_failures.len();
        let journey = self.agent().sign_in(self.rp_login.clone()).await;
        let (idp, proxy, rp) =
            (self.records(IDP_HOST).await?, self.records(PROXY_HOST).await?, self.records(RP_HOST).await?);
        Ok(Outcome {
            journey,
            failure: rp.rp_failures.into_iter().nth(failures_before),
            idp_requests: idp.idp_requests,
            proxy_entries: proxy.proxy_entries,
            rp_log: self.party("rp").stdout.wait_for("rp", rp.lines.len()).await?,
            idp_log: self.party("idp").stdout.wait_for("idp", idp.lines.len()).await?,
            proxy_log: self.party("proxy").stdout.wait_for("proxy", proxy.lines.len()).await?,
        })
    }
}

impl ContainerEnv {
    /// Like [`ContainerEnv::sign_in`], for an RP image under the external-RP contract: its verdict
    /// and its chain come from its stdout.
    async fn sign_in_with_contract_rp(&self) -> Result<Outcome, ContainersError> {
        let rp = self.party("rp");
        let before = crate::command::verdicts(&rp.stdout.lines());
        let failures_before = crate::command::failures_from_lines(&rp.stdout.lines()).len();
        let journey = self.agent().sign_in(self.rp_login.clone()).await;
        let callbacks = journey.hops.iter().filter(|hop| hop.url.contains("/callback")).count();
        let deadline = Instant::now() + RECORDS_WAIT;
        loop {
            let arrived = rp.stdout.arrived.notified();
            if crate::command::verdicts(&rp.stdout.lines()) >= before + callbacks || Instant::now() >= deadline {
                break;
            }
            let _ = tokio::time::timeout_at(deadline.into(), arrived).await;
        }
        let (idp, proxy) = (self.records(IDP_HOST).await?, self.records(PROXY_HOST).await?);
        let lines = rp.stdout.lines();
        Ok(Outcome {
            journey,
            failure: crate::command::failures_from_lines(&lines).into_iter().nth(failures_before),
            idp_requests: idp.idp_requests,
            proxy_entries: proxy.proxy_entries,
            rp_log: crate::command::log_without_frames(lines),
            idp_log: self.party("idp").stdout.wait_for("idp", idp.lines.len()).await?,
            proxy_log: self.party("proxy").stdout.wait_for("proxy", proxy.lines.len()).await?,
        })
    }
}

impl Drop for ContainerEnv {
    fn drop(&mut self) {
        // Containers first (testcontainers removes each synchronously on drop), then the networks.
        self.parties.clear();
        let networks = std::mem::take(&mut self.networks);
        if networks.is_empty() {
            return;
        }
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let docker = Docker::connect_with_defaults().ok()?;
                for network in networks {
                    let _ = docker.remove_network(&network).await;
                }
                Some(())
            })
        });
        let _ = removal.join();
    }
}

impl Scenario {
    /// [`Scenario::run`] on the containers backend.
    pub async fn run_in_containers(&self, backend: &ContainerBackend) -> Result<Run, ContainersError> {
        self.run_in_containers_with(self.env_builder(), backend).await
    }

    /// [`Scenario::run_in_containers`] with a builder the caller adjusted (e.g. an RP image).
    pub async fn run_in_containers_with(
        &self,
        builder: EnvBuilder,
        backend: &ContainerBackend,
    ) -> Result<Run, ContainersError> {
        let started = Instant::now();
        let env = builder.start_in_containers(backend).await?;
        let outcome = env.sign_in().await?;
        let elapsed = started.elapsed();
        let mismatches = self.check(&outcome);
        drop(env);
        Ok(Run { outcome, mismatches, elapsed })
    }
}
