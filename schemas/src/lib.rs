//! # palisade-schemas
//!
//! The types every Palisade stage shares, and nothing else: no I/O, no async runtime, so that
//! bouncers and external tools can depend on this crate alone.
//!
//! Where it sits in the pipeline:
//!
//! ```text
//! sources ──Event(Line)──► ingest (parse, enrich) ──Event──► detect ──Alert──► publish ──Decision──► bouncers
//!                                                                               └──Signal──► community
//! ```
//!
//! * [`Event`] mirrors CrowdSec's `pipeline.Event` field for field (same JSON names), so that
//!   CrowdSec parser and scenario expressions address it the same way (`evt.Parsed.x`,
//!   `evt.Line.Labels.type`, ...).
//! * [`Alert`] and [`Decision`] use the JSON shapes of CrowdSec's Local API.
//! * [`Signal`] is what Palisade shares with the community service: an alert without its events.
//! * [`arrow`](crate::arrow) holds the Arrow schemas used by SQL scenarios and the archive.
//! * [`duration`] reads and writes Go's `time.Duration` syntax (`4h0m0s`), which the Local API speaks.

pub mod alert;
pub mod arrow;
pub mod decision;
pub mod duration;
mod error;
pub mod event;
mod field_name;
pub mod signal;
pub mod time;

pub use alert::{Alert, AlertEvent, MetaItem, Source};
pub use decision::{normalize_scope, Decision, DecisionAction, DecisionChange};
pub use error::SchemaError;
pub use event::{Event, EventType, ExpectMode, FieldMap, Line, RuntimeAlert};
pub use field_name::FieldName;
pub use signal::Signal;
