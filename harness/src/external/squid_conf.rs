//! A squid.conf written from a scenario's proxy rules: the same data our proxy enforces, in squid's
//! words. squid evaluates `http_access` lines in order and the first match decides, as ours does.
//! A rule squid cannot express is reported ([`NotApplicable`]), never left out.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use crate::proxy::{Decision, ProxyPolicy};

/// A rule squid cannot be configured to follow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("proxy rule {index} ({host}: {action}) cannot be expressed in squid.conf: {why}")]
pub struct NotApplicable {
    /// The rule's position in `[[setup.proxy.rules]]`, from 1.
    pub index: usize,
    /// The rule's host.
    pub host: String,
    /// The rule's action, e.g. `hang`.
    pub action: &'static str,
    /// Why squid cannot follow it.
    pub why: &'static str,
}

/// The files a squid instance uses, all in its own directory.
pub(crate) struct SquidFiles<'a> {
    pub dir: &'a Path,
    pub port: u16,
}

impl SquidFiles<'_> {
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// The generated configuration and the Basic-auth password file it refers to (`user:crypt` lines).
pub(crate) struct SquidConf {
    pub conf: String,
    pub passwords: Vec<(String, String)>,
}

/// Writes squid.conf for `policy`; `names` are the host names squid resolves (all to loopback).
pub(crate) fn squid_conf(policy: &ProxyPolicy, files: &SquidFiles<'_>) -> Result<SquidConf, NotApplicable> {
    let mut conf = String::new();
    let mut passwords: Vec<(String, String)> = Vec::new();
    let line = |conf: &mut String, text: String| {
        let _ = writeln!(conf, "{text}");
    };
    line(&mut conf, format!("http_port 127.0.0.1:{}", files.port));
    line(&mut conf, format!("pid_filename {}", files.path("squid.pid")));
    line(&mut conf, format!("cache_log stdio:{}", files.path("cache.log")));
    line(&mut conf, format!("access_log stdio:{} squid !manager", files.path("access.log")));
    line(&mut conf, format!("coredump_dir {}", files.dir.display()));
    line(&mut conf, format!("hosts_file {}", files.path("hosts")));
    for fixed in [
        "buffered_logs off",
        "logfile_rotate 0",
        "cache deny all",
        "cache_mem 8 MB",
        "max_filedescriptors 1024",
        "netdb_filename none",
        // Names squid does not find in its hosts file go to a resolver on loopback (none answers).
        "dns_nameservers 127.0.0.1",
        "shutdown_lifetime 1 seconds",
        "visible_hostname proxy.sso.test",
        // The harness asks the cache manager whether transactions are still open.
        "http_access allow localhost manager",
        "http_access deny manager",
    ] {
        line(&mut conf, fixed.to_owned());
    }
    let mut auth_needed = false;
    for (i, rule) in policy.rules.iter().enumerate() {
        let index = i + 1;
        let not_applicable =
            |action: &'static str, why: &'static str| NotApplicable { index, host: rule.host.clone(), action, why };
        if rule.host.chars().any(|c| c.is_whitespace() || c == '"') || rule.host.is_empty() {
            return Err(not_applicable("any", "the host is not a single name"));
        }
        // `dstdomain` does not match a CONNECT to an IP literal; `dst` does.
        let host = rule.host.trim_matches(['[', ']']);
        let kind = if host.parse::<IpAddr>().is_ok() { "dst" } else { "dstdomain" };
        let target = format!("rule{index}");
        line(&mut conf, format!("acl {target} {kind} {host}"));
        let mut matches = target.clone();
        if let Some(port) = rule.port {
            line(&mut conf, format!("acl {target}_port port {port}"));
            // The target ACL goes last: `deny_info` keys on the last ACL of the denying line.
            matches = format!("{target}_port {target}");
        }
        match &rule.decision {
            Decision::Allow => line(&mut conf, format!("http_access allow {matches}")),
            Decision::Deny { status } => {
                if *status != 403 {
                    line(&mut conf, format!("deny_info {status}:ERR_ACCESS_DENIED {target}"));
                }
                line(&mut conf, format!("http_access deny {matches}"));
            }
            Decision::Reset => {
                line(&mut conf, format!("deny_info TCP_RESET {target}"));
                line(&mut conf, format!("http_access deny {matches}"));
            }
            Decision::RequireAuth { user, password } => {
                if user.contains([':', ' ', '\n']) || password.contains('\n') {
                    return Err(not_applicable("require-auth", "the user name contains ':' or white space"));
                }
                match passwords.iter().find(|(known, _)| known == user) {
                    Some((_, known)) if known != password => {
                        return Err(not_applicable(
                            "require-auth",
                            "squid has one password file: the same user cannot have two passwords",
                        ))
                    }
                    Some(_) => {}
                    None => passwords.push((user.clone(), password.clone())),
                }
                auth_needed = true;
                // Without these credentials the last ACL (proxy_auth) fails: squid answers 407.
                line(&mut conf, format!("acl {target}_user proxy_auth {user}"));
                line(&mut conf, format!("http_access deny {matches} !{target}_user"));
                line(&mut conf, format!("http_access allow {matches}"));
            }
            Decision::Hang => return Err(not_applicable("hang", "squid cannot accept a request and never answer it")),
            Decision::Intercept => {
                return Err(not_applicable(
                    "intercept",
                    "TLS interception needs ssl_bump with a signing CA, which this harness does not set up",
                ))
            }
        }
    }
    // Whatever no rule decided is allowed, as by our proxy — but only to loopback.
    line(&mut conf, "acl loopback_targets dst 127.0.0.0/8 ::1".to_owned());
    line(&mut conf, "http_access allow loopback_targets".to_owned());
    line(&mut conf, "http_access deny all".to_owned());
    if auth_needed {
        // Defined before the ACLs that use it: squid reads the file top to bottom.
        let auth = format!(
            "auth_param basic program /usr/lib/squid/basic_ncsa_auth {}\n\
             auth_param basic realm sso-repro proxy\nauth_param basic children 2 startup=1\n",
            files.path("passwords")
        );
        conf = format!("{auth}{conf}");
    }
    Ok(SquidConf { conf, passwords })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(policy: &ProxyPolicy) -> Result<String, NotApplicable> {
        let files = SquidFiles { dir: Path::new("/tmp/x"), port: 3128 };
        squid_conf(policy, &files).map(|c| c.conf)
    }

    #[test]
    fn rules_become_acls_in_order_and_the_rest_is_allowed_to_loopback_only() {
        let policy = ProxyPolicy::allow_all()
            .deny("idp.sso.test", 403)
            .deny("keys.sso.test", 503)
            .rule("127.0.0.1", Decision::Reset)
            .rule("x.sso.test", Decision::RequireAuth { user: "u".into(), password: "p".into() });
        let text = conf(&policy).unwrap();
        let access: Vec<&str> =
            text.lines().filter(|l| l.starts_with("http_access") || l.starts_with("deny_info")).collect();
        assert_eq!(
            access,
            [
                "http_access allow localhost manager",
                "http_access deny manager",
                "http_access deny rule1",
                "deny_info 503:ERR_ACCESS_DENIED rule2",
                "http_access deny rule2",
                "deny_info TCP_RESET rule3",
                "http_access deny rule3",
                "http_access deny rule4 !rule4_user",
                "http_access allow rule4",
                "http_access allow loopback_targets",
                "http_access deny all",
            ]
        );
        assert!(text.contains("acl rule3 dst 127.0.0.1"), "an IP literal needs a dst ACL:\n{text}");
        assert!(text.starts_with("auth_param basic program /usr/lib/squid/basic_ncsa_auth /tmp/x/passwords"));
    }

    #[test]
    fn what_squid_cannot_do_is_named() {
        let error = conf(&ProxyPolicy::allow_all().rule("idp.sso.test", Decision::Hang)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "proxy rule 1 (idp.sso.test: hang) cannot be expressed in squid.conf: squid cannot accept a request and never answer it"
        );
        assert!(conf(&ProxyPolicy::allow_all().rule("idp.sso.test", Decision::Intercept)).is_err());
    }
}
