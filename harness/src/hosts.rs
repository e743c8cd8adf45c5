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

/// A name the harness cannot resolve.
#[derive(Debug, thiserror::Error)]
#[error("failed to lookup address information: no such host {0}")]
pub struct UnknownHost(pub String);

/// Names the harness resolves, each to a loopback address.
#[derive(Clone, Debug)]
pub struct Hosts {
    names: Arc<HashMap<String, IpAddr>>,
}

impl Hosts {
    /// `idp.sso.test`, `rp.sso.test` and `proxy.sso.test`, all on 127.0.0.1.
    pub fn harness() -> Hosts {
        Hosts::loopback(&[IDP_HOST, RP_HOST, PROXY_HOST])
    }

    /// The given names, all on 127.0.0.1.
    pub fn loopback(names: &[&str]) -> Hosts {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Hosts {
            names: Arc::new(names.iter().map(|name| (name.to_string(), ip)).collect()),
        }
    }

    /// Resolves a host name (or a loopback IP literal).
    pub fn lookup(&self, host: &str) -> Result<IpAddr, UnknownHost> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => Ok(ip),
            Ok(_) => Err(UnknownHost(host.to_owned())),
            Err(_) => self
                .names
                .get(&host.to_ascii_lowercase())
                .copied()
                .ok_or_else(|| UnknownHost(host.to_owned())),
        }
    }
}

impl reqwest::dns::Resolve for Hosts {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let result = self
            .lookup(name.as_str())
            .map(|ip| Box::new(std::iter::once(SocketAddr::new(ip, 0))) as reqwest::dns::Addrs)
            .map_err(|error| Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_names_resolve_to_loopback_and_others_fail() {
        let hosts = Hosts::harness();
        assert_eq!(
            hosts.lookup("IDP.sso.test").unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            hosts.lookup("idp.example.com").unwrap_err().to_string(),
            "failed to lookup address information: no such host idp.example.com"
        );
        assert!(
            hosts.lookup("10.0.0.1").is_err(),
            "only loopback literals are allowed"
        );
    }
}
