//! IP helpers: `IpInRange(ip, cidr)` (false on any invalid input, as CrowdSec), `IpToRange(ip,
//! "/24")` (the masked prefix, "" on bad input), `IsIP`, `IsIPV4` (true for IPv4-mapped IPv6,
//! like Go's `To4() != nil`), `IsIPV6`.

use super::arg_str;
use crate::value::Value;
use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Go's `net.ParseIP`. The last address parsed on the thread is remembered: filters test one
/// address against several ranges in a row (`IsIPV6(ip) && not (IpInRange(ip, ...) || ...)`).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    /// Longer inputs are not remembered (an IPv6 address with a zone is at most ~60 bytes).
    const MAX_REMEMBERED: usize = 64;
    thread_local! {
        static LAST: RefCell<(String, Option<IpAddr>)> = const { RefCell::new((String::new(), None)) };
    }
    if s.len() > MAX_REMEMBERED {
        return s.parse::<IpAddr>().ok();
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != s {
            last.1 = s.parse::<IpAddr>().ok();
            last.0.clear();
            last.0.push_str(s);
        }
        last.1
    })
}

/// The IPv4 form of an address, if it is IPv4 or IPv4-mapped (Go `To4`).
fn to4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// Go `net.ParseCIDR`: the network (masked) and prefix length.
pub(crate) fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = s.split_once('/')?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    let ip = parse_ip(addr)?;
    // Go's ParseCIDR treats an IPv4 address (dotted form) as a 32-bit network
    match ip {
        IpAddr::V4(_) if len <= 32 => Some((mask(ip, len), len)),
        IpAddr::V6(_) if len <= 128 => Some((mask(ip, len), len)),
        _ => None,
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
        }
    }
}

/// Whether `ip` is inside `network/len`.
pub(crate) fn contains(network: IpAddr, len: u8, ip: IpAddr) -> bool {
    match network {
        IpAddr::V4(_) => match to4(ip) {
            Some(v4) => mask(IpAddr::V4(v4), len) == network,
            None => false,
        },
        IpAddr::V6(_) => match ip {
            IpAddr::V6(_) => mask(ip, len) == network,
            IpAddr::V4(_) => false,
        },
    }
}

pub(crate) fn ip_in_range<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let ip = arg_str(args, 0)?;
    let range = arg_str(args, 1)?;
    let (Some(ip), Some((net, len))) = (parse_ip(ip), parse_cidr(range)) else {
        return Ok(Value::Bool(false));
    };
    Ok(Value::Bool(contains(net, len, ip)))
}

pub(crate) fn ip_to_range<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let ip = arg_str(args, 0)?;
    let cidr = arg_str(args, 1)?;
    let cidr = cidr.strip_prefix('/').unwrap_or(cidr);
    let Ok(len) = cidr.parse::<i64>() else {
        return Ok(Value::str(""));
    };
    let Some(addr) = parse_ip(ip) else {
        return Ok(Value::str(""));
    };
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    if !(0..=bits).contains(&len) {
        return Ok(Value::str(""));
    }
    let len = len as u8;
    Ok(Value::string(format!("{}/{len}", mask(addr, len))))
}

pub(crate) fn is_ip<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(parse_ip(arg_str(args, 0)?).is_some()))
}

pub(crate) fn is_ipv4<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(
        parse_ip(arg_str(args, 0)?).and_then(to4).is_some(),
    ))
}

pub(crate) fn is_ipv6<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(
        parse_ip(arg_str(args, 0)?).is_some_and(|ip| to4(ip).is_none()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remembered_address_never_answers_for_another() {
        let long = format!("1.2.3.4{}", " ".repeat(80));
        for s in [
            "", "1.2.3.4", "1.2.3.4", "::1", "nope", "1.2.3.4", "", &long, "10.0.0.1",
        ] {
            assert_eq!(parse_ip(s), s.parse::<IpAddr>().ok(), "{s:?}");
        }
    }
}
