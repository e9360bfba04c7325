//! Addresses and networks as CrowdSec's `csnet.Range` reads decision values: an IP address
//! (a one-address network) or a CIDR. Used to check `Ip`/`Range` decision values and to find the
//! decisions that contain an address for `GetDecisionsCount`.

use std::net::IpAddr;

/// An address or a network: the first address (as a number), the prefix length and the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    base: u128,
    prefix: u8,
    v6: bool,
}

impl Net {
    /// Reads `1.2.3.4`, `1.2.3.0/24`, `2001:db8::1` or `2001:db8::/32` (host bits are cleared).
    pub(crate) fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = addr.trim().parse().ok()?;
        let (bits, max, v6) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u8, false),
            IpAddr::V6(v6) => (u128::from(v6), 128u8, true),
        };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
        };
        let mask = if prefix == 0 {
            0
        } else {
            (u128::MAX << (u32::from(max) - u32::from(prefix))) & width_mask(max)
        };
        Some(Net {
            base: bits & mask,
            prefix,
            v6,
        })
    }

    /// Whether every address of `other` is in this network.
    pub(crate) fn contains(&self, other: &Net) -> bool {
        if self.v6 != other.v6 || other.prefix < self.prefix {
            return false;
        }
        let max: u8 = if self.v6 { 128 } else { 32 };
        let shift = u32::from(max) - u32::from(self.prefix);
        if shift >= 128 {
            return true;
        }
        (other.base >> shift) == (self.base >> shift)
    }
}

impl Net {
    /// The first and last address, as numbers.
    pub(crate) fn bounds(&self) -> (u128, u128) {
        let max: u8 = if self.v6 { 128 } else { 32 };
        let host = u32::from(max) - u32::from(self.prefix);
        let span = if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        (self.base, self.base | span)
    }

    /// Whether it is an IPv6 address or network.
    pub(crate) fn is_v6(&self) -> bool {
        self.v6
    }
}

fn width_mask(bits: u8) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_networks() {
        let net = Net::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(&Net::parse("10.1.2.3").unwrap()));
        assert!(net.contains(&Net::parse("10.1.2.0/24").unwrap()));
        assert!(!net.contains(&Net::parse("10.2.0.1").unwrap()));
        assert!(!net.contains(&Net::parse("10.0.0.0/8").unwrap()));
        assert!(Net::parse("0.0.0.0/0")
            .unwrap()
            .contains(&Net::parse("8.8.8.8").unwrap()));
        assert_eq!(
            Net::parse("10.1.2.3/16"),
            Some(net),
            "host bits are cleared"
        );
        let ip = Net::parse("1.2.3.4").unwrap();
        assert!(ip.contains(&ip));
        assert!(!ip.contains(&Net::parse("1.2.3.5").unwrap()));
        let v6 = Net::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(&Net::parse("2001:db8::1").unwrap()));
        assert!(!v6.contains(&ip));
        for bad in ["", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "user"] {
            assert_eq!(Net::parse(bad), None, "{bad}");
        }
    }
}
