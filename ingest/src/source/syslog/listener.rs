//! The syslog sockets: a UDP socket (one message per datagram) and a TCP listener (one task
//! per connection, RFC 6587 framing), feeding received messages into one channel.
//!
//! [`Listeners::bind`] binds first and exposes the bound addresses (port 0 works, for tests);
//! [`Listeners::spawn`] then starts the reader tasks, which stop on shutdown.

use super::framing::Framer;
use super::{Protocol, SyslogSource};
use crate::IngestError;
use palisade_runtime::metrics::Counter;
use palisade_runtime::shutdown::Shutdown;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Concurrent TCP connections accepted; more are refused.
const MAX_TCP_CONNECTIONS: usize = 1024;
/// Received messages waiting for the emitter; when full, readers wait (backpressure).
const CHANNEL_CAPACITY: usize = 1024;
/// Pause after a failed accept or receive, so a persistent error does not spin.
const ERROR_PAUSE: Duration = Duration::from_millis(100);

/// One message off the wire.
#[derive(Debug)]
pub(crate) struct Received {
    /// The message bytes, at most `max_message_len`.
    pub bytes: Vec<u8>,
    /// The sender's address.
    pub peer: IpAddr,
    /// Whether the message was longer than `max_message_len`.
    pub truncated: bool,
}

/// Bound, not yet reading.
#[derive(Debug)]
pub(crate) struct Listeners {
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    max: usize,
}

impl Listeners {
    /// Binds what `spec.protocol` asks for.
    pub async fn bind(name: &str, spec: &SyslogSource) -> Result<Self, IngestError> {
        let bind_error = |protocol, error| IngestError::Bind {
            name: name.to_string(),
            protocol,
            addr: spec.addr,
            error,
        };
        let udp = match spec.protocol {
            Protocol::Udp | Protocol::Both => Some(
                UdpSocket::bind(spec.addr)
                    .await
                    .map_err(|e| bind_error("udp", e))?,
            ),
            Protocol::Tcp => None,
        };
        let tcp = match spec.protocol {
            Protocol::Tcp | Protocol::Both => Some(
                TcpListener::bind(spec.addr)
                    .await
                    .map_err(|e| bind_error("tcp", e))?,
            ),
            Protocol::Udp => None,
        };
        Ok(Listeners {
            udp,
            tcp,
            max: spec.max_message_len.max(1),
        })
    }

    /// The bound UDP address.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The bound TCP address.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Starts reading. Dropping the returned set stops every task.
    pub fn spawn(
        self,
        shutdown: &Shutdown,
        errors: Counter,
    ) -> (mpsc::Receiver<Received>, JoinSet<()>) {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let mut tasks = JoinSet::new();
        if let Some(sock) = self.udp {
            tasks.spawn(udp_loop(
                sock,
                self.max,
                tx.clone(),
                shutdown.clone(),
                errors.clone(),
            ));
        }
        if let Some(listener) = self.tcp {
            tasks.spawn(tcp_loop(listener, self.max, tx, shutdown.clone(), errors));
        }
        (rx, tasks)
    }
}

async fn udp_loop(
    sock: UdpSocket,
    max: usize,
    tx: mpsc::Sender<Received>,
    shutdown: Shutdown,
    errors: Counter,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = tokio::select! {
            biased;
            () = shutdown.wait() => return,
            r = sock.recv_from(&mut buf) => match r {
                Ok(v) => v,
                Err(e) => {
                    errors.inc();
                    tracing::warn!(error = %e, "Syslog UDP receive failed.");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let msg = Received {
            bytes: buf[..n.min(max)].to_vec(),
            peer: peer.ip().to_canonical(),
            truncated: n > max,
        };
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}

async fn tcp_loop(
    listener: TcpListener,
    max: usize,
    tx: mpsc::Sender<Received>,
    shutdown: Shutdown,
    errors: Counter,
) {
    let limit = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    let mut conns = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = shutdown.wait() => return,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    errors.inc();
                    tracing::warn!(error = %e, "Syslog TCP accept failed.");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            errors.inc();
            tracing::warn!(peer = %peer, "Too many syslog TCP connections; refusing one.");
            continue;
        };
        conns.spawn(connection(
            stream,
            peer.ip().to_canonical(),
            max,
            tx.clone(),
            shutdown.clone(),
            permit,
        ));
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: IpAddr,
    max: usize,
    tx: mpsc::Sender<Received>,
    shutdown: Shutdown,
    _permit: OwnedSemaphorePermit,
) {
    let mut framer = Framer::new(max);
    let mut buf = vec![0u8; 16 * 1024];
    let mut frames = Vec::new();
    loop {
        let n = tokio::select! {
            biased;
            () = shutdown.wait() => return,
            r = stream.read(&mut buf) => r.unwrap_or_else(|e| {
                tracing::debug!(peer = %peer, error = %e, "Syslog TCP connection failed.");
                0
            }),
        };
        if n == 0 {
            frames.extend(framer.finish());
        } else {
            framer.push(&buf[..n], &mut frames);
        }
        for f in frames.drain(..) {
            let msg = Received {
                bytes: f.bytes,
                peer,
                truncated: f.truncated,
            };
            if tx.send(msg).await.is_err() {
                return;
            }
        }
        if n == 0 {
            return;
        }
    }
}
