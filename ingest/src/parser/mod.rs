//! The CrowdSec parser engine: parser YAML loaded unmodified ([`load`]), nodes with CrowdSec's
//! exact semantics ([`node`]), stages chained in sorted order ([`engine`]).
//!
//! ```text
//! Event ──► s00-raw ──► s01-parse ──► s02-enrich ──► Verdict::Keep | Unparsed | Whitelisted
//!            (each stage: nodes in file order; filter → whitelist → grok → children → statics)
//! ```

pub mod config;
pub mod engine;
pub mod load;
pub mod node;
mod simple_filter;
pub mod spec;
mod statics;
pub mod whitelist;

pub use config::{ParserText, ParsersSpec};
pub use engine::{NoTrace, ParserSet, Trace, Verdict};
pub use load::{collect_dir, Loader, ParserFile};
pub use node::Node;

#[cfg(test)]
mod tests;
