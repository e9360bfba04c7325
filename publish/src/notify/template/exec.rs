//! Running a parsed template over JSON data: walking the nodes, variables, fields, printing.

use super::funcs::call;
use super::parse::{Arg, Node, Pipe};
use super::TemplateError;
use serde_json::Value as Json;

/// The execution state: the output and the variables in scope (`$` first).
pub(super) struct Exec {
    pub(super) out: String,
    vars: Vec<(String, Json)>,
    line: u32,
}

impl Exec {
    pub(super) fn new(root: &Json) -> Self {
        Exec {
            out: String::new(),
            vars: vec![(String::new(), root.clone())],
            line: 1,
        }
    }

    fn err(&self, message: impl Into<String>) -> TemplateError {
        TemplateError {
            line: self.line,
            message: message.into(),
        }
    }

    pub(super) fn walk(&mut self, nodes: &[Node], dot: &Json) -> Result<(), TemplateError> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action { line, pipe } => {
                    self.line = *line;
                    let v = self.pipe(pipe, dot)?;
                    if pipe.vars.is_empty() {
                        print(&v, &mut self.out);
                    }
                }
                Node::Cond {
                    line,
                    with,
                    branches,
                    otherwise,
                } => {
                    let scope = self.vars.len();
                    let mut done = false;
                    for (pipe, body) in branches {
                        self.line = *line;
                        let v = self.pipe(pipe, dot)?;
                        if truth(&v) {
                            let inner_dot = if *with { v } else { dot.clone() };
                            self.walk(body, &inner_dot)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.walk(otherwise, dot)?;
                    }
                    self.vars.truncate(scope);
                }
                Node::Range {
                    line,
                    pipe,
                    body,
                    otherwise,
                } => {
                    self.line = *line;
                    let scope = self.vars.len();
                    let plain = Pipe {
                        vars: Vec::new(),
                        assign: false,
                        cmds: pipe.cmds.clone(),
                    };
                    let v = self.pipe(&plain, dot)?;
                    let items: Vec<(Json, Json)> = match v {
                        Json::Array(a) => a
                            .into_iter()
                            .enumerate()
                            .map(|(i, e)| (Json::from(i), e))
                            .collect(),
                        Json::Object(m) => {
                            m.into_iter().map(|(k, e)| (Json::String(k), e)).collect()
                        }
                        Json::Null => Vec::new(),
                        Json::Number(n) if n.as_i64().is_some() => (0..n.as_i64().unwrap_or(0))
                            .map(|i| (Json::from(i), Json::from(i)))
                            .collect(),
                        other => {
                            return Err(
                                self.err(format!("range can't iterate over {}", kind(&other)))
                            )
                        }
                    };
                    if items.is_empty() {
                        self.walk(otherwise, dot)?;
                    }
                    for (key, elem) in items {
                        match pipe.vars.as_slice() {
                            [] => {}
                            [e] => self.vars.push((e.clone(), elem.clone())),
                            [k, e, ..] => {
                                self.vars.push((k.clone(), key));
                                self.vars.push((e.clone(), elem.clone()));
                            }
                        }
                        self.walk(body, &elem)?;
                        self.vars.truncate(scope);
                    }
                }
            }
        }
        Ok(())
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &Json) -> Result<Json, TemplateError> {
        let mut value: Option<Json> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, dot, value)?);
        }
        let value = value.unwrap_or(Json::Null);
        if pipe.assign {
            let name = &pipe.vars[0];
            let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) else {
                return Err(self.err(format!("undefined variable: ${name}")));
            };
            slot.1 = value.clone();
        } else if let [name] = pipe.vars.as_slice() {
            self.vars.push((name.clone(), value.clone()));
        }
        Ok(value)
    }

    fn command(
        &mut self,
        cmd: &[Arg],
        dot: &Json,
        piped: Option<Json>,
    ) -> Result<Json, TemplateError> {
        if let Some(Arg::Func(name)) = cmd.first() {
            let mut args = cmd[1..]
                .iter()
                .map(|a| self.arg(a, dot))
                .collect::<Result<Vec<_>, _>>()?;
            args.extend(piped);
            return call(name, args).map_err(|m| self.err(format!("{name}: {m}")));
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err(self.err("can't give argument to non-function"));
        }
        match cmd.first() {
            Some(a) => self.arg(a, dot),
            None => Ok(Json::Null),
        }
    }

    fn arg(&mut self, a: &Arg, dot: &Json) -> Result<Json, TemplateError> {
        match a {
            Arg::Dot(path) => self.fields(dot, path),
            Arg::Var(name, path) => {
                let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
                    return Err(self.err(format!("undefined variable: ${name}")));
                };
                let v = v.clone();
                self.fields(&v, path)
            }
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Func(name) => call(name, Vec::new()).map_err(|m| self.err(format!("{name}: {m}"))),
            Arg::Sub(pipe, path) => {
                let v = self.pipe(pipe, dot)?;
                self.fields(&v, path)
            }
        }
    }

    fn fields(&self, v: &Json, path: &[String]) -> Result<Json, TemplateError> {
        let mut cur = v;
        for name in path {
            cur = match cur {
                Json::Object(m) => match lookup(m, name) {
                    Some(v) => v,
                    None => &Json::Null,
                },
                Json::Null => &Json::Null,
                other => {
                    return Err(self.err(format!(
                        "can't evaluate field {name} in type {}",
                        kind(other)
                    )))
                }
            };
        }
        Ok(cur.clone())
    }
}

/// A field by its Go name (`MachineID`), its JSON name (`machine_id`) or the name as written.
fn lookup<'m>(m: &'m serde_json::Map<String, Json>, name: &str) -> Option<&'m Json> {
    m.get(name)
        .or_else(|| m.get(&snake_case(name)))
        .or_else(|| m.get(&name.to_lowercase()))
}

/// `MachineID` → `machine_id`, `EventsCount` → `events_count`, `UUID` → `uuid`.
pub(super) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

pub(super) fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "nil",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float64",
        Json::Number(_) => "int",
        Json::String(_) => "string",
        Json::Array(_) => "slice",
        Json::Object(_) => "map",
    }
}

/// Go's truth: false, 0, "", nil and empty lists and maps are false.
pub(super) fn truth(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
    }
}

/// Prints a value as `{{.}}` does: strings as they are, lists as `[a b]`, maps as
/// `map[k:v]`, nil as nothing.
pub(super) fn print(v: &Json, out: &mut String) {
    match v {
        Json::Null => {}
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => out.push_str(s),
        Json::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print(e, out);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                print(e, out);
            }
            out.push(']');
        }
    }
}
