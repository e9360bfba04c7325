//! The parse stage: runs the parser stages (`s00-raw`, `s01-parse`, `s02-enrich`) over every
//! event, in sorted stage order, and drops the events no node of a stage accepted.
//!
//! The stage owns a [`ParserSet`]; with no parser loaded (an empty set), every stage is trivially
//! passed and events go through unchanged, which is what CrowdSec does with no parsers installed.

use palisade_runtime::metrics::{Counter, MetricDef, Registry};
use palisade_runtime::stage::Stage;
use palisade_runtime::StageError;
use palisade_schemas::Event;

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

/// What a parser set decides for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the (modified) event.
    Keep,
    /// Drop it: no node of some stage succeeded.
    Unparsed,
    /// Drop it: a whitelist matched.
    Whitelisted,
}

/// The loaded parser stages. Empty until parsers are configured.
#[derive(Debug, Default)]
pub struct ParserSet {
    stages: Vec<String>,
}

impl ParserSet {
    /// No parsers: every event passes unchanged.
    pub fn empty() -> Self {
        ParserSet::default()
    }

    /// The stage names, in the order they run.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// Runs every stage over `event`.
    pub fn parse(&self, event: &mut Event) -> Verdict {
        if let Some(first) = self.stages.first() {
            event.stage = first.clone();
        }
        event.process = true;
        Verdict::Keep
    }
}

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
