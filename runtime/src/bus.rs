//! Buses carry batches between stages. A batch carries an [`Ack`]: the consumer acks it only
//! after what it produced from the batch was handed to the next bus, which is what lets the
//! Kafka bus commit offsets for at-least-once delivery. The in-memory bus acks nothing.
//!
//! [`memory`] is bounded: when a bus holds `capacity` events, senders wait (backpressure up to
//! the sources, which stop reading) instead of dropping.

use crate::metrics::{Gauge, MetricDef, Registry};
use crate::BusError;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// Called once the batch's outputs are safely downstream.
pub struct Ack(Option<Box<dyn FnOnce() + Send>>);

impl Ack {
    /// Nothing to acknowledge (in-memory bus).
    pub fn none() -> Self {
        Ack(None)
    }

    /// Runs `f` on acknowledgement.
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Ack(Some(Box::new(f)))
    }

    /// Acknowledges.
    pub fn ack(mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Ack(pending)"
        } else {
            "Ack(none)"
        })
    }
}

/// Items travelling together, with their acknowledgement.
#[derive(Debug)]
pub struct Batch<T> {
    /// The items.
    pub items: Vec<T>,
    /// Acknowledge once the outputs are handed off.
    pub ack: Ack,
}

impl<T> Batch<T> {
    /// A batch with nothing to acknowledge.
    pub fn new(items: Vec<T>) -> Self {
        Batch {
            items,
            ack: Ack::none(),
        }
    }
}

/// The sending end of a bus.
pub trait BusSender<T: Send + 'static>: Send + 'static {
    /// Sends a batch; waits while the bus is full. Fails when the bus is closed.
    fn send(&mut self, batch: Batch<T>) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// The receiving end of a bus.
pub trait BusReceiver<T: Send + 'static>: Send + 'static {
    /// The next batch; `None` once every sender is gone and the bus is drained.
    ///
    /// Need not be cancel-safe (a receiver may hold a half-built batch across awaits):
    /// [`run_stage`](crate::stage::run_stage) never drops a `recv` in progress, and other
    /// callers must not either (no `select!` on it).
    fn recv(&mut self) -> impl Future<Output = Option<Batch<T>>> + Send;
}

/// A sender that drops everything: the output of a terminal stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl<T: Send + 'static> BusSender<T> for Discard {
    async fn send(&mut self, batch: Batch<T>) -> Result<(), BusError> {
        batch.ack.ack();
        Ok(())
    }
}

/// The `bus:` section of the configuration: sizing of the in-memory buses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusSpec {
    /// Events a bus holds before senders wait (backpressure).
    pub capacity: usize,
    /// Most events a source or stage sends in one batch.
    pub batch_size: usize,
}

impl Default for BusSpec {
    fn default() -> Self {
        BusSpec {
            capacity: 65_536,
            batch_size: 512,
        }
    }
}

impl BusSpec {
    /// Checks the sizes; returns (field, message) pairs for what is wrong.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errs = Vec::new();
        if self.capacity == 0 {
            errs.push(("capacity", "must be at least 1".to_string()));
        }
        if self.batch_size == 0 {
            errs.push(("batch_size", "must be at least 1".to_string()));
        }
        if self.capacity > 0 && self.batch_size > self.capacity {
            errs.push((
                "batch_size",
                format!("must not exceed capacity ({})", self.capacity),
            ));
        }
        errs
    }
}

/// Events waiting in a bus.
pub static BUS_QUEUED: MetricDef = MetricDef::gauge(
    "palisade_bus_queued_events",
    "Events waiting in an in-memory bus.",
);
/// Events sent into a bus.
pub static BUS_SENT: MetricDef =
    MetricDef::counter("palisade_bus_sent_events_total", "Events sent into a bus.");

/// The bounded in-memory bus.
pub mod memory {
    use super::*;

    /// Sending end; clone it for several producers.
    #[derive(Debug, Clone)]
    pub struct MemorySender<T> {
        tx: mpsc::UnboundedSender<(Batch<T>, tokio::sync::OwnedSemaphorePermit)>,
        permits: Arc<Semaphore>,
        capacity: u32,
        topic: Arc<str>,
        queued: Gauge,
        sent: crate::metrics::Counter,
    }

    /// Receiving end.
    #[derive(Debug)]
    pub struct MemoryReceiver<T> {
        rx: mpsc::UnboundedReceiver<(Batch<T>, tokio::sync::OwnedSemaphorePermit)>,
        queued: Gauge,
    }

    /// A bus named `topic` that holds at most `capacity` events (not batches).
    pub fn channel<T: Send + 'static>(
        topic: &str,
        capacity: usize,
        metrics: &Registry,
    ) -> (MemorySender<T>, MemoryReceiver<T>) {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS) as u32;
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = metrics.gauge(&BUS_QUEUED, &[("topic", topic)]);
        (
            MemorySender {
                tx,
                permits: Arc::new(Semaphore::new(capacity as usize)),
                capacity,
                topic: topic.into(),
                queued: queued.clone(),
                sent: metrics.counter(&BUS_SENT, &[("topic", topic)]),
            },
            MemoryReceiver { rx, queued },
        )
    }

    impl<T: Send + 'static> BusSender<T> for MemorySender<T> {
        async fn send(&mut self, batch: Batch<T>) -> Result<(), BusError> {
            if batch.items.is_empty() {
                batch.ack.ack();
                return Ok(());
            }
            let closed = || BusError::Closed {
                topic: self.topic.to_string(),
            };
            let n = batch.items.len();
            // A batch larger than the whole bus waits for the bus to empty, then goes in alone.
            let want = (n as u32).min(self.capacity);
            let permit = self
                .permits
                .clone()
                .acquire_many_owned(want)
                .await
                .map_err(|_| closed())?;
            self.queued.add(n as i64);
            self.sent.add(n as u64);
            self.tx.send((batch, permit)).map_err(|_| {
                self.queued.add(-(n as i64));
                closed()
            })
        }
    }

    impl<T: Send + 'static> BusReceiver<T> for MemoryReceiver<T> {
        async fn recv(&mut self) -> Option<Batch<T>> {
            let (batch, permit) = self.rx.recv().await?;
            self.queued.add(-(batch.items.len() as i64));
            drop(permit);
            Some(batch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::channel;
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn delivers_in_order_and_closes_when_senders_leave() {
        let r = Registry::new();
        let (mut tx, mut rx) = channel::<u32>("t", 10, &r);
        tx.send(Batch::new(vec![1, 2])).await.unwrap();
        tx.send(Batch::new(vec![3])).await.unwrap();
        assert_eq!(r.total("palisade_bus_queued_events"), 3);
        drop(tx);
        assert_eq!(rx.recv().await.unwrap().items, vec![1, 2]);
        assert_eq!(rx.recv().await.unwrap().items, vec![3]);
        assert!(rx.recv().await.is_none());
        assert_eq!(r.total("palisade_bus_queued_events"), 0);
        assert_eq!(r.total("palisade_bus_sent_events_total"), 3);
    }

    #[tokio::test]
    async fn a_full_bus_makes_senders_wait() {
        let r = Registry::new();
        let (mut tx, mut rx) = channel::<u32>("t", 2, &r);
        tx.send(Batch::new(vec![1, 2])).await.unwrap();
        let mut tx2 = tx.clone();
        let blocked = tokio::spawn(async move { tx2.send(Batch::new(vec![3])).await });
        tokio::task::yield_now().await;
        // The second send cannot complete while the bus is full.
        assert!(tokio::time::timeout(Duration::from_millis(50), async {
            while !blocked.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .is_err());
        assert_eq!(rx.recv().await.unwrap().items, vec![1, 2]);
        blocked.await.unwrap().unwrap();
        assert_eq!(rx.recv().await.unwrap().items, vec![3]);
    }

    #[tokio::test]
    async fn sending_to_a_closed_bus_fails() {
        let r = Registry::new();
        let (mut tx, rx) = channel::<u32>("t", 2, &r);
        drop(rx);
        assert!(matches!(
            tx.send(Batch::new(vec![1])).await,
            Err(BusError::Closed { .. })
        ));
    }

    #[test]
    fn ack_runs_once() {
        let hit = Arc::new(AtomicBool::new(false));
        let h = hit.clone();
        Ack::new(move || h.store(true, Ordering::SeqCst)).ack();
        assert!(hit.load(Ordering::SeqCst));
    }
}
