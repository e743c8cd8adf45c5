//! The proxy's policy: per `host[:port]`, what to do with a request.

use serde::{Deserialize, Serialize};

/// What the proxy does with a request for a host. `Debug` does not print a password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Tunnel or forward.
    Allow,
    /// Refuse with this status, an HTML body, then close.
    Deny {
        /// The status to refuse with, e.g. 403.
        status: u16,
    },
    /// Answer 407 with `Proxy-Authenticate` unless the request carries these Basic credentials.
    RequireAuth {
        /// The expected user name.
        user: String,
        /// The expected password.
        password: String,
    },
    /// Accept the request and never answer (the client's timeout ends it).
    Hang,
    /// Close the connection with a TCP reset.
    Reset,
    /// Tunnel, but terminate TLS with a certificate for the target issued by the proxy's own CA and
    /// re-encrypt upstream (a TLS-inspecting corporate proxy).
    Intercept,
}

impl std::fmt::Debug for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Allow => f.write_str("Allow"),
            Decision::Deny { status } => f.debug_struct("Deny").field("status", status).finish(),
            Decision::RequireAuth { user, .. } => {
                f.debug_struct("RequireAuth").field("user", user).field("password", &"[REDACTED]").finish()
            }
            Decision::Hang => f.write_str("Hang"),
            Decision::Reset => f.write_str("Reset"),
            Decision::Intercept => f.write_str("Intercept"),
        }
    }
}

/// One policy rule: a host, optionally a port, and what to do. In a scenario file:
/// `{ host = "idp.sso.test", action = "deny", status = 403 }` (`action`: `allow`, `deny` (status
/// defaults to 403), `require-auth` (with `user` and `password`), `hang`, `reset`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleFields", into = "RuleFields")]
#[non_exhaustive]
pub struct Rule {
    /// The host name it matches, e.g. `idp.sso.test`.
    pub host: String,
    /// The port it matches; `None`: any port.
    pub port: Option<u16>,
    /// What the proxy does with a matching request.
    pub decision: Decision,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Allow,
    Deny,
    RequireAuth,
    Hang,
    Reset,
    Intercept,
}

/// A rule as written in a file: flat, every field checked (no `Debug`: it holds a password).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFields {
    host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

impl TryFrom<RuleFields> for Rule {
    type Error = String;

    fn try_from(f: RuleFields) -> Result<Rule, String> {
        if f.status.is_some() && f.action != Action::Deny {
            return Err("`status` applies only to action = \"deny\"".to_owned());
        }
        if (f.user.is_some() || f.password.is_some()) && f.action != Action::RequireAuth {
            return Err("`user` and `password` apply only to action = \"require-auth\"".to_owned());
        }
        let decision = match f.action {
            Action::Allow => Decision::Allow,
            Action::Deny => match f.status.unwrap_or(403) {
                status @ 400..=599 => Decision::Deny { status },
                status => return Err(format!("`status` must be an error status (400 to 599), not {status}")),
            },
            Action::RequireAuth => match (f.user, f.password) {
                (Some(user), Some(password)) => Decision::RequireAuth { user, password },
                _ => return Err("action = \"require-auth\" needs `user` and `password`".to_owned()),
            },
            Action::Hang => Decision::Hang,
            Action::Reset => Decision::Reset,
            Action::Intercept => Decision::Intercept,
        };
        Ok(Rule { host: f.host, port: f.port, decision })
    }
}

impl From<Rule> for RuleFields {
    fn from(rule: Rule) -> RuleFields {
        let mut fields = RuleFields {
            host: rule.host,
            port: rule.port,
            action: Action::Allow,
            status: None,
            user: None,
            password: None,
        };
        match rule.decision {
            Decision::Allow => {}
            Decision::Deny { status } => (fields.action, fields.status) = (Action::Deny, Some(status)),
            Decision::RequireAuth { user, password } => {
                (fields.action, fields.user, fields.password) = (Action::RequireAuth, Some(user), Some(password))
            }
            Decision::Hang => fields.action = Action::Hang,
            Decision::Reset => fields.action = Action::Reset,
            Decision::Intercept => fields.action = Action::Intercept,
        }
        fields
    }
}

/// The proxy's policy: the first matching rule decides; no match means allow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProxyPolicy {
    /// The rules, tried in order.
    pub rules: Vec<Rule>,
}

impl ProxyPolicy {
    /// Allows everything.
    pub fn allow_all() -> ProxyPolicy {
        ProxyPolicy::default()
    }

    /// Adds a rule for `host` (any port).
    pub fn rule(mut self, host: &str, decision: Decision) -> ProxyPolicy {
        self.rules.push(Rule { host: host.to_owned(), port: None, decision });
        self
    }

    /// Adds a rule for `host` on `port` only.
    pub fn rule_on_port(mut self, host: &str, port: u16, decision: Decision) -> ProxyPolicy {
        self.rules.push(Rule { host: host.to_owned(), port: Some(port), decision });
        self
    }

    /// Refuses `host` with `status`.
    pub fn deny(self, host: &str, status: u16) -> ProxyPolicy {
        self.rule(host, Decision::Deny { status })
    }

    pub(crate) fn decide(&self, host: &str, port: u16) -> &Decision {
        self.rules
            .iter()
            .find(|rule| rule.host.eq_ignore_ascii_case(host) && rule.port.is_none_or(|p| p == port))
            .map_or(&Decision::Allow, |rule| &rule.decision)
    }
}

/// Where a proxy may connect at all, whatever its policy: host names in one domain, on given ports.
/// The containers backend's gateway (the browser's way in) is locked to the environment's parties
/// with it, so it is no open proxy to anywhere else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// The domain every target must be in (`sso.test`: `idp.sso.test` is in it, `sso.test.evil` not).
    pub domain: String,
    /// The ports a target may have.
    pub ports: Vec<u16>,
}

impl Reach {
    /// Whether the proxy may connect to `host:port`. IP literals are never in the domain.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let domain = self.domain.trim_start_matches('.').to_ascii_lowercase();
        let in_domain = host.strip_suffix(&domain).is_some_and(|rest| rest.ends_with('.') && rest.len() > 1);
        in_domain && host.parse::<std::net::IpAddr>().is_err() && self.ports.contains(&port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_allows_only_names_in_its_domain_on_its_ports() {
        let reach = Reach { domain: "sso.test".into(), ports: vec![8443, 9000] };
        assert!(reach.allows("idp.sso.test", 8443));
        assert!(reach.allows("RP.SSO.TEST.", 9000));
        for (host, port) in [
            ("idp.sso.test", 22),
            ("sso.test", 8443),
            ("evilsso.test", 8443),
            ("sso.test.evil.com", 8443),
            ("10.0.0.1", 8443),
        ] {
            assert!(!reach.allows(host, port), "{host}:{port}");
        }
    }
}
