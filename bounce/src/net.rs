//! Addresses and networks of decisions (`Ip` and `Range` scopes), and CIDR aggregation for
//! blocklist feeds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 network: a base address and a prefix length (an address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Net {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// The first address, as a number (IPv4 in the low 32 bits).
    pub start: u128,
    /// Prefix length.
    pub prefix: u8,
}

impl Net {
    /// Parses `192.0.2.1`, `192.0.2.0/24`, `2001:db8::1`, `2001:db8::/32`. Host bits are cleared.
    pub fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let ip: IpAddr = addr.trim().parse().ok()?;
        let (v6, n, bits) = match ip {
            IpAddr::V4(a) => (false, u32::from(a) as u128, 32u8),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) if prefix.is_none() => (false, u32::from(v4) as u128, 32),
                _ => (true, u128::from(a), 128),
            },
        };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return None;
        }
        Some(Net {
            v6,
            start: n & Self::mask(bits, prefix),
            prefix,
        })
    }

    fn bits(&self) -> u8 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn mask(bits: u8, prefix: u8) -> u128 {
        let host = bits - prefix;
        let all = if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        if host >= 128 {
            0
        } else {
            all & !((1u128 << host) - 1) & all
        }
    }

    /// Whether this is a single address.
    pub fn is_host(&self) -> bool {
        self.prefix == self.bits()
    }

    /// The last address, as a number.
    pub fn end(&self) -> u128 {
        let host = self.bits() - self.prefix;
        if host >= 128 {
            u128::MAX
        } else {
            self.start | ((1u128 << host) - 1)
        }
    }

    /// Whether `other` lies inside this network (same family).
    pub fn contains(&self, other: &Net) -> bool {
        self.v6 == other.v6 && self.start <= other.start && other.end() <= self.end()
    }

    /// Whether the address lies inside this network.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        match Net::parse(&ip.to_string()) {
            Some(n) => self.contains(&n),
            None => false,
        }
    }

    fn addr(v6: bool, n: u128) -> String {
        if v6 {
            Ipv6Addr::from(n).to_string()
        } else {
            Ipv4Addr::from(n as u32).to_string()
        }
    }
}

impl std::fmt::Display for Net {
    /// An address alone when it is a host, else `address/prefix`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_host() {
            write!(f, "{}", Self::addr(self.v6, self.start))
        } else {
            write!(f, "{}/{}", Self::addr(self.v6, self.start), self.prefix)
        }
    }
}

/// The smallest list of CIDR networks covering exactly the union of `nets` (overlapping and
/// adjacent networks merged), IPv4 first, each family in address order.
pub fn aggregate(nets: &[Net]) -> Vec<Net> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        let mut ranges: Vec<(u128, u128)> = nets
            .iter()
            .filter(|n| n.v6 == v6)
            .map(|n| (n.start, n.end()))
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some((_, le)) if *le == u128::MAX || s <= *le + 1 => *le = (*le).max(e),
                _ => merged.push((s, e)),
            }
        }
        let bits = if v6 { 128u8 } else { 32 };
        for (s, e) in merged {
            split_range(v6, bits, s, e, &mut out);
        }
    }
    out
}

/// Cuts [s, e] into the fewest aligned CIDR blocks.
fn split_range(v6: bool, bits: u8, mut s: u128, e: u128, out: &mut Vec<Net>) {
    loop {
        // The largest block aligned at s that does not pass e.
        let mut size_log = if s == 0 {
            bits as u32
        } else {
            s.trailing_zeros().min(bits as u32)
        };
        while size_log > 0 {
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                s + ((1u128 << size_log) - 1)
            };
            if last <= e && last >= s {
                break;
            }
            size_log -= 1;
        }
        out.push(Net {
            v6,
            start: s,
            prefix: bits - size_log as u8,
        });
        let last = if size_log >= 128 {
            u128::MAX
        } else {
            s + ((1u128 << size_log) - 1)
        };
        if last >= e {
            return;
        }
        s = last + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<Net> {
        v.iter().map(|s| Net::parse(s).unwrap()).collect()
    }

    fn text(v: &[Net]) -> Vec<String> {
        v.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn parses_addresses_and_networks() {
        assert_eq!(Net::parse("192.0.2.1").unwrap().to_string(), "192.0.2.1");
        assert_eq!(
            Net::parse("192.0.2.77/24").unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            Net::parse("2001:db8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(
            Net::parse("::ffff:192.0.2.1").unwrap().to_string(),
            "192.0.2.1"
        );
        assert_eq!(Net::parse("0.0.0.0/0").unwrap().end(), u32::MAX as u128);
        assert!(Net::parse("192.0.2.1/33").is_none());
        assert!(Net::parse("FR").is_none());
        let r = Net::parse("10.0.0.0/8").unwrap();
        assert!(r.contains(&Net::parse("10.1.2.3").unwrap()));
        assert!(!r.contains(&Net::parse("11.0.0.1").unwrap()));
        assert!(!r.contains(&Net::parse("::1").unwrap()));
    }

    #[test]
    fn aggregation_merges_neighbours_and_nested_networks() {
        let got = aggregate(&nets(&[
            "192.0.2.0",
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
            "192.0.2.5",
            "10.0.0.0/8",
            "10.20.30.40",
            "2001:db8::1",
            "2001:db8::",
        ]));
        assert_eq!(
            text(&got),
            ["10.0.0.0/8", "192.0.2.0/30", "192.0.2.5", "2001:db8::/127"]
        );
        assert_eq!(
            text(&aggregate(&nets(&["0.0.0.0/1", "128.0.0.0/1"]))),
            ["0.0.0.0/0"]
        );
        assert_eq!(text(&aggregate(&nets(&["::/0", "::1"]))), ["::/0"]);
        // 192.0.2.1 .. 192.0.2.6 is not one block.
        let v: Vec<String> = (1..=6).map(|i| format!("192.0.2.{i}")).collect();
        let v: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            text(&aggregate(&nets(&v))),
            ["192.0.2.1", "192.0.2.2/31", "192.0.2.4/31", "192.0.2.6"]
        );
    }
}
