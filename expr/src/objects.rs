//! Go-shaped views of the schema types that expressions reach through fields rather than the
//! typed `evt` paths: `evt.Line` as a whole, `evt.Overflow` (`types.RuntimeAlert`),
//! `models.Alert` (bound as `Alert` in profiles), `models.Source`, alert events and meta items.
//! Field names are Go's (`Alert.Source.Value`, `Overflow.Alert.Remediation`); pointer fields
//! read as their pointee. Methods: `GetScope`, `GetValue`, `GetScenario`, `GetEventsCount`,
//! `GetMeta` on alerts, `GetScope`/`GetValue` on sources, `GetSources` on overflows.

use crate::env::HostObject;
use crate::value::Value;
use palisade_schemas::{Alert, AlertEvent, Line, MetaItem, RuntimeAlert, Source};
use std::collections::BTreeMap;

/// What `evt.Overflow` reads on an event that is not an overflow (Go's zero `RuntimeAlert`).
pub(crate) static EMPTY_OVERFLOW: RuntimeAlert = RuntimeAlert {
    mapkey: String::new(),
    bucket_id: String::new(),
    whitelisted: false,
    reprocess: false,
    sources: BTreeMap::new(),
    alert: None,
    api_alerts: Vec::new(),
};

impl HostObject for Line {
    fn type_name(&self) -> &'static str {
        "types.Line"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        crate::event::line_dyn_member(self, name)
    }
}

impl HostObject for RuntimeAlert {
    fn type_name(&self) -> &'static str {
        "types.RuntimeAlert"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Mapkey" => Value::str(&self.mapkey),
            "BucketId" => Value::str(&self.bucket_id),
            "Whitelisted" => Value::Bool(self.whitelisted),
            "Reprocess" => Value::Bool(self.reprocess),
            "Sources" => Value::map(
                self.sources
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Object(v as &dyn HostObject)))
                    .collect(),
            ),
            "Alert" => match &self.alert {
                Some(a) => Value::Object(&**a as &dyn HostObject),
                None => Value::Nil,
            },
            "APIAlerts" => Value::array(
                self.api_alerts
                    .iter()
                    .map(|a| Value::Object(a as &dyn HostObject))
                    .collect(),
            ),
            _ => return None,
        })
    }

    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        match name {
            "GetSources" if args.is_empty() => Some(Ok(Value::array(
                self.sources.keys().map(|k| Value::str(k)).collect(),
            ))),
            "GetSources" => Some(Err("too many arguments to call GetSources".into())),
            _ => None,
        }
    }
}

fn int(v: i32) -> Value<'static> {
    Value::Int(i64::from(v))
}

fn str_arg<'s>(args: &[Value<'s>], method: &str) -> Result<String, String> {
    match args {
        [Value::Str(s)] => Ok(s.to_string()),
        [other] => Err(format!(
            "cannot use {} as argument (type string) to call {method}",
            other.type_name()
        )),
        _ => Err(format!("{method} expects 1 argument")),
    }
}

impl HostObject for Alert {
    fn type_name(&self) -> &'static str {
        "*models.Alert"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Capacity" => int(self.capacity),
            "CreatedAt" => Value::str(&self.created_at),
            "Events" => Value::array(
                self.events
                    .iter()
                    .map(|e| Value::Object(e as &dyn HostObject))
                    .collect(),
            ),
            "EventsCount" => int(self.events_count),
            "ID" => Value::Int(self.id),
            "Labels" => match &self.labels {
                Some(l) => Value::Array(crate::value::Seq::Strs(l)),
                None => Value::Nil,
            },
            "Leakspeed" => Value::str(&self.leakspeed),
            "MachineID" => Value::str(&self.machine_id),
            "Message" => Value::str(&self.message),
            "Meta" => Value::array(
                self.meta
                    .iter()
                    .map(|m| Value::Object(m as &dyn HostObject))
                    .collect(),
            ),
            "Remediation" => Value::Bool(self.remediation),
            "Scenario" => Value::str(&self.scenario),
            "ScenarioHash" => Value::str(&self.scenario_hash),
            "ScenarioVersion" => Value::str(&self.scenario_version),
            "Simulated" => Value::Bool(self.simulated),
            "Source" => Value::Object(&self.source as &dyn HostObject),
            "StartAt" => Value::str(&self.start_at),
            "StopAt" => Value::str(&self.stop_at),
            "UUID" => Value::str(&self.uuid),
            "Kind" => Value::str(&self.kind),
            _ => return None,
        })
    }

    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        let no_args = |v: Value<'s>| {
            if args.is_empty() {
                Ok(v)
            } else {
                Err(format!("too many arguments to call {name}"))
            }
        };
        Some(match name {
            "GetScope" => no_args(Value::str(&self.source.scope)),
            "GetValue" => no_args(Value::str(&self.source.value)),
            "GetScenario" => no_args(Value::str(&self.scenario)),
            "GetEventsCount" => no_args(int(self.events_count)),
            "GetMeta" => str_arg(args, name).map(|k| {
                self.meta
                    .iter()
                    .find(|m| m.key == k)
                    .map(|m| Value::str(&m.value))
                    .unwrap_or(Value::str(""))
            }),
            _ => return None,
        })
    }
}

impl HostObject for Source {
    fn type_name(&self) -> &'static str {
        "*models.Source"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "AsName" => Value::str(&self.as_name),
            "AsNumber" => Value::str(&self.as_number),
            "Cn" => Value::str(&self.cn),
            "IP" => Value::str(&self.ip),
            "Latitude" => Value::Float(f64::from(self.latitude)),
            "Longitude" => Value::Float(f64::from(self.longitude)),
            "Range" => Value::str(&self.range),
            "Scope" => Value::str(&self.scope),
            "Value" => Value::str(&self.value),
            _ => return None,
        })
    }

    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        let v = match name {
            "GetScope" => Value::str(&self.scope),
            "GetValue" => Value::str(&self.value),
            _ => return None,
        };
        Some(if args.is_empty() {
            Ok(v)
        } else {
            Err(format!("too many arguments to call {name}"))
        })
    }
}

impl HostObject for AlertEvent {
    fn type_name(&self) -> &'static str {
        "*models.Event"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Meta" => Value::array(
                self.meta
                    .iter()
                    .map(|m| Value::Object(m as &dyn HostObject))
                    .collect(),
            ),
            "Timestamp" => Value::str(&self.timestamp),
            _ => return None,
        })
    }

    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        match name {
            "GetMeta" => Some(str_arg(args, name).map(|k| {
                self.meta
                    .iter()
                    .find(|m| m.key == k)
                    .map(|m| Value::str(&m.value))
                    .unwrap_or(Value::str(""))
            })),
            _ => None,
        }
    }
}

impl HostObject for MetaItem {
    fn type_name(&self) -> &'static str {
        "*models.MetaItems0"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "Key" => Some(Value::str(&self.key)),
            "Value" => Some(Value::str(&self.value)),
            _ => None,
        }
    }
}
