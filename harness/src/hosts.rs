//! The harness's name service: host names such as `idp.sso.test` mapped to loopback, so that issuer
//! URLs, TLS names and no-proxy rules behave as in production while no packet leaves the machine.
//! A name that is not in the map fails to resolve, the way an unknown host does in DNS.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Host name of the mock IdP.
pub const IDP_HOST: &str = "idp.sso.test";
/// Host name of the relying party.
pub const RP_HOST: &str = "rp.sso.test";
/// Host name of the forward proxy.
pub const PROXY_HOST: &str = "proxy.sso.test";
/// A second name of the IdP, for a JWKS served under its own host (as Google's is).
pub const JWKS_HOST: &str = "keys.sso.test";
/// An internal alias of the IdP that its certificate does not name.
pub const IDP_INTERNAL_HOST: &str = "idp-internal.sso.test";
/// The names under which the IdP can be reached.
pub const IDP_NAMES: [&str; 3] = [IDP_HOST, JWKS_HOST, IDP_INTERNAL_HOST];

/// How long the system resolver may take before a lookup counts as failed.
pub const SYSTEM_DNS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// A name the harness cannot resolve.
#[derive(Debug, thiserror::Error)]
#[error("failed to lookup address information: no such host {0}")]
pub struct UnknownHost(pub String);

/// The name service of a party: the harness's map of names to loopback addresses (in-process), or
/// the system's resolver (in a container, where the engine's DNS knows the party names).
#[derive(Clone, Debug)]
pub struct Hosts {
    names: Option<Arc<HashMap<String, IpAddr>>>,
}

impl Hosts {
    /// `idp.sso.test`, `rp.sso.test` and `proxy.sso.test`, all on 127.0.0.1.
    pub fn harness() -> Hosts {
        Hosts::loopback(&[IDP_HOST, JWKS_HOST, IDP_INTERNAL_HOST, RP_HOST, PROXY_HOST])
    }

    /// The given names, all on 127.0.0.1.
    pub fn loopback(names: &[&str]) -> Hosts {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Hosts { names: Some(Arc::new(names.iter().map(|name| (name.to_string(), ip)).collect())) }
    }

    /// The system's resolver.
    pub fn system() -> Hosts {
        Hosts { names: None }
    }

    /// The same map without `names`: what a party sees when they are not on its network.
    pub fn without(&self, names: &[&str]) -> Hosts {
        let names = self.names.as_ref().map(|known| {
            let mut known = HashMap::clone(known);
            for name in names {
                known.remove(*name);
            }
            Arc::new(known)
        });
        Hosts { names }
    }

    /// The map in `/etc/hosts` format (`127.0.0.1 idp.sso.test`, one name a line, sorted), for a
    /// program in another process; `None` for the system's resolver.
    pub fn hosts_file(&self) -> Option<String> {
        let names = self.names.as_ref()?;
        let mut lines: Vec<String> = names.iter().map(|(name, ip)| format!("{ip} {name}\n")).collect();
        lines.sort();
        Some(lines.concat())
    }

    /// Resolves a host name (or an IP literal, which must be loopback unless the system resolves).
    pub async fn resolve(&self, host: &str) -> Result<IpAddr, std::io::Error> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let Some(names) = &self.names else {
            // A resolver that never answers (an internal network's DNS for an outside name) would
            // otherwise hold the caller until its own timeout, hiding that it was DNS.
            let lookup = tokio::net::lookup_host((host, 0));
            let answer = tokio::time::timeout(SYSTEM_DNS_TIMEOUT, lookup).await.map_err(|_| {
                let message =
                    format!("failed to lookup address information: no answer for {host} within {SYSTEM_DNS_TIMEOUT:?}");
                std::io::Error::new(std::io::ErrorKind::TimedOut, message)
            })?;
            return answer?.next().map(|a| a.ip()).ok_or_else(|| std::io::Error::other(UnknownHost(host.to_owned())));
        };
        let unknown = || std::io::Error::new(std::io::ErrorKind::NotFound, UnknownHost(host.to_owned()));
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => Ok(ip),
            Ok(_) => Err(unknown()),
            Err(_) => names.get(&host.to_ascii_lowercase()).copied().ok_or_else(unknown),
        }
    }
}

impl reqwest::dns::Resolve for Hosts {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let hosts = self.clone();
        Box::pin(async move {
            // The error itself, kind and cause kept (an OS error has no inner error to unwrap).
            let ip = Hosts::resolve(&hosts, name.as_str()).await.map_err(Box::new)?;
            Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn harness_names_resolve_to_loopback_and_others_fail() {
        let hosts = Hosts::harness();
        assert_eq!(hosts.resolve("IDP.sso.test").await.unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            hosts.resolve("idp.example.com").await.unwrap_err().to_string(),
            "failed to lookup address information: no such host idp.example.com"
        );
        assert!(hosts.resolve("10.0.0.1").await.is_err(), "only loopback literals are allowed");
        assert!(hosts.without(&IDP_NAMES).resolve(IDP_HOST).await.is_err());
    }
}
