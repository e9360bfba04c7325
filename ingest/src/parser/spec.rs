//! The YAML of a CrowdSec parser node (`NodeConfig`), decoded strictly: an unknown key is a load
//! error naming file, line and field. One YAML document of a parser file is one top-level node.

use palisade_runtime::config::lenient_string;
use serde::Deserialize;

fn lenient_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient_string(d)
}

/// A parser node as written in YAML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSpec {
    /// Name, used in metrics and dumps; sub-nodes without one are named after their parent.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Free text.
    pub author: String,
    /// Links.
    pub references: Vec<String>,
    /// Format version (`>=1.0, <=3.0`).
    #[serde(deserialize_with = "lenient_opt")]
    pub format: String,
    /// Debug logging for this node and its children.
    pub debug: bool,
    /// Accepted, ignored.
    pub profiling: bool,
    /// The stage; overwritten by the directory the file is in.
    pub stage: String,
    /// Expression that must be true for the node to run.
    pub filter: String,
    /// `next_stage` or `continue`.
    pub onsuccess: String,
    /// Grok definitions added to the global table, first definition wins.
    pub pattern_syntax: serde_json::Map<String, serde_json::Value>,
    /// The grok of this node.
    pub grok: Option<GrokSpec>,
    /// Sub-nodes.
    pub nodes: Vec<NodeSpec>,
    /// Statics applied when the node succeeds.
    pub statics: Vec<StaticSpec>,
    /// A whitelist.
    pub whitelist: Option<WhitelistSpec>,
    /// Stash writes.
    pub stash: Vec<StashSpec>,
    /// Data files the node's expressions use.
    pub data: Vec<DataSpec>,
}

/// `grok:` of a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrokSpec {
    /// An inline pattern.
    pub pattern: String,
    /// Or the name of a pattern of the table.
    pub name: String,
    /// `Line.Raw` or a key of `Parsed`.
    pub apply_on: String,
    /// Or an expression giving the input.
    pub expression: String,
    /// Statics applied right after a match.
    pub statics: Vec<StaticSpec>,
}

/// One static: one destination, one source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticSpec {
    /// Destination: `evt.Meta[key]`.
    pub meta: String,
    /// Destination: `evt.Parsed[key]`.
    pub parsed: String,
    /// Destination: `evt.Enriched[key]`.
    pub enriched: String,
    /// Destination: a dotted path into the event.
    pub target: String,
    /// Destination: an enrichment method, whose result merges into `evt.Enriched`.
    pub method: String,
    /// Source: a literal.
    #[serde(deserialize_with = "lenient_opt")]
    pub value: String,
    /// Source: an expression.
    pub expression: String,
}

/// `whitelist:` of a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhitelistSpec {
    /// Why (becomes `evt.WhitelistReason`).
    pub reason: String,
    /// Addresses.
    pub ip: Vec<String>,
    /// Networks.
    pub cidr: Vec<String>,
    /// Expressions; any true whitelists the event.
    pub expression: Vec<String>,
}

/// `stash:` entry of a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StashSpec {
    /// The cache name.
    pub name: String,
    /// Expression giving the key.
    pub key: String,
    /// Expression giving the value.
    pub value: String,
    /// Go duration, required.
    pub ttl: String,
    /// Entries kept (default 100).
    pub size: Option<usize>,
    /// `LRU` (default), `LFU`, `ARC`.
    pub strategy: String,
}

/// `data:` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Where CrowdSec downloads it from (informative).
    pub source_url: String,
    /// The file name in the data directory.
    pub dest_file: String,
    /// `string`, `regexp` or `map`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Cache strategy for regexps (accepted, informative).
    pub strategy: String,
    /// Cache size (accepted).
    pub size: Option<usize>,
    /// Cache TTL (accepted).
    pub ttl: String,
    /// Cache enabled (accepted).
    pub cache: Option<bool>,
}
