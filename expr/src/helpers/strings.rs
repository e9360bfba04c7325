//! String helpers with Go's semantics: `Upper`/`Lower` (rune by rune, like `strings.ToUpper`),
//! `Split`/`SplitN`/`SplitAfter*` (an empty separator splits into characters), `Fields`,
//! `Index`, `Trim*`, `Replace`, `Join`, `Get`, `ToString`, the `Match` glob, `KeyExists`,
//! `Atof`, `Distance` (haversine), `B64Decode`, `Hostname`, `FloatApproxEqual`, `LogInfo`.

use super::{arg_f64, arg_int, arg_str, arg_strs, sub_str};
use crate::value::Value;

fn go_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut low = c.to_lowercase();
            match (low.next(), low.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

pub(crate) fn upper<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    if !s.bytes().any(|b| b.is_ascii_lowercase() || b >= 0x80) {
        return Ok(args[0].clone());
    }
    Ok(Value::string(go_upper(s)))
}

pub(crate) fn lower<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    if !s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        return Ok(args[0].clone());
    }
    Ok(Value::string(go_lower(s)))
}

/// Go `strings.SplitN` (n < 0: all; n == 0: nil).
pub(crate) fn go_split(s: &str, sep: &str, n: i64, after: bool) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 {
        usize::MAX
    } else {
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    if sep.is_empty() {
        // explode into UTF-8 sequences
        let mut out: Vec<String> = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if out.len() + 1 == limit {
                out.push(rest.to_string());
                return out;
            }
            let ch = rest.chars().next().map(char::len_utf8).unwrap_or(1);
            out.push(rest[..ch].to_string());
            rest = &rest[ch..];
        }
        return out;
    }
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() + 1 < limit {
        match rest.find(sep) {
            Some(i) => {
                let cut = if after { i + sep.len() } else { i };
                out.push(rest[..cut].to_string());
                rest = &rest[i + sep.len()..];
            }
            None => break,
        }
    }
    out.push(rest.to_string());
    out
}

pub(crate) fn split<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::str_array(go_split(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        -1,
        false,
    )))
}

pub(crate) fn split_after<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::str_array(go_split(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        -1,
        true,
    )))
}

pub(crate) fn split_n<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::str_array(go_split(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        arg_int(args, 2)?,
        false,
    )))
}

pub(crate) fn split_after_n<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::str_array(go_split(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        arg_int(args, 2)?,
        true,
    )))
}

pub(crate) fn fields<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::str_array(
        arg_str(args, 0)?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    ))
}

/// Byte index as Go's `strings.Index`, -1 when absent.
pub(crate) fn index<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    let sub = arg_str(args, 1)?;
    Ok(Value::Int(s.find(sub).map(|i| i as i64).unwrap_or(-1)))
}

pub(crate) fn index_any<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    let chars = arg_str(args, 1)?;
    Ok(Value::Int(
        s.find(|c: char| chars.contains(c))
            .map(|i| i as i64)
            .unwrap_or(-1),
    ))
}

pub(crate) fn join_go<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::string(arg_strs(args, 0)?.join(arg_str(args, 1)?)))
}

pub(crate) fn replace_n<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    let old = arg_str(args, 1)?;
    let new = arg_str(args, 2)?;
    let n = arg_int(args, 3)?;
    if n < 0 {
        return Ok(Value::string(go_replace_all(s, old, new)));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if old.is_empty() {
        // Go inserts `new` before each rune (and at the end), up to n times
        let mut out = String::new();
        let mut count = 0;
        for (i, c) in s.char_indices() {
            if count < n {
                out.push_str(new);
                count += 1;
            }
            out.push_str(&s[i..i + c.len_utf8()]);
        }
        if count < n {
            out.push_str(new);
        }
        return Ok(Value::string(out));
    }
    Ok(Value::string(s.replacen(old, new, n)))
}

fn go_replace_all(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::with_capacity(s.len() + new.len() * (s.len() + 1));
        out.push_str(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

pub(crate) fn replace_all<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::string(go_replace_all(
        arg_str(args, 0)?,
        arg_str(args, 1)?,
        arg_str(args, 2)?,
    )))
}

pub(crate) fn trim_cutset<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let cut = arg_str(args, 1)?.to_string();
    sub_str(&args[0], |s| s.trim_matches(|c| cut.contains(c)))
}

pub(crate) fn trim_left<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let cut = arg_str(args, 1)?.to_string();
    sub_str(&args[0], |s| s.trim_start_matches(|c| cut.contains(c)))
}

pub(crate) fn trim_right<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let cut = arg_str(args, 1)?.to_string();
    sub_str(&args[0], |s| s.trim_end_matches(|c| cut.contains(c)))
}

pub(crate) fn trim_space<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    sub_str(&args[0], str::trim)
}

/// Go's `filepath.Base`: the last element of a path, trailing slashes removed; `.` for "".
pub(crate) fn basename<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    if s.is_empty() {
        return Ok(Value::str("."));
    }
    let t = s.trim_end_matches('/');
    if t.is_empty() {
        return Ok(Value::str("/"));
    }
    Ok(Value::string(t.rsplit('/').next().unwrap_or(t).to_string()))
}

pub(crate) fn trim_prefix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let p = arg_str(args, 1)?.to_string();
    sub_str(&args[0], |s| s.strip_prefix(p.as_str()).unwrap_or(s))
}

pub(crate) fn trim_suffix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let p = arg_str(args, 1)?.to_string();
    sub_str(&args[0], |s| s.strip_suffix(p.as_str()).unwrap_or(s))
}

/// CrowdSec `Get([]string, i)`: "" past the end; a negative index is an error (Go panics).
pub(crate) fn get_go<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let i = arg_int(args, 1)?;
    let Value::Array(seq) = &args[0] else {
        return Err(format!(
            "cannot use {} as argument (type []string)",
            args[0].type_name()
        ));
    };
    if i < 0 {
        return Err(format!("index out of range [{i}]"));
    }
    match seq.get(usize::try_from(i).unwrap_or(usize::MAX)) {
        Some(v @ Value::Str(_)) => Ok(v),
        Some(other) => Err(format!("cannot use {} as string", other.type_name())),
        None => Ok(Value::str("")),
    }
}

/// CrowdSec `ToString`: the string itself, "" for anything else.
pub(crate) fn to_string<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match &args[0] {
        v @ Value::Str(_) => Ok(v.clone()),
        _ => Ok(Value::str("")),
    }
}

/// CrowdSec's `Match(pattern, name)`: `*` and `?` wildcards over bytes, case-sensitive.
pub(crate) fn glob(pattern: &[u8], name: &[u8]) -> bool {
    // iterative wildcard matching with backtracking on the last `*` (same results as the
    // recursive Go code, without its exponential worst case)
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

pub(crate) fn glob_match<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(glob(
        arg_str(args, 0)?.as_bytes(),
        arg_str(args, 1)?.as_bytes(),
    )))
}

pub(crate) fn key_exists<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let key = arg_str(args, 0)?;
    match &args[1] {
        Value::Map(m) => Ok(Value::Bool(m.contains_key(key))),
        Value::Nil => Ok(Value::Bool(false)),
        other => Err(format!(
            "cannot use {} as argument (type map[string]interface {{}})",
            other.type_name()
        )),
    }
}

/// Go `strconv.ParseFloat` on the whole string (no spaces, no underscores).
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

pub(crate) fn atof<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Float(
        parse_go_float(arg_str(args, 0)?).unwrap_or(0.0),
    ))
}

pub(crate) fn distance<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut c = [0.0f64; 4];
    let names = ["lat1", "long1", "lat2", "long2"];
    for (i, slot) in c.iter_mut().enumerate() {
        let s = arg_str(args, i)?;
        *slot = parse_go_float(s).ok_or_else(|| format!("{} is not a float : {s:?}", names[i]))?;
    }
    let [lat1, lon1, lat2, lon2] = c;
    if (lat1 == 0.0 && lon1 == 0.0) || (lat2 == 0.0 && lon2 == 0.0) {
        return Ok(Value::Float(0.0));
    }
    // haversine, earth radius 6371 km as umahmood/haversine
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = p2 - p1;
    let dlon = (lon2 - lon1).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
    let km = 2.0 * a.sqrt().atan2((1.0 - a).sqrt()) * 6371.0;
    Ok(Value::Float(km))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, strict like Go's `StdEncoding` (newlines ignored).
pub(crate) fn b64_decode_bytes(s: &str) -> Result<Vec<u8>, String> {
    let clean: Vec<u8> = s.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    if !clean.len().is_multiple_of(4) {
        return Err(format!(
            "illegal base64 data at input byte {}",
            clean.len() / 4 * 4
        ));
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for (ci, chunk) in clean.chunks(4).enumerate() {
        let mut vals = [0u8; 4];
        let mut pad = 0;
        for (j, &b) in chunk.iter().enumerate() {
            if b == b'=' {
                if j < 2 || ci + 1 != clean.len() / 4 {
                    return Err(format!("illegal base64 data at input byte {}", ci * 4 + j));
                }
                pad += 1;
                continue;
            }
            if pad > 0 {
                return Err(format!("illegal base64 data at input byte {}", ci * 4 + j));
            }
            vals[j] = B64
                .iter()
                .position(|c| *c == b)
                .map(|p| p as u8)
                .ok_or_else(|| format!("illegal base64 data at input byte {}", ci * 4 + j))?;
        }
        let n = (u32::from(vals[0]) << 18)
            | (u32::from(vals[1]) << 12)
            | (u32::from(vals[2]) << 6)
            | u32::from(vals[3]);
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Ok(out)
}

pub(crate) fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn b64_decode<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let bytes = b64_decode_bytes(arg_str(args, 0)?)?;
    Ok(Value::string(String::from_utf8_lossy(&bytes).into_owned()))
}

pub(crate) fn hostname<'a>(_args: &[Value<'a>]) -> Result<Value<'a>, String> {
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        return Ok(Value::string(h.trim().to_string()));
    }
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        return Ok(Value::string(h.trim().to_string()));
    }
    std::env::var("HOSTNAME")
        .map(Value::string)
        .map_err(|_| "cannot determine the hostname".to_string())
}

pub(crate) fn float_approx_equal<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::Bool(
        (arg_f64(args, 0)? - arg_f64(args, 1)?).abs() < 1e-6,
    ))
}

/// `LogInfo(format, args...)`: formats like Sprintf; Palisade has no logger here, so the text
/// goes nowhere and the call returns true, as in CrowdSec.
pub(crate) fn log_info<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    super::fmt::sprintf(args)?;
    Ok(Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_crowdsec() {
        assert!(glob(b"*.exe", b"c:\\a\\cmd.exe"));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"ac"));
        assert!(glob(b"*", b""));
        assert!(glob(b"", b""));
        assert!(!glob(b"", b"a"));
        assert!(glob(b"*a*b*", b"xxaxxbxx"));
        assert!(!glob(b"Abc", b"abc"));
        // no exponential blow-up
        assert!(!glob(
            &[b'*'; 50].iter().chain(b"b").copied().collect::<Vec<_>>(),
            &[b'a'; 5000]
        ));
    }

    #[test]
    fn split_is_go_split() {
        assert_eq!(go_split("a,b,,c", ",", -1, false), vec!["a", "b", "", "c"]);
        assert_eq!(go_split("", ",", -1, false), vec![""]);
        assert_eq!(go_split("abc", "", -1, false), vec!["a", "b", "c"]);
        assert_eq!(go_split("a,b,c", ",", 2, false), vec!["a", "b,c"]);
        assert_eq!(go_split("a,b", ",", -1, true), vec!["a,", "b"]);
        assert!(go_split("a", ",", 0, false).is_empty());
    }

    #[test]
    fn base64_round_trip_and_errors() {
        assert_eq!(b64_decode_bytes("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64_encode(b"hello"), "aGVsbG8=");
        assert!(b64_decode_bytes("aGVsbG8").is_err());
        assert!(b64_decode_bytes("a=GV").is_err());
        assert!(b64_decode_bytes("!!!!").is_err());
    }
}
