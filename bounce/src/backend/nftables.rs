//! The nftables backend: one table, `inet palisade`, with four sets and a drop rule per set in
//! each hooked chain. Batches go to `nft -f -` as one script, which nftables applies as one
//! transaction, so 100k elements take well under a second and a failed batch changes nothing.
//!
//! ```text
//! table inet palisade {
//!   set ipv4        { type ipv4_addr; flags timeout; }            # single addresses
//!   set ipv4_ranges { type ipv4_addr; flags interval, timeout; }  # Range decisions
//!   set ipv6 ... set ipv6_ranges ...
//!   chain input { type filter hook input priority -10; policy accept;
//!                 ip saddr @ipv4 drop; ip saddr @ipv4_ranges drop; ip6 saddr @ipv6 drop; ... }
//! }
//! ```
//!
//! Addresses and ranges live in separate sets because an interval set refuses an element that
//! overlaps another (`conflicting intervals`), and an address inside a banned range is common.
//! The range sets are rewritten whole whenever a range changes, keeping only ranges not inside
//! another (prefixes either nest or are disjoint, so what remains never overlaps). Every element
//! carries a timeout equal to the time left, so the kernel removes it at expiry even if the
//! bouncer is gone. A full batch (start, reconnect) flushes the table and refills it in the same
//! transaction: restarting the bouncer is idempotent and never opens a window without rules.
//! A deletion first re-adds the element with a 1 s timeout, so that deleting an element the
//! kernel already expired cannot fail the whole transaction (Debian 12's nft 1.0.6 has no
//! `destroy element`).

use super::Backend;
use crate::net::Net;
use crate::set::{Batch, Entry, Key};
use crate::BounceError;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// The `nftables` backend's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NftablesSpec {
    /// The command, as argv (`[ip, netns, exec, fw, nft]` works too); `-f -` is appended.
    pub command: Vec<String>,
    /// The table name (family `inet`).
    pub table: String,
    /// The chains to create, by hook: `input`, `forward`, `prerouting`.
    pub hooks: Vec<String>,
    /// The chains' priority (before the usual filter chains at 0).
    pub priority: i32,
    /// Decision types enforced here.
    pub types: Vec<String>,
    /// Also enforce IPv6 decisions.
    pub ipv6: bool,
    /// Most elements per set.
    pub set_size: u32,
    /// `drop` or `reject`.
    pub action: String,
}

impl Default for NftablesSpec {
    fn default() -> Self {
        NftablesSpec {
            command: vec!["nft".into()],
            table: "palisade".into(),
            hooks: vec!["input".into()],
            priority: -10,
            types: vec!["ban".into()],
            ipv6: true,
            set_size: 1 << 21,
            action: "drop".into(),
        }
    }
}

impl NftablesSpec {
    /// What is wrong with the section, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.command.is_empty() {
            out.push(("command", "must name a program".to_string()));
        }
        if self.table.is_empty()
            || !self
                .table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            out.push(("table", format!("{:?} is not a table name", self.table)));
        }
        for h in &self.hooks {
            if !["input", "forward", "prerouting"].contains(&h.as_str()) {
                out.push((
                    "hooks",
                    format!("unknown hook {h:?}: input, forward or prerouting"),
                ));
            }
        }
        if !["drop", "reject"].contains(&self.action.as_str()) {
            out.push(("action", format!("{:?}: drop or reject", self.action)));
        }
        out
    }
}

/// Which of the four sets a value goes to.
fn set_of(net: &Net) -> &'static str {
    match (net.v6, net.is_host()) {
        (false, true) => "ipv4",
        (false, false) => "ipv4_ranges",
        (true, true) => "ipv6",
        (true, false) => "ipv6_ranges",
    }
}

/// The nftables backend.
pub struct Nftables {
    spec: NftablesSpec,
    /// Ranges enforced, with their end (the range sets are rewritten from this).
    ranges: BTreeMap<Net, DateTime<Utc>>,
    /// Which key put which range there.
    range_keys: HashMap<Key, Net>,
    now: fn() -> DateTime<Utc>,
}

impl Nftables {
    /// A backend with this configuration.
    pub fn new(spec: NftablesSpec) -> Self {
        Nftables {
            spec,
            ranges: BTreeMap::new(),
            range_keys: HashMap::new(),
            now: Utc::now,
        }
    }

    fn wanted(&self, e: &Entry) -> Option<Net> {
        if !self.spec.types.contains(&e.key.kind) {
            return None;
        }
        if !matches!(e.key.scope.as_str(), "Ip" | "Range") {
            return None;
        }
        let net = Net::parse(&e.key.value)?;
        (self.spec.ipv6 || !net.v6).then_some(net)
    }

    fn sets(&self) -> Vec<&'static str> {
        let mut v = vec!["ipv4", "ipv4_ranges"];
        if self.spec.ipv6 {
            v.extend(["ipv6", "ipv6_ranges"]);
        }
        v
    }

    /// The table, sets, chains and rules, emptied first.
    fn skeleton(&self, s: &mut String) {
        let t = &self.spec.table;
        let _ = writeln!(s, "add table inet {t}");
        let _ = writeln!(s, "flush table inet {t}");
        for set in self.sets() {
            let kind = if set.starts_with("ipv6") {
                "ipv6_addr"
            } else {
                "ipv4_addr"
            };
            let flags = if set.ends_with("_ranges") {
                "interval, timeout"
            } else {
                "timeout"
            };
            let _ = writeln!(
                s,
                "add set inet {t} {set} {{ type {kind}; flags {flags}; size {}; }}",
                self.spec.set_size
            );
            // `flush table` empties chains, not sets.
            let _ = writeln!(s, "flush set inet {t} {set}");
        }
        for hook in &self.spec.hooks {
            let _ = writeln!(
                s,
                "add chain inet {t} {hook} {{ type filter hook {hook} priority {}; policy accept; }}",
                self.spec.priority
            );
            for set in self.sets() {
                let proto = if set.starts_with("ipv6") { "ip6" } else { "ip" };
                let _ = writeln!(
                    s,
                    "add rule inet {t} {hook} {proto} saddr @{set} counter {}",
                    self.spec.action
                );
            }
        }
    }

    /// Appends `add element` lines, at most 5,000 elements per line.
    fn add_elements(&self, s: &mut String, set: &str, elems: &[(String, u64)]) {
        for chunk in elems.chunks(5000) {
            let _ = write!(s, "add element inet {} {set} {{ ", self.spec.table);
            for (i, (v, secs)) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                let _ = write!(s, "{v} timeout {secs}s");
            }
            s.push_str(" }\n");
        }
    }

    /// The ranges to write: those not inside another.
    fn range_elements(&self, now: DateTime<Utc>) -> HashMap<&'static str, Vec<(String, u64)>> {
        let mut out: HashMap<&'static str, Vec<(String, u64)>> = HashMap::new();
        let mut kept: Vec<Net> = Vec::new();
        // Wider networks first, so a nested one finds its container already kept.
        let mut all: Vec<(&Net, &DateTime<Utc>)> = self.ranges.iter().collect();
        all.sort_by_key(|(n, _)| (n.prefix, n.start));
        for (net, until) in all {
            if kept.iter().any(|k| k.contains(net)) {
                continue;
            }
            kept.push(*net);
            let secs = ((*until - now).num_milliseconds().max(0) as u64)
                .div_ceil(1000)
                .max(1);
            out.entry(set_of(net))
                .or_default()
                .push((net.to_string(), secs));
        }
        out
    }

    /// The script for a batch (exposed for tests and the documentation).
    pub fn script(&mut self, batch: &Batch) -> String {
        let now = (self.now)();
        let mut s = String::new();
        let mut adds: HashMap<&'static str, Vec<(String, u64)>> = HashMap::new();
        let mut dels: HashMap<&'static str, Vec<String>> = HashMap::new();
        let mut ranges_changed = batch.full;
        if batch.full {
            self.ranges.clear();
            self.range_keys.clear();
            self.skeleton(&mut s);
        }
        for e in &batch.deletes {
            if let Some(net) = self.range_keys.remove(&e.key) {
                self.ranges.remove(&net);
                ranges_changed = true;
            } else if let Some(net) = self.wanted(e).filter(|n| n.is_host()) {
                dels.entry(set_of(&net)).or_default().push(net.to_string());
            }
        }
        for e in &batch.adds {
            let Some(net) = self.wanted(e) else { continue };
            if net.is_host() {
                adds.entry(set_of(&net))
                    .or_default()
                    .push((net.to_string(), e.seconds_left(now)));
            } else {
                if let Some(old) = self.range_keys.insert(e.key.clone(), net) {
                    self.ranges.remove(&old);
                }
                let until = self.ranges.entry(net).or_insert(e.until);
                *until = (*until).max(e.until);
                ranges_changed = true;
            }
        }
        for set in self.sets() {
            if let Some(d) = dels.get(set) {
                let present: Vec<(String, u64)> = d.iter().map(|v| (v.clone(), 1)).collect();
                self.add_elements(&mut s, set, &present);
                for chunk in d.chunks(5000) {
                    let _ = writeln!(
                        s,
                        "delete element inet {} {set} {{ {} }}",
                        self.spec.table,
                        chunk.join(", ")
                    );
                }
            }
            if let Some(a) = adds.get(set) {
                self.add_elements(&mut s, set, a);
            }
        }
        if ranges_changed {
            let ranges = self.range_elements(now);
            for set in self.sets().into_iter().filter(|s| s.ends_with("_ranges")) {
                if !batch.full {
                    let _ = writeln!(s, "flush set inet {} {set}", self.spec.table);
                }
                if let Some(r) = ranges.get(set) {
                    self.add_elements(&mut s, set, r);
                }
            }
        }
        s
    }
}

impl Backend for Nftables {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), BounceError> {
        let script = self.script(batch);
        if script.is_empty() {
            return Ok(());
        }
        let mut cmd = self.spec.command.clone();
        cmd.extend(["-f".to_string(), "-".to_string()]);
        super::run_with_stdin("nftables", &cmd, script.as_bytes(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::ActiveSet;
    use chrono::TimeZone;
    use palisade_schemas::Decision;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
    }

    fn entry(scope: &str, value: &str, kind: &str, secs: i64) -> Entry {
        ActiveSet::entry_of(
            &Decision {
                duration: String::new(),
                id: 0,
                origin: "t".into(),
                scenario: "t".into(),
                scope: scope.into(),
                simulated: None,
                kind: kind.into(),
                until: Some(now() + chrono::TimeDelta::seconds(secs)),
                uuid: None,
                value: value.into(),
            },
            now(),
        )
        .unwrap()
    }

    fn backend() -> Nftables {
        let mut b = Nftables::new(NftablesSpec::default());
        b.now = now;
        b
    }

    #[test]
    fn a_full_batch_rebuilds_the_table_in_one_script() {
        let mut b = backend();
        let s = b.script(&Batch {
            full: true,
            adds: vec![
                entry("Ip", "192.0.2.1", "ban", 3600),
                entry("Ip", "2001:db8::1", "ban", 60),
                entry("Range", "198.51.100.0/24", "ban", 600),
                entry("Ip", "198.51.100.7", "ban", 600),
                entry("Ip", "192.0.2.2", "captcha", 600),
                entry("Country", "FR", "ban", 600),
            ],
            deletes: vec![],
        });
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "add table inet palisade");
        assert_eq!(lines[1], "flush table inet palisade");
        assert!(s.contains(
            "add set inet palisade ipv4 { type ipv4_addr; flags timeout; size 2097152; }"
        ));
        assert!(s.contains(
            "add set inet palisade ipv6_ranges { type ipv6_addr; flags interval, timeout;"
        ));
        assert!(s.contains(
            "add chain inet palisade input { type filter hook input priority -10; policy accept; }"
        ));
        assert!(s.contains("add rule inet palisade input ip saddr @ipv4 counter drop"));
        assert!(s.contains("add rule inet palisade input ip6 saddr @ipv6_ranges counter drop"));
        assert!(s.contains(
            "add element inet palisade ipv4 { 192.0.2.1 timeout 3600s, 198.51.100.7 timeout 600s }"
        ));
        assert!(s.contains("add element inet palisade ipv6 { 2001:db8::1 timeout 60s }"));
        assert!(
            s.contains("add element inet palisade ipv4_ranges { 198.51.100.0/24 timeout 600s }")
        );
        assert!(
            !s.contains("192.0.2.2"),
            "captcha is not enforced by the firewall"
        );
        assert!(!s.contains("FR"));
    }

    #[test]
    fn deletions_cannot_fail_on_elements_the_kernel_expired() {
        let mut b = backend();
        let s = b.script(&Batch {
            full: false,
            adds: vec![entry("Ip", "192.0.2.9", "ban", 10)],
            deletes: vec![entry("Ip", "192.0.2.1", "ban", 10)],
        });
        assert_eq!(
            s,
            "add element inet palisade ipv4 { 192.0.2.1 timeout 1s }\n\
             delete element inet palisade ipv4 { 192.0.2.1 }\n\
             add element inet palisade ipv4 { 192.0.2.9 timeout 10s }\n"
        );
    }

    #[test]
    fn nested_ranges_never_overlap_in_the_interval_sets() {
        let mut b = backend();
        b.script(&Batch {
            full: false,
            adds: vec![entry("Range", "10.1.0.0/16", "ban", 60)],
            deletes: vec![],
        });
        let s = b.script(&Batch {
            full: false,
            adds: vec![entry("Range", "10.0.0.0/8", "ban", 30)],
            deletes: vec![],
        });
        assert!(s.contains("flush set inet palisade ipv4_ranges\nadd element inet palisade ipv4_ranges { 10.0.0.0/8 timeout 30s }"), "{s}");
        assert!(!s.contains("10.1.0.0/16"));
        // The wide one goes: the nested one comes back.
        let s = b.script(&Batch {
            full: false,
            adds: vec![],
            deletes: vec![entry("Range", "10.0.0.0/8", "ban", 30)],
        });
        assert!(
            s.contains("add element inet palisade ipv4_ranges { 10.1.0.0/16 timeout 60s }"),
            "{s}"
        );
    }

    #[test]
    fn bad_settings_are_reported() {
        let spec = NftablesSpec {
            hooks: vec!["output".into()],
            table: "a b".into(),
            ..NftablesSpec::default()
        };
        let p = spec.problems();
        assert_eq!(p.len(), 2, "{p:?}");
    }
}
