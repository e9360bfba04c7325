//! The ipset backend, for hosts that filter with iptables: two `hash:net` sets (IPv4 and IPv6,
//! addresses and networks together, each element with a timeout) filled by `ipset -exist
//! restore` in one call per batch, and one `-m set --match-set ... src -j DROP` rule per set in
//! each configured iptables chain, inserted once if missing. `-exist` makes re-adding and
//! deleting what is already gone harmless, so restarts are idempotent; a full batch flushes the
//! sets first, in the same restore.

use super::Backend;
use crate::net::Net;
use crate::set::{Batch, Entry};
use crate::BounceError;
use serde::Deserialize;
use std::fmt::Write;

/// The `ipset` backend's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IpsetSpec {
    /// The ipset command, as argv (`-exist restore` is appended).
    pub ipset: Vec<String>,
    /// The iptables command (`ip6tables` for IPv6 is this with `6` inserted after `iptables`).
    pub iptables: Vec<String>,
    /// The ip6tables command.
    pub ip6tables: Vec<String>,
    /// Set name prefix: `<prefix>-v4` and `<prefix>-v6`.
    pub set_prefix: String,
    /// Chains that get a drop rule (none: the sets only, for your own rules).
    pub chains: Vec<String>,
    /// Decision types enforced here.
    pub types: Vec<String>,
    /// Also enforce IPv6 decisions.
    pub ipv6: bool,
    /// Most elements per set.
    pub set_size: u32,
}

impl Default for IpsetSpec {
    fn default() -> Self {
        IpsetSpec {
            ipset: vec!["ipset".into()],
            iptables: vec!["iptables".into()],
            ip6tables: vec!["ip6tables".into()],
            set_prefix: "palisade".into(),
            chains: vec!["INPUT".into()],
            types: vec!["ban".into()],
            ipv6: true,
            set_size: 1 << 21,
        }
    }
}

/// The ipset backend.
pub struct Ipset {
    spec: IpsetSpec,
    rules_checked: bool,
}

impl Ipset {
    /// A backend with this configuration.
    pub fn new(spec: IpsetSpec) -> Self {
        Ipset {
            spec,
            rules_checked: false,
        }
    }

    fn set_name(&self, v6: bool) -> String {
        format!("{}-{}", self.spec.set_prefix, if v6 { "v6" } else { "v4" })
    }

    fn wanted(&self, e: &Entry) -> Option<Net> {
        if !self.spec.types.contains(&e.key.kind) || !matches!(e.key.scope.as_str(), "Ip" | "Range")
        {
            return None;
        }
        Net::parse(&e.key.value).filter(|n| self.spec.ipv6 || !n.v6)
    }

    /// The `ipset restore` input for a batch.
    pub fn script(&self, batch: &Batch) -> String {
        let now = chrono::Utc::now();
        let mut s = String::new();
        for v6 in [false, true] {
            if v6 && !self.spec.ipv6 {
                continue;
            }
            let family = if v6 { "inet6" } else { "inet" };
            let name = self.set_name(v6);
            let _ = writeln!(
                s,
                "create {name} hash:net family {family} timeout 0 maxelem {}",
                self.spec.set_size
            );
            if batch.full {
                let _ = writeln!(s, "flush {name}");
            }
        }
        for e in &batch.deletes {
            if let Some(n) = self.wanted(e) {
                let _ = writeln!(s, "del {} {n}", self.set_name(n.v6));
            }
        }
        for e in &batch.adds {
            if let Some(n) = self.wanted(e) {
                let _ = writeln!(
                    s,
                    "add {} {n} timeout {}",
                    self.set_name(n.v6),
                    e.seconds_left(now)
                );
            }
        }
        s
    }

    fn ensure_rules(&self) -> Result<(), BounceError> {
        for v6 in [false, true] {
            if v6 && !self.spec.ipv6 {
                continue;
            }
            let ipt = if v6 {
                &self.spec.ip6tables
            } else {
                &self.spec.iptables
            };
            for chain in &self.spec.chains {
                let rule = [
                    "-m",
                    "set",
                    "--match-set",
                    &self.set_name(v6),
                    "src",
                    "-j",
                    "DROP",
                ];
                let mut check = ipt.clone();
                check.extend(["-C".to_string(), chain.clone()]);
                check.extend(rule.iter().map(|s| s.to_string()));
                if super::run_with_stdin("ipset", &check, b"", None).is_ok() {
                    continue;
                }
                let mut insert = ipt.clone();
                insert.extend(["-I".to_string(), chain.clone(), "1".to_string()]);
                insert.extend(rule.iter().map(|s| s.to_string()));
                super::run_with_stdin("ipset", &insert, b"", None)?;
            }
        }
        Ok(())
    }
}

impl Backend for Ipset {
    fn name(&self) -> &'static str {
        "ipset"
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), BounceError> {
        let mut cmd = self.spec.ipset.clone();
        cmd.extend(["-exist".to_string(), "restore".to_string()]);
        super::run_with_stdin("ipset", &cmd, self.script(batch).as_bytes(), None)?;
        if !self.rules_checked || batch.full {
            self.ensure_rules()?;
            self.rules_checked = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::ActiveSet;
    use palisade_schemas::Decision;

    #[test]
    fn one_restore_script_per_batch() {
        let now = chrono::Utc::now();
        let e = |v: &str| {
            ActiveSet::entry_of(
                &Decision {
                    duration: "1h".into(),
                    id: 0,
                    origin: "t".into(),
                    scenario: "t".into(),
                    scope: if v.contains('/') { "Range" } else { "Ip" }.into(),
                    simulated: None,
                    kind: "ban".into(),
                    until: None,
                    uuid: None,
                    value: v.into(),
                },
                now,
            )
            .unwrap()
        };
        let b = Ipset::new(IpsetSpec::default());
        let s = b.script(&Batch {
            full: true,
            adds: vec![e("192.0.2.1"), e("10.0.0.0/8"), e("2001:db8::/32")],
            deletes: vec![],
        });
        assert!(s.starts_with("create palisade-v4 hash:net family inet timeout 0 maxelem 2097152\nflush palisade-v4\ncreate palisade-v6 hash:net family inet6"), "{s}");
        assert!(
            s.contains("add palisade-v4 192.0.2.1 timeout 3600\n")
                || s.contains("add palisade-v4 192.0.2.1 timeout 3599\n"),
            "{s}"
        );
        assert!(s.contains("add palisade-v4 10.0.0.0/8 timeout"));
        assert!(s.contains("add palisade-v6 2001:db8::/32 timeout"));
        let s = b.script(&Batch {
            full: false,
            adds: vec![],
            deletes: vec![e("192.0.2.1")],
        });
        assert!(s.ends_with("del palisade-v4 192.0.2.1\n"), "{s}");
        assert!(!s.contains("flush"));
    }
}
