//! Clean shutdown. One [`Shutdown`] token is shared by every source and server. SIGINT or
//! SIGTERM cancels it; sources then stop reading and drop their bus senders, and each stage
//! drains its input before closing its output, so everything already read reaches the end of
//! the pipeline.

use tokio_util::sync::CancellationToken;

/// A cloneable shutdown signal.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    /// A token nobody has triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything to stop.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    /// Whether a stop was asked for.
    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves once a stop is asked for.
    pub async fn wait(&self) {
        self.0.cancelled().await;
    }

    /// Triggers this token on the first SIGINT or SIGTERM. Call once, from within a runtime.
    pub fn trigger_on_signals(&self) {
        let token = self.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("Signal received: draining the pipeline.");
            token.trigger();
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("Cannot install signal handlers; stop with a kill.");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_see_the_trigger() {
        let s = Shutdown::new();
        let c = s.clone();
        assert!(!c.is_triggered());
        s.trigger();
        c.wait().await;
        assert!(c.is_triggered());
    }
}
