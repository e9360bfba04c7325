//! The stage abstraction and its runner.
//!
//! A stage is a step of the pipeline: parse, detect, publish. It gets batches and pushes what it
//! produces into `out`. [`run_stage`] does the rest: reading the input bus, handing `out` to the
//! output bus, acking the input batch only after that hand-off, ticking the stage, counting, and
//! draining on shutdown (when its input bus closes, the stage finishes what is queued, gets
//! [`Stage::on_close`] to flush, and closes its own output).

use crate::bus::{Batch, BusReceiver, BusSender};
use crate::clock::SharedClock;
use crate::metrics::{MetricDef, Registry};
use crate::StageError;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use std::future::Future;
use std::time::Duration;

/// A pipeline step.
pub trait Stage: Send + 'static {
    /// What it consumes.
    type In: Send + 'static;
    /// What it produces.
    type Out: Send + 'static;

    /// A short name for logs and metrics (`parse`, `detect`, `publish`).
    fn name(&self) -> &'static str;

    /// Processes a batch, pushing results into `out`.
    ///
    /// Take items from the front of `items` (`drain(..)`) as they are done. On
    /// [`StageError::External`], leave in `items` those not yet done: the runner waits (backoff)
    /// and calls again with them, so nothing accepted is lost while a service is down. After
    /// `Ok` or any other error, items left over are discarded.
    fn process(
        &mut self,
        items: &mut Vec<Self::In>,
        out: &mut Vec<Self::Out>,
    ) -> impl Future<Output = Result<(), StageError>> + Send;

    /// How often [`Stage::on_tick`] runs, if at all (bucket leaks, window closes).
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// Called every tick with the injected clock's time.
    fn on_tick(
        &mut self,
        _now: DateTime<Utc>,
        _out: &mut Vec<Self::Out>,
    ) -> impl Future<Output = Result<(), StageError>> + Send {
        async { Ok(()) }
    }

    /// Called once the input is drained, before the output closes: flush what is held.
    fn on_close(
        &mut self,
        _out: &mut Vec<Self::Out>,
    ) -> impl Future<Output = Result<(), StageError>> + Send {
        async { Ok(()) }
    }
}

/// Events that entered a stage.
pub static STAGE_IN: MetricDef = MetricDef::counter(
    "palisade_pipeline_stage_in_events_total",
    "Events that entered a pipeline stage.",
);
/// Events that left a stage.
pub static STAGE_OUT: MetricDef = MetricDef::counter(
    "palisade_pipeline_stage_out_events_total",
    "Events that a pipeline stage produced.",
);
/// Batches a stage failed on.
pub static STAGE_ERRORS: MetricDef = MetricDef::counter(
    "palisade_pipeline_stage_errors_total",
    "Batches a pipeline stage reported an error for, by error domain.",
);

/// What a stage did, returned when it stops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StageReport {
    /// Items consumed.
    pub items_in: u64,
    /// Items produced.
    pub items_out: u64,
    /// Batches that failed with bad input.
    pub user_errors: u64,
}

/// Runs `stage` from `rx` to `tx` until `rx` closes, then drains and closes `tx` (by dropping
/// it). Returns the stage itself with its report, so callers can read what it holds.
pub async fn run_stage<S, R, W>(
    mut stage: S,
    rx: R,
    mut tx: W,
    clock: SharedClock,
    metrics: &Registry,
) -> Result<(S, StageReport), StageError>
where
    S: Stage,
    R: BusReceiver<S::In>,
    W: BusSender<S::Out>,
{
    let name = stage.name();
    let c_in = metrics.counter(&STAGE_IN, &[("stage", name)]);
    let c_out = metrics.counter(&STAGE_OUT, &[("stage", name)]);
    let c_user = metrics.counter(&STAGE_ERRORS, &[("stage", name), ("domain", "user")]);
    let c_ext = metrics.counter(&STAGE_ERRORS, &[("stage", name), ("domain", "external")]);
    let mut report = StageReport::default();
    let mut ticker = stage.tick_interval().map(|d| {
        let mut t = tokio::time::interval(d);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    // The receiver as a stream: a `recv` still in progress when a tick fires stays in the
    // stream and resumes on the next turn. `recv` is raced against the ticker, and receivers
    // that collect a batch across awaits (Kafka's) would otherwise lose what they had read.
    let batches = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|batch| (batch, rx))
    });
    let mut batches = std::pin::pin!(batches);
    loop {
        let mut out = Vec::new();
        let tick = async {
            match ticker.as_mut() {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            batch = batches.next() => {
                let Some(Batch { mut items, ack }) = batch else { break };
                let n = items.len() as u64;
                report.items_in += n;
                c_in.add(n);
                let mut backoff = Backoff::default();
                loop {
                    match stage.process(&mut items, &mut out).await {
                        Ok(()) => break,
                        Err(StageError::User(msg)) => {
                            report.user_errors += 1;
                            c_user.inc();
                            tracing::warn!(stage = name, error = %msg, "Stage skipped bad input.");
                            break;
                        }
                        Err(StageError::External(msg)) => {
                            c_ext.inc();
                            if items.is_empty() {
                                tracing::error!(stage = name, error = %msg, "Stage could not reach a service.");
                                break;
                            }
                            let wait = backoff.next();
                            tracing::warn!(stage = name, error = %msg, retry_in_ms = wait.as_millis() as u64,
                                pending = items.len(), "Stage could not reach a service; retrying.");
                            // Hand off what is already done, so downstream keeps moving.
                            emit(&mut tx, std::mem::take(&mut out), &mut report, &c_out).await?;
                            tokio::time::sleep(wait).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
                emit(&mut tx, out, &mut report, &c_out).await?;
                ack.ack();
            }
            () = tick => {
                stage.on_tick(clock.now(), &mut out).await?;
                emit(&mut tx, out, &mut report, &c_out).await?;
            }
        }
    }
    let mut out = Vec::new();
    stage.on_close(&mut out).await?;
    emit(&mut tx, out, &mut report, &c_out).await?;
    tracing::debug!(
        stage = name,
        items_in = report.items_in,
        items_out = report.items_out,
        "Stage drained."
    );
    Ok((stage, report))
}

/// Exponential backoff for retries: 100 ms doubling up to 30 s.
#[derive(Debug, Default)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let ms = 100u64.saturating_mul(1 << self.attempt.min(9));
        self.attempt += 1;
        Duration::from_millis(ms.min(30_000))
    }
}

async fn emit<T: Send + 'static, W: BusSender<T>>(
    tx: &mut W,
    out: Vec<T>,
    report: &mut StageReport,
    c_out: &crate::metrics::Counter,
) -> Result<(), StageError> {
    if out.is_empty() {
        return Ok(());
    }
    let n = out.len() as u64;
    tx.send(Batch::new(out)).await?;
    report.items_out += n;
    c_out.add(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::memory::channel;
    use crate::bus::{Ack, BusReceiver};
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Doubles even numbers, rejects batches containing 13, holds the last item until close.
    struct Doubler {
        held: Option<u32>,
    }

    impl Stage for Doubler {
        type In = u32;
        type Out = u32;
        fn name(&self) -> &'static str {
            "doubler"
        }
        async fn process(
            &mut self,
            items: &mut Vec<u32>,
            out: &mut Vec<u32>,
        ) -> Result<(), StageError> {
            if items.contains(&13) {
                return Err(StageError::User("13".into()));
            }
            for i in items.drain(..) {
                if let Some(h) = self.held.replace(i * 2) {
                    out.push(h);
                }
            }
            Ok(())
        }
        async fn on_close(&mut self, out: &mut Vec<u32>) -> Result<(), StageError> {
            out.extend(self.held.take());
            Ok(())
        }
    }

    #[tokio::test]
    async fn moves_batches_acks_after_handoff_and_drains_on_close() {
        let r = Registry::new();
        let (mut in_tx, in_rx) = channel::<u32>("in", 100, &r);
        let (out_tx, mut out_rx) = channel::<u32>("out", 100, &r);
        let acked = Arc::new(AtomicUsize::new(0));
        for batch in [vec![1, 2], vec![13], vec![3]] {
            let a = acked.clone();
            in_tx
                .send(Batch {
                    items: batch,
                    ack: Ack::new(move || {
                        a.fetch_add(1, Ordering::SeqCst);
                    }),
                })
                .await
                .unwrap();
        }
        drop(in_tx);
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let (_, report) = run_stage(Doubler { held: None }, in_rx, out_tx, clock, &r)
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(b) = out_rx.recv().await {
            got.extend(b.items);
        }
        assert_eq!(got, vec![2, 4, 6], "the held item is flushed on close");
        assert_eq!(
            acked.load(Ordering::SeqCst),
            3,
            "bad batches are acked too: counted and skipped"
        );
        assert_eq!(
            report,
            StageReport {
                items_in: 4,
                items_out: 3,
                user_errors: 1
            }
        );
        assert_eq!(
            r.value(
                "palisade_pipeline_stage_errors_total",
                &[("stage", "doubler"), ("domain", "user")]
            ),
            Some(1)
        );
    }

    struct Ticker;
    impl Stage for Ticker {
        type In = u32;
        type Out = DateTime<Utc>;
        fn name(&self) -> &'static str {
            "ticker"
        }
        async fn process(
            &mut self,
            items: &mut Vec<u32>,
            _: &mut Vec<DateTime<Utc>>,
        ) -> Result<(), StageError> {
            items.clear();
            Ok(())
        }
        fn tick_interval(&self) -> Option<Duration> {
            Some(Duration::from_secs(1))
        }
        async fn on_tick(
            &mut self,
            now: DateTime<Utc>,
            out: &mut Vec<DateTime<Utc>>,
        ) -> Result<(), StageError> {
            out.push(now);
            Ok(())
        }
    }

    /// Passes items on and ticks every second (doing nothing on ticks).
    struct Forward;
    impl Stage for Forward {
        type In = u32;
        type Out = u32;
        fn name(&self) -> &'static str {
            "forward"
        }
        async fn process(
            &mut self,
            items: &mut Vec<u32>,
            out: &mut Vec<u32>,
        ) -> Result<(), StageError> {
            out.append(items);
            Ok(())
        }
        fn tick_interval(&self) -> Option<Duration> {
            Some(Duration::from_secs(1))
        }
    }

    /// Builds each batch of three items across awaits, 400 ms apart, as a Kafka receiver
    /// collects a batch over `batch_wait`: not cancel-safe on its own.
    struct Trickle {
        next: u32,
        end: u32,
    }
    impl BusReceiver<u32> for Trickle {
        async fn recv(&mut self) -> Option<Batch<u32>> {
            let mut items = Vec::new();
            while items.len() < 3 && self.next < self.end {
                tokio::time::sleep(Duration::from_millis(400)).await;
                items.push(self.next);
                self.next += 1;
            }
            (!items.is_empty()).then(|| Batch::new(items))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_tick_during_a_receive_loses_nothing() {
        let r = Registry::new();
        let (out_tx, mut out_rx) = channel("out", 100, &r);
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let rx = Trickle { next: 0, end: 30 };
        let (_, report) = run_stage(Forward, rx, out_tx, clock, &r).await.unwrap();
        let mut got = Vec::new();
        while let Some(b) = out_rx.recv().await {
            got.extend(b.items);
        }
        assert_eq!(got, (0..30).collect::<Vec<_>>(), "every item, in order");
        assert_eq!(report.items_in, 30);
    }

    /// Fails on the first two attempts of every item, as a service that is down then comes back.
    struct Flaky {
        failures_left: u32,
        done: Vec<u32>,
    }

    impl Stage for Flaky {
        type In = u32;
        type Out = u32;
        fn name(&self) -> &'static str {
            "flaky"
        }
        async fn process(
            &mut self,
            items: &mut Vec<u32>,
            out: &mut Vec<u32>,
        ) -> Result<(), StageError> {
            while let Some(&i) = items.first() {
                if i == 2 && self.failures_left > 0 {
                    self.failures_left -= 1;
                    return Err(StageError::External("store down".into()));
                }
                items.remove(0);
                self.done.push(i);
                out.push(i);
            }
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_what_an_external_failure_left_with_backoff_and_loses_nothing() {
        let r = Registry::new();
        let (mut in_tx, in_rx) = channel::<u32>("in", 10, &r);
        let (out_tx, mut out_rx) = channel::<u32>("out", 10, &r);
        in_tx.send(Batch::new(vec![1, 2, 3])).await.unwrap();
        drop(in_tx);
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let stage = Flaky {
            failures_left: 2,
            done: vec![],
        };
        let (stage, report) = run_stage(stage, in_rx, out_tx, clock, &r).await.unwrap();
        assert_eq!(
            stage.done,
            vec![1, 2, 3],
            "each item processed exactly once"
        );
        let mut got = Vec::new();
        while let Some(b) = out_rx.recv().await {
            got.extend(b.items);
        }
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(report.items_out, 3);
        assert_eq!(
            r.value(
                "palisade_pipeline_stage_errors_total",
                &[("stage", "flaky"), ("domain", "external")]
            ),
            Some(2)
        );
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..12).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(&waits[..4], &[100, 200, 400, 800]);
        assert_eq!(*waits.last().unwrap(), 30_000);
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_with_the_injected_clock() {
        let r = Registry::new();
        let (in_tx, in_rx) = channel::<u32>("in", 10, &r);
        let (out_tx, mut out_rx) = channel("out", 10, &r);
        let t0 = chrono::TimeZone::with_ymd_and_hms(&Utc, 2020, 1, 1, 0, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let r2 = r.clone();
        let task = tokio::spawn(async move { run_stage(Ticker, in_rx, out_tx, clock, &r2).await });
        let first = out_rx.recv().await.unwrap();
        assert_eq!(first.items, vec![t0]);
        drop(in_tx);
        task.await.unwrap().unwrap();
    }
}
