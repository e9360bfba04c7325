//! The syntax tree and a Pratt parser with expr-lang's precedences and associativities
//! (parser/operator/operator.go): `or ||` 10, `and &&` 15, comparisons, `in`, `matches`,
//! `contains`, `startsWith`, `endsWith` 20, `..` 25, `+ -` 30, `* / %` 60, `** ^` 100 (right),
//! `??` 500; unary `not !` 50 and `- +` 90 (so `not a == b` is `(not a) == b`, as in expr);
//! the ternary `c ? a : b` (and `c ?: b`) at the lowest level. Also `let x = v; body`,
//! `a; b` sequences, `if c { a } else { b }`, closures `{ ... # ... }` for predicate builtins
//! (braces optional, `.field` meaning `#.field`), optional chaining `?.` (the whole chain becomes
//! nil when an optional step meets nil), slices and negated word operators (`not in`, ...).

use crate::error::CompileError;
use crate::lexer::{tokenize, Tok, Token};

/// A node of the syntax tree with the byte offset of its operator or first token.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Byte offset in the source.
    pub pos: usize,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `not` / `!`
    Not,
    /// `-`
    Neg,
    /// `+`
    Plus,
}

/// Binary operators (the negated word forms are separate variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
    Matches,
    NotMatches,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Range,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Coalesce,
}

impl BinOp {
    /// The operator as written in expressions.
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Or => "||",
            And => "&&",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Gt => ">",
            Le => "<=",
            Ge => ">=",
            In => "in",
            NotIn => "not in",
            Matches => "matches",
            NotMatches => "not matches",
            Contains => "contains",
            NotContains => "not contains",
            StartsWith => "startsWith",
            NotStartsWith => "not startsWith",
            EndsWith => "endsWith",
            NotEndsWith => "not endsWith",
            Range => "..",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "**",
            Coalesce => "??",
        }
    }
}

/// Node kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A variable or a name bound by `let`.
    Ident(String),
    /// `#` (empty) or `#index`.
    Pointer(String),
    Array(Vec<Expr>),
    /// Map literal; keys are bare identifiers or strings.
    Map(Vec<(String, Expr)>),
    /// `obj.name` / `obj?.name`.
    Member {
        obj: Box<Expr>,
        name: String,
        optional: bool,
    },
    /// `obj[index]` / `obj?.[index]`.
    Index {
        obj: Box<Expr>,
        index: Box<Expr>,
        optional: bool,
    },
    /// `obj[from:to]`.
    Slice {
        obj: Box<Expr>,
        from: Option<Box<Expr>>,
        to: Option<Box<Expr>>,
    },
    /// `name(args)`.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `obj.name(args)`.
    MethodCall {
        obj: Box<Expr>,
        name: String,
        args: Vec<Expr>,
        optional: bool,
    },
    /// A predicate argument of `all`, `any`, `filter`, ...
    Closure(Box<Expr>),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// Ternary and `if`/`else`.
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `let name = value; body`.
    Let {
        name: String,
        value: Box<Expr>,
        body: Box<Expr>,
    },
    /// `a; b; c` evaluates all, returns the last.
    Seq(Vec<Expr>),
    /// A member chain containing `?.`: an optional step meeting nil makes the whole chain nil.
    Chain(Box<Expr>),
}

/// Builtins whose second argument is a predicate (closure).
pub(crate) const PREDICATE_BUILTINS: &[&str] = &[
    "all",
    "none",
    "any",
    "one",
    "filter",
    "map",
    "count",
    "sum",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
];

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, CompileError> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        src,
        tokens,
        i: 0,
        closure_depth: 0,
        depth: 0,
    };
    let e = p.sequence()?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected());
    }
    Ok(e)
}

const MAX_DEPTH: usize = 256;

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    i: usize,
    closure_depth: usize,
    depth: usize,
}

fn binary_op(word: &str) -> Option<(BinOp, u8)> {
    use BinOp::*;
    Some(match word {
        "or" | "||" => (Or, 10),
        "and" | "&&" => (And, 15),
        "==" => (Eq, 20),
        "!=" => (Ne, 20),
        "<" => (Lt, 20),
        ">" => (Gt, 20),
        "<=" => (Le, 20),
        ">=" => (Ge, 20),
        "in" => (In, 20),
        "matches" => (Matches, 20),
        "contains" => (Contains, 20),
        "startsWith" => (StartsWith, 20),
        "endsWith" => (EndsWith, 20),
        ".." => (Range, 25),
        "+" => (Add, 30),
        "-" => (Sub, 30),
        "*" => (Mul, 60),
        "/" => (Div, 60),
        "%" => (Mod, 60),
        "**" | "^" => (Pow, 100),
        "??" => (Coalesce, 200),
        _ => return None,
    })
}

fn negated(op: BinOp) -> Option<BinOp> {
    use BinOp::*;
    Some(match op {
        In => NotIn,
        Matches => NotMatches,
        Contains => NotContains,
        StartsWith => NotStartsWith,
        EndsWith => NotEndsWith,
        _ => return None,
    })
}

fn node(kind: ExprKind, pos: usize) -> Expr {
    Expr { kind, pos }
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.i].kind
    }

    fn peek_at(&self, n: usize) -> &Tok {
        let idx = (self.i + n).min(self.tokens.len() - 1);
        &self.tokens[idx].kind
    }

    fn pos(&self) -> usize {
        self.tokens[self.i].pos
    }

    fn advance(&mut self) -> Token {
        let t = self.tokens[self.i].clone();
        if self.i < self.tokens.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == w)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), CompileError> {
        if self.is_op(op) {
            self.advance();
            Ok(())
        } else {
            Err(self.err_here(format!("expected '{op}', found {}", describe(self.peek()))))
        }
    }

    fn err_here(&self, msg: impl Into<String>) -> CompileError {
        CompileError::at(self.src, self.pos(), msg)
    }

    fn unexpected(&self) -> CompileError {
        self.err_here(format!("unexpected token {}", describe(self.peek())))
    }

    fn enter(&mut self) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here("expression is nested too deeply"));
        }
        Ok(())
    }

    /// `let` bindings and `;`-separated expressions.
    fn sequence(&mut self) -> Result<Expr, CompileError> {
        self.enter()?;
        let r = self.sequence_inner();
        self.depth -= 1;
        r
    }

    fn sequence_inner(&mut self) -> Result<Expr, CompileError> {
        if self.is_word("let") {
            let pos = self.pos();
            self.advance();
            let name = match self.advance().kind {
                Tok::Ident(n) => n,
                other => {
                    return Err(CompileError::at(
                        self.src,
                        pos,
                        format!(
                            "expected variable name after let, found {}",
                            describe(&other)
                        ),
                    ))
                }
            };
            self.expect_op("=")?;
            let value = self.expression(0)?;
            self.expect_op(";")?;
            let body = self.sequence()?;
            return Ok(node(
                ExprKind::Let {
                    name,
                    value: Box::new(value),
                    body: Box::new(body),
                },
                pos,
            ));
        }
        let pos = self.pos();
        let first = self.expression(0)?;
        if !self.is_op(";") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_op(";") {
            self.advance();
            if self.is_word("let") {
                items.push(self.sequence()?);
                break;
            }
            items.push(self.expression(0)?);
        }
        Ok(node(ExprKind::Seq(items), pos))
    }

    fn expression(&mut self, min_prec: u8) -> Result<Expr, CompileError> {
        self.enter()?;
        let r = self.expression_inner(min_prec);
        self.depth -= 1;
        r
    }

    fn expression_inner(&mut self, min_prec: u8) -> Result<Expr, CompileError> {
        let mut left = self.unary()?;
        loop {
            let pos = self.pos();
            let (word, negate) = match self.peek() {
                Tok::Op(o) if *o != "=" => ((*o).to_string(), false),
                Tok::Ident(w) if w == "not" => match self.peek_at(1) {
                    Tok::Ident(w2)
                        if binary_op(w2).is_some_and(|(op, _)| negated(op).is_some()) =>
                    {
                        (w2.clone(), true)
                    }
                    _ => break,
                },
                Tok::Ident(w) => (w.clone(), false),
                _ => break,
            };
            let Some((mut op, prec)) = binary_op(&word) else {
                break;
            };
            if prec < min_prec {
                break;
            }
            self.advance();
            if negate {
                self.advance();
                op = negated(op).unwrap_or(op);
            }
            let right_min = if op == BinOp::Pow { prec } else { prec + 1 };
            let right = self.expression(right_min)?;
            left = node(
                ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                pos,
            );
        }
        if min_prec == 0 && self.is_op("?") {
            let pos = self.pos();
            self.advance();
            if self.is_op(":") {
                // elvis: a ?: b
                self.advance();
                let otherwise = self.expression(0)?;
                return Ok(node(
                    ExprKind::Binary {
                        op: BinOp::Coalesce,
                        left: Box::new(left),
                        right: Box::new(otherwise),
                    },
                    pos,
                ));
            }
            let then = self.expression(0)?;
            self.expect_op(":")?;
            let otherwise = self.expression(0)?;
            left = node(
                ExprKind::Cond {
                    cond: Box::new(left),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                },
                pos,
            );
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let pos = self.pos();
        let op = match self.peek() {
            Tok::Ident(w) if w == "not" => Some((UnOp::Not, 50)),
            Tok::Op("!") => Some((UnOp::Not, 50)),
            Tok::Op("-") => Some((UnOp::Neg, 90)),
            Tok::Op("+") => Some((UnOp::Plus, 90)),
            _ => None,
        };
        if let Some((op, prec)) = op {
            self.advance();
            let operand = self.expression(prec)?;
            // fold negative literals so `-1` is a constant
            if op == UnOp::Neg {
                match operand.kind {
                    ExprKind::Int(v) => return Ok(node(ExprKind::Int(v.wrapping_neg()), pos)),
                    ExprKind::Float(v) => return Ok(node(ExprKind::Float(-v), pos)),
                    _ => {}
                }
            }
            return Ok(node(
                ExprKind::Unary {
                    op,
                    expr: Box::new(operand),
                },
                pos,
            ));
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let pos = self.pos();
        let tok = self.advance();
        let kind = match tok.kind {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Float(v) => ExprKind::Float(v),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Pointer(name) => {
                if self.closure_depth == 0 {
                    return Err(CompileError::at(
                        self.src,
                        pos,
                        "cannot use pointer accessor outside predicate",
                    ));
                }
                ExprKind::Pointer(name)
            }
            Tok::Op("(") => {
                let inner = self.sequence()?;
                self.expect_op(")")?;
                return Ok(inner);
            }
            Tok::Op("[") => ExprKind::Array(self.list("]")?),
            Tok::Op("{") => ExprKind::Map(self.map_literal()?),
            Tok::Op(".") => {
                // `.field` inside a closure means `#.field`
                if self.closure_depth == 0 {
                    return Err(CompileError::at(self.src, pos, "unexpected token '.'"));
                }
                let name = match self.advance().kind {
                    Tok::Ident(n) => n,
                    other => {
                        return Err(CompileError::at(
                            self.src,
                            pos,
                            format!("expected field name after '.', found {}", describe(&other)),
                        ))
                    }
                };
                ExprKind::Member {
                    obj: Box::new(node(ExprKind::Pointer(String::new()), pos)),
                    name,
                    optional: false,
                }
            }
            Tok::Ident(name) => match name.as_str() {
                "nil" => ExprKind::Nil,
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "if" => return self.if_expr(pos),
                "let" => {
                    return Err(CompileError::at(
                        self.src,
                        pos,
                        "let must start an expression or follow ';'",
                    ))
                }
                _ if self.is_op("(") => {
                    self.advance();
                    let args = if PREDICATE_BUILTINS.contains(&name.as_str()) {
                        self.predicate_args()?
                    } else {
                        self.list(")")?
                    };
                    ExprKind::Call { name, args }
                }
                _ => ExprKind::Ident(name),
            },
            other => {
                return Err(CompileError::at(
                    self.src,
                    pos,
                    format!("unexpected token {}", describe(&other)),
                ))
            }
        };
        Ok(node(kind, pos))
    }

    fn if_expr(&mut self, pos: usize) -> Result<Expr, CompileError> {
        let cond = self.expression(0)?;
        let then = self.block()?;
        if !self.is_word("else") {
            return Err(self.err_here("expected else after if block"));
        }
        self.advance();
        let otherwise = if self.is_word("if") {
            let p = self.pos();
            self.advance();
            self.if_expr(p)?
        } else {
            self.block()?
        };
        Ok(node(
            ExprKind::Cond {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            },
            pos,
        ))
    }

    fn block(&mut self) -> Result<Expr, CompileError> {
        self.expect_op("{")?;
        let e = self.sequence()?;
        self.expect_op("}")?;
        Ok(e)
    }

    /// Arguments of a predicate builtin: the collection, then a closure (braces optional), then
    /// any further plain arguments.
    fn predicate_args(&mut self) -> Result<Vec<Expr>, CompileError> {
        let mut args = Vec::new();
        if self.is_op(")") {
            self.advance();
            return Ok(args);
        }
        args.push(self.expression(0)?);
        if self.is_op(",") {
            self.advance();
            let pos = self.pos();
            self.closure_depth += 1;
            let body = if self.is_op("{") {
                self.advance();
                let b = self.sequence();
                let b = b.and_then(|b| self.expect_op("}").map(|_| b));
                self.closure_depth -= 1;
                b?
            } else {
                let b = self.expression(0);
                self.closure_depth -= 1;
                b?
            };
            args.push(node(ExprKind::Closure(Box::new(body)), pos));
            while self.is_op(",") {
                self.advance();
                if self.is_op(")") {
                    break;
                }
                args.push(self.expression(0)?);
            }
        }
        self.expect_op(")")?;
        Ok(args)
    }

    /// Comma-separated expressions up to `close` (trailing comma allowed).
    fn list(&mut self, close: &str) -> Result<Vec<Expr>, CompileError> {
        let mut items = Vec::new();
        loop {
            if self.is_op(close) {
                self.advance();
                return Ok(items);
            }
            items.push(self.expression(0)?);
            if self.is_op(",") {
                self.advance();
            } else if !self.is_op(close) {
                return Err(self.err_here(format!(
                    "expected ',' or '{close}', found {}",
                    describe(self.peek())
                )));
            }
        }
    }

    fn map_literal(&mut self) -> Result<Vec<(String, Expr)>, CompileError> {
        let mut items = Vec::new();
        loop {
            if self.is_op("}") {
                self.advance();
                return Ok(items);
            }
            let key_pos = self.pos();
            let key = match self.advance().kind {
                Tok::Ident(k) | Tok::Str(k) => k,
                Tok::Int(i) => i.to_string(),
                other => {
                    return Err(CompileError::at(
                        self.src,
                        key_pos,
                        format!(
                            "a map key must be a quoted string or an identifier, found {}",
                            describe(&other)
                        ),
                    ))
                }
            };
            self.expect_op(":")?;
            let value = self.expression(0)?;
            items.push((key, value));
            if self.is_op(",") {
                self.advance();
            } else if !self.is_op("}") {
                return Err(self.err_here(format!(
                    "expected ',' or '}}', found {}",
                    describe(self.peek())
                )));
            }
        }
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, CompileError> {
        let mut has_optional = false;
        loop {
            let pos = self.pos();
            if self.is_op(".") || self.is_op("?.") {
                let optional = self.is_op("?.");
                self.advance();
                has_optional |= optional;
                if optional && self.is_op("[") {
                    self.advance();
                    e = self.index_or_slice(e, pos, true)?;
                    continue;
                }
                let name = match self.advance().kind {
                    Tok::Ident(n) => n,
                    other => {
                        return Err(CompileError::at(
                            self.src,
                            pos,
                            format!("expected name after '.', found {}", describe(&other)),
                        ))
                    }
                };
                if self.is_op("(") {
                    self.advance();
                    let args = self.list(")")?;
                    e = node(
                        ExprKind::MethodCall {
                            obj: Box::new(e),
                            name,
                            args,
                            optional,
                        },
                        pos,
                    );
                } else {
                    e = node(
                        ExprKind::Member {
                            obj: Box::new(e),
                            name,
                            optional,
                        },
                        pos,
                    );
                }
            } else if self.is_op("[") {
                self.advance();
                e = self.index_or_slice(e, pos, false)?;
            } else {
                break;
            }
        }
        if has_optional {
            let pos = e.pos;
            e = node(ExprKind::Chain(Box::new(e)), pos);
        }
        Ok(e)
    }

    fn index_or_slice(
        &mut self,
        obj: Expr,
        pos: usize,
        optional: bool,
    ) -> Result<Expr, CompileError> {
        if self.is_op(":") {
            self.advance();
            let to = if self.is_op("]") {
                None
            } else {
                Some(Box::new(self.expression(0)?))
            };
            self.expect_op("]")?;
            return Ok(node(
                ExprKind::Slice {
                    obj: Box::new(obj),
                    from: None,
                    to,
                },
                pos,
            ));
        }
        let first = self.expression(0)?;
        if self.is_op(":") {
            self.advance();
            let to = if self.is_op("]") {
                None
            } else {
                Some(Box::new(self.expression(0)?))
            };
            self.expect_op("]")?;
            return Ok(node(
                ExprKind::Slice {
                    obj: Box::new(obj),
                    from: Some(Box::new(first)),
                    to,
                },
                pos,
            ));
        }
        self.expect_op("]")?;
        Ok(node(
            ExprKind::Index {
                obj: Box::new(obj),
                index: Box::new(first),
                optional,
            },
            pos,
        ))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(v) => format!("{v}"),
        Tok::Float(v) => format!("{v}"),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Pointer(s) => format!("'#{s}'"),
        Tok::Op(o) => format!("'{o}'"),
        Tok::Eof => "end of expression".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Nil => "nil".into(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Int(i) => i.to_string(),
            ExprKind::Float(f) => format!("{f:?}"),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Ident(s) => s.clone(),
            ExprKind::Pointer(s) => format!("#{s}"),
            ExprKind::Array(a) => {
                format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(", "))
            }
            ExprKind::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{k}: {}", show(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ExprKind::Member {
                obj,
                name,
                optional,
            } => {
                format!("{}{}{name}", show(obj), if *optional { "?." } else { "." })
            }
            ExprKind::Index { obj, index, .. } => format!("{}[{}]", show(obj), show(index)),
            ExprKind::Slice { obj, from, to } => format!(
                "{}[{}:{}]",
                show(obj),
                from.as_ref().map(|e| show(e)).unwrap_or_default(),
                to.as_ref().map(|e| show(e)).unwrap_or_default()
            ),
            ExprKind::Call { name, args } => {
                format!(
                    "{name}({})",
                    args.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
            ExprKind::MethodCall {
                obj, name, args, ..
            } => format!(
                "{}.{name}({})",
                show(obj),
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Closure(b) => format!("{{{}}}", show(b)),
            ExprKind::Unary { op, expr } => format!("({op:?} {})", show(expr)),
            ExprKind::Binary { op, left, right } => {
                format!("({} {} {})", show(left), op.symbol(), show(right))
            }
            ExprKind::Cond {
                cond,
                then,
                otherwise,
            } => {
                format!("({} ? {} : {})", show(cond), show(then), show(otherwise))
            }
            ExprKind::Let { name, value, body } => {
                format!("(let {name} = {}; {})", show(value), show(body))
            }
            ExprKind::Seq(items) => items.iter().map(show).collect::<Vec<_>>().join("; "),
            ExprKind::Chain(e) => format!("chain({})", show(e)),
        }
    }

    fn p(s: &str) -> String {
        show(&parse(s).unwrap())
    }

    #[test]
    fn precedence_follows_expr_lang() {
        assert_eq!(p("a || b && c"), "(a || (b && c))");
        assert_eq!(p("a == b and c"), "((a == b) && c)");
        assert_eq!(p("1 + 2 * 3 - 4"), "((1 + (2 * 3)) - 4)");
        assert_eq!(p("not a == b"), "((Not a) == b)");
        assert_eq!(p("not (a contains 'x')"), "(Not (a contains \"x\"))");
        assert_eq!(p("2 ** 3 ** 2"), "(2 ** (3 ** 2))");
        assert_eq!(p("a ?? b + c"), "((a ?? b) + c)");
        assert_eq!(p("a not in b"), "(a not in b)");
        assert_eq!(p("x ? 1 : y ? 2 : 3"), "(x ? 1 : (y ? 2 : 3))");
        assert_eq!(p("-x.y"), "(Neg x.y)");
        assert_eq!(p("a?.b.c"), "chain(a?.b.c)");
        assert_eq!(p("a[1:2][-1]"), "a[1:2][-1]");
        assert_eq!(p("a[:2]"), "a[:2]");
        assert_eq!(p("a[-4:]"), "a[-4:]");
        assert_eq!(p("let x = 1; x + 1"), "(let x = 1; (x + 1))");
        assert_eq!(
            p("if a { 1 } else if b { 2 } else { 3 }"),
            "(a ? 1 : (b ? 2 : 3))"
        );
        assert_eq!(p("any(xs, {.a == #})"), "any(xs, {(#.a == #)})");
        assert_eq!(p("all(xs, # > 1)"), "all(xs, {(# > 1)})");
        assert_eq!(p("{Jan: '01', 'b': 2}[m]"), "{Jan: \"01\", b: 2}[m]");
        assert_eq!(p("x ?: 'd'"), "(x ?? \"d\")");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("a ==").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5));
        let e = parse("a\n  && )").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert!(parse("#").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("let = 1; 2").is_err());
        assert!(parse(&"(".repeat(10_000)).is_err());
    }
}
