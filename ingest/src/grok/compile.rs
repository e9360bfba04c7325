//! Grok expansion and the rewrite of Go/RE2 regex syntax for the Rust regex engine.
//!
//! Two steps turn a grok pattern into something the `regex-automata` engine runs:
//!
//! 1. [`expand`] replaces every `%{NAME}` / `%{NAME:field}` reference by `(` + the referenced
//!    definition (itself already expanded) + `)`, and computes grokky's `field → group index` map.
//!    The arithmetic is grokky's, quirks included (see [`grokky_cap_count`]), so that a field reads
//!    the same group it reads in CrowdSec.
//! 2. [`rewrite`] reads the expanded text with Go's `regexp/syntax` rules and writes an equivalent
//!    `regex-syntax` pattern: `{` that does not open a repetition becomes a literal, `\d \w \s \b`
//!    become their ASCII (RE2) meaning, character classes are re-emitted with every literal
//!    escaped (Rust reads `[[`, `&&`, `--`, `~~` inside a class as set syntax, Go does not), octal
//!    escapes and `\Q…\E` become plain literals. It also turns the capture groups nobody reads into
//!    non-capturing groups, which makes capture extraction much cheaper.

use std::collections::HashSet;

/// A grok pattern (or definition) with its references expanded, in Go regex syntax.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expanded {
    /// The regex, in Go syntax, references replaced by groups.
    pub regex: String,
    /// grokky's semantic map: field name → capture group index (in `regex`, Go numbering).
    /// The index comes from grokky's arithmetic; it may be 0 (whole match) or out of range.
    pub fields: Vec<(String, i64)>,
    /// Number of capture groups in `regex` (Go's `NumSubexp`).
    pub groups: usize,
}

/// Why an expansion failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `%{name}` names no known pattern.
    Unknown(String),
    /// The expanded text is not a valid (Go) regex.
    Syntax(String),
}

/// One `%{NAME}` or `%{NAME:field}` reference, as grokky's `%\{(\w+)(:(\w+))?}` finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reference<'a> {
    /// Byte offset of the `%`.
    pub start: usize,
    /// Byte offset just past the `}`.
    pub end: usize,
    /// The pattern name.
    pub name: &'a str,
    /// The semantic (field) name, if any.
    pub field: Option<&'a str>,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() && is_word_byte(bytes[i]) {
        i += 1;
    }
    i
}

/// Every reference in `pattern`, leftmost first, non-overlapping (Go `FindAllString`).
///
/// Anything else that looks like a reference (`%{NAME:field:int}`, `%{IP:src-ip}`) is not one and
/// stays literal text.
pub(crate) fn references(pattern: &str) -> Vec<Reference<'_>> {
    let bytes = pattern.as_bytes();
    let mut refs = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'%' || bytes[i + 1] != b'{' {
            i += 1;
            continue;
        }
        let name_end = word_end(bytes, i + 2);
        if name_end == i + 2 {
            i += 1;
            continue;
        }
        let name = &pattern[i + 2..name_end];
        match bytes.get(name_end) {
            Some(b'}') => {
                refs.push(Reference {
                    start: i,
                    end: name_end + 1,
                    name,
                    field: None,
                });
                i = name_end + 1;
            }
            Some(b':') => {
                let field_end = word_end(bytes, name_end + 1);
                if field_end > name_end + 1 && bytes.get(field_end) == Some(&b'}') {
                    let field = &pattern[name_end + 1..field_end];
                    refs.push(Reference {
                        start: i,
                        end: field_end + 1,
                        name,
                        field: Some(field),
                    });
                    i = field_end + 1;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    refs
}

/// grokky's count of the capture groups opened by a literal stretch of a pattern (`capCount`).
///
/// grokky does not parse the text between two references: it counts `(`, then subtracts the
/// matches of `\(\?[imsU\-]*\:` and of `\(?[imsU\-]+\)` and the occurrences of `\(`. This is wrong
/// for some texts (a `-)` closing an alternation, a `(` inside a class, `\\(`), and the group
/// indices of the fields that follow are then off. CrowdSec runs with those indices, so this is
/// reproduced exactly; Palisade's own patterns are checked to never hit the difference.
pub(crate) fn grokky_cap_count(text: &str) -> i64 {
    let b = text.as_bytes();
    let is_flag = |c: u8| matches!(c, b'i' | b'm' | b's' | b'U' | b'-');
    let left_parens = b.iter().filter(|&&c| c == b'(').count() as i64;

    // `\(\?[imsU\-]*\:`
    let mut non_cap_left = 0i64;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'(' && b.get(i + 1) == Some(&b'?') {
            let mut j = i + 2;
            while j < b.len() && is_flag(b[j]) {
                j += 1;
            }
            if b.get(j) == Some(&b':') {
                non_cap_left += 1;
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }

    // `\(?[imsU\-]+\)`, leftmost-first, non-overlapping.
    let mut non_cap_flags = 0i64;
    let mut i = 0;
    while i < b.len() {
        let run_from = if b[i] == b'(' { i + 1 } else { i };
        let mut j = run_from;
        while j < b.len() && is_flag(b[j]) {
            j += 1;
        }
        if j > run_from && b.get(j) == Some(&b')') {
            non_cap_flags += 1;
            i = j + 1;
            continue;
        }
        i += 1;
    }

    let escaped = text.matches("\\(").count() as i64;
    left_parens - non_cap_left - non_cap_flags - escaped
}

/// Expands `pattern` the way grokky's `compileExternal` does.
///
/// `lookup` returns the expansion of an already defined pattern.
pub(crate) fn expand<'l>(
    pattern: &str,
    lookup: impl Fn(&str) -> Option<&'l Expanded>,
) -> Result<Expanded, ExpandError> {
    let refs = references(pattern);
    // Every referenced name must exist before anything is built.
    let mut subs = Vec::with_capacity(refs.len());
    for r in &refs {
        match lookup(r.name) {
            Some(sub) => subs.push(sub),
            None => return Err(ExpandError::Unknown(r.name.to_string())),
        }
    }
    if refs.is_empty() {
        let groups = rewrite(pattern, &|_| true)
            .map_err(ExpandError::Syntax)?
            .groups;
        return Ok(Expanded {
            regex: pattern.to_string(),
            fields: Vec::new(),
            groups,
        });
    }
    // The semantic names used at top level ("" for references without one).
    let top_level: HashSet<&str> = refs.iter().map(|r| r.field.unwrap_or("")).collect();

    let extra: usize = subs.iter().map(|s| s.regex.len() + 2).sum();
    let mut regex = String::with_capacity(pattern.len() + extra);
    let mut fields: Vec<(String, i64)> = Vec::new();
    let set = |fields: &mut Vec<(String, i64)>, name: &str, index: i64| match fields
        .iter_mut()
        .find(|(n, _)| n == name)
    {
        Some(slot) => slot.1 = index,
        None => fields.push((name.to_string(), index)),
    };
    let mut order: i64 = 1;
    let mut last = 0;
    for (r, sub) in refs.iter().zip(&subs) {
        let literal = &pattern[last..r.start];
        order += grokky_cap_count(literal);
        regex.push_str(literal);
        regex.push('(');
        regex.push_str(&sub.regex);
        regex.push(')');
        if let Some(field) = r.field {
            set(&mut fields, field, order);
        }
        for (name, index) in &sub.fields {
            if !top_level.contains(name.as_str()) {
                set(&mut fields, name, order + index);
            }
        }
        order += sub.groups as i64 + 1;
        last = r.end;
    }
    regex.push_str(&pattern[last..]);
    let groups = rewrite(&regex, &|_| true)
        .map_err(ExpandError::Syntax)?
        .groups;
    Ok(Expanded {
        regex,
        fields,
        groups,
    })
}

/// The result of [`rewrite`].
#[derive(Debug, Clone)]
pub(crate) struct Rewritten {
    /// The pattern in `regex-syntax` syntax.
    pub regex: String,
    /// Number of capture groups in the Go pattern.
    pub groups: usize,
    /// For each Go group index (0 = whole match), its index in `regex`, if kept.
    pub group_map: Vec<Option<usize>>,
}

/// Reads `src` as a Go `regexp/syntax` (Perl flags) pattern and writes the equivalent pattern for
/// `regex-syntax` (Unicode mode), keeping as capture groups only the Go groups for which `keep`
/// returns true (the others become `(?:…)`).
///
/// Errors are the syntax errors Go reports (for the constructs this rewrite has to understand);
/// anything it passes through unchanged is checked later by `regex-syntax`.
pub(crate) fn rewrite(src: &str, keep: &dyn Fn(usize) -> bool) -> Result<Rewritten, String> {
    let mut w = Writer {
        cur: Cursor { s: src, pos: 0 },
        out: String::with_capacity(src.len() + src.len() / 4),
        groups: 0,
        group_map: vec![Some(0)],
        kept: 0,
        keep,
    };
    w.run()?;
    Ok(Rewritten {
        regex: w.out,
        groups: w.groups,
        group_map: w.group_map,
    })
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn advance(&mut self, bytes: usize) {
        self.pos += bytes;
    }
}

struct Writer<'a, 'k> {
    cur: Cursor<'a>,
    out: String,
    groups: usize,
    group_map: Vec<Option<usize>>,
    kept: usize,
    keep: &'k dyn Fn(usize) -> bool,
}

/// The Go (RE2) meaning of `\d \w \s`, as class items and as whole classes.
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x0C\\r ";

fn perl_class(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some((DIGIT, false)),
        'D' => Some((DIGIT, true)),
        'w' => Some((WORD, false)),
        'W' => Some((WORD, true)),
        's' => Some((SPACE, false)),
        'S' => Some((SPACE, true)),
        _ => None,
    }
}

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Writes `c` as a literal, escaped where `regex-syntax` would read it as syntax.
fn push_literal(out: &mut String, c: char) {
    if regex_syntax::is_meta_character(c) || c == ':' {
        out.push('\\');
        out.push(c);
    } else if c.is_control() || (c.is_whitespace() && c != ' ') {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// Go's `parseRepeat` on the text after a `{`: the length of `n}`, `n,}` or `n,m}` (including the
/// `}`) if it is a valid repetition, with its bounds. Numbers with a leading zero make it a
/// literal, as in Go.
fn parse_repeat(s: &str) -> Option<(usize, i64, i64)> {
    fn int(s: &[u8], at: usize) -> Option<(i64, usize)> {
        let mut i = at;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == at || (i - at >= 2 && s[at] == b'0') {
            return None;
        }
        // Go stops at 8 digits (the value then counts as too large).
        let digits = &s[at..i];
        let value = if digits.len() > 8 {
            i64::MAX
        } else {
            digits
                .iter()
                .fold(0i64, |v, d| v * 10 + i64::from(d - b'0'))
        };
        Some((value, i))
    }
    let b = s.as_bytes();
    let (min, i) = int(b, 0)?;
    match b.get(i)? {
        b'}' => Some((i + 1, min, min)),
        b',' => match b.get(i + 1)? {
            b'}' => Some((i + 2, min, -1)),
            _ => {
                let (max, j) = int(b, i + 1)?;
                (b.get(j) == Some(&b'}')).then_some((j + 1, min, max))
            }
        },
        _ => None,
    }
}

impl Writer<'_, '_> {
    fn run(&mut self) -> Result<(), String> {
        while let Some(c) = self.cur.bump() {
            match c {
                '\\' => self.escape()?,
                '[' => self.class()?,
                '(' => self.group()?,
                '{' => match parse_repeat(self.cur.rest()) {
                    Some((len, min, max)) => {
                        if min > 1000 || max > 1000 || (max >= 0 && min > max) {
                            return Err(format!(
                                "invalid repeat count: `{{{}`",
                                &self.cur.rest()[..len]
                            ));
                        }
                        self.out.push('{');
                        self.out.push_str(&self.cur.rest()[..len]);
                        self.cur.advance(len);
                    }
                    None => self.out.push_str("\\{"),
                },
                '}' => self.out.push_str("\\}"),
                ']' => self.out.push_str("\\]"),
                _ => self.out.push(c),
            }
        }
        Ok(())
    }

    fn open_capture(&mut self) {
        self.groups += 1;
        if (self.keep)(self.groups) {
            self.kept += 1;
            self.group_map.push(Some(self.kept));
            self.out.push('(');
        } else {
            self.group_map.push(None);
            self.out.push_str("(?:");
        }
    }

    fn group(&mut self) -> Result<(), String> {
        if !self.cur.eat('?') {
            self.open_capture();
            return Ok(());
        }
        let rest = self.cur.rest();
        let named = if rest.starts_with("P<") {
            Some(2)
        } else if rest.starts_with('<') {
            Some(1)
        } else {
            None
        };
        if let Some(skip) = named {
            let after = &rest[skip..];
            let end = after.find('>').ok_or("invalid named capture")?;
            let name = &after[..end];
            if name.is_empty() || !name.bytes().all(is_word_byte) {
                return Err(format!(
                    "invalid named capture: `(?{}`",
                    &rest[..skip + end + 1]
                ));
            }
            self.cur.advance(skip + end + 1);
            self.open_capture();
            return Ok(());
        }
        // Flags: (?flags) or (?flags:re), Go knows i, m, s, U.
        self.out.push_str("(?");
        loop {
            match self.cur.bump() {
                Some(c @ ('i' | 'm' | 's' | 'U' | '-')) => self.out.push(c),
                Some(c @ (':' | ')')) => {
                    self.out.push(c);
                    return Ok(());
                }
                _ => return Err("invalid or unsupported Perl syntax after `(?`".to_string()),
            }
        }
    }

    /// An escape outside a class (the `\` is consumed).
    fn escape(&mut self) -> Result<(), String> {
        let Some(c) = self.cur.bump() else {
            return Err("trailing backslash at end of expression".to_string());
        };
        if let Some((set, negated)) = perl_class(c) {
            self.out.push_str(if negated { "[^" } else { "[" });
            self.out.push_str(set);
            self.out.push(']');
            return Ok(());
        }
        match c {
            'b' => self.out.push_str("(?-u:\\b)"),
            'B' => self.out.push_str("(?-u:\\B)"),
            'A' => self.out.push_str("\\A"),
            'z' => self.out.push_str("\\z"),
            'p' | 'P' => self.unicode_class(c)?,
            'Q' => {
                let rest = self.cur.rest();
                let (literal, len) = match rest.find("\\E") {
                    Some(i) => (&rest[..i], i + 2),
                    None => (rest, rest.len()),
                };
                for ch in literal.chars() {
                    push_literal(&mut self.out, ch);
                }
                self.cur.advance(len);
            }
            _ => {
                let ch = self.escaped_char(c)?;
                push_literal(&mut self.out, ch);
            }
        }
        Ok(())
    }

    /// `\p…` / `\P…` (the letter is consumed): copied as is.
    fn unicode_class(&mut self, letter: char) -> Result<(), String> {
        self.out.push('\\');
        self.out.push(letter);
        match self.cur.bump() {
            Some('{') => {
                let rest = self.cur.rest();
                let end = rest
                    .find('}')
                    .ok_or("invalid character class range: missing `}`")?;
                self.out.push('{');
                self.out.push_str(&rest[..=end]);
                self.cur.advance(end + 1);
            }
            Some(c) => self.out.push(c),
            None => return Err("invalid character class: `\\p` at end".to_string()),
        }
        Ok(())
    }

    /// The character denoted by the escape `\c…` (Go `parseEscape`; `c` is consumed).
    fn escaped_char(&mut self, c: char) -> Result<char, String> {
        match c {
            '1'..='7' | '0' => {
                let is_octal = |ch: Option<char>| matches!(ch, Some('0'..='7'));
                if c != '0' && !is_octal(self.cur.peek()) {
                    return Err(format!(
                        "invalid escape sequence `\\{c}` (backreferences are not supported)"
                    ));
                }
                let mut value = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.cur.peek() {
                        Some(d @ '0'..='7') => {
                            value = value * 8 + (d as u32 - '0' as u32);
                            self.cur.bump();
                        }
                        _ => break,
                    }
                }
                char::from_u32(value).ok_or_else(|| "invalid octal escape".to_string())
            }
            'x' => {
                let rest = self.cur.rest();
                let (digits, len) = if let Some(body) = rest.strip_prefix('{') {
                    let end = body.find('}').ok_or("invalid escape sequence `\\x{`")?;
                    (&body[..end], end + 2)
                } else {
                    let end = rest.char_indices().nth(2).map_or(rest.len(), |(i, _)| i);
                    if rest[..end].chars().count() < 2 {
                        return Err("invalid escape sequence `\\x`".to_string());
                    }
                    (&rest[..end], end)
                };
                let value = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    u32::from_str_radix(digits, 16)
                        .ok()
                        .and_then(char::from_u32)
                } else {
                    None
                };
                let value =
                    value.ok_or_else(|| format!("invalid escape sequence `\\x{digits}`"))?;
                self.cur.advance(len);
                Ok(value)
            }
            'a' => Ok('\x07'),
            'f' => Ok('\x0C'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\x0B'),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            c => Err(format!("invalid escape sequence `\\{c}`")),
        }
    }

    /// A character class (the `[` is consumed), re-emitted with every literal escaped.
    fn class(&mut self) -> Result<(), String> {
        self.out.push('[');
        if self.cur.eat('^') {
            self.out.push('^');
        }
        let mut first = true;
        loop {
            let rest = self.cur.rest();
            match rest.chars().next() {
                None => return Err("missing closing ]".to_string()),
                Some(']') if !first => {
                    self.cur.bump();
                    break;
                }
                _ => {}
            }
            first = false;
            if let Some(after) = rest.strip_prefix("[:") {
                if let Some(end) = after.find(":]") {
                    let name = &after[..end];
                    let bare = name.strip_prefix('^').unwrap_or(name);
                    if !POSIX_CLASSES.contains(&bare) {
                        return Err(format!("invalid character class range: `[:{name}:]`"));
                    }
                    self.out.push_str(&rest[..end + 4]);
                    self.cur.advance(end + 4);
                    continue;
                }
            }
            let mut chars = rest.chars();
            if chars.next() == Some('\\') {
                match chars.next() {
                    Some(p) if perl_class(p).is_some() => {
                        let (set, negated) = perl_class(p).unwrap_or((DIGIT, false));
                        if negated {
                            self.out.push_str("[^");
                            self.out.push_str(set);
                            self.out.push(']');
                        } else {
                            self.out.push_str(set);
                        }
                        self.cur.advance(2);
                        continue;
                    }
                    Some(p @ ('p' | 'P')) => {
                        self.cur.advance(2);
                        self.unicode_class(p)?;
                        continue;
                    }
                    _ => {}
                }
            }
            let lo = self.class_char()?;
            let rest = self.cur.rest().as_bytes();
            if rest.len() >= 2 && rest[0] == b'-' && rest[1] != b']' {
                self.cur.advance(1);
                let hi = self.class_char()?;
                if hi < lo {
                    return Err(format!("invalid character class range: `{lo}-{hi}`"));
                }
                push_literal(&mut self.out, lo);
                self.out.push('-');
                push_literal(&mut self.out, hi);
            } else {
                push_literal(&mut self.out, lo);
            }
        }
        self.out.push(']');
        Ok(())
    }

    fn class_char(&mut self) -> Result<char, String> {
        match self.cur.bump() {
            None => Err("missing closing ]".to_string()),
            Some('\\') => match self.cur.bump() {
                None => Err("trailing backslash at end of expression".to_string()),
                Some(c) => self.escaped_char(c),
            },
            Some(c) => Ok(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite(s, &|_| true).unwrap().regex
    }

    #[test]
    fn grok_references_follow_grokky_regex() {
        let refs = references("%{A} %{B:b} %{C:c:int} %{IP:src-ip} %{} %{%{D}} %{E:}");
        let names: Vec<_> = refs.iter().map(|r| (r.name, r.field)).collect();
        assert_eq!(names, vec![("A", None), ("B", Some("b")), ("D", None)]);
    }

    #[test]
    fn grok_cap_count_reproduces_grokky() {
        assert_eq!(grokky_cap_count("(a)(?:b)(?i)c\\("), 1);
        // `-)` is mistaken for a flag group by grokky.
        assert_eq!(grokky_cap_count("|-) +(-|"), 0);
        assert_eq!(grokky_cap_count("[(]"), 1);
        assert_eq!(grokky_cap_count("(?i:x)(?-s:y)"), 0);
    }

    #[test]
    fn grok_rewrite_braces() {
        assert_eq!(rw("a{2}b{1,}c{1,3}"), "a{2}b{1,}c{1,3}");
        assert_eq!(rw("{\"ip\":x}"), "\\{\"ip\":x\\}");
        assert_eq!(rw("a{,3}"), "a\\{,3\\}");
        assert_eq!(rw("a{01}"), "a\\{01\\}");
        assert_eq!(rw("%{IP:src-ip}"), "%\\{IP:src-ip\\}");
        assert!(rewrite("a{1001}", &|_| true).is_err());
        assert!(rewrite("a{3,2}", &|_| true).is_err());
    }

    #[test]
    fn grok_rewrite_classes_and_escapes() {
        assert_eq!(
            rw("\\d\\s\\w\\b"),
            "[0-9][\\t\\n\\x0C\\r ][0-9A-Za-z_](?-u:\\b)"
        );
        assert_eq!(rw("[\\d\\S-]"), "[0-9[^\\t\\n\\x0C\\r ]\\-]");
        assert_eq!(rw("[[a&&b~~]"), "[\\[a\\&\\&b\\~\\~]");
        assert_eq!(rw("[]a]"), "[\\]a]");
        assert_eq!(rw("[a-]"), "[a\\-]");
        assert_eq!(rw("[[:alpha:]_]"), "[[:alpha:]_]");
        assert_eq!(rw("\\<\\>\\/"), "<>/");
        assert_eq!(rw("\\101\\0"), "A\\x{0}");
        assert_eq!(rw("\\Q.*\\E+"), "\\.\\*+");
        assert_eq!(rw("[\\x21-\\x5a]"), "[!-Z]");
        assert!(rewrite("\\1", &|_| true).is_err());
        assert!(rewrite("[a", &|_| true).is_err());
        assert!(rewrite("(?x)a", &|_| true).is_err());
        assert!(rewrite("a\\", &|_| true).is_err());
    }

    #[test]
    fn grok_rewrite_groups() {
        let r = rewrite("(a)(?:b)(?P<n>c)((d)(?i)e)", &|g| g % 2 == 1).unwrap();
        assert_eq!(r.groups, 4);
        assert_eq!(r.regex, "(a)(?:b)(?:c)((?:d)(?i)e)");
        assert_eq!(r.group_map, vec![Some(0), Some(1), None, Some(2), None]);
    }
}
