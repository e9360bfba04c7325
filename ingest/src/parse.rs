//! The parse stage: runs the parser stages (`s00-raw`, `s01-parse`, `s02-enrich`) over every
//! event, in sorted stage order, and drops the events no node of a stage accepted.
//!
//! The stage owns a [`ParserSet`] (see [`crate::parser`]); with no parser loaded (an empty set),
//! events go through unchanged.

use palisade_runtime::metrics::{Counter, MetricDef, Registry};
use palisade_runtime::stage::Stage;
use palisade_runtime::StageError;
use palisade_schemas::Event;

pub use crate::parser::{ParserSet, Verdict};

/// Events the parse stage accepted.
pub static PARSE_PARSED: MetricDef = MetricDef::counter(
    "palisade_ingest_parsed_events_total",
    "Events that went through every parser stage.",
);
/// Events the parse stage dropped.
pub static PARSE_DROPPED: MetricDef = MetricDef::counter(
    "palisade_ingest_unparsed_events_total",
    "Events dropped by the parse stage (no node of a stage succeeded, or whitelisted).",
);

/// The parse stage.
#[derive(Debug)]
pub struct ParseStage {
    parsers: ParserSet,
    parsed: Counter,
    unparsed: Counter,
    whitelisted: Counter,
}

impl ParseStage {
    /// A parse stage over `parsers`, counting into `metrics`.
    pub fn new(parsers: ParserSet, metrics: &Registry) -> Self {
        ParseStage {
            parsers,
            parsed: metrics.counter(&PARSE_PARSED, &[]),
            unparsed: metrics.counter(&PARSE_DROPPED, &[("reason", "unparsed")]),
            whitelisted: metrics.counter(&PARSE_DROPPED, &[("reason", "whitelisted")]),
        }
    }
}

impl Stage for ParseStage {
    type In = Event;
    type Out = Event;

    fn name(&self) -> &'static str {
        "parse"
    }

    async fn process(
        &mut self,
        items: &mut Vec<Event>,
        out: &mut Vec<Event>,
    ) -> Result<(), StageError> {
        out.reserve(items.len());
        for mut e in items.drain(..) {
            match self.parsers.parse(&mut e) {
                Verdict::Keep => {
                    self.parsed.inc();
                    out.push(e);
                }
                Verdict::Unparsed => self.unparsed.inc(),
                Verdict::Whitelisted => self.whitelisted.inc(),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_empty_parser_set_passes_events_and_counts_them() {
        let r = Registry::new();
        let mut stage = ParseStage::new(ParserSet::empty(), &r);
        let mut out = Vec::new();
        let mut e = Event::default();
        e.line.raw = "hello".into();
        stage
            .process(&mut vec![e.clone(), e], &mut out)
            .await
            .unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].process);
        assert_eq!(r.total("palisade_ingest_parsed_events_total"), 2);
    }
}
