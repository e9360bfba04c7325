//! JSON helpers. `JsonExtract`, `JsonExtractLib`, `JsonExtractUnescape`, `JsonExtractSlice`,
//! `JsonExtractObject` follow buger/jsonparser as CrowdSec uses it: the document is scanned
//! lazily along the path (`a.b[0].c`), a string comes back as its raw text between the quotes
//! (still escaped) except with `JsonExtractUnescape`, a missing key gives "" (or nil for the
//! slice/object variants). `ToJsonString`/`toJSON` marshal like Go's `json.Marshal` (sorted
//! keys, HTML characters escaped, floats without a trailing `.0`).

use super::{arg_str, fmt::format_float_json};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Number,
    Object,
    Array,
    Bool,
    Null,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// End (exclusive) of the string starting at the quote `b[i]`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The extent and kind of the value starting at `i` (after whitespace).
fn value_end(b: &[u8], i: usize) -> Option<(usize, Kind)> {
    let c = *b.get(i)?;
    match c {
        b'"' => string_end(b, i).map(|e| (e, Kind::String)),
        b'{' | b'[' => {
            // skip a balanced block, minding strings
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some((
                                j + 1,
                                if c == b'{' { Kind::Object } else { Kind::Array },
                            ));
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        b't' if b[i..].starts_with(b"true") => Some((i + 4, Kind::Bool)),
        b'f' if b[i..].starts_with(b"false") => Some((i + 5, Kind::Bool)),
        b'n' if b[i..].starts_with(b"null") => Some((i + 4, Kind::Null)),
        b'-' | b'0'..=b'9' => {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                j += 1;
            }
            Some((j, Kind::Number))
        }
        _ => None,
    }
}

fn key_matches(raw: &[u8], key: &str) -> bool {
    if !raw.contains(&b'\\') {
        return raw == key.as_bytes();
    }
    let quoted = [b"\"", raw, b"\""].concat();
    serde_json::from_slice::<String>(&quoted).is_ok_and(|k| k == key)
}

/// Finds the value at `path` (`"[2]"` segments index arrays). Returns its extent and kind.
pub(crate) fn get_path(doc: &str, path: &[&str]) -> Option<(usize, usize, Kind)> {
    let b = doc.as_bytes();
    let mut i = skip_ws(b, 0);
    for seg in path {
        if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let want: usize = idx.parse().ok()?;
            if b.get(i) != Some(&b'[') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let mut n = 0;
            loop {
                if b.get(i) == Some(&b']') {
                    return None;
                }
                let (end, _) = value_end(b, i)?;
                if n == want {
                    break;
                }
                n += 1;
                i = skip_ws(b, end);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    _ => return None,
                }
            }
        } else {
            if b.get(i) != Some(&b'{') {
                return None;
            }
            i = skip_ws(b, i + 1);
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                let kend = string_end(b, i)?;
                let raw_key = &b[i + 1..kend - 1];
                i = skip_ws(b, kend);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(b, i + 1);
                if key_matches(raw_key, seg) {
                    break;
                }
                let (end, _) = value_end(b, i)?;
                i = skip_ws(b, end);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    _ => return None,
                }
            }
        }
    }
    let (end, kind) = value_end(b, i)?;
    Some((i, end, kind))
}

/// jsonparser.Get: a string's raw content without quotes, other values as written.
fn extract_raw<'d>(doc: &'d str, path: &[&str]) -> Option<(&'d str, Kind)> {
    let (s, e, kind) = get_path(doc, path)?;
    let text = doc.get(s..e)?;
    Some(match kind {
        Kind::String => (text.get(1..text.len() - 1)?, kind),
        _ => (text, kind),
    })
}

/// CrowdSec's dotted target: `a.b[0].c` → `["a","b","[0]","c"]`.
fn split_target(target: &str) -> Vec<String> {
    let t = if target.starts_with('[') {
        target.to_string()
    } else {
        target.replace('[', ".[")
    };
    t.split('.').map(str::to_string).collect()
}

pub(crate) fn json_extract<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let doc = arg_str(args, 0)?;
    let path = split_target(arg_str(args, 1)?);
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    Ok(Value::string(
        extract_raw(doc, &refs)
            .map(|(t, _)| t.to_string())
            .unwrap_or_default(),
    ))
}

fn segments(args: &[Value<'_>]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for i in 1..args.len() {
        match &args[i] {
            Value::Array(seq) => {
                for v in seq.iter() {
                    out.push(
                        v.as_str()
                            .ok_or("path elements must be strings")?
                            .to_string(),
                    );
                }
            }
            _ => out.push(arg_str(args, i)?.to_string()),
        }
    }
    Ok(out)
}

pub(crate) fn json_extract_lib<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let doc = arg_str(args, 0)?;
    let path = segments(args)?;
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    Ok(Value::string(
        extract_raw(doc, &refs)
            .map(|(t, _)| t.to_string())
            .unwrap_or_default(),
    ))
}

pub(crate) fn json_extract_unescape<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let doc = arg_str(args, 0)?;
    let path = segments(args)?;
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    let Some((s, e, Kind::String)) = get_path(doc, &refs) else {
        return Ok(Value::str(""));
    };
    let unescaped = doc
        .get(s..e)
        .and_then(|t| serde_json::from_str::<String>(t).ok());
    Ok(Value::string(unescaped.unwrap_or_default()))
}

fn extract_typed(args: &[Value<'_>], want: Kind) -> Result<Option<serde_json::Value>, String> {
    let doc = arg_str(args, 0)?;
    let path = split_target(arg_str(args, 1)?);
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    match get_path(doc, &refs) {
        Some((s, e, kind)) if kind == want => {
            Ok(doc.get(s..e).and_then(|t| serde_json::from_str(t).ok()))
        }
        _ => Ok(None),
    }
}

pub(crate) fn json_extract_slice<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(extract_typed(args, Kind::Array)?
        .map(Value::from_json_owned)
        .unwrap_or(Value::Nil))
}

pub(crate) fn json_extract_object<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(extract_typed(args, Kind::Object)?
        .map(Value::from_json_owned)
        .unwrap_or(Value::Nil))
}

/// Go `json.Marshal` of a value; `Err` for NaN/Inf, which Go refuses.
pub(crate) fn marshal(v: &Value<'_>) -> Result<String, String> {
    let mut out = String::new();
    write_json(v, &mut out, 0)?;
    Ok(out)
}

fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(v: &Value<'_>, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > 256 {
        return Err("json: nesting too deep".into());
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "json: unsupported value: {}",
                    super::fmt::format_float_g(*f)
                ));
            }
            out.push_str(&format_float_json(*f));
        }
        Value::Str(s) => write_json_str(s, out),
        Value::Time(t) => {
            write_json_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), out)
        }
        Value::Duration(d) => out.push_str(&d.to_string()),
        Value::Weekday(w) => out.push_str(&w.num_days_from_sunday().to_string()),
        Value::Array(seq) => {
            out.push('[');
            for (i, item) in seq.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(&item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(k, out);
                out.push(':');
                write_json(item, out, depth + 1)?;
            }
            out.push('}');
        }
        Value::Event(e) => {
            let j = serde_json::to_value(e).map_err(|e| e.to_string())?;
            write_json(&Value::from_json(&j), out, depth + 1)?;
        }
        Value::Object(o) => write_json_str(o.type_name(), out),
    }
    Ok(())
}

/// CrowdSec `ToJsonString`: "" when the value cannot be marshalled.
pub(crate) fn to_json_string<'a>(args: &[Value<'a>]) -> Result<Value<'a>, String> {
    Ok(Value::string(marshal(&args[0]).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_extraction_like_jsonparser() {
        let doc = r#"{"a": {"b": [1, {"c": "x\"y"}], "n": 1.50, "t": true}, "s": "plain"}"#;
        assert_eq!(
            extract_raw(doc, &["a", "b", "[1]", "c"]).unwrap().0,
            r#"x\"y"#
        );
        assert_eq!(extract_raw(doc, &["a", "n"]).unwrap().0, "1.50");
        assert_eq!(
            extract_raw(doc, &["a", "b"]).unwrap().0,
            r#"[1, {"c": "x\"y"}]"#
        );
        assert_eq!(extract_raw(doc, &["s"]).unwrap().0, "plain");
        assert!(extract_raw(doc, &["zz"]).is_none());
        assert!(extract_raw(doc, &["a", "b", "[9]"]).is_none());
        assert!(extract_raw("{not json", &["a"]).is_none());
        assert!(extract_raw("", &["a"]).is_none());
        assert_eq!(split_target("a.b[0].c"), vec!["a", "b", "[0]", "c"]);
    }

    #[test]
    fn marshal_like_go() {
        let v =
            Value::from_json_owned(serde_json::json!({"b": 1.0, "a": "<x>", "c": [true, null]}));
        assert_eq!(
            marshal(&v).unwrap(),
            r#"{"a":"\u003cx\u003e","b":1,"c":[true,null]}"#
        );
        assert!(marshal(&Value::Float(f64::NAN)).is_err());
    }
}
