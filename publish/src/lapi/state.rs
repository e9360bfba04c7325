//! The Local API's shared state: the store (alerts, decisions, bouncers, machines), the decision
//! index, the profiles, the token signer, the bouncers' keys and stream positions, and metrics.
//!
//! [`LapiState::sync`] follows the store: it applies the decision changes to the index, reloads
//! the bouncers (so `palisade bouncers add|delete` in another process takes effect), writes the
//! bouncers' last pulls and forgets decisions expired beyond the retention.

use super::auth::{hash_key, parse_user_agent, Jwt};
use super::error::ApiError;
use super::index::DecisionIndex;
use super::spec::ApiConfig;
use crate::metrics::{API_DECISIONS_ACTIVE, API_REQUESTS, USAGE_METRICS_RECEIVED};
use crate::store::BouncerRecord;
use crate::{Profiles, Store};
use axum::http::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};
use palisade_runtime::clock::SharedClock;
use palisade_runtime::metrics::{Gauge, Registry};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Where a bouncer stands in the decision stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamPos {
    /// The time of its last complete pull.
    pub(crate) last_pull: DateTime<Utc>,
    /// The index sequence it had seen then.
    pub(crate) seq: u64,
}

/// The bouncer a request authenticated as.
#[derive(Debug, Clone)]
pub(crate) struct BouncerCtx {
    pub(crate) name: String,
}

#[derive(Debug, Default)]
struct Bouncers {
    /// key hash → records (the first one added, then `name@ip` copies).
    by_key: HashMap<String, Vec<BouncerRecord>>,
    /// Records whose last pull changed since the last sync.
    dirty: HashMap<String, BouncerRecord>,
    /// name → stream position.
    streams: HashMap<String, StreamPos>,
}

/// Everything the handlers share.
pub struct LapiState {
    pub(crate) store: Mutex<Store>,
    pub(crate) index: DecisionIndex,
    pub(crate) profiles: Arc<Profiles>,
    pub(crate) jwt: Jwt,
    pub(crate) clock: SharedClock,
    pub(crate) config: ApiConfig,
    pub(crate) registry: Registry,
    bouncers: Mutex<Bouncers>,
    cursor: Mutex<i64>,
    retention: Duration,
    active: Gauge,
}

impl std::fmt::Debug for LapiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LapiState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LapiState {
    /// The state for an API reading and writing `store`, feeding `index`, applying `profiles` to
    /// the alerts machines push, keeping expired decisions in the index for `retention`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        index: DecisionIndex,
        profiles: Arc<Profiles>,
        jwt: Jwt,
        clock: SharedClock,
        config: ApiConfig,
        retention: Duration,
        registry: &Registry,
    ) -> Self {
        LapiState {
            store: Mutex::new(store),
            index,
            profiles,
            jwt,
            clock,
            config,
            registry: registry.clone(),
            bouncers: Mutex::new(Bouncers::default()),
            cursor: Mutex::new(0),
            retention,
            active: registry.gauge(&API_DECISIONS_ACTIVE, &[]),
        }
    }

    /// The decision index.
    pub fn index(&self) -> &DecisionIndex {
        &self.index
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Follows the store once (see the module docs). Returns how many decision changes it read.
    pub fn sync(&self) -> Result<usize, crate::PublishError> {
        let mut read = 0;
        let mut cursor = lock(&self.cursor);
        loop {
            let changes = self.store().decision_changes(*cursor, 50_000)?;
            let Some(last) = changes.last() else { break };
            *cursor = last.seq;
            read += changes.len();
            self.index.apply_all(changes.iter().map(|c| &c.decision));
            if changes.len() < 50_000 {
                break;
            }
        }
        drop(cursor);
        let records = self.store().bouncers()?;
        let dirty: Vec<BouncerRecord> = {
            let mut b = lock(&self.bouncers);
            let mut by_key: HashMap<String, Vec<BouncerRecord>> = HashMap::new();
            for r in records {
                by_key.entry(r.key_hash.clone()).or_default().push(r);
            }
            b.by_key = by_key;
            b.dirty.drain().map(|(_, r)| r).collect()
        };
        if !dirty.is_empty() {
            let now = self.now();
            let mut store = self.store();
            for r in &dirty {
                store.touch_bouncer(r, now)?;
            }
        }
        let now = self.now();
        let keep = TimeDelta::from_std(self.retention).unwrap_or(TimeDelta::MAX);
        self.index.prune(
            now.checked_sub_signed(keep)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        );
        self.active.set(self.index.active(now) as i64);
        Ok(read)
    }

    /// Checks a bouncer's `X-Api-Key` and, except for HEAD, records its address and User-Agent
    /// (a key used from a new address gets its own `name@ip` record, as CrowdSec does).
    pub(crate) fn bouncer(
        &self,
        headers: &HeaderMap,
        ip: IpAddr,
        head: bool,
    ) -> Result<BouncerCtx, ApiError> {
        let key = headers
            .get("x-api-key")
            .and_then(|k| k.to_str().ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(ApiError::access_forbidden)?;
        let hash = hash_key(key);
        let ip = ip.to_string();
        let ua = headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (kind, version) = parse_user_agent(ua).unwrap_or((ua.to_string(), "N/A".into()));
        let mut b = lock(&self.bouncers);
        if !b.by_key.contains_key(&hash) {
            drop(b);
            let found = self.store().bouncers_by_key(&hash)?;
            if found.is_empty() {
                return Err(ApiError::access_forbidden());
            }
            b = lock(&self.bouncers);
            b.by_key.insert(hash.clone(), found);
        }
        let records = b.by_key.get_mut(&hash).expect("just checked");
        if head {
            return Ok(BouncerCtx {
                name: records[0].name.clone(),
            });
        }
        let pos = match records.iter().position(|r| r.ip_address == ip) {
            Some(p) => p,
            None if records[0].ip_address.is_empty() => 0,
            None => {
                let base = records[0].name.split('@').next().unwrap_or("").to_string();
                let mut copy = records[0].clone();
                copy.name = format!("{base}@{ip}");
                copy.ip_address = String::new();
                copy.last_pull = None;
                records.push(copy);
                records.len() - 1
            }
        };
        let r = &mut records[pos];
        let changed = r.kind != kind || r.version != version || r.ip_address != ip;
        r.kind = kind;
        r.version = version;
        r.ip_address = ip;
        let r = r.clone();
        let name = r.name.clone();
        if changed {
            b.dirty.insert(name.clone(), r);
        }
        Ok(BouncerCtx { name })
    }

    /// A bouncer's stream position.
    pub(crate) fn stream_pos(&self, name: &str) -> Option<StreamPos> {
        lock(&self.bouncers).streams.get(name).copied()
    }

    /// Records a complete stream pull.
    pub(crate) fn pulled(&self, name: &str, pos: Option<StreamPos>, now: DateTime<Utc>) {
        let mut b = lock(&self.bouncers);
        if let Some(p) = pos {
            b.streams.insert(name.to_string(), p);
        }
        if let Some(mut r) = b.dirty.get(name).cloned().or_else(|| {
            b.by_key
                .values()
                .flatten()
                .find(|r| r.name == name)
                .cloned()
        }) {
            // `GET /v1/decisions` updates last_pull at most once a minute; the stream always.
            if pos.is_some() || r.last_pull.is_none_or(|l| now - l >= TimeDelta::minutes(1)) {
                r.last_pull = Some(now);
                for rec in b.by_key.values_mut().flatten().filter(|x| x.name == name) {
                    rec.last_pull = Some(now);
                }
                b.dirty.insert(name.to_string(), r);
            }
        }
    }

    /// Counts a request by route and status.
    pub(crate) fn count_request(&self, route: &str, method: &str, status: u16) {
        self.registry
            .counter(
                &API_REQUESTS,
                &[
                    ("route", route),
                    ("method", method),
                    ("code", &status.to_string()),
                ],
            )
            .inc();
    }

    /// Counts a usage-metrics report.
    pub(crate) fn count_usage(&self, kind: &str) {
        self.registry
            .counter(&USAGE_METRICS_RECEIVED, &[("kind", kind)])
            .inc();
    }
}
