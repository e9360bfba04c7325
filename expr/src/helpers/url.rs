//! URL helpers: `PathUnescape`/`QueryUnescape` (Go `net/url`; the input comes back unchanged
//! on a bad escape), `PathEscape`/`QueryEscape`, `ParseUri` (the query of a URI as
//! `map[string][]string`, empty on any error, as `url.ParseQuery`), `ParseQuery` and
//! `ExtractQueryParam` (CrowdSec's lenient WAF parser: bad escapes stay literal).

use super::arg_str;
use crate::value::Value;
use std::collections::BTreeMap;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Go `url.PathUnescape` / `url.QueryUnescape` (`plus` turns `+` into a space).
pub(crate) fn strict_unescape(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// CrowdSec's lenient unescape (waf.go).
fn lenient_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'+' {
            out.push(b' ');
        } else if c == b'%' && i + 2 < b.len() {
            match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn escape(s: &str, keep: impl Fn(u8) -> bool, space_plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep(b) {
            out.push(b as char);
        } else if b == b' ' && space_plus {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn path_unescape<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    Ok(match strict_unescape(s, false) {
        Some(u) => Value::string(u),
        None => args[0].clone(),
    })
}

pub(crate) fn query_unescape<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    Ok(match strict_unescape(s, true) {
        Some(u) => Value::string(u),
        None => args[0].clone(),
    })
}

pub(crate) fn path_escape<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let s = arg_str(args, 0)?;
    Ok(Value::string(escape(
        s,
        |b| matches!(b, b'$' | b'&' | b'+' | b',' | b';' | b'=' | b':' | b'@'),
        false,
    )))
}

pub(crate) fn query_escape<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::string(escape(arg_str(args, 0)?, |_| false, true)))
}

fn values_map<'a>(m: BTreeMap<String, Vec<String>>) -> Value<'a> {
    Value::map(
        m.into_iter()
            .map(|(k, v)| (k, Value::str_array(v)))
            .collect(),
    )
}

/// Go `url.ParseQuery`: `None` on any error (bad escape, `;` separator).
fn go_parse_query(q: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ok = true;
    for part in q.split('&') {
        if part.is_empty() {
            continue;
        }
        if part.contains(';') {
            ok = false;
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match (strict_unescape(k, true), strict_unescape(v, true)) {
            (Some(k), Some(v)) => m.entry(k).or_default().push(v),
            _ => ok = false,
        }
    }
    ok.then_some(m)
}

pub(crate) fn parse_uri<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let uri = arg_str(args, 0)?;
    let no_frag = uri.split_once('#').map(|(a, _)| a).unwrap_or(uri);
    let query = no_frag.split_once('?').map(|(_, q)| q).unwrap_or("");
    Ok(values_map(go_parse_query(query).unwrap_or_default()))
}

fn lenient_query(q: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for part in q.split('&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        m.entry(lenient_unescape(k))
            .or_default()
            .push(lenient_unescape(v));
    }
    m
}

pub(crate) fn parse_query<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(values_map(lenient_query(arg_str(args, 0)?)))
}

pub(crate) fn extract_query_param<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let uri = arg_str(args, 0)?;
    let param = arg_str(args, 1)?;
    let values = match uri.split_once('?') {
        Some((_, q)) if !q.is_empty() => lenient_query(q).remove(param).unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(Value::str_array(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescaping() {
        assert_eq!(strict_unescape("/a%20b+c", false).unwrap(), "/a b+c");
        assert_eq!(strict_unescape("a+b%2B", true).unwrap(), "a b+");
        assert!(strict_unescape("%zz", false).is_none());
        assert!(strict_unescape("%4", false).is_none());
        assert_eq!(lenient_unescape("%zz+%41"), "%zz A");
        assert_eq!(lenient_unescape("%4"), "%4");
        assert_eq!(escape("a b/c", |_| false, true), "a+b%2Fc");
    }

    #[test]
    fn queries() {
        let q = go_parse_query("a=1&a=2&b=%20").unwrap();
        assert_eq!(q["a"], vec!["1", "2"]);
        assert_eq!(q["b"], vec![" "]);
        assert!(go_parse_query("a=1;b=2").is_none());
        assert!(go_parse_query("a=%zz").is_none());
        assert_eq!(lenient_query("x=%zz&y")["y"], vec![""]);
    }
}
