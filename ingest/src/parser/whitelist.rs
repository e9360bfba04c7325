//! Whitelists of parser nodes: addresses, networks and expressions. A matching whitelist marks the
//! event `Whitelisted` with the node's reason (and the overflow too, for postoverflows).

use palisade_expr::Program;
use palisade_schemas::{Event, EventType};
use std::net::IpAddr;

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fe80::/10`, or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() { max } else { p.parse().ok()? };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside. IPv4-mapped IPv6 addresses match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:1.2.3.4` is `1.2.3.4`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The addresses an event is about (`evt.ParseIPSources()`): `Meta.source_ip` for a log line,
/// the sources of the alert for an overflow.
pub fn ip_sources(evt: &Event) -> Vec<IpAddr> {
    match evt.kind {
        EventType::Overflow => evt
            .overflow
            .as_ref()
            .map(|o| {
                o.sources
                    .iter()
                    .filter_map(|(k, s)| s.ip.parse().ok().or_else(|| k.parse().ok()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => evt.get_meta("source_ip").parse().ok().into_iter().collect(),
    }
}

/// A compiled whitelist.
pub(crate) struct Whitelist {
    pub(crate) reason: String,
    pub(crate) nets: Vec<Cidr>,
    pub(crate) exprs: Vec<Program>,
}

impl Whitelist {
    /// Whether the event is whitelisted: an address or network match, else any expression true.
    pub(crate) fn matches(&self, evt: &mut Event) -> bool {
        if !self.nets.is_empty() {
            let inside = |ip: &IpAddr| self.nets.iter().any(|n| n.contains(*ip));
            let hit = match evt.kind {
                EventType::Overflow => ip_sources(evt).iter().any(inside),
                // `ip_sources` of a log event, without the vector.
                _ => evt
                    .get_meta("source_ip")
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| inside(&ip)),
            };
            if hit {
                return true;
            }
        }
        self.exprs.iter().any(|p| p.eval_filter(evt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_match_like_go_net_contains() {
        let n = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(n.contains("192.168.4.5".parse().unwrap()));
        assert!(n.contains("::ffff:192.168.4.5".parse().unwrap()));
        assert!(!n.contains("192.169.0.1".parse().unwrap()));
        let one = Cidr::parse("10.0.0.1").unwrap();
        assert!(one.contains("10.0.0.1".parse().unwrap()));
        assert!(!one.contains("10.0.0.2".parse().unwrap()));
        let v6 = Cidr::parse("fe80::/10").unwrap();
        assert!(v6.contains("fe80::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
    }
}
