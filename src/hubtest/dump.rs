//! The parser dump cscli hubtest asserts over: `results[stage][node]` is the list of every
//! event that reached the node, in order, with `Success` and a snapshot `Evt` of the event
//! right after the node ran. Snapshots use CrowdSec's Go field names (`Evt.WhitelistReason`).

use palisade_ingest::parser::Trace;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::Event;
use serde_json::{json, Map, Value};

/// Collects the dump while parsing.
#[derive(Debug, Default)]
pub struct Dump {
    stages: Map<String, Value>,
}

impl Trace for Dump {
    fn node(&mut self, stage: &str, node: &str, success: bool, evt: &Event) {
        let nodes = self
            .stages
            .entry(stage.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let list = nodes
            .as_object_mut()
            .expect("stage entries are objects")
            .entry(node.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(l) = list {
            l.push(json!({ "Success": success, "Evt": snapshot(evt) }));
        }
    }
}

impl Dump {
    /// The `results` value: the stages reached, plus the pseudo stage `success`.
    pub fn into_results(mut self) -> Value {
        let mut success = Map::new();
        success.insert(String::new(), Value::Array(Vec::new()));
        self.stages.insert("success".into(), Value::Object(success));
        Value::Object(self.stages)
    }
}

/// An event as Go field names show it to assertions.
pub fn snapshot(e: &Event) -> Value {
    json!({
        "Type": u8::from(e.kind),
        "ExpectMode": u8::from(e.expect_mode),
        "Whitelisted": e.whitelisted,
        "WhitelistReason": e.whitelist_reason,
        "Stage": e.stage,
        "Line": {
            "Raw": e.line.raw,
            "Src": e.line.src,
            "Labels": e.line.labels,
            "Module": e.line.module,
            "Process": e.line.process,
        },
        "Parsed": e.parsed,
        "Enriched": e.enriched,
        "Meta": e.meta,
        "Unmarshaled": e.unmarshaled,
        "Time": e.time.map(|t| format_rfc3339_nano(&t)).unwrap_or_else(|| palisade_schemas::time::GO_ZERO_TIME.into()),
        "StrTime": e.str_time,
        "StrTimeFormat": e.str_time_format,
        "MarshaledTime": e.marshaled_time,
        "Process": e.process,
    })
}
