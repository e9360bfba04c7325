//! The variables scenario expressions see besides `evt`: `queue` (the bucket's kept events as
//! `queue.Queue`, including the event just poured), `leaky` (the bucket instance: `First_ts`,
//! `Last_ts`, `Ovflw_ts`, `Total_count`, `Mapkey`, `Duration`, `Mode`, `Queue`) and `signal`
//! (the overflow's `RuntimeAlert`, for `overflow_filter`). Field names are Go's.
//!
//! `evt` is read-only here: `SetMeta` in a `condition` writes into a copy that is dropped
//! (CrowdSec writes into the poured event's copy, which nothing reads afterwards either).

use super::queue::Queue;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use palisade_expr::{Env, HostObject, Value};
use palisade_schemas::Event;
use std::cell::OnceCell;

/// Go's zero `time.Time`.
fn zero_time() -> DateTime<FixedOffset> {
    let naive = NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    Utc.from_utc_datetime(&naive).fixed_offset()
}

/// A timestamp in nanoseconds (`i64::MIN` = unset) as an expression value.
pub fn time_value(ns: i64) -> Value<'static> {
    if ns == i64::MIN {
        Value::Time(zero_time())
    } else {
        Value::Time(DateTime::from_timestamp_nanos(ns).fixed_offset())
    }
}

/// `queue`: a `*pipeline.Queue`.
pub struct QueueView<'a> {
    /// The kept events.
    pub queue: &'a Queue,
    /// `L`, the queue limit (-1 unbounded... as an int: Go's max int).
    pub limit: i64,
}

impl QueueView<'_> {
    fn events(&self) -> Value<'_> {
        Value::array(self.queue.events().map(Value::Event).collect())
    }
}

impl HostObject for QueueView<'_> {
    fn type_name(&self) -> &'static str {
        "*pipeline.Queue"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "Queue" => Some(self.events()),
            "L" => Some(Value::Int(self.limit)),
            _ => None,
        }
    }

    fn call<'s>(&'s self, name: &str, args: &[Value<'s>]) -> Option<Result<Value<'s>, String>> {
        match name {
            "GetQueue" if args.is_empty() => Some(Ok(self.events())),
            "GetQueue" => Some(Err("too many arguments to call GetQueue".into())),
            _ => None,
        }
    }
}

/// `leaky`: a `*leakybucket.Leaky`.
pub struct LeakyView<'a> {
    /// `Queue`.
    pub queue: QueueView<'a>,
    /// `Mode`: 0 live, 1 time machine.
    pub mode: i64,
    /// `First_ts` (ns).
    pub first_ts: i64,
    /// `Last_ts` (ns).
    pub last_ts: i64,
    /// `Ovflw_ts` (ns; unset before an overflow).
    pub ovflw_ts: i64,
    /// `Total_count`.
    pub total: i64,
    /// `Duration`, the lifetime (ns).
    pub duration: i64,
    /// Computes `Mapkey` when first read.
    pub mapkey: &'a dyn Fn() -> String,
    /// The cached `Mapkey`.
    pub mapkey_cache: OnceCell<String>,
}

impl HostObject for LeakyView<'_> {
    fn type_name(&self) -> &'static str {
        "*leakybucket.Leaky"
    }

    fn field(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Queue" => Value::Object(&self.queue as &dyn HostObject),
            "Mode" => Value::Int(self.mode),
            "Mapkey" => Value::str(self.mapkey_cache.get_or_init(|| (self.mapkey)())),
            "Uuid" => Value::str(""),
            "First_ts" => time_value(self.first_ts),
            "Last_ts" => time_value(self.last_ts),
            "Ovflw_ts" => time_value(self.ovflw_ts),
            "Total_count" => Value::Int(self.total),
            "Duration" => Value::Duration(self.duration),
            _ => return None,
        })
    }
}

/// The environment of `condition`, bayesian conditions (`evt`, `queue`, `leaky`) and
/// `overflow_filter` (`queue`, `signal`, `leaky`; `evt` declared but unset).
pub struct BucketEnv<'a> {
    /// `evt`, if bound.
    pub evt: Option<&'a Event>,
    /// The declared variables in declaration order.
    pub vars: Vec<Value<'a>>,
}

impl Env for BucketEnv<'_> {
    fn event(&self) -> Option<&Event> {
        self.evt
    }

    fn event_mut(&mut self) -> Option<&mut Event> {
        None
    }

    fn var(&self, index: usize) -> Value<'_> {
        self.vars.get(index).cloned().unwrap_or(Value::Nil)
    }
}
