//! Parsing a template: splitting text from `{{ actions }}` (with `{{-`/`-}}` trimming and
//! `{{/* comments */}}`), lexing actions and building the tree of [`Node`]s.

use super::TemplateError;
use serde_json::Value as Json;

/// A node of the template tree.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// Text copied as is.
    Text(String),
    /// `{{pipeline}}`: printed, unless it declares or assigns a variable.
    Action { line: u32, pipe: Pipe },
    /// `{{if}}`/`{{with}}` with their `{{else if}}`/`{{else with}}` branches and `{{else}}`.
    Cond {
        line: u32,
        with: bool,
        branches: Vec<(Pipe, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    /// `{{range [$i,] [$e :=] pipeline}} ... [{{else}} ...] {{end}}`.
    Range {
        line: u32,
        pipe: Pipe,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// A pipeline: optional variable declaration (`$x :=`) or assignment (`$x =`), then commands
/// separated by `|`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Pipe {
    pub(super) vars: Vec<String>,
    pub(super) assign: bool,
    pub(super) cmds: Vec<Vec<Arg>>,
}

/// One operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Arg {
    /// `.` or `.A.B`.
    Dot(Vec<String>),
    /// `$`, `$x`, `$x.A.B` (the name without `$`; empty for `$`).
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    /// A string, number, boolean or `nil`.
    Lit(Json),
    /// `(pipeline)` or `(pipeline).A.B`.
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Lit(Json),
    LParen,
    RParen(Vec<String>),
    Bar,
    Declare,
    Assign,
    Comma,
}

/// Text or one action, before the tree is built.
enum Item {
    Text(String),
    Action { line: u32, toks: Vec<Tok> },
}

fn err(line: u32, message: impl Into<String>) -> TemplateError {
    TemplateError {
        line,
        message: message.into(),
    }
}

/// Parses a whole template.
pub(super) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let items = split(src)?;
    let mut p = Parser { items, i: 0 };
    let (nodes, end) = p.list()?;
    match end {
        Stop::Eof => Ok(nodes),
        Stop::End(line) | Stop::Else(line) | Stop::ElseIf(line, ..) => {
            Err(err(line, "unexpected {{end}} or {{else}}"))
        }
    }
}

/// Splits the template into text and lexed actions, applying the trim markers.
fn split(src: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut line = 1u32;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            push_text(&mut items, rest, trim_next, false);
            break;
        };
        let mut inner = &rest[open + 2..];
        let trim_before = inner.starts_with("- ")
            || inner.starts_with("-\t")
            || inner.starts_with("-\n")
            || inner.starts_with("-\r");
        push_text(&mut items, &rest[..open], trim_next, trim_before);
        line += count_lines(&rest[..open]);
        let action_line = line;
        if trim_before {
            inner = &inner[1..];
        }
        let close = find_close(inner).ok_or_else(|| err(action_line, "unclosed action"))?;
        let mut body = &inner[..close];
        trim_next = body.ends_with(" -")
            || body.ends_with("\t-")
            || body.ends_with("\n-")
            || body.ends_with("\r-");
        if trim_next {
            body = &body[..body.len() - 1];
        }
        let consumed = 2 + usize::from(trim_before) + close + 2;
        line += count_lines(&rest[open..open + consumed]);
        rest = &rest[open + consumed..];
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(err(action_line, "unclosed comment"));
            }
            continue;
        }
        items.push(Item::Action {
            line: action_line,
            toks: lex(body, action_line)?,
        });
    }
    Ok(items)
}

fn count_lines(s: &str) -> u32 {
    u32::try_from(s.matches('\n').count()).unwrap_or(u32::MAX)
}

fn push_text(items: &mut Vec<Item>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start();
    }
    if trim_end {
        t = t.trim_end();
    }
    if !t.is_empty() {
        items.push(Item::Text(t.to_string()));
    }
}

/// The offset of the `}}` closing an action, skipping quoted strings and comments.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    if s.trim_start().starts_with("/*") {
        let end = s.find("*/")?;
        return s[end..].find("}}").map(|j| end + j);
    }
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Lexes the inside of an action.
fn lex(s: &str, line: u32) -> Result<Vec<Tok>, TemplateError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut toks = Vec::new();
    // `.A.B` right after position `i`.
    let fields = |i: &mut usize| {
        let mut out = Vec::new();
        while *i < chars.len()
            && chars[*i] == '.'
            && chars.get(*i + 1).is_some_and(|c| is_ident(*c))
        {
            *i += 1;
            let start = *i;
            while *i < chars.len() && is_ident(chars[*i]) {
                *i += 1;
            }
            out.push(chars[start..*i].iter().collect());
        }
        out
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '.' => {
                if chars.get(i + 1).is_some_and(|c| is_ident(*c)) {
                    toks.push(Tok::Field(fields(&mut i)));
                } else {
                    i += 1;
                    toks.push(Tok::Field(Vec::new()));
                }
            }
            '$' => {
                i += 1;
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                toks.push(Tok::Var(name, fields(&mut i)));
            }
            '(' => {
                i += 1;
                toks.push(Tok::LParen);
            }
            ')' => {
                i += 1;
                toks.push(Tok::RParen(fields(&mut i)));
            }
            '|' => {
                i += 1;
                toks.push(Tok::Bar);
            }
            ',' => {
                i += 1;
                toks.push(Tok::Comma);
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                toks.push(Tok::Declare);
            }
            '=' => {
                i += 1;
                toks.push(Tok::Assign);
            }
            '"' => {
                i += 1;
                let mut out = String::new();
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(err(line, "unterminated quoted string"));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = chars.get(i).copied().unwrap_or('\\');
                            i += 1;
                            out.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '0' => '\0',
                                other => other,
                            });
                        }
                        c => out.push(c),
                    }
                }
                toks.push(Tok::Lit(Json::String(out)));
            }
            '`' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err(line, "unterminated raw quoted string"));
                }
                toks.push(Tok::Lit(Json::String(chars[start..i].iter().collect())));
                i += 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = if let Ok(n) = text.parse::<i64>() {
                    Json::from(n)
                } else {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Json::Number)
                        .ok_or_else(|| err(line, format!("bad number syntax: {text:?}")))?
                };
                toks.push(Tok::Lit(n));
            }
            c if is_ident(c) => {
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                toks.push(match word.as_str() {
                    "true" => Tok::Lit(Json::Bool(true)),
                    "false" => Tok::Lit(Json::Bool(false)),
                    "nil" => Tok::Lit(Json::Null),
                    _ => Tok::Ident(word),
                });
            }
            other => return Err(err(line, format!("unexpected {other:?} in action"))),
        }
    }
    Ok(toks)
}

/// How a list of nodes ended.
enum Stop {
    Eof,
    End(u32),
    Else(u32),
    /// `{{else if ...}}` (`false`) or `{{else with ...}}` (`true`).
    ElseIf(u32, bool, Pipe),
}

struct Parser {
    items: Vec<Item>,
    i: usize,
}

impl Parser {
    fn list(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut nodes = Vec::new();
        while self.i < self.items.len() {
            let item = std::mem::replace(&mut self.items[self.i], Item::Text(String::new()));
            self.i += 1;
            let (line, toks) = match item {
                Item::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Item::Action { line, toks } => (line, toks),
            };
            let keyword = match toks.first() {
                Some(Tok::Ident(w)) => w.as_str(),
                _ => "",
            };
            match keyword {
                "end" => return Ok((nodes, Stop::End(line))),
                "else" => {
                    return match toks.get(1) {
                        None => Ok((nodes, Stop::Else(line))),
                        Some(Tok::Ident(w)) if w == "if" || w == "with" => {
                            let pipe = pipeline(&toks[2..], line, w == "with")?;
                            Ok((nodes, Stop::ElseIf(line, w == "with", pipe)))
                        }
                        _ => Err(err(line, "unexpected tokens after else")),
                    };
                }
                "if" | "with" => {
                    let with = keyword == "with";
                    let pipe = pipeline(&toks[1..], line, with)?;
                    nodes.push(self.cond(line, with, pipe)?);
                }
                "range" => {
                    let pipe = pipeline(&toks[1..], line, true)?;
                    let (body, end) = self.list()?;
                    let otherwise = match end {
                        Stop::End(_) => Vec::new(),
                        Stop::Else(_) => self.until_end(line)?,
                        Stop::ElseIf(l, ..) => {
                            return Err(err(l, "else if/with is not allowed in range"))
                        }
                        Stop::Eof => return Err(err(line, "unexpected EOF: range without end")),
                    };
                    nodes.push(Node::Range {
                        line,
                        pipe,
                        body,
                        otherwise,
                    });
                }
                "define" | "template" | "block" | "break" | "continue" => {
                    return Err(err(line, format!("{{{{{keyword}}}}} is not supported")));
                }
                _ => nodes.push(Node::Action {
                    line,
                    pipe: pipeline(&toks, line, false)?,
                }),
            }
        }
        Ok((nodes, Stop::Eof))
    }

    /// The rest of an `if`/`with` after its pipeline.
    fn cond(&mut self, line: u32, with: bool, pipe: Pipe) -> Result<Node, TemplateError> {
        let mut branches = Vec::new();
        let mut pipe = pipe;
        loop {
            let (body, end) = self.list()?;
            branches.push((pipe, body));
            match end {
                Stop::End(_) => {
                    return Ok(Node::Cond {
                        line,
                        with,
                        branches,
                        otherwise: Vec::new(),
                    })
                }
                Stop::Else(_) => {
                    let otherwise = self.until_end(line)?;
                    return Ok(Node::Cond {
                        line,
                        with,
                        branches,
                        otherwise,
                    });
                }
                Stop::ElseIf(l, else_with, next) => {
                    if else_with != with {
                        // `{{if}} ... {{else with}}`: a nested block sharing the `{{end}}`.
                        let inner = self.cond(l, else_with, next)?;
                        return Ok(Node::Cond {
                            line,
                            with,
                            branches,
                            otherwise: vec![inner],
                        });
                    }
                    pipe = next;
                }
                Stop::Eof => return Err(err(line, "unexpected EOF: missing {{end}}")),
            }
        }
    }

    fn until_end(&mut self, line: u32) -> Result<Vec<Node>, TemplateError> {
        match self.list()? {
            (nodes, Stop::End(_)) => Ok(nodes),
            (_, Stop::Eof) => Err(err(line, "unexpected EOF: missing {{end}}")),
            (_, Stop::Else(l) | Stop::ElseIf(l, ..)) => Err(err(l, "more than one {{else}}")),
        }
    }
}

/// Parses a pipeline; `decl` allows `$x :=` / `$i, $e :=`.
fn pipeline(toks: &[Tok], line: u32, decl: bool) -> Result<Pipe, TemplateError> {
    let mut pipe = Pipe::default();
    let mut rest = toks;
    // `$x :=`, `$x =`, `$i, $e :=`
    let decl_len = match toks {
        [Tok::Var(_, f), Tok::Declare | Tok::Assign, ..] if f.is_empty() => 2,
        [Tok::Var(_, f1), Tok::Comma, Tok::Var(_, f2), Tok::Declare, ..]
            if decl && f1.is_empty() && f2.is_empty() =>
        {
            4
        }
        _ => 0,
    };
    if decl_len > 0 {
        for t in &toks[..decl_len] {
            match t {
                Tok::Var(name, _) => pipe.vars.push(name.clone()),
                Tok::Assign => pipe.assign = true,
                _ => {}
            }
        }
        rest = &toks[decl_len..];
    }
    let mut i = 0;
    pipe.cmds = commands(rest, &mut i, line)?;
    if i < rest.len() {
        return Err(err(line, "unexpected ) in action"));
    }
    if pipe.cmds.is_empty() {
        return Err(err(line, "missing value for command"));
    }
    Ok(pipe)
}

/// Commands separated by `|`, up to a `)` or the end.
fn commands(toks: &[Tok], i: &mut usize, line: u32) -> Result<Vec<Vec<Arg>>, TemplateError> {
    let mut cmds = Vec::new();
    let mut cmd = Vec::new();
    while *i < toks.len() {
        let t = &toks[*i];
        *i += 1;
        match t {
            Tok::Field(f) => cmd.push(Arg::Dot(f.clone())),
            Tok::Var(name, f) => cmd.push(Arg::Var(name.clone(), f.clone())),
            Tok::Ident(name) => cmd.push(Arg::Func(name.clone())),
            Tok::Lit(v) => cmd.push(Arg::Lit(v.clone())),
            Tok::LParen => {
                let inner = commands(toks, i, line)?;
                let fields = match toks.get(*i) {
                    Some(Tok::RParen(f)) => f.clone(),
                    _ => return Err(err(line, "unclosed left paren")),
                };
                *i += 1;
                if inner.is_empty() {
                    return Err(err(line, "missing value for parenthesized pipeline"));
                }
                cmd.push(Arg::Sub(
                    Box::new(Pipe {
                        cmds: inner,
                        ..Pipe::default()
                    }),
                    fields,
                ));
            }
            Tok::RParen(_) => {
                *i -= 1;
                break;
            }
            Tok::Bar => {
                if cmd.is_empty() {
                    return Err(err(line, "missing command before |"));
                }
                cmds.push(std::mem::take(&mut cmd));
            }
            Tok::Declare | Tok::Assign | Tok::Comma => {
                return Err(err(line, "unexpected := , or = in pipeline"))
            }
        }
    }
    if !cmd.is_empty() {
        cmds.push(cmd);
    } else if !cmds.is_empty() {
        return Err(err(line, "missing command after |"));
    }
    Ok(cmds)
}
