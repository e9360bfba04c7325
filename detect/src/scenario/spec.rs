//! The YAML of a CrowdSec scenario (`BucketSpec` in `pkg/leakybucket/manager_load.go`), decoded
//! strictly: an unknown key is a load error naming the file, the line and the field. One YAML
//! document of a scenario file is one scenario. Scalars destined to string fields are accepted
//! whatever their YAML type (`format: 2.0`, `version: 0.1`), as Go's `yaml.v2` does.

use palisade_runtime::config::lenient_string;
use serde::{Deserialize, Deserializer};

fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient_string(d)
}

/// A scenario as written in YAML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioSpec {
    /// Format version; must satisfy `>= 1.0, <= 3.0` (a scenario outside is skipped).
    #[serde(deserialize_with = "lenient")]
    pub format: String,
    /// Mandatory free text.
    #[serde(deserialize_with = "lenient")]
    pub description: String,
    /// Links.
    pub references: Vec<String>,
    /// `leaky`, `trigger`, `counter`, `conditional` or `bayesian`.
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: String,
    /// The scenario's name, unique; alerts carry it.
    #[serde(deserialize_with = "lenient")]
    pub name: String,
    /// Burst capacity: leaky > 0, trigger 0, counter and bayesian -1, conditional -1 advised.
    pub capacity: i64,
    /// Go duration: one token leaks back every `leakspeed` (leaky, conditional, bayesian).
    #[serde(deserialize_with = "lenient")]
    pub leakspeed: String,
    /// Expression selecting the events of the scenario (required).
    #[serde(deserialize_with = "lenient")]
    pub filter: String,
    /// Expression giving the partition key; absent means one bucket for the scenario.
    #[serde(deserialize_with = "lenient")]
    pub groupby: String,
    /// Expression: an event whose value was already seen by the bucket instance is dropped.
    #[serde(deserialize_with = "lenient")]
    pub distinct: String,
    /// Debug logging for this scenario.
    pub debug: bool,
    /// Free metadata; only `remediation: true` is read by the engine.
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// Go duration: the same partition cannot overflow again before it has passed.
    #[serde(deserialize_with = "lenient")]
    pub blackhole: String,
    /// The scope of the alert's source.
    pub scope: ScopeSpec,
    /// Whether the overflow is poured back into the scenarios.
    pub reprocess: bool,
    /// Data files the expressions read.
    pub data: Vec<DataSpec>,
    /// Conditional buckets: overflow when true (env `evt`, `queue`, `leaky`).
    #[serde(deserialize_with = "lenient")]
    pub condition: String,
    /// Caps the events kept by a bucket instance.
    pub cache_size: i64,
    /// Expression: true destroys the bucket instance silently.
    #[serde(deserialize_with = "lenient")]
    pub cancel_on: String,
    /// Bayesian prior, in (0, 1].
    pub bayesian_prior: f32,
    /// Bayesian threshold, in (0, 1].
    pub bayesian_threshold: f32,
    /// Bayesian conditions.
    pub bayesian_conditions: Vec<BayesianConditionSpec>,
    /// Expression (env `queue`, `signal`, `leaky`): false discards the overflow.
    #[serde(deserialize_with = "lenient")]
    pub overflow_filter: String,
    /// Go duration: the fixed lifetime of `counter` buckets.
    #[serde(deserialize_with = "lenient")]
    pub duration: String,
    /// The scenario version (CrowdSec overwrites it from the hub index).
    #[serde(deserialize_with = "lenient")]
    pub version: String,
}

/// `scope:` of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeSpec {
    /// `Ip` (the default), `Range`, or any custom scope.
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: String,
    /// Expression giving the source value (forbidden for `Ip`, optional for `Range`, required
    /// otherwise).
    #[serde(deserialize_with = "lenient")]
    pub expression: String,
}

/// One of `bayesian_conditions:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BayesianConditionSpec {
    /// Expression (env `evt`, `queue`, `leaky`).
    #[serde(deserialize_with = "lenient")]
    pub condition: String,
    /// P(condition | evil).
    pub prob_given_evil: f32,
    /// P(condition | benign).
    pub prob_given_benign: f32,
    /// Once true, stays true for the bucket instance without being evaluated again.
    pub guillotine: bool,
}

/// `data:` entry (`enrichment.DataProvider`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Where `cscli` downloads it from (informative).
    #[serde(deserialize_with = "lenient")]
    pub source_url: String,
    /// The file name in the data directory.
    #[serde(deserialize_with = "lenient")]
    pub dest_file: String,
    /// `string`, `regexp` (`regex`), `map`; empty means not loaded.
    #[serde(rename = "type", deserialize_with = "lenient")]
    pub kind: String,
    /// Regexp cache strategy (accepted).
    #[serde(deserialize_with = "lenient")]
    pub strategy: String,
    /// Regexp cache size (accepted).
    pub size: Option<i64>,
    /// Regexp cache TTL (accepted).
    #[serde(deserialize_with = "lenient")]
    pub ttl: String,
    /// Regexp cache switch (accepted).
    pub cache: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_field_and_refuses_unknown_ones() {
        let v = serde_json::json!({
            "type": "leaky", "name": "a/b", "description": "d", "format": 2.0,
            "capacity": 5, "leakspeed": "10s", "filter": "true", "groupby": "evt.Meta.source_ip",
            "distinct": "evt.Meta.x", "labels": {"remediation": true, "classification": ["a"]},
            "blackhole": "1m", "scope": {"type": "Range", "expression": "x"}, "reprocess": true,
            "cache_size": 3, "cancel_on": "false", "overflow_filter": "true", "duration": "1s",
            "bayesian_prior": 0.5, "bayesian_threshold": 0.8,
            "bayesian_conditions": [{"condition": "true", "prob_given_evil": 0.9,
                                     "prob_given_benign": 0.1, "guillotine": true}],
            "data": [{"dest_file": "f.txt", "type": "string", "source_url": "u"}],
            "version": 0.3, "references": ["r"], "debug": false, "condition": "true"
        });
        let s: ScenarioSpec = serde_json::from_value(v).unwrap();
        assert_eq!(s.format, "2.0");
        assert_eq!(s.version, "0.3");
        assert_eq!(s.scope.kind, "Range");
        assert!(s.bayesian_conditions[0].guillotine);
        assert_eq!(s.labels["remediation"], true);
        let bad = serde_json::json!({"name": "x", "author": "me"});
        let e = serde_json::from_value::<ScenarioSpec>(bad).unwrap_err();
        assert!(e.to_string().contains("unknown field `author`"), "{e}");
    }
}
