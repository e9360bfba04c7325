//! The expression language of CrowdSec files (expr-lang/expr v1.17 plus CrowdSec's helpers),
//! evaluated directly against Palisade's typed [`palisade_schemas::Event`].
//!
//! ```
//! use palisade_expr::{Context, Program};
//! use palisade_schemas::Event;
//!
//! let ctx = Context::event();
//! let filter = Program::compile("evt.Meta.service == 'ssh' && evt.Parsed.user in ['root', 'admin']", &ctx).unwrap();
//! let mut evt = Event::default();
//! evt.meta.insert("service".into(), "ssh".into());
//! evt.parsed.insert("user".into(), "root".into());
//! assert!(filter.eval_bool(&mut evt).unwrap());
//!
//! let set = Program::compile("evt.SetMeta('seen', 'yes') && evt.Meta.seen == 'yes'", &ctx).unwrap();
//! assert!(set.eval_bool(&mut evt).unwrap());
//! assert_eq!(evt.meta["seen"], "yes");
//! ```
//!
//! # Why not the `expr-lang` crate
//!
//! The crates.io crate `expr-lang` 2.1.0 (jdx/expr.rs) was read before writing this one. It is
//! a tree-walking interpreter over a pest parse tree, with `?.`, `??`, `let`, closures with `#`
//! and many builtins, but it does not fit the pipeline:
//!
//! - its environment is a dynamic `Context` (an `IndexMap<String, Value>` of owned values), so
//!   every evaluation would first convert the `Event` into such a map (every Meta/Parsed
//!   string copied), which alone costs more than the whole filter should at 200k lines/s;
//!   member access clones the value it reads;
//! - custom functions receive owned argument values and an immutable context: `evt.SetMeta`,
//!   `evt.SetParsed`, `UnmarshalJSON(..., evt.Unmarshaled, key)` and `ParseKV` cannot write
//!   into the event, yet hub filters rely on these side effects;
//! - there is no typed environment: `evt.Foo` or `evt.Parsed.x + 1` would only fail at run
//!   time, where CrowdSec rejects them when the file loads;
//! - no way to call Go-style methods on host values (`evt.GetMeta(k)`, `evt.Time.Hour()`,
//!   `Alert.GetScope()`);
//! - `matches` compiles its regex on every evaluation and uses Rust regex semantics (Unicode
//!   `\d`), where CrowdSec uses Go's RE2 with ASCII classes;
//! - each call allocates the function name and an argument vector.
//!
//! So this crate has its own lexer and Pratt parser (expr-lang's precedences), a compile step
//! that resolves `evt.Meta.x` to a "Meta map, key x" opcode and checks types like CrowdSec's
//! typed environment, and an evaluator whose values borrow from the event.
//!
//! # Semantics kept from expr-lang / CrowdSec
//!
//! - A missing key of a `map[string]string` (`evt.Meta`, `evt.Parsed`, `evt.Enriched`,
//!   `evt.Line.Labels`) reads as `""`; of `evt.Unmarshaled` (`map[string]any`) as `nil`.
//! - Fetching a member of nil is a run-time error (`cannot fetch x from <nil>`) unless the
//!   step is optional (`a?.b`), which makes the whole chain nil. `x ?? d` replaces nil.
//! - `==` between different types is false, never an error; numbers compare across int and
//!   float. `<` between incomparable types is an error. `/` gives a float, `%` needs ints.
//! - JSON numbers are floats, as with Go's `encoding/json`.
//! - `and`/`or` short-circuit and need a bool on the left.
//! - `matches` uses Go RE2 syntax and semantics (ASCII `\d \w \s \b`); a literal pattern is
//!   compiled when the expression is compiled, a bad one is a compile error.
//! - Writes into the event are applied when the evaluation ends, even if it failed; reads later
//!   in the same expression already see them.
//!
//! # Contexts
//!
//! [`Context::event`] gives `evt`. Other contexts declare variables
//! (`Context::without_event().declare("Alert")`) and bind them at run time through the
//! [`Env`] trait or [`Vars`]; host types implement [`HostObject`] to expose Go-named fields
//! and methods (done here for `models.Alert`, `models.Source`, `types.RuntimeAlert`).

//!
//! # Not implemented
//!
//! Helpers that need services Palisade wires elsewhere or that no hub parser/scenario uses:
//! `GeoIP*`, `IPToCountry`, `CrowdsecCTI`, `HTTPGet`/`HTTPPost`/..., `LibInjectionIsSQLI/XSS`,
//! `JA4H`, `LookupHost`, `LookupFile`/`FileMap`/`MatchKnownBot` (map and bots data files),
//! `GetDecisionsCount` and the other decision-store queries; they are unknown names at
//! compile time. Also `evt.Appsec`, pipes `|`, `reduce`/`groupBy`/`sortBy`/`#acc`, time zones
//! other than UTC in `date()`, and `toJSON` indentation (output is compact).

mod compile;
mod env;
mod error;
mod eval;
mod event;
pub mod helpers;
mod ir;
mod lexer;
mod memo;
mod objects;
pub mod parser;
mod types;
mod value;

pub use compile::{Context, Program};
pub use env::{Env, HostObject, Vars};
pub use error::{CompileError, EvalError};
pub use helpers::files::{DataFileError, DataFiles};
pub use helpers::stash::Stash;
pub use value::{ConstVal, MapRef, Seq, Value};
