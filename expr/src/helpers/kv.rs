//! `ParseKV` and `ParseKVLax`: split `k=v k2="quoted value"` text into pairs, as CrowdSec does
//! (the strict form with its `keyValuePattern` regex, the lax form cutting values at the next
//! `key=` outside quotes). The evaluator stores the pairs into `evt.Unmarshaled[prefix]`.

use regex::Regex;
use std::sync::OnceLock;

fn strict_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"([^=\t\n\f\r ]+)=(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^=\t\n\f\r ]+)|[\t\n\f\r ]*)"#,
        )
        .expect("constant regex")
    })
}

fn key_start_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"([a-zA-Z_][a-zA-Z0-9_.-]*)=").expect("constant regex"))
}

/// CrowdSec `ParseKV`: the pairs in order, or an error when none is found.
pub(crate) fn parse_kv(blob: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for caps in strict_re().captures_iter(blob) {
        let key = caps.get(1).map(|m| m.as_str()).unwrap_or("");
        let quoted = caps.get(2).map(|m| m.as_str()).unwrap_or("");
        let plain = caps.get(3).map(|m| m.as_str()).unwrap_or("");
        let value = if !quoted.is_empty() { quoted } else { plain };
        out.push((key.to_string(), value.to_string()));
    }
    if out.is_empty() {
        return Err("invalid input format".into());
    }
    Ok(out)
}

fn inside_quotes(s: &[u8], pos: usize) -> bool {
    let mut in_quote = false;
    for i in 0..=pos.min(s.len().saturating_sub(1)) {
        if s[i] != b'"' {
            continue;
        }
        let mut backslashes = 0;
        let mut j = i;
        while j > 0 && s[j - 1] == b'\\' {
            backslashes += 1;
            j -= 1;
        }
        if backslashes % 2 == 0 {
            in_quote = !in_quote;
        }
    }
    in_quote
}

fn lax_value(s: &str) -> String {
    if !s.starts_with('"') {
        return s.to_string();
    }
    if s.len() >= 2 && s.ends_with('"') {
        return s[1..s.len() - 1]
            .replace("\\\\", "\\")
            .replace("\\\"", "\"");
    }
    s[1..].to_string()
}

/// CrowdSec `ParseKVLax`.
pub(crate) fn parse_kv_lax(blob: &str) -> Result<Vec<(String, String)>, String> {
    let bytes = blob.as_bytes();
    let starts: Vec<(usize, usize, &str)> = key_start_re()
        .captures_iter(blob)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let key = c.get(1)?;
            (!inside_quotes(bytes, whole.start())).then_some((
                whole.start(),
                whole.end(),
                key.as_str(),
            ))
        })
        .collect();
    if starts.is_empty() {
        return Err("invalid input format".into());
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, (_, value_start, key)) in starts.iter().enumerate() {
        let value_end = starts.get(i + 1).map(|n| n.0).unwrap_or(blob.len());
        let raw = blob.get(*value_start..value_end).unwrap_or("").trim();
        out.push((key.to_string(), lax_value(raw)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_pairs() {
        let kv = parse_kv(r#"a=1 b="two words" c= d="x\"y""#).unwrap();
        assert_eq!(
            kv,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), "".into()),
                ("d".into(), r#"x\"y"#.into())
            ]
        );
        assert!(parse_kv("no pairs here").is_err());
    }

    #[test]
    fn lax_pairs() {
        let kv = parse_kv_lax(r#"msg=hello world user="a b=c" id=3"#).unwrap();
        assert_eq!(
            kv,
            vec![
                ("msg".into(), "hello world".into()),
                ("user".into(), "a b=c".into()),
                ("id".into(), "3".into())
            ]
        );
        assert!(parse_kv_lax("=== ").is_err());
    }
}
