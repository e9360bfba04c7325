//! `palisade explain`: what each parser stage and node did to each line, like `cscli explain`.
//!
//! For every node that ran: whether it succeeded, and the fields it set or changed (Parsed,
//! Meta, Enriched, Unmarshaled keys, StrTime, MarshaledTime, whitelisting). Only the fields are
//! compared, not whole events, so it stays fast on big files.

use palisade_ingest::parser::{ParserSet, Trace, Verdict};
use palisade_schemas::Event;
use std::fmt::Write;

/// One node's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStep {
    /// The stage.
    pub stage: String,
    /// The node.
    pub node: String,
    /// Whether it succeeded.
    pub success: bool,
    /// `Parsed.x = "v"` entries it set or changed.
    pub changes: Vec<String>,
}

/// Records the steps of one line.
#[derive(Default)]
struct Recorder {
    steps: Vec<NodeStep>,
    prev: Snapshot,
}

#[derive(Default, Clone)]
struct Snapshot {
    parsed: palisade_schemas::FieldMap,
    meta: palisade_schemas::FieldMap,
    enriched: palisade_schemas::FieldMap,
    unmarshaled: Vec<String>,
    str_time: String,
    marshaled_time: String,
    whitelisted: bool,
}

impl Snapshot {
    fn of(e: &Event) -> Self {
        Snapshot {
            parsed: e.parsed.clone(),
            meta: e.meta.clone(),
            enriched: e.enriched.clone(),
            unmarshaled: e.unmarshaled.keys().cloned().collect(),
            str_time: e.str_time.clone(),
            marshaled_time: e.marshaled_time.clone(),
            whitelisted: e.whitelisted,
        }
    }
}

fn diff_map(
    name: &str,
    before: &palisade_schemas::FieldMap,
    after: &palisade_schemas::FieldMap,
    out: &mut Vec<String>,
) {
    let mut changed: Vec<(&str, &String)> = after
        .iter()
        .filter(|(k, v)| before.get(k.as_str()) != Some(*v))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    changed.sort_unstable_by_key(|(k, _)| *k);
    for (k, v) in changed {
        out.push(format!("{name}.{k} = {v:?}"));
    }
}

impl Trace for Recorder {
    fn node(&mut self, stage: &str, node: &str, success: bool, evt: &Event) {
        let now = Snapshot::of(evt);
        let mut changes = Vec::new();
        diff_map("Parsed", &self.prev.parsed, &now.parsed, &mut changes);
        diff_map("Meta", &self.prev.meta, &now.meta, &mut changes);
        diff_map("Enriched", &self.prev.enriched, &now.enriched, &mut changes);
        for k in now
            .unmarshaled
            .iter()
            .filter(|k| !self.prev.unmarshaled.contains(k))
        {
            changes.push(format!("Unmarshaled.{k} = <set>"));
        }
        if now.str_time != self.prev.str_time {
            changes.push(format!("StrTime = {:?}", now.str_time));
        }
        if now.marshaled_time != self.prev.marshaled_time {
            changes.push(format!("MarshaledTime = {:?}", now.marshaled_time));
        }
        if now.whitelisted && !self.prev.whitelisted {
            changes.push(format!("Whitelisted = true ({:?})", evt.whitelist_reason));
        }
        self.steps.push(NodeStep {
            stage: stage.to_string(),
            node: node.to_string(),
            success,
            changes,
        });
        self.prev = now;
    }
}

/// What happened to one line.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The nodes that ran, in order.
    pub steps: Vec<NodeStep>,
    /// The outcome.
    pub verdict: Verdict,
    /// The stage the event was at when parsing stopped.
    pub stage: String,
    /// The final event.
    pub event: Event,
}

/// Parses `event` with `parsers`, recording every node.
pub fn explain(parsers: &ParserSet, mut event: Event) -> Explained {
    let mut rec = Recorder {
        prev: Snapshot::of(&event),
        ..Default::default()
    };
    let verdict = parsers.parse_traced(&mut event, &mut rec);
    Explained {
        steps: rec.steps,
        verdict,
        stage: event.stage.clone(),
        event,
    }
}

/// Renders one explained line for people.
pub fn render(n: usize, raw: &str, x: &Explained) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "line {n}: {raw}");
    let mut stage = "";
    for s in &x.steps {
        if s.stage != stage {
            stage = &s.stage;
            let _ = writeln!(out, "  {stage}");
        }
        let mark = if s.success { "ok  " } else { "fail" };
        let _ = writeln!(out, "    {mark} {}", s.node);
        for c in &s.changes {
            let _ = writeln!(out, "           + {c}");
        }
    }
    let verdict = match x.verdict {
        Verdict::Keep => "parsed: goes to the scenarios".to_string(),
        Verdict::Unparsed => format!(
            "unparsed: no node of {} succeeded or promoted it; dropped",
            x.stage
        ),
        Verdict::Whitelisted => format!("whitelisted ({}); dropped", x.event.whitelist_reason),
    };
    let _ = writeln!(out, "  => {verdict}");
    out
}
