//! Stage chaining (CrowdSec's `parser.Parse`, §2.5 of the engine spec): stages run in sorted
//! order; each non-final stage needs a successful node that promotes the event, the final stage
//! needs any successful node; otherwise the event is unparsed and dropped.

use super::node::{Node, NodeCtx};
use palisade_expr::Stash;
use palisade_schemas::Event;
use std::sync::Arc;

/// Initial room in `Parsed`, `Meta` and `Enriched` (28, 14 and 14 entries with hashbrown's
/// bucket rounding).
const PARSED_RESERVE: usize = 16;
const META_RESERVE: usize = 8;
const ENRICHED_RESERVE: usize = 8;

/// What the parser set decides for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the (modified) event.
    Keep,
    /// Drop it: no node of some stage succeeded, or a stage was not reached.
    Unparsed,
    /// Drop it: a whitelist matched.
    Whitelisted,
}

/// Observes parsing node by node (for `explain` and hubtest dumps).
pub trait Trace {
    /// Called after `node` of `stage` ran on the event.
    fn node(&mut self, stage: &str, node: &str, success: bool, evt: &Event);
}

/// No tracing.
pub struct NoTrace;

impl Trace for NoTrace {
    fn node(&mut self, _: &str, _: &str, _: bool, _: &Event) {}
}

/// Loaded parser stages, in order, with their top-level nodes in load order.
#[derive(Default)]
pub struct ParserSet {
    stage_names: Vec<String>,
    nodes: Vec<Vec<Node>>,
    stash: Arc<Stash>,
}

impl std::fmt::Debug for ParserSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParserSet")
            .field("stages", &self.stage_names)
            .field(
                "nodes",
                &self.nodes.iter().map(Vec::len).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ParserSet {
    /// No parsers: every event passes unchanged.
    pub fn empty() -> Self {
        ParserSet::default()
    }

    /// Builds a set from stages (sorted here) and their nodes.
    pub fn new(mut stages: Vec<(String, Vec<Node>)>, stash: Arc<Stash>) -> Self {
        stages.sort_by(|a, b| a.0.cmp(&b.0));
        stages.retain(|(_, n)| !n.is_empty());
        let (stage_names, nodes) = stages.into_iter().unzip();
        ParserSet {
            stage_names,
            nodes,
            stash,
        }
    }

    /// The stage names, in the order they run.
    pub fn stages(&self) -> &[String] {
        &self.stage_names
    }

    /// The nodes of each stage.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &[Node])> {
        self.stage_names
            .iter()
            .map(String::as_str)
            .zip(self.nodes.iter().map(Vec::as_slice))
    }

    /// How many top-level nodes are loaded.
    pub fn len(&self) -> usize {
        self.nodes.iter().map(Vec::len).sum()
    }

    /// Whether no node is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs every stage over `event`.
    pub fn parse(&self, event: &mut Event) -> Verdict {
        self.parse_traced(event, &mut NoTrace)
    }

    /// Runs every stage over `event`, reporting each node to `trace`.
    pub fn parse_traced(&self, evt: &mut Event, trace: &mut dyn Trace) -> Verdict {
        if self.stage_names.is_empty() {
            evt.process = true;
            return Verdict::Keep;
        }
        if evt.stage.is_empty() {
            evt.stage = self.stage_names[0].clone();
        }
        // Room for what the hub's parsers typically write (an nginx access line ends with 25
        // Parsed and 13 Meta keys), so that the maps do not grow (rehashing every key) 3 or 4
        // times along the way.
        if evt.parsed.capacity() == 0 {
            evt.parsed.reserve(PARSED_RESERVE);
        }
        if evt.meta.capacity() == 0 {
            evt.meta.reserve(META_RESERVE);
        }
        let last = self.stage_names.len() - 1;
        let ctx = NodeCtx {
            stages: &self.stage_names,
            stash: &self.stash,
        };
        for (i, stage) in self.stage_names.iter().enumerate() {
            // An event injected at a later stage skips the earlier ones.
            if let Some(cur) = self.stage_names.iter().position(|s| *s == evt.stage) {
                if cur > i {
                    continue;
                }
            }
            if evt.stage != *stage {
                evt.process = false;
                return Verdict::Unparsed;
            }
            if i == last && i > 0 && evt.enriched.capacity() == 0 {
                evt.enriched.reserve(ENRICHED_RESERVE);
            }
            let mut ok = false;
            for node in &self.nodes[i] {
                let r = node.process(evt, &ctx);
                trace.node(stage, &node.name, r, evt);
                ok |= r;
                if r && node.next_stage {
                    break;
                }
                if evt.stage != *stage {
                    break;
                }
            }
            if !ok {
                evt.process = false;
                return Verdict::Unparsed;
            }
        }
        evt.process = true;
        if evt.whitelisted {
            Verdict::Whitelisted
        } else {
            Verdict::Keep
        }
    }
}
