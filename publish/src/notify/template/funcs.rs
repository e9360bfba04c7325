//! The functions templates can call (see the list in the module docs of [`super`]).

use super::exec::{kind, print, truth};
use serde_json::Value as Json;
use std::cmp::Ordering;

fn text(v: &Json) -> String {
    let mut s = String::new();
    print(v, &mut s);
    s
}

fn want(args: &[Json], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("wrong number of args: want {n} got {}", args.len()))
    }
}

fn str_arg(args: &[Json], i: usize) -> String {
    args.get(i).map(text).unwrap_or_default()
}

fn num(v: &Json) -> Result<f64, String> {
    match v {
        Json::Number(n) => n.as_f64().ok_or_else(|| "bad number".to_string()),
        Json::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a number")),
        Json::Bool(b) => Ok(f64::from(u8::from(*b))),
        Json::Null => Ok(0.0),
        other => Err(format!("{} is not a number", kind(other))),
    }
}

fn int_result(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Json::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

fn compare(a: &Json, b: &Json) -> Result<Ordering, String> {
    match (a, b) {
        (Json::Number(_), Json::Number(_)) => num(a)?
            .partial_cmp(&num(b)?)
            .ok_or_else(|| "incomparable numbers".to_string()),
        (Json::String(x), Json::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "incompatible types for comparison: {} and {}",
            kind(a),
            kind(b)
        )),
    }
}

fn equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(_), Json::Number(_)) => num(a).ok() == num(b).ok(),
        _ => a == b,
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default()
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn url_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `GetMeta alert "key"`: the values of `key` in the meta of the alert's events.
fn get_meta(alert: &Json, key: &str) -> Json {
    let values = alert
        .get("events")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("meta").and_then(Json::as_array))
        .flatten()
        .filter(|m| m.get("key").and_then(Json::as_str) == Some(key))
        .filter_map(|m| m.get("value").cloned())
        .collect();
    Json::Array(values)
}

/// `printf`: Go verbs `%s %v %d %q %t %f %x %%`, with flags, width and precision.
fn printf(format: &str, args: &[Json]) -> String {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&f) = chars.peek() {
            if f.is_ascii_digit() || matches!(f, '-' | '+' | ' ' | '0' | '.' | '#') {
                spec.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let left = spec.starts_with('-');
        let zero = spec.starts_with('0');
        let (width, precision) = match spec
            .trim_start_matches(['-', '+', ' ', '0', '#'])
            .split_once('.')
        {
            Some((w, p)) => (w.parse::<usize>().ok(), p.parse::<usize>().ok()),
            None => (
                spec.trim_start_matches(['-', '+', ' ', '0', '#'])
                    .parse()
                    .ok(),
                None,
            ),
        };
        let body = match verb {
            'd' => num(arg).map_or_else(
                |_| format!("%!d({})", text(arg)),
                |f| format!("{}", f as i64),
            ),
            'f' | 'F' => num(arg).map_or_else(
                |_| format!("%!f({})", text(arg)),
                |f| format!("{f:.*}", precision.unwrap_or(6)),
            ),
            'q' => serde_json::to_string(&text(arg)).unwrap_or_default(),
            'x' => match arg {
                Json::Number(_) => format!("{:x}", num(arg).unwrap_or(0.0) as i64),
                other => text(other).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            't' => text(arg),
            _ => {
                let s = text(arg);
                match precision {
                    Some(p) if verb == 's' => s.chars().take(p).collect(),
                    _ => s,
                }
            }
        };
        let len = body.chars().count();
        match width {
            Some(w) if w > len => {
                let pad = w - len;
                if left {
                    out.push_str(&body);
                    out.extend(std::iter::repeat_n(' ', pad));
                } else {
                    out.extend(std::iter::repeat_n(if zero { '0' } else { ' ' }, pad));
                    out.push_str(&body);
                }
            }
            _ => out.push_str(&body),
        }
    }
    for extra in next {
        out.push_str(&format!("%!(EXTRA {})", text(extra)));
    }
    out
}

/// Calls a template function (the pipeline's value, if any, is the last argument).
pub(super) fn call(name: &str, args: Vec<Json>) -> Result<Json, String> {
    let s = |i: usize| str_arg(&args, i);
    let last = || args.last().cloned().unwrap_or(Json::Null);
    Ok(match name {
        "toJson" | "toRawJson" | "mustToJson" => {
            want(&args, 1)?;
            Json::String(serde_json::to_string(&args[0]).map_err(|e| e.to_string())?)
        }
        "toPrettyJson" | "mustToPrettyJson" => {
            want(&args, 1)?;
            Json::String(serde_json::to_string_pretty(&args[0]).map_err(|e| e.to_string())?)
        }
        "toString" => {
            want(&args, 1)?;
            Json::String(s(0))
        }
        "lower" => {
            want(&args, 1)?;
            Json::String(s(0).to_lowercase())
        }
        "upper" => {
            want(&args, 1)?;
            Json::String(s(0).to_uppercase())
        }
        "title" => {
            want(&args, 1)?;
            let t = s(0);
            let mut out = String::with_capacity(t.len());
            let mut start = true;
            for c in t.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c.is_whitespace();
            }
            Json::String(out)
        }
        "trim" => {
            want(&args, 1)?;
            Json::String(s(0).trim().to_string())
        }
        "trimPrefix" => {
            want(&args, 2)?;
            let (p, t) = (s(0), s(1));
            Json::String(t.strip_prefix(p.as_str()).unwrap_or(&t).to_string())
        }
        "trimSuffix" => {
            want(&args, 2)?;
            let (p, t) = (s(0), s(1));
            Json::String(t.strip_suffix(p.as_str()).unwrap_or(&t).to_string())
        }
        "replace" => {
            want(&args, 3)?;
            Json::String(s(2).replace(&s(0), &s(1)))
        }
        "contains" => {
            want(&args, 2)?;
            Json::Bool(s(1).contains(&s(0)))
        }
        "hasPrefix" => {
            want(&args, 2)?;
            Json::Bool(s(1).starts_with(&s(0)))
        }
        "hasSuffix" => {
            want(&args, 2)?;
            Json::Bool(s(1).ends_with(&s(0)))
        }
        "quote" => Json::String(
            args.iter()
                .map(|a| serde_json::to_string(&text(a)).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "squote" => Json::String(
            args.iter()
                .map(|a| format!("'{}'", text(a)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "join" => {
            want(&args, 2)?;
            let sep = s(0);
            match &args[1] {
                Json::Array(a) => Json::String(a.iter().map(text).collect::<Vec<_>>().join(&sep)),
                Json::Null => Json::String(String::new()),
                other => Json::String(text(other)),
            }
        }
        "default" => {
            want(&args, 2)?;
            if truth(&args[1]) {
                args[1].clone()
            } else {
                args[0].clone()
            }
        }
        "empty" => {
            want(&args, 1)?;
            Json::Bool(!truth(&args[0]))
        }
        "coalesce" => args
            .iter()
            .find(|a| truth(a))
            .cloned()
            .unwrap_or(Json::Null),
        "len" => {
            want(&args, 1)?;
            Json::from(match &args[0] {
                Json::String(t) => t.len(),
                Json::Array(a) => a.len(),
                Json::Object(m) => m.len(),
                Json::Null => 0,
                other => return Err(format!("len of {}", kind(other))),
            })
        }
        "index" => {
            let mut cur = args.first().cloned().ok_or("wrong number of args")?;
            for k in &args[1..] {
                cur = match (&cur, k) {
                    (Json::Array(a), Json::Number(n)) => {
                        let i = n.as_u64().ok_or("index out of range")?;
                        a.get(usize::try_from(i).unwrap_or(usize::MAX))
                            .cloned()
                            .ok_or_else(|| format!("index out of range: {i}"))?
                    }
                    (Json::Object(m), Json::String(key)) => {
                        m.get(key).cloned().unwrap_or(Json::Null)
                    }
                    (Json::Null, _) => Json::Null,
                    (c, _) => return Err(format!("can't index item of type {}", kind(c))),
                };
            }
            cur
        }
        "printf" => {
            let format = s(0);
            Json::String(printf(&format, args.get(1..).unwrap_or_default()))
        }
        "print" => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                let both_text = i > 0 && !args[i - 1].is_string() && !a.is_string();
                if both_text {
                    out.push(' ');
                }
                print(a, &mut out);
            }
            Json::String(out)
        }
        "println" => Json::String(format!(
            "{}\n",
            args.iter().map(text).collect::<Vec<_>>().join(" ")
        )),
        "eq" => {
            let first = args.first().ok_or("missing argument for comparison")?;
            Json::Bool(args[1..].iter().any(|b| equal(first, b)))
        }
        "ne" => {
            want(&args, 2)?;
            Json::Bool(!equal(&args[0], &args[1]))
        }
        "lt" | "le" | "gt" | "ge" => {
            want(&args, 2)?;
            let o = compare(&args[0], &args[1])?;
            Json::Bool(match name {
                "lt" => o == Ordering::Less,
                "le" => o != Ordering::Greater,
                "gt" => o == Ordering::Greater,
                _ => o != Ordering::Less,
            })
        }
        "and" => args
            .iter()
            .find(|a| !truth(a))
            .cloned()
            .unwrap_or_else(last),
        "or" => args.iter().find(|a| truth(a)).cloned().unwrap_or_else(last),
        "not" => {
            want(&args, 1)?;
            Json::Bool(!truth(&args[0]))
        }
        "add" => int_result(args.iter().map(num).sum::<Result<f64, _>>()?),
        "sub" => {
            want(&args, 2)?;
            int_result(num(&args[0])? - num(&args[1])?)
        }
        "mul" => int_result(args.iter().map(num).product::<Result<f64, _>>()?),
        "html" | "HTMLEscape" => {
            want(&args, 1)?;
            Json::String(html_escape(&s(0)))
        }
        "urlquery" => Json::String(url_query_escape(
            &args.iter().map(text).collect::<Vec<_>>().join(""),
        )),
        "GetMeta" => {
            want(&args, 2)?;
            get_meta(&args[0], &s(1))
        }
        "Hostname" => {
            want(&args, 0)?;
            Json::String(hostname())
        }
        _ => return Err(format!("function {name:?} not defined")),
    })
}
