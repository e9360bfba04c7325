//! What machines send and manage: `POST /v1/alerts` (agents push alerts; profiles make the
//! decisions, or `cscli decisions add` brings its own), `GET /v1/alerts[/{id}]`, and
//! `DELETE /v1/decisions[/{id}]` (expiry: `until = now`, so bouncers learn it from the stream).

use super::error::{json, ApiError};
use super::machine::Machine;
use super::query::{parse_bool, DecisionQuery, Route};
use super::state::LapiState;
use super::{read_json, Limit};
use crate::metrics::API_ALERTS_RECEIVED;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use palisade_schemas::duration::parse_go_duration;
use palisade_schemas::{normalize_scope, Alert, Decision};
use serde_json::Value;
use std::sync::Arc;

/// The fields the Local API's schema requires of each alert.
const REQUIRED: &[&str] = &[
    "scenario",
    "scenario_hash",
    "scenario_version",
    "message",
    "events_count",
    "start_at",
    "stop_at",
    "capacity",
    "leakspeed",
    "simulated",
    "events",
    "source",
];

/// The swagger validation of an alert batch: one line per missing field.
fn validate(alerts: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in alerts.iter().enumerate() {
        for k in REQUIRED {
            if a.get(k).is_none_or(Value::is_null) {
                out.push(format!("{i}.{k} in body is required"));
            }
        }
        if let Some(src) = a.get("source").filter(|s| s.is_object()) {
            for k in ["scope", "value"] {
                if src.get(k).is_none_or(Value::is_null) {
                    out.push(format!("{i}.source.{k} in body is required"));
                }
            }
        }
        for (j, e) in a
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for k in ["timestamp", "meta"] {
                if e.get(k).is_none_or(Value::is_null) {
                    out.push(format!("{i}.events.{j}.{k} in body is required"));
                }
            }
        }
        for (j, d) in a
            .get("decisions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for k in ["duration", "origin", "scenario", "scope", "type", "value"] {
                if d.get(k).is_none_or(Value::is_null) {
                    out.push(format!("{i}.decisions.{j}.{k} in body is required"));
                }
            }
        }
    }
    out
}

/// `POST /v1/alerts`: 201 with the new alerts' ids as strings.
pub(crate) async fn push(
    State(st): State<Arc<LapiState>>,
    m: Machine,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let v: Value = read_json(&headers, body, Limit::Large).await?;
    let Value::Array(items) = &v else {
        return Err(ApiError::bad_request(
            "json: cannot unmarshal object into Go value of type models.AddAlertsRequest",
        ));
    };
    let problems = validate(items);
    if !problems.is_empty() {
        return Err(ApiError::internal(format!(
            "validation failure list:\n{}",
            problems.join("\n")
        )));
    }
    let mut alerts: Vec<Alert> =
        serde_json::from_value(v).map_err(|e| ApiError::bad_request(e.to_string()))?;
    for a in &mut alerts {
        for d in a.decisions.iter_mut().flatten() {
            parse_go_duration(&d.duration).map_err(|e| {
                ApiError::internal(format!("decision duration '{}' : {e}", d.duration))
            })?;
            d.scope = normalize_scope(&d.scope);
        }
        a.source.scope = normalize_scope(&a.source.scope);
        a.machine_id = m.id.clone();
        a.id = 0;
        a.created_at.clear();
    }
    let now = st.now();
    let mut ids = Vec::with_capacity(alerts.len());
    let mut made: Vec<Decision> = Vec::new();
    {
        let mut store = st.store();
        for mut a in alerts {
            if a.uuid.is_empty() {
                a.uuid = crate::profile::alert_uuid(&a);
            }
            st.profiles
                .apply(&mut a, now, &*store)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            // As CrowdSec's Local API does, decisions run from the time they are received
            // (an agent replaying old logs still bans for the full duration).
            for d in a.decisions.iter_mut().flatten() {
                if let Ok(length) = parse_go_duration(&d.duration) {
                    d.until = now.checked_add_signed(length);
                }
            }
            let (id, decisions) = store.insert_alert(&a, now)?;
            ids.push(id.to_string());
            made.extend(decisions);
        }
        store.machine_pushed(&m.id, now)?;
    }
    st.registry
        .counter(&API_ALERTS_RECEIVED, &[])
        .add(ids.len() as u64);
    st.index.apply_all(&made);
    Ok(json(
        StatusCode::CREATED,
        serde_json::to_string(&ids).unwrap_or_default(),
    ))
}

/// A relative time as cscli sends it (`1h`, `7d`): `now - d`.
fn ago(now: DateTime<Utc>, v: &str) -> Result<DateTime<Utc>, ApiError> {
    let d = palisade_runtime::config::parse_duration(v)
        .map_err(|e| ApiError::internal(format!("while parsing duration: {e}")))?;
    Ok(now - chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX))
}

fn alert_json(a: &Alert, now: DateTime<Utc>) -> Value {
    let mut a = a.clone();
    for d in a.decisions.iter_mut().flatten() {
        let simulated = d.simulated;
        *d = d.for_bouncer(now);
        d.simulated = simulated;
    }
    serde_json::to_value(&a).unwrap_or(Value::Null)
}

type AlertCheck = Box<dyn Fn(&Alert) -> bool + Send>;

/// `GET|HEAD /v1/alerts`: the newest alerts first, filtered as cscli asks.
pub(crate) async fn list(
    State(st): State<Arc<LapiState>>,
    method: Method,
    _m: Machine,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if method == Method::HEAD {
        return Ok(StatusCode::OK.into_response());
    }
    let now = st.now();
    let mut limit = 100usize;
    let mut since = None;
    let mut until = None;
    let mut checks: Vec<AlertCheck> = Vec::new();
    let mut span_q: Vec<(String, String)> = Vec::new();
    // As CrowdSec: simulated alerts only with `simulated=true`.
    let mut with_simulated = false;
    for (k, v) in &params {
        let v = v.clone();
        match k.as_str() {
            "limit" => {
                limit = v
                    .parse()
                    .map_err(|_| ApiError::internal(format!("unable to convert '{v}' to int")))?
            }
            "since" => since = Some(ago(now, &v)?),
            "until" | "created_before" => until = Some(ago(now, &v)?),
            "scope" => {
                let s = normalize_scope(&v);
                checks.push(Box::new(move |a| a.source.scope == s))
            }
            "value" => checks.push(Box::new(move |a| a.source.value == v)),
            "scenario" => checks.push(Box::new(move |a| a.scenario == v)),
            "origin" => checks.push(Box::new(move |a| {
                a.decisions.iter().flatten().any(|d| d.origin == v)
            })),
            "decision_type" => checks.push(Box::new(move |a| {
                a.decisions.iter().flatten().any(|d| d.kind == v)
            })),
            "simulated" => with_simulated = parse_bool(&v) == Some(true),
            "has_active_decision" => {
                let want = parse_bool(&v).unwrap_or(false);
                checks.push(Box::new(move |a| {
                    a.decisions.iter().flatten().any(|d| d.is_active(now)) == want
                }))
            }
            "ip" | "range" | "contains" => span_q.push((k.clone(), v)),
            _ => {}
        }
    }
    if !with_simulated {
        checks.push(Box::new(|a| !a.simulated));
    }
    let span = DecisionQuery::parse(&span_q, Route::Decisions)?;
    let alerts = st.store().alerts(None, since)?;
    let out: Vec<Value> = alerts
        .iter()
        .rev()
        .filter(|a| {
            until.is_none_or(|u| {
                palisade_schemas::time::parse_rfc3339(&a.created_at).is_none_or(|c| c <= u)
            })
        })
        .filter(|a| checks.iter().all(|c| c(a)))
        .filter(|a| match &span.span {
            None => true,
            Some(q) => super::index::Span::parse(&a.source.value)
                .or_else(|| super::index::Span::parse(&a.source.ip))
                .is_some_and(|s| {
                    if span.contains {
                        s.holds(q)
                    } else {
                        q.holds(&s)
                    }
                }),
        })
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|a| alert_json(a, now))
        .collect();
    Ok(json(
        StatusCode::OK,
        if out.is_empty() {
            "null".into()
        } else {
            Value::Array(out).to_string()
        },
    ))
}

/// `GET|HEAD /v1/alerts/{id}`.
pub(crate) async fn one(
    State(st): State<Arc<LapiState>>,
    method: Method,
    _m: Machine,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("alert_id must be valid integer"))?;
    let alert = st.store().alert(id)?;
    let Some(a) = alert else {
        return Err(ApiError::not_found(format!(
            "alert with id '{id}' doesn't exist: object not found"
        )));
    };
    if method == Method::HEAD {
        return Ok(StatusCode::OK.into_response());
    }
    Ok(json(StatusCode::OK, alert_json(&a, st.now()).to_string()))
}

/// Expires decisions and tells the index. Returns the `{"nbDeleted":"N"}` answer.
fn expire(st: &LapiState, uuids: Vec<String>) -> Result<Response, ApiError> {
    let now = st.now();
    let n = st.store().expire_decisions(&uuids, now)?;
    let expired: Vec<Decision> = {
        let r = st.index.read();
        r.entries
            .values()
            .filter(|e| {
                e.uuid
                    .as_deref()
                    .is_some_and(|u| uuids.iter().any(|x| x == u))
            })
            .map(|e| {
                let mut d = e.to_decision();
                d.until = Some(now);
                d
            })
            .collect()
    };
    st.index.apply_all(&expired);
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "nbDeleted": n.to_string() }).to_string(),
    ))
}

/// `DELETE /v1/decisions?filters`.
pub(crate) async fn delete_many(
    State(st): State<Arc<LapiState>>,
    _m: Machine,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut q = DecisionQuery::parse(&params, Route::Delete)?;
    q.simulated = true;
    let now_ns = st.now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let uuids: Vec<String> = {
        let r = st.index.read();
        r.entries
            .values()
            .filter(|e| e.until > now_ns && q.matches(e))
            .filter_map(|e| e.uuid.as_deref().map(str::to_string))
            .collect()
    };
    expire(&st, uuids)
}

/// `DELETE /v1/decisions/{id}`.
pub(crate) async fn delete_one(
    State(st): State<Arc<LapiState>>,
    _m: Machine,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("decision_id must be valid integer"))?;
    let now_ns = st.now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let uuid = st
        .index
        .read()
        .entries
        .get(&id)
        .filter(|e| e.until > now_ns)
        .and_then(|e| e.uuid.as_deref().map(str::to_string));
    match uuid {
        Some(u) => expire(&st, vec![u]),
        None => Err(ApiError::not_found(format!(
            "decision with id '{id}' doesn't exist: object not found"
        ))),
    }
}
