//! The bucket engine: pours events into the loaded scenarios and emits CrowdSec overflow events.
//!
//! For each event, for each scenario in load order (CrowdSec's `PourItemToHolders`):
//!
//! 1. `filter` (it may write into the event). A run-time error stops pouring the event into the
//!    remaining scenarios; so does a failing `groupby`.
//! 2. `groupby` gives the partition key; the bucket instance is found by (scenario, key), which
//!    is CrowdSec's `sha1(filter ‖ 0 ‖ groupby ‖ 0 ‖ name)` bucket key in another form.
//! 3. An instance past its lifetime is dropped first (`now > Last_ts + lifetime`), or, for timed
//!    (counter) buckets, overflows (`now >= First_ts + duration`); a fresh, full one is created.
//! 4. Pour hooks in CrowdSec's processor order: type (a trigger overflows at once, before
//!    anything else), `distinct` (a value already seen by the instance drops the event),
//!    `cancel_on` (true destroys the instance silently), then the pour itself (count, times,
//!    token bucket, queue), then `condition`, then bayesian.
//! 5. An overflow kills the instance. Overflow hooks: `overflow_filter`, then `blackhole`, then
//!    the alert must have sources. What survives is pushed as an overflow [`Event`].
//!
//! Time is given: a live event is poured at the `now` passed in (the injected clock), a
//! time-machine event at its `MarshaledTime` (events without one are not poured, and counted).
//! Nothing runs between pours: leaks are computed from timestamps, and [`BucketEngine::advance`]
//! (called by the stage on ticks and after replayed batches) garbage-collects idle instances
//! and fires counters whose duration has passed.
//!
//! Deviation: CrowdSec fires counters (and destroys idle buckets) on wall-clock timers, even
//! when replaying logs. Here both use the time the engine is given, so a replay's counters
//! overflow on log time, deterministically.
//!
//! Each scenario keeps its instances in a recency list (least recently poured first; creation
//! order for timed buckets), so garbage collection only looks at instances that expired, and
//! the live-bucket cap evicts the least recently poured instance of all.

use crate::bucket::blackhole::Blackhole;
use crate::bucket::env::{BucketEnv, LeakyView, QueueView};
use crate::bucket::mapkey::mapkey;
use crate::bucket::queue::{KeyInterner, ScopeValue};
use crate::bucket::{Bucket, BucketKey, NIL, NO_TIME};
use crate::metrics::{EngineMetrics, Unpoured};
use crate::overflow::{new_alert, overflow_event, OverflowFacts};
use crate::scenario::{BucketKind, Scenario, Scenarios};
use crate::stage::ScenarioSet;
use chrono::{DateTime, Utc};
use palisade_expr::{HostObject, Program, Value};
use palisade_runtime::metrics::Registry;
use palisade_schemas::time::parse_rfc3339;
use palisade_schemas::{Event, ExpectMode};
use std::cell::OnceCell;
use std::collections::HashMap;

/// How often (in engine time) expired blackhole entries are purged.
const BLACKHOLE_PURGE_NS: i64 = 60 * 1_000_000_000;

/// Engine settings.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// The most live bucket instances; creating one more evicts the least recently poured.
    /// `None`: no cap.
    pub max_buckets: Option<usize>,
}

#[derive(Debug, Default)]
struct ScenarioState {
    map: HashMap<BucketKey, u32>,
    head: u32,
    tail: u32,
    blackhole: Blackhole,
}

/// The bucket engine over a set of [`Scenarios`].
pub struct BucketEngine {
    scenarios: Scenarios,
    states: Vec<ScenarioState>,
    slab: Vec<Option<Bucket>>,
    free: Vec<u32>,
    live: usize,
    config: EngineConfig,
    keys: KeyInterner,
    metrics: EngineMetrics,
    last_purge: i64,
}

/// The event time of a pour: the clock for live events, `MarshaledTime` in time-machine mode.
pub fn pour_time(event: &Event, now: DateTime<Utc>) -> Result<DateTime<Utc>, Unpoured> {
    match event.expect_mode {
        ExpectMode::Live => Ok(now),
        ExpectMode::TimeMachine => {
            if event.marshaled_time.is_empty() {
                Err(Unpoured::NoMarshaledTime)
            } else {
                parse_rfc3339(&event.marshaled_time).ok_or(Unpoured::BadMarshaledTime)
            }
        }
    }
}

enum Found {
    Slot(u32),
    New(BucketKey),
}

/// CrowdSec's groupby-to-string conversion.
fn group_key(v: &Value<'_>) -> Option<std::borrow::Cow<'static, str>> {
    Some(match v {
        Value::Int(i) => i.to_string().into(),
        Value::Float(f) => format!("{f:.6}").into(),
        Value::Bool(b) => b.to_string().into(),
        Value::Nil => "".into(),
        _ => return None,
    })
}

/// `distinct` and scope expressions: a string result, anything else reads as "".
fn string_or_empty(p: &Program, event: &mut Event) -> Result<String, String> {
    p.eval_with(event, |v| match v {
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    })
    .map_err(|e| e.to_string())
}

impl BucketEngine {
    /// An engine over `scenarios`, registering its metrics in `registry`.
    pub fn new(scenarios: Scenarios, registry: &Registry) -> Self {
        let metrics = EngineMetrics::new(registry, scenarios.iter().map(|s| s.name()));
        let states = scenarios
            .iter()
            .map(|_| ScenarioState {
                head: NIL,
                tail: NIL,
                ..ScenarioState::default()
            })
            .collect();
        BucketEngine {
            scenarios,
            states,
            slab: Vec::new(),
            free: Vec::new(),
            live: 0,
            config: EngineConfig::default(),
            keys: KeyInterner::default(),
            metrics,
            last_purge: NO_TIME,
        }
    }

    /// Sets the engine settings.
    pub fn with_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// The scenarios, in load order.
    pub fn scenarios(&self) -> &Scenarios {
        &self.scenarios
    }

    /// Live bucket instances.
    pub fn live_buckets(&self) -> usize {
        self.live
    }

    /// Live bucket instances of one scenario.
    pub fn live_buckets_of(&self, scenario: &str) -> usize {
        self.scenarios
            .iter()
            .position(|s| s.name() == scenario)
            .map_or(0, |i| self.states[i].map.len())
    }

    /// Pours `event` into every scenario whose filter matches (see the module docs), pushing
    /// overflow events into `out`. `now` is the injected clock; time-machine events are poured
    /// at their `MarshaledTime`.
    pub fn pour_event(&mut self, event: &mut Event, now: DateTime<Utc>, out: &mut Vec<Event>) {
        let t = match pour_time(event, now) {
            Ok(t) => t,
            Err(reason) => {
                tracing::debug!(reason = reason.as_str(), src = %event.line.src,
                    "Event cannot be poured into scenarios (no usable MarshaledTime in time-machine mode).");
                self.metrics.unpoured(reason);
                return;
            }
        };
        let Some(t) = t.timestamp_nanos_opt() else {
            self.metrics.unpoured(Unpoured::BadMarshaledTime);
            return;
        };
        for si in 0..self.scenarios.list.len() {
            let s = &self.scenarios.list[si];
            match s.filter.eval_bool(event) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(scenario = %s.name, error = %e,
                        "Scenario filter failed; the event is not poured into the remaining scenarios.");
                    self.metrics.unpoured(Unpoured::FilterError);
                    return;
                }
            }
            let found = match &s.groupby {
                None => match self.states[si].map.get("") {
                    Some(&i) => Found::Slot(i),
                    None => Found::New(BucketKey::new("")),
                },
                Some(g) => {
                    let map = &self.states[si].map;
                    let r = g.eval_with(event, |v| {
                        let key = match v {
                            Value::Str(k) => std::borrow::Cow::Borrowed(&**k),
                            other => group_key(other)?,
                        };
                        Some(match map.get(&*key) {
                            Some(&i) => Found::Slot(i),
                            None => Found::New(BucketKey::new(&key)),
                        })
                    });
                    match r {
                        Ok(Some(f)) => f,
                        other => {
                            let why = match other {
                                Err(e) => e.to_string(),
                                _ => "groupby did not return a string".to_string(),
                            };
                            tracing::warn!(scenario = %s.name, error = %why,
                                "Scenario groupby failed; the event is not poured into the remaining scenarios.");
                            self.metrics.unpoured(Unpoured::GroupbyError);
                            return;
                        }
                    }
                }
            };
            self.metrics.poured[si].inc();
            self.pour_into(si, found, event, t, out);
        }
    }

    /// Lets time pass: fires timed (counter) buckets whose duration has passed, drops idle
    /// instances, purges blackholes. Pushes the overflows into `out`.
    pub fn advance_to(&mut self, now: DateTime<Utc>, out: &mut Vec<Event>) {
        let Some(now) = now.timestamp_nanos_opt() else {
            return;
        };
        for si in 0..self.states.len() {
            let (timed, lifetime) = {
                let s = &self.scenarios.list[si];
                (s.timed, s.lifetime_ns)
            };
            loop {
                let head = self.states[si].head;
                let Some(b) = self.slab.get(head as usize).and_then(Option::as_ref) else {
                    break;
                };
                if timed {
                    let deadline = b.first_ts.saturating_add(lifetime);
                    if b.first_ts != NO_TIME && deadline <= now {
                        self.overflow(head, deadline, out);
                        continue;
                    }
                } else if b.last_ts == NO_TIME || now > b.last_ts.saturating_add(lifetime) {
                    self.remove(head);
                    continue;
                }
                break;
            }
        }
        if self.last_purge == NO_TIME || now >= self.last_purge.saturating_add(BLACKHOLE_PURGE_NS) {
            for st in &mut self.states {
                st.blackhole.purge(now);
            }
            self.last_purge = now;
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (si, prev, next) = {
            let b = self.slab[idx as usize].as_ref().expect("live slot");
            (b.scenario as usize, b.prev, b.next)
        };
        match self.slab.get_mut(prev as usize).and_then(Option::as_mut) {
            Some(p) => p.next = next,
            None => self.states[si].head = next,
        }
        match self.slab.get_mut(next as usize).and_then(Option::as_mut) {
            Some(n) => n.prev = prev,
            None => self.states[si].tail = prev,
        }
    }

    fn link_tail(&mut self, idx: u32) {
        let si = self.slab[idx as usize]
            .as_ref()
            .expect("live slot")
            .scenario as usize;
        let tail = self.states[si].tail;
        if let Some(t) = self.slab.get_mut(tail as usize).and_then(Option::as_mut) {
            t.next = idx;
        } else {
            self.states[si].head = idx;
        }
        let b = self.slab[idx as usize].as_mut().expect("live slot");
        b.prev = tail;
        b.next = NIL;
        self.states[si].tail = idx;
    }

    /// Takes an instance out of the engine.
    fn take(&mut self, idx: u32) -> Bucket {
        self.unlink(idx);
        let b = self.slab[idx as usize].take().expect("live slot");
        self.states[b.scenario as usize].map.remove(b.key.as_str());
        self.free.push(idx);
        self.live -= 1;
        self.metrics.live.add(-1);
        b
    }

    /// Destroys an instance silently (underflow, cancel_on, eviction).
    fn remove(&mut self, idx: u32) {
        drop(self.take(idx));
    }

    fn evict_one(&mut self) {
        let mut best: Option<(i64, u32)> = None;
        for st in &self.states {
            if let Some(b) = self.slab.get(st.head as usize).and_then(Option::as_ref) {
                if best.is_none_or(|(t, _)| b.last_ts < t) {
                    best = Some((b.last_ts, st.head));
                }
            }
        }
        if let Some((_, idx)) = best {
            self.remove(idx);
            self.metrics.evicted.inc();
        }
    }

    fn create(&mut self, si: usize, key: BucketKey) -> u32 {
        if let Some(max) = self.config.max_buckets {
            while self.live >= max.max(1) {
                self.evict_one();
            }
        }
        let s = &self.scenarios.list[si];
        let extra = s.distinct.is_some() || s.bayesian.is_some();
        let mut b = Bucket::new(si as u32, key.clone(), s.full_events, extra);
        if let (Some(bay), Some(x)) = (&s.bayesian, b.extra.as_mut()) {
            x.fired = vec![false; bay.conditions.len()];
        }
        let idx = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(b);
                i
            }
            None => {
                self.slab.push(Some(b));
                (self.slab.len() - 1) as u32
            }
        };
        self.states[si].map.insert(key, idx);
        self.link_tail(idx);
        self.live += 1;
        self.metrics.live.add(1);
        idx
    }

    fn pour_into(
        &mut self,
        si: usize,
        found: Found,
        event: &mut Event,
        t: i64,
        out: &mut Vec<Event>,
    ) {
        let (timed, lifetime, kind) = {
            let s = &self.scenarios.list[si];
            (s.timed, s.lifetime_ns, s.kind)
        };
        let (mut idx, mut key) = match found {
            Found::Slot(i) => (Some(i), None),
            Found::New(k) => (None, Some(k)),
        };
        if let Some(i) = idx {
            let b = self.slab[i as usize].as_ref().expect("live slot");
            if timed {
                let deadline = b.first_ts.saturating_add(lifetime);
                if b.first_ts != NO_TIME && t >= deadline {
                    key = Some(b.key.clone());
                    self.overflow(i, deadline, out);
                    idx = None;
                }
            } else if b.last_ts != NO_TIME && t > b.last_ts.saturating_add(lifetime) {
                key = Some(b.key.clone());
                self.remove(i);
                idx = None;
            }
        }
        let idx = match idx {
            Some(i) => i,
            None => self.create(si, key.unwrap_or_else(|| BucketKey::new(""))),
        };
        let s = &self.scenarios.list[si];
        let b = self.slab[idx as usize].as_mut().expect("live slot");
        b.mode = event.expect_mode;
        let wants_enriched = s.scope.kind == "Ip" || s.scope.kind == "Range";
        let scope_value = |event: &mut Event| -> ScopeValue {
            s.scope.expr.as_ref().map(|p| string_or_empty(p, event))
        };

        if kind == BucketKind::Trigger {
            b.total = 1;
            b.first_ts = t;
            b.last_ts = t;
            let sv = scope_value(event);
            b.queue
                .add(event, s.queue_limit, &mut self.keys, wants_enriched, sv);
            self.overflow(idx, t, out);
            return;
        }
        if let Some(d) = &s.distinct {
            match string_or_empty(d, event) {
                Ok(value) => {
                    let seen = &mut b.extra.get_or_insert_with(Box::default).distinct;
                    if seen.contains(value.as_str()) {
                        return;
                    }
                    seen.insert(value.into());
                }
                Err(e) => tracing::warn!(scenario = %s.name, error = %e, "distinct failed."),
            }
        }
        if let Some(c) = &s.cancel_on {
            match c.eval_bool(event) {
                Ok(true) => {
                    self.remove(idx);
                    return;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(scenario = %s.name, error = %e, "cancel_on failed."),
            }
        }
        // Pour.
        b.total = b.total.saturating_add(1);
        if b.first_ts == NO_TIME {
            b.first_ts = t;
        }
        b.last_ts = t;
        let allowed = b.tokens.allow(s.limiter, t) || kind == BucketKind::Conditional;
        let sv = scope_value(event);
        b.queue
            .add(event, s.queue_limit, &mut self.keys, wants_enriched, sv);
        let mut pending = (!allowed).then_some(t);
        // AfterBucketPour: condition, then bayesian.
        if s.condition.is_some() || s.bayesian.is_some() {
            let b = self.slab[idx as usize].as_mut().expect("live slot");
            let (first_ts, last_ts, total, mode) = (b.first_ts, b.last_ts, b.total, b.mode);
            let name = &s.name;
            let filter = &s.spec.filter;
            let bkey = b.key.clone();
            let compute_key = move || mapkey(filter, bkey.as_str(), name);
            let queue_view = QueueView {
                queue: &b.queue,
                limit: s.queue_limit.map_or(i64::MAX, |l| l as i64),
            };
            let leaky = LeakyView {
                queue: QueueView {
                    queue: &b.queue,
                    limit: queue_view.limit,
                },
                mode: i64::from(u8::from(mode)),
                first_ts,
                last_ts,
                ovflw_ts: NO_TIME,
                total: i64::from(total),
                duration: lifetime,
                mapkey: &compute_key,
                mapkey_cache: OnceCell::new(),
            };
            let mut env = BucketEnv {
                evt: Some(&*event),
                vars: vec![
                    Value::Object(&queue_view as &dyn HostObject),
                    Value::Object(&leaky as &dyn HostObject),
                ],
            };
            let mut fired_now = None;
            let mut cond_fired = false;
            if let Some(c) = &s.condition {
                match c.eval_bool(&mut env) {
                    Ok(true) => {
                        cond_fired = true;
                        pending = Some(last_ts);
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(scenario = %name, error = %e, "condition failed."),
                }
            }
            if let (Some(bay), false) = (&s.bayesian, cond_fired) {
                let mut fired = b
                    .extra
                    .as_ref()
                    .map(|x| x.fired.clone())
                    .unwrap_or_default();
                let p = bay.posterior(&mut fired, |prog| match prog.eval_bool(&mut env) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(scenario = %name, error = %e, "bayesian condition failed.");
                        None
                    }
                });
                if bay.overflows(p) {
                    pending = Some(last_ts);
                }
                fired_now = Some(fired);
            }
            drop(env);
            if let Some(fired) = fired_now {
                if let Some(x) = self.slab[idx as usize]
                    .as_mut()
                    .and_then(|b| b.extra.as_mut())
                {
                    x.fired = fired;
                }
            }
        }
        match pending {
            Some(ovflw) => self.overflow(idx, ovflw, out),
            None if !timed => {
                self.unlink(idx);
                self.link_tail(idx);
            }
            None => {}
        }
    }

    /// Kills the instance and emits its overflow, unless a hook discards it.
    fn overflow(&mut self, idx: u32, ovflw_ts: i64, out: &mut Vec<Event>) {
        let b = self.take(idx);
        let si = b.scenario as usize;
        let s = &self.scenarios.list[si];
        let key = mapkey(&s.spec.filter, b.key.as_str(), &s.name);
        let kept = b.queue.kept(&self.keys);
        let facts = OverflowFacts {
            scenario: s,
            mapkey: &key,
            first_ts: b.first_ts,
            last_ts: b.last_ts,
            ovflw_ts,
            total: b.total,
        };
        let (ra, err) = new_alert(facts, &kept);
        drop(kept);
        if let Some(of) = &s.overflow_filter {
            let queue_view = QueueView {
                queue: &b.queue,
                limit: s.queue_limit.map_or(i64::MAX, |l| l as i64),
            };
            let key_fn = || key.clone();
            let leaky = LeakyView {
                queue: QueueView {
                    queue: &b.queue,
                    limit: queue_view.limit,
                },
                mode: i64::from(u8::from(b.mode)),
                first_ts: b.first_ts,
                last_ts: b.last_ts,
                ovflw_ts,
                total: i64::from(b.total),
                duration: s.lifetime_ns,
                mapkey: &key_fn,
                mapkey_cache: OnceCell::new(),
            };
            let mut env = BucketEnv {
                evt: None,
                vars: vec![
                    Value::Object(&queue_view as &dyn HostObject),
                    Value::Object(&ra as &dyn HostObject),
                    Value::Object(&leaky as &dyn HostObject),
                ],
            };
            match of.eval_bool(&mut env) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(scenario = %s.name, "Overflow discarded by overflow_filter.");
                    self.metrics.filtered.inc();
                    return;
                }
                Err(e) => tracing::warn!(scenario = %s.name, error = %e, "overflow_filter failed."),
            }
        }
        if let Some(d) = s.blackhole_ns {
            if self.states[si].blackhole.check(b.key.as_str(), ovflw_ts, d) {
                tracing::debug!(scenario = %s.name, "Overflow discarded: blackholed.");
                self.metrics.blackholed.inc();
                return;
            }
        }
        if let Some(e) = err {
            tracing::warn!(scenario = %s.name, error = %e, "Overflow dropped: no alert can be made.");
            self.metrics.no_source.inc();
            return;
        }
        if ra.api_alerts.is_empty() {
            tracing::warn!(scenario = %s.name, "Overflow dropped: no source.");
            self.metrics.no_source.inc();
            return;
        }
        self.metrics.overflows[si].inc();
        out.push(overflow_event(ra, ovflw_ts, b.mode));
    }

    /// The scenario at `index` in load order.
    pub fn scenario(&self, index: usize) -> Option<&Scenario> {
        self.scenarios.list.get(index)
    }
}

impl ScenarioSet for BucketEngine {
    fn pour(&mut self, event: &mut Event, now: DateTime<Utc>, overflows: &mut Vec<Event>) {
        self.pour_event(event, now, overflows);
    }

    fn advance(&mut self, now: DateTime<Utc>, overflows: &mut Vec<Event>) {
        self.advance_to(now, overflows);
    }

    fn len(&self) -> usize {
        self.scenarios.len()
    }

    fn take_sql(&mut self) -> Vec<crate::sql::SqlScenario> {
        self.scenarios.take_sql()
    }
}
