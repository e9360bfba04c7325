//! Go `regexp` (RE2) patterns on the Rust `regex` crate. The syntax is the same family; what
//! differs is rewritten before compiling: `\d \w \s \b` (and their negations) are ASCII-only in
//! Go, `\Q...\E` quotes literally, a `{` that does not open a repetition is a literal, and
//! inside a class `[` (unless it opens `[:alpha:]`), `&` and `~` are literals in Go but
//! set-operation syntax in Rust.

use regex::{Regex, RegexBuilder};

fn is_repetition(rest: &str) -> bool {
    // rest starts after '{'
    let Some(end) = rest.find('}') else {
        return false;
    };
    let body = &rest[..end];
    let (min, max) = match body.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    !min.is_empty()
        && min.bytes().all(|b| b.is_ascii_digit())
        && max.is_none_or(|m| m.bytes().all(|b| b.is_ascii_digit()))
}

/// Rewrites a Go pattern into an equivalent Rust pattern.
pub(crate) fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut class_start = false;
    let mut it = pattern.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                let Some((_, e)) = it.next() else {
                    out.push_str("\\\\");
                    break;
                };
                class_start = false;
                match e {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    's' => out.push_str("[\\t\\n\\f\\r ]"),
                    'S' => out.push_str("[^\\t\\n\\f\\r ]"),
                    'b' if !in_class => out.push_str("(?-u:\\b)"),
                    'B' if !in_class => out.push_str("(?-u:\\B)"),
                    'Q' => {
                        let rest = &pattern[i + 2..];
                        let (lit, skip) = match rest.find("\\E") {
                            Some(end) => (&rest[..end], end + 2),
                            None => (rest, rest.len()),
                        };
                        out.push_str(&regex::escape(lit));
                        let stop = i + 2 + skip;
                        while it.peek().is_some_and(|(j, _)| *j < stop) {
                            it.next();
                        }
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if let Some((_, '^')) = it.peek() {
                    it.next();
                    out.push('^');
                }
            }
            '[' => {
                if pattern[i..].starts_with("[:") {
                    if let Some(end) = pattern[i..].find(":]") {
                        out.push_str(&pattern[i..i + end + 2]);
                        let stop = i + end + 2;
                        while it.peek().is_some_and(|(j, _)| *j < stop) {
                            it.next();
                        }
                        class_start = false;
                        continue;
                    }
                }
                out.push_str("\\[");
                class_start = false;
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
                class_start = false;
            }
            '{' if !in_class && !is_repetition(&pattern[i + 1..]) => out.push_str("\\{"),
            _ => {
                out.push(c);
                class_start = false;
            }
        }
    }
    out
}

/// Compiles a Go pattern; the error text is the compiler's.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&translate(pattern))
        .size_limit(64 << 20)
        .dfa_size_limit(16 << 20)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let last = text.lines().last().unwrap_or("invalid pattern");
            format!(
                "error parsing regexp: {}",
                last.trim_start_matches("error: ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_semantics() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"), "\\d is ASCII in Go");
        assert!(compile(r"\bfoo\b").unwrap().is_match("a foo b"));
        assert!(compile(r"a{").unwrap().is_match("a{"));
        assert!(compile(r"a{2}").unwrap().is_match("aa"));
        assert!(compile(r"[a[]").unwrap().is_match("["));
        assert!(compile(r"[[:alpha:]]+").unwrap().is_match("abc"));
        assert!(compile(r"[a&&b]").unwrap().is_match("&"));
        assert!(compile(r"\Qa.b\E").unwrap().is_match("a.b"));
        assert!(!compile(r"\Qa.b\E").unwrap().is_match("axb"));
        assert!(compile(r"[\d-]+").unwrap().is_match("1-2"));
        assert!(compile(r"(?i)get").unwrap().is_match("GET"));
        assert!(compile(r"[]a]").unwrap().is_match("]"));
        assert!(compile("(").is_err());
        assert!(compile("\\").is_ok() || compile("\\").is_err());
    }
}
