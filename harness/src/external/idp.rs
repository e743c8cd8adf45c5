//! Someone else's OpenID provider in place of the mock: its issuer, the client registered there,
//! the CA its certificate chains to, and how its login page is filled in. Nothing here knows any
//! particular provider: the endpoints come from its discovery document.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::ExternalError;
use crate::hosts::Hosts;
use crate::login_form::LoginForm;
use crate::oauth::ProviderEndpoints;

/// How long fetching the provider's discovery document may take.
const DISCOVERY_WITHIN: Duration = Duration::from_secs(3);

/// An OpenID provider the harness did not start.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalIdp {
    /// The issuer identifier, e.g. `https://login.example.test/realms/corp`.
    pub issuer: Url,
    /// The client id registered for the RP at this provider.
    pub client_id: String,
    /// The client secret registered for the RP; never shown by `Debug`.
    pub client_secret: String,
    /// The CA (PEM) its certificate chains to, trusted by the RP and the browser besides the
    /// environment's own.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// How the browser fills in the provider's login or consent page.
    #[serde(default)]
    pub login: Option<LoginForm>,
}

impl std::fmt::Debug for ExternalIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalIdp")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl ExternalIdp {
    /// The issuer's host name.
    pub fn host(&self) -> String {
        self.issuer.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned()
    }

    /// Whether the issuer's host is loopback (a loopback literal or `localhost`): then the harness's
    /// own name service resolves it and nothing leaves the machine.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Fetches `{issuer}/.well-known/openid-configuration` directly (not through any proxy), within a
    /// short bound: an unreachable or unusable provider is one clear error before any sign-in.
    pub async fn discover(&self, hosts: &Hosts, ca_pem: &str) -> Result<ProviderEndpoints, ExternalError> {
        let issuer = self.issuer.as_str().trim_end_matches('/').to_owned();
        let url = format!("{issuer}/.well-known/openid-configuration");
        let failed = |how: String| ExternalError::IdpUnreachable { issuer: issuer.clone(), how };
        let mut client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(hosts.clone()))
            .timeout(DISCOVERY_WITHIN)
            .connect_timeout(DISCOVERY_WITHIN);
        let certificates = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes())
            .map_err(|e| failed(format!("reading the CA bundle: {}", crate::ErrorChain::from_error(&e))))?;
        for certificate in certificates {
            client = client.add_root_certificate(certificate);
        }
        let client = client.build().map_err(|e| failed(format!("building the client: {e}")))?;
        let how = |e: reqwest::Error| format!("GET {url}: {}", crate::ErrorChain::from_error(&e));
        let response = client.get(&url).send().await.map_err(|e| failed(how(e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("GET {url}: answered {status}")));
        }
        let body = response.text().await.map_err(|e| failed(how(e)))?;
        let document: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| failed(format!("GET {url}: the answer is not JSON: {e}")))?;
        let field = |name: &str| {
            document
                .get(name)
                .and_then(|v| v.as_str())
                .ok_or_else(|| ExternalError::IdpDiscovery { url: url.clone(), field: name.to_owned() })
        };
        let endpoint = |name: &str| {
            let value = field(name)?;
            Url::parse(value).map_err(|_| ExternalError::IdpDiscovery { url: url.clone(), field: name.to_owned() })
        };
        Ok(ProviderEndpoints {
            issuer: field("issuer")?.to_owned(),
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            userinfo_endpoint: endpoint("userinfo_endpoint")?,
            jwks_uri: endpoint("jwks_uri")?,
        })
    }
}
