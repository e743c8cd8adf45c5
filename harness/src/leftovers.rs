//! What the containers backend leaves if its process is killed, and who may remove it.
//!
//! - Every party container has a lifetime of its own: `sso-party` exits at the time in
//!   [`EXPIRES_VAR`], and the engine removes an exited container by itself (`AutoRemove`). So a
//!   killed run's containers — and the gateway they publish — end without any later run.
//! - The sweep (at the next connect) removes what is expired, or what a process of *this* machine
//!   left: the owner label names the machine (`/etc/machine-id`), its boot
//!   (`/proc/sys/kernel/random/boot_id`), the pid and the process's start time, so a second machine
//!   with the same host name, a reused pid or a reboot is never mistaken for a dead owner here.
//! - The browser's gateway is published on loopback when the engine is local.

use std::collections::HashMap;
use std::path::Path;

use testcontainers::bollard::models::{HostConfig, PortBinding};

pub(crate) use crate::party::EXPIRES_VAR;

/// Who made a container or network: one process on one boot of one machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    machine: String,
    boot: String,
    pid: u32,
    /// In clock ticks since boot (`/proc/<pid>/stat`, field 22).
    started: u64,
}

impl Owner {
    /// This process; `None` when the machine cannot be identified (no machine id): then nothing is
    /// ever swept as orphaned, only as expired.
    pub(crate) fn current() -> Option<Owner> {
        let pid = std::process::id();
        Some(Owner { machine: machine_id()?, boot: boot_id()?, pid, started: start_time(pid)? })
    }

    /// The label value.
    pub(crate) fn label(&self) -> String {
        format!("machine={};boot={};pid={};started={}", self.machine, self.boot, self.pid, self.started)
    }

    pub(crate) fn parse(label: &str) -> Option<Owner> {
        let fields: HashMap<&str, &str> = label.split(';').filter_map(|f| f.split_once('=')).collect();
        Some(Owner {
            machine: fields.get("machine")?.to_string(),
            boot: fields.get("boot")?.to_string(),
            pid: fields.get("pid")?.parse().ok()?,
            started: fields.get("started")?.parse().ok()?,
        })
    }

    /// Whether the process that made a resource with this owner label is certainly gone, as seen by
    /// `here` (this process's owner). Another machine's process is never known to be gone.
    pub(crate) fn is_gone(&self, here: &Owner, alive: impl Fn(u32) -> Option<u64>) -> bool {
        if self.machine != here.machine {
            return false;
        }
        if self.boot != here.boot {
            return true;
        }
        alive(self.pid) != Some(self.started)
    }
}

fn machine_id() -> Option<String> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|id| id.trim().to_owned())
}

/// The start time of process `pid`, if it runs.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a resource with these labels is a leftover this process may remove: expired, or made by a
/// process of this machine that is gone.
pub(crate) fn is_leftover(owner_label: Option<&str>, expires: Option<u64>, now: u64) -> bool {
    let expired = expires.is_some_and(|expires| expires < now);
    let orphaned = match (owner_label.and_then(Owner::parse), Owner::current()) {
        (Some(owner), Some(here)) => owner.is_gone(&here, start_time),
        _ => false,
    };
    expired || orphaned
}

/// Whether the engine runs on this machine (no `DOCKER_HOST`, or a Unix socket).
pub(crate) fn engine_is_local() -> bool {
    std::env::var("DOCKER_HOST").map_or(true, |host| host.is_empty() || host.starts_with("unix://"))
}

/// The host configuration of a party container: removed by the engine once it exits, and `port` (if
/// any) published on loopback when the engine is local (on every address of a remote engine's host,
/// which is the only way to reach it; the gateway then still reaches only the environment).
pub(crate) fn host_config(published: Option<u16>) -> impl Fn(&mut HostConfig) + Send + Sync + 'static {
    let local = engine_is_local();
    move |config: &mut HostConfig| {
        config.auto_remove = Some(true);
        if let Some(port) = published {
            let host_ip = if local { "127.0.0.1" } else { "0.0.0.0" };
            let binding = PortBinding { host_ip: Some(host_ip.to_owned()), host_port: Some(String::new()) };
            config.publish_all_ports = Some(false);
            config.port_bindings = Some(HashMap::from([(format!("{port}/tcp"), Some(vec![binding]))]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(machine: &str, boot: &str, pid: u32, started: u64) -> Owner {
        Owner { machine: machine.into(), boot: boot.into(), pid, started }
    }

    #[test]
    fn owner_labels_round_trip() {
        let me = Owner::current().expect("this machine has a machine id");
        assert_eq!(Owner::parse(&me.label()), Some(me));
        assert_eq!(Owner::parse("otherhost:1234"), None, "the old host:pid form is nobody we know");
    }

    #[test]
    fn another_machine_is_never_taken_for_a_dead_owner() {
        let here = owner("m1", "b1", 10, 100);
        let dead = |_| None;
        assert!(!owner("m2", "b1", 10, 100).is_gone(&here, dead), "same host name, other machine");
        assert!(owner("m1", "b1", 11, 100).is_gone(&here, dead), "a process of ours that is gone");
        assert!(owner("m1", "b0", 10, 100).is_gone(&here, |_| Some(100)), "made before a reboot");
        assert!(owner("m1", "b1", 10, 100).is_gone(&here, |_| Some(555)), "the pid was reused");
        assert!(!owner("m1", "b1", 10, 100).is_gone(&here, |_| Some(100)), "still running");
    }

    #[test]
    fn this_process_is_alive_and_expiry_always_counts() {
        let me = Owner::current().unwrap().label();
        assert!(!is_leftover(Some(&me), Some(200), 100));
        assert!(is_leftover(Some(&me), Some(50), 100));
        assert!(!is_leftover(Some("machine=elsewhere;boot=x;pid=1;started=1"), None, 100));
    }
}
