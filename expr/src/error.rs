//! Errors: [`CompileError`] for what is wrong with an expression's text (syntax, unknown names,
//! type mismatches the checker can prove, bad regex literals), always with a 1-based line and
//! column inside the expression; [`EvalError`] for what goes wrong while evaluating it (fetching a
//! member of nil, a helper given bad input, a type mismatch only visible at run time).

use std::fmt;

/// An expression that cannot be compiled. `line` and `column` are 1-based and count characters
/// inside the expression text (not the YAML file that holds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// 1-based line inside the expression.
    pub line: u32,
    /// 1-based column (in characters) inside the line.
    pub column: u32,
    /// What is wrong, in expr-lang's words where they exist.
    pub message: String,
}

impl CompileError {
    /// An error at byte offset `offset` of `source`.
    pub(crate) fn at(source: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(source, offset);
        CompileError {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for CompileError {}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub(crate) fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// A run-time failure. The evaluation stops; side effects already made (SetMeta, UnmarshalJSON)
/// stay, as in CrowdSec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A failure inside the expression: `cannot fetch x from <nil>`, a helper error, ...
    #[error("{message} (at byte {offset})")]
    Runtime {
        /// What went wrong.
        message: String,
        /// Byte offset in the expression of the operation that failed.
        offset: u32,
    },
    /// `eval_bool` on an expression whose result is not a boolean.
    #[error("expression returned {type_name}, not a bool")]
    NotBool {
        /// expr-lang's name for the type that came back.
        type_name: &'static str,
    },
    /// `eval_string` on a result that has no string form (array, map, ...).
    #[error("expression returned {type_name}, not a string")]
    NotString {
        /// expr-lang's name for the type that came back.
        type_name: &'static str,
    },
}

impl EvalError {
    /// A run-time error at byte `offset` of the expression.
    pub fn new(message: impl Into<String>, offset: u32) -> Self {
        EvalError::Runtime {
            message: message.into(),
            offset,
        }
    }

    /// The message without position.
    pub fn message(&self) -> String {
        match self {
            EvalError::Runtime { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}
