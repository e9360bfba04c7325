//! The tokenizer, following expr-lang's lexer: single- and double-quoted strings with Go-style
//! backslash escapes (an unknown escape is an error, as in expr), backquoted raw strings,
//! decimal/hex/octal/binary integers with `_` separators, floats with exponents, `#` pointers,
//! `//` and `/* */` comments, and the operator set (`?.`, `??`, `..`, `**`, ...). Word
//! operators (`and`, `not`, `in`, `matches`, ...) come out as identifiers; the parser knows them.

use crate::error::CompileError;

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: usize,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// `#` (empty name) or `#index`, `#acc`.
    Pointer(String),
    /// Punctuation and symbolic operators: `( ) [ ] { } , : ; . ?. ? ?? + - * / % ** ^ == != < > <= >= ! && || .. |`.
    Op(&'static str),
    Eof,
}

const OPS: &[&str] = &[
    "?.", "??", "**", "==", "!=", "<=", ">=", "&&", "||", "..", "(", ")", "[", "]", "{", "}", ",",
    ":", ";", ".", "?", "+", "-", "*", "/", "%", "^", "<", ">", "!", "|", "=",
];

/// Splits `src` into tokens, the last one being `Eof`.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, CompileError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        // comments
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            match src[i + 2..].find("*/") {
                Some(end) => {
                    i = i + 2 + end + 2;
                    continue;
                }
                None => return Err(CompileError::at(src, start, "unclosed comment")),
            }
        }
        if c == b'\'' || c == b'"' {
            let (s, next) = scan_string(src, i)?;
            out.push(Token {
                kind: Tok::Str(s),
                pos: start,
            });
            i = next;
            continue;
        }
        if c == b'`' {
            match src[i + 1..].find('`') {
                Some(end) => {
                    let raw = &src[i + 1..i + 1 + end];
                    out.push(Token {
                        kind: Tok::Str(raw.replace("\r\n", "\n").replace('\r', "\n")),
                        pos: start,
                    });
                    i = i + 1 + end + 1;
                    continue;
                }
                None => return Err(CompileError::at(src, start, "literal not terminated")),
            }
        }
        if c.is_ascii_digit()
            || (c == b'.'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !prev_is_value(&out))
        {
            let (tok, next) = scan_number(src, i)?;
            out.push(Token {
                kind: tok,
                pos: start,
            });
            i = next;
            continue;
        }
        if c == b'#' {
            i += 1;
            let name_start = i;
            while i < bytes.len() && is_ident_byte(bytes[i]) {
                i += 1;
            }
            out.push(Token {
                kind: Tok::Pointer(src[name_start..i].to_string()),
                pos: start,
            });
            continue;
        }
        if is_ident_start(src, i) {
            while i < bytes.len() && (is_ident_byte(bytes[i]) || bytes[i] >= 0x80) {
                if bytes[i] >= 0x80 {
                    let ch = src[i..].chars().next().unwrap_or(' ');
                    if !ch.is_alphanumeric() {
                        break;
                    }
                    i += ch.len_utf8();
                } else {
                    i += 1;
                }
            }
            out.push(Token {
                kind: Tok::Ident(src[start..i].to_string()),
                pos: start,
            });
            continue;
        }
        // `?.` followed by a digit is a ternary with a float (`a ?.5 : 1`)
        let mut matched = None;
        for op in OPS {
            if src[i..].starts_with(op) {
                if *op == "?." && bytes.get(i + 2).is_some_and(u8::is_ascii_digit) {
                    continue;
                }
                matched = Some(*op);
                break;
            }
        }
        match matched {
            Some(op) => {
                out.push(Token {
                    kind: Tok::Op(op),
                    pos: start,
                });
                i += op.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(CompileError::at(
                    src,
                    start,
                    format!("unrecognized character: U+{:04X} '{}'", ch as u32, ch),
                ));
            }
        }
    }
    out.push(Token {
        kind: Tok::Eof,
        pos: src.len(),
    });
    Ok(out)
}

fn prev_is_value(out: &[Token]) -> bool {
    matches!(
        out.last().map(|t| &t.kind),
        Some(
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Str(_)
                | Tok::Pointer(_)
                | Tok::Op(")" | "]" | "}")
        )
    )
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn is_ident_start(src: &str, i: usize) -> bool {
    let b = src.as_bytes()[i];
    if b.is_ascii_alphabetic() || b == b'_' || b == b'$' {
        return true;
    }
    b >= 0x80 && src[i..].chars().next().is_some_and(char::is_alphabetic)
}

fn scan_number(src: &str, start: usize) -> Result<(Tok, usize), CompileError> {
    let bytes = src.as_bytes();
    let mut i = start;
    let radix_prefix = if bytes[i] == b'0' {
        match bytes.get(i + 1) {
            Some(b'x' | b'X') => Some(16),
            Some(b'o' | b'O') => Some(8),
            Some(b'b' | b'B') => Some(2),
            _ => None,
        }
    } else {
        None
    };
    if let Some(radix) = radix_prefix {
        i += 2;
        let digits_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let digits: String = src[digits_start..i].chars().filter(|c| *c != '_').collect();
        return match i64::from_str_radix(&digits, radix) {
            Ok(v) => Ok((Tok::Int(v), i)),
            Err(_) => Err(CompileError::at(
                src,
                start,
                format!("invalid number: {}", &src[start..i]),
            )),
        };
    }
    let mut is_float = false;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
        i += 1;
    }
    // a fraction, but not the `..` range operator nor a member access like `1.foo`
    if i < bytes.len() && bytes[i] == b'.' && bytes.get(i + 1) != Some(&b'.') {
        let after = bytes.get(i + 1);
        if after.is_none_or(|b| b.is_ascii_digit() || !(b.is_ascii_alphabetic() || *b == b'_')) {
            is_float = true;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            is_float = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
        let mut j = i;
        while j < bytes.len() && is_ident_byte(bytes[j]) {
            j += 1;
        }
        return Err(CompileError::at(
            src,
            start,
            format!("invalid number: {}", &src[start..j]),
        ));
    }
    let text: String = src[start..i].chars().filter(|c| *c != '_').collect();
    if !is_float {
        if let Ok(v) = text.parse::<i64>() {
            return Ok((Tok::Int(v), i));
        }
    }
    match text.parse::<f64>() {
        Ok(v) => Ok((Tok::Float(v), i)),
        Err(_) => Err(CompileError::at(
            src,
            start,
            format!("invalid number: {text}"),
        )),
    }
}

/// Scans a quoted string starting at `start` (on the quote); returns the unescaped text and
/// the offset after the closing quote.
fn scan_string(src: &str, start: usize) -> Result<(String, usize), CompileError> {
    let bytes = src.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    let mut out = String::new();
    loop {
        if i >= bytes.len() {
            return Err(CompileError::at(src, start, "literal not terminated"));
        }
        let b = bytes[i];
        if b == quote {
            return Ok((out, i + 1));
        }
        if b == b'\r' {
            out.push('\n');
            i += if bytes.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            continue;
        }
        if b != b'\\' {
            let ch = src[i..].chars().next().unwrap_or('\u{FFFD}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let esc_pos = i;
        let Some(&e) = bytes.get(i + 1) else {
            return Err(CompileError::at(src, start, "literal not terminated"));
        };
        i += 2;
        let bad = || CompileError::at(src, esc_pos, "unable to unescape string");
        match e {
            b'a' => out.push('\u{07}'),
            b'b' => out.push('\u{08}'),
            b'f' => out.push('\u{0C}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'v' => out.push('\u{0B}'),
            b'\\' => out.push('\\'),
            b'\'' => out.push('\''),
            b'"' => out.push('"'),
            b'`' => out.push('`'),
            b'?' => out.push('?'),
            b'x' | b'X' | b'u' | b'U' => {
                let v = if e == b'u' && bytes.get(i) == Some(&b'{') {
                    let close = src[i..].find('}').ok_or_else(bad)?;
                    let hex = &src[i + 1..i + close];
                    if hex.is_empty() || hex.len() > 6 {
                        return Err(bad());
                    }
                    i += close + 1;
                    u32::from_str_radix(hex, 16).map_err(|_| bad())?
                } else {
                    let n = match e {
                        b'x' | b'X' => 2,
                        b'u' => 4,
                        _ => 8,
                    };
                    let hex = src.get(i..i + n).ok_or_else(bad)?;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(bad());
                    }
                    i += n;
                    u32::from_str_radix(hex, 16).map_err(|_| bad())?
                };
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            b'0'..=b'3' => {
                let d = src.get(i..i + 2).ok_or_else(bad)?;
                if !d.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                    return Err(bad());
                }
                let v = u32::from(e - b'0') * 64
                    + u32::from(d.as_bytes()[0] - b'0') * 8
                    + u32::from(d.as_bytes()[1] - b'0');
                i += 2;
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_strings_and_operators() {
        assert_eq!(
            kinds("1_000 0x1F 1.5 2e3 'a\\n' \"b\\x41\" a?.b ?? c"),
            vec![
                Tok::Int(1000),
                Tok::Int(31),
                Tok::Float(1.5),
                Tok::Float(2000.0),
                Tok::Str("a\n".into()),
                Tok::Str("bA".into()),
                Tok::Ident("a".into()),
                Tok::Op("?."),
                Tok::Ident("b".into()),
                Tok::Op("??"),
                Tok::Ident("c".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("1..3")[..3],
            [Tok::Int(1), Tok::Op(".."), Tok::Int(3)]
        );
        assert_eq!(
            kinds("#index #")[..2],
            [Tok::Pointer("index".into()), Tok::Pointer(String::new())]
        );
        assert_eq!(kinds("a // c\n /* x */ b").len(), 3);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for s in [
            "'abc",
            "'\\d'",
            "\"\\x4\"",
            "1abc",
            "@",
            "/* x",
            "'\\",
            "`x",
            "'\\u{110000}'",
            "é",
        ] {
            assert!(tokenize(s).is_err() || s == "é", "{s}");
        }
        assert!(tokenize("'\u{0}'").is_ok());
    }
}
