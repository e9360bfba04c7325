//! Node filters that are one string comparison — `evt.Parsed.program == 'sshd'`,
//! `evt.Line.Labels.type not in ['syslog', 'unifi']`, `evt.Parsed.program startsWith 'nginx'`,
//! `evt.StrTime != ''` — are most of what a line meets in s00 and s01 (one per parser of the
//! stage), so they are evaluated natively instead of through the expression evaluator; and so
//! are conjunctions of them (http-logs' `evt.Meta.service == 'http' && evt.Meta.log_type in
//! [...]`).
//!
//! Only the exact shape `evt.<string field> <op> <literal or list of literals>`, alone or joined
//! by `&&`, is recognised,
//! with quoted literals that contain no backslash, and only once the filter compiled as an
//! expression: its meaning is then fixed (a missing key of a string map reads as `""`, the
//! result is always a bool, nothing is written), so the answer is the expression's. Anything
//! else keeps the compiled expression. Debug builds check both agree on every evaluation.

use palisade_schemas::Event;

/// The string a filter (or a static's expression, see [`Field::parse_whole`]) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    Parsed(String),
    Meta(String),
    Enriched(String),
    Label(String),
    Module,
    Src,
    Raw,
    StrTime,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
}

/// A filter of the form `evt.<field> <op> <literal>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleFilter {
    /// All must hold (`a && b && ...`).
    clauses: Vec<Clause>,
}

/// One comparison of a [`SimpleFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    field: Field,
    op: Op,
}

impl SimpleFilter {
    /// Recognises `source`, or `None` when it is anything else.
    pub(crate) fn parse(source: &str) -> Option<SimpleFilter> {
        let mut p = Cursor { rest: source };
        let mut clauses = vec![Clause::parse(&mut p)?];
        while p.eat("&&") {
            clauses.push(Clause::parse(&mut p)?);
        }
        p.rest.is_empty().then_some(SimpleFilter { clauses })
    }

    /// The filter's value on `evt`.
    #[inline]
    pub(crate) fn eval(&self, evt: &Event) -> bool {
        self.clauses.iter().all(|c| c.eval(evt))
    }
}

impl Clause {
    /// One comparison and the blanks after it.
    fn parse(p: &mut Cursor<'_>) -> Option<Clause> {
        p.ws();
        let field = p.field()?;
        p.ws();
        let op = if p.eat("==") {
            Op::Eq(p.then_literal()?)
        } else if p.eat("!=") {
            Op::Ne(p.then_literal()?)
        } else if p.word("in") {
            Op::In(p.then_list()?)
        } else if p.word("not") {
            p.ws();
            if !p.word("in") {
                return None;
            }
            Op::NotIn(p.then_list()?)
        } else if p.word("startsWith") {
            Op::StartsWith(p.then_literal()?)
        } else if p.word("endsWith") {
            Op::EndsWith(p.then_literal()?)
        } else if p.word("contains") {
            Op::Contains(p.then_literal()?)
        } else {
            return None;
        };
        p.ws();
        Some(Clause { field, op })
    }

    #[inline]
    fn eval(&self, evt: &Event) -> bool {
        let v = self.field.read(evt);
        match &self.op {
            Op::Eq(l) => v == l,
            Op::Ne(l) => v != l,
            Op::In(ls) => ls.iter().any(|l| v == l),
            Op::NotIn(ls) => !ls.iter().any(|l| v == l),
            Op::StartsWith(l) => v.starts_with(l.as_str()),
            Op::EndsWith(l) => v.ends_with(l.as_str()),
            Op::Contains(l) => v.contains(l.as_str()),
        }
    }
}

impl Field {
    /// Recognises an expression that is one string field and nothing else (`evt.Parsed.x`,
    /// `evt.StrTime`, ...): most statics are. Its value is then [`read`](Self::read) natively;
    /// as for filters, only once the expression compiled, so its meaning is fixed (a string,
    /// `""` for a missing key, as the expression gives for Go's `map[string]string`).
    pub(crate) fn parse_whole(source: &str) -> Option<Field> {
        let mut p = Cursor { rest: source };
        p.ws();
        let field = p.field()?;
        p.ws();
        p.rest.is_empty().then_some(field)
    }

    /// The field's value on `evt`.
    #[inline]
    pub(crate) fn read<'e>(&self, evt: &'e Event) -> &'e str {
        match self {
            Field::Parsed(k) => map_get(&evt.parsed, k),
            Field::Meta(k) => map_get(&evt.meta, k),
            Field::Enriched(k) => map_get(&evt.enriched, k),
            Field::Label(k) => evt.line.labels.get(k).map_or("", String::as_str),
            Field::Module => &evt.line.module,
            Field::Src => &evt.line.src,
            Field::Raw => &evt.line.raw,
            Field::StrTime => &evt.str_time,
        }
    }
}

fn map_get<'e>(m: &'e palisade_schemas::FieldMap, k: &str) -> &'e str {
    m.get(k).map_or("", String::as_str)
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', '\n', '\r']);
    }

    fn eat(&mut self, s: &str) -> bool {
        match self.rest.strip_prefix(s) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    /// `word` as a whole word (not the start of a longer identifier).
    fn word(&mut self, word: &str) -> bool {
        match self.rest.strip_prefix(word) {
            Some(r) if !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') => {
                self.rest = r;
                true
            }
            _ => false,
        }
    }

    fn ident(&mut self) -> Option<String> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let id = &self.rest[..end];
        if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        self.rest = &self.rest[end..];
        Some(id.to_string())
    }

    fn field(&mut self) -> Option<Field> {
        if !self.eat("evt.") {
            return None;
        }
        let head = self.ident()?;
        let keyed = |c: &mut Self| -> Option<String> {
            if c.eat(".") {
                c.ident()
            } else {
                None
            }
        };
        Some(match head.as_str() {
            "Parsed" => Field::Parsed(keyed(self)?),
            "Meta" => Field::Meta(keyed(self)?),
            "Enriched" => Field::Enriched(keyed(self)?),
            "StrTime" => Field::StrTime,
            "Line" => {
                if !self.eat(".") {
                    return None;
                }
                match self.ident()?.as_str() {
                    "Labels" => Field::Label(keyed(self)?),
                    "Module" => Field::Module,
                    "Src" => Field::Src,
                    "Raw" => Field::Raw,
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// A quoted string without escapes.
    fn literal(&mut self) -> Option<String> {
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')?;
        let body = &self.rest[1..];
        let end = body.find(quote)?;
        let lit = &body[..end];
        if lit.contains('\\') {
            return None;
        }
        self.rest = &body[end + 1..];
        Some(lit.to_string())
    }

    fn then_literal(&mut self) -> Option<String> {
        self.ws();
        self.literal()
    }

    /// `[lit, lit, ...]`, at least one literal, no trailing comma.
    fn then_list(&mut self) -> Option<Vec<String>> {
        self.ws();
        if !self.eat("[") {
            return None;
        }
        let mut out = Vec::new();
        loop {
            self.ws();
            out.push(self.literal()?);
            self.ws();
            if self.eat("]") {
                return Some(out);
            }
            if !self.eat(",") {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_expr::{Context, Program};

    #[test]
    fn recognises_the_hub_filter_shapes_only() {
        let yes = [
            "evt.Line.Labels.type == 'syslog'",
            "evt.Line.Labels.type not in ['syslog', 'unifi']",
            "evt.Parsed.program in ['sshd-session', 'sshd']",
            "evt.Parsed.program startsWith 'nginx'",
            "evt.Parsed.program endsWith '/smtpd'",
            "evt.Parsed.message contains 'was not found in'",
            "evt.StrTime != ''",
            "evt.Line.Module != 'wineventlog'",
            "  evt.Meta.log_type == \"http_access-log\"\n",
            "evt.Enriched.x in [ 'a' ,'b' ]",
            "evt.Parsed.program == 'sshd' && evt.Parsed.x == 'y'",
            "evt.Meta.service == 'http' && evt.Meta.log_type in ['http_access-log', 'http_error-log']",
            "evt.Parsed.a == 'x&&y'&&evt.Parsed.b != ''",
        ];
        for s in yes {
            assert!(SimpleFilter::parse(s).is_some(), "{s}");
        }
        let no = [
            "evt.Parsed.program == 'sshd' && ",
            "evt.Parsed.program == 'sshd' && true",
            "evt.Parsed.program == 'sshd' & evt.Parsed.x == 'y'",
            "(evt.Parsed.program == 'sshd') && evt.Parsed.x == 'y'",
            "evt.Parsed.program == 'ss\\'hd'",
            "evt.Parsed.program in ['a', ]",
            "evt.Parsed.program in []",
            "evt.Parsed.program == evt.Parsed.other",
            "evt.Parsed.program matches 'x'",
            "evt.Parsed['program'] == 'x'",
            "evt.Parsed.program == 'x' || true",
            "evt.Parsed.program.x == 'a'",
            "evt.Parsed == 'a'",
            "evt.Line.Labels == 'a'",
            "evt.Unmarshaled.x == 'a'",
            "evt.Parsed.program in 'sshd'",
            "evt.Parsed.program notin ['a']",
            "evt.Parsed.program containsx 'a'",
            "evt.Time == 'a'",
            "not evt.Parsed.program == 'a'",
            "evt.Parsed.program == 'a' # comment",
            "evt.Parsed.9 == 'a'",
            "",
        ];
        for s in no {
            assert!(SimpleFilter::parse(s).is_none(), "{s}");
        }
    }

    #[test]
    fn agrees_with_the_expression() {
        let filters = [
            "evt.Line.Labels.type == 'syslog'",
            "evt.Line.Labels.type not in ['syslog', 'unifi']",
            "evt.Line.Labels.missing in ['', 'x']",
            "evt.Parsed.program in ['sshd-session', 'sshd']",
            "evt.Parsed.program startsWith 'ssh'",
            "evt.Parsed.program endsWith 'hd'",
            "evt.Parsed.program contains ''",
            "evt.Parsed.absent == ''",
            "evt.Parsed.absent != ''",
            "evt.Parsed.absent startsWith ''",
            "evt.Meta.m == 'é'",
            "evt.Enriched.e contains 'b'",
            "evt.StrTime != ''",
            "evt.Line.Module == 'file'",
            "evt.Line.Src endsWith '.log'",
            "evt.Line.Raw contains 'x'",
            "evt.Parsed.program == 'sshd' && evt.Line.Labels.type == 'syslog'",
            "evt.Parsed.program startsWith 'ssh' && evt.Meta.m in ['é', 'e'] && evt.StrTime != ''",
            "evt.Parsed.absent == '' && evt.Line.Module == 'file'",
        ];
        let mut events = Vec::new();
        let mut e = Event::default();
        events.push(e.clone());
        e.line.labels.insert("type".into(), "syslog".into());
        e.line.module = "file".into();
        e.line.src = "/var/log/auth.log".into();
        e.line.raw = "x".into();
        e.parsed.insert("program".into(), "sshd".into());
        e.meta.insert("m".into(), "é".into());
        e.enriched.insert("e".into(), "abc".into());
        e.str_time = "Jun 10".into();
        events.push(e.clone());
        e.line.labels.insert("type".into(), "unifi".into());
        e.parsed.insert("program".into(), "sshd-session".into());
        events.push(e);
        let ctx = Context::event();
        for f in filters {
            let fast = SimpleFilter::parse(f).unwrap_or_else(|| panic!("{f}"));
            let prog = Program::compile(f, &ctx).unwrap();
            for e in &events {
                let mut copy = e.clone();
                assert_eq!(fast.eval(e), prog.eval_filter(&mut copy), "{f} on {e:?}");
            }
        }
    }
}
