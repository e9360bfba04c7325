//! The `syslog` source: a UDP and/or TCP syslog server. Each RFC 3164 or RFC 5424 message is
//! re-emitted as `Jan  2 15:04:05 host app[pid]: msg` (see [`SyslogMessage::to_line`]), so that
//! `type: syslog` parsers apply; `Src` is the client's IP address.
//!
//! A message neither RFC parses is passed through raw and counted
//! (`palisade_ingest_syslog_unparsed_messages_total`). With `disable_rfc_parser` the message
//! is passed through with only its `<PRI>` removed, as CrowdSec does.

mod framing;
mod listener;
mod parse;

pub use parse::{parse, strip_pri, ParseError, SyslogMessage, Timestamp};

use super::emit::{Emitter, Flow};
use super::lines::{cut_to_char_boundary, decode, LineText, RawLine};
use super::metrics::SYSLOG_UNPARSED;
use crate::IngestError;
use chrono::{DateTime, Utc};
use listener::{Listeners, Received};
use palisade_runtime::bus::BusSender;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::Event;
use serde::Deserialize;
use std::net::SocketAddr;

/// CrowdSec's default `max_message_len`.
pub(crate) const DEFAULT_MAX_MESSAGE_LEN: usize = 2048;
/// CrowdSec's default `listen_port`.
pub(crate) const DEFAULT_PORT: u16 = 514;

/// The transports to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Protocol {
    /// UDP only (CrowdSec's behaviour).
    #[default]
    Udp,
    /// TCP only.
    Tcp,
    /// Both, on the same address and port.
    Both,
}

/// A compiled `syslog` source.
#[derive(Debug, Clone)]
pub(crate) struct SyslogSource {
    /// Where to listen.
    pub addr: SocketAddr,
    /// On what.
    pub protocol: Protocol,
    /// Longer messages are truncated.
    pub max_message_len: usize,
    /// Pass messages through (minus `<PRI>`) instead of parsing them.
    pub disable_rfc_parser: bool,
}

/// Binds and serves until shutdown.
pub(crate) async fn run<W: BusSender<Event>>(
    spec: &SyslogSource,
    em: &mut Emitter<W>,
    shutdown: &Shutdown,
) -> Result<(), IngestError> {
    let listeners = Listeners::bind(em.name(), spec).await?;
    serve(listeners, spec, em, shutdown).await
}

async fn serve<W: BusSender<Event>>(
    listeners: Listeners,
    spec: &SyslogSource,
    em: &mut Emitter<W>,
    shutdown: &Shutdown,
) -> Result<(), IngestError> {
    tracing::info!(source = %em.name(), udp = ?listeners.udp_addr(), tcp = ?listeners.tcp_addr(), "Syslog server listening.");
    let unparsed = em.counter(&SYSLOG_UNPARSED);
    let (mut rx, _tasks) = listeners.spawn(shutdown, em.error_counter());
    let handle = |em: &mut Emitter<W>, msg: Received| {
        let now = em.now();
        let (line, parsed) = to_line(msg.bytes, msg.truncated, spec.disable_rfc_parser, now);
        if !parsed {
            unparsed.inc();
            em.report.unparsed += 1;
        }
        em.push(&msg.peer.to_string(), line);
    };
    loop {
        let first = tokio::select! {
            biased;
            () = shutdown.wait() => break,
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
        };
        handle(em, first);
        for _ in 1..em.batch_size() {
            match rx.try_recv() {
                Ok(m) => handle(em, m),
                Err(_) => break,
            }
        }
        if em.flush().await? == Flow::Stop {
            return Ok(());
        }
    }
    // Hand over what was already received.
    while let Ok(m) = rx.try_recv() {
        handle(em, m);
    }
    // Stopping anyway: whether the bus is still open does not matter.
    let _ = em.flush().await?;
    Ok(())
}

/// The line to emit for one received message, and whether it was parsed.
fn to_line(
    bytes: Vec<u8>,
    truncated: bool,
    disable_rfc_parser: bool,
    now: DateTime<Utc>,
) -> (LineText, bool) {
    let mut bytes = bytes;
    if truncated {
        cut_to_char_boundary(&mut bytes);
    }
    let mut line = decode(RawLine { bytes, truncated });
    let raw = line.text.trim_end_matches(['\n', '\r', '\0']);
    if disable_rfc_parser {
        line.text = strip_pri(raw).unwrap_or(raw).to_string();
        return (line, true);
    }
    match parse(raw) {
        Ok(m) => {
            line.text = m.to_line(now);
            (line, true)
        }
        Err(e) => {
            tracing::debug!(error = %e, raw = %raw, "Unparseable syslog message; passed through raw.");
            line.text = raw.to_string();
            (line, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::emit::tests::{test_context, test_emitter};
    use palisade_runtime::bus::BusReceiver;
    use std::net::{IpAddr, Ipv4Addr};
    use tokio::io::AsyncWriteExt;

    fn spec(protocol: Protocol) -> SyslogSource {
        SyslogSource {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            protocol,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            disable_rfc_parser: false,
        }
    }

    #[test]
    fn converts_passes_through_and_strips_pri() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, 1, 0, 0, 0).unwrap();
        let (l, ok) = to_line(
            b"<13>Jan  2 03:04:05 h app[1]: x\n".to_vec(),
            false,
            false,
            now,
        );
        assert_eq!((l.text.as_str(), ok), ("Jan  2 03:04:05 h app[1]: x", true));
        let (l, ok) = to_line(b"not syslog\0".to_vec(), false, false, now);
        assert_eq!((l.text.as_str(), ok), ("not syslog", false));
        let (l, ok) = to_line(b"<13>raw text".to_vec(), false, true, now);
        assert_eq!((l.text.as_str(), ok), ("raw text", true));
        let cut = "<13>Jan  2 03:04:05 h app: é";
        let (l, _) = to_line(cut.as_bytes()[..cut.len() - 1].to_vec(), true, false, now);
        assert_eq!(l.text, "Jan  2 03:04:05 h app: ");
        assert!(l.truncated && !l.invalid_utf8);
    }

    #[tokio::test]
    async fn serves_udp_and_tcp_with_both_framings() {
        let ctx = test_context(100);
        let (mut em, mut rx) = test_emitter("syslog", &ctx);
        let spec = spec(Protocol::Both);
        let listeners = Listeners::bind("test", &spec).await.unwrap();
        let udp_addr = listeners.udp_addr().unwrap();
        let tcp_addr = listeners.tcp_addr().unwrap();
        let shutdown = ctx.shutdown.clone();
        let server = tokio::spawn(async move {
            serve(listeners, &spec, &mut em, &shutdown)
                .await
                .map(|()| em.report)
        });

        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client
            .send_to(b"<13>Jan  2 03:04:05 host app[1]: over udp", udp_addr)
            .await
            .unwrap();
        let mut tcp = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
        let counted = "<13>1 2026-01-02T03:04:05Z host app 7 - - counted";
        tcp.write_all(format!("{} {counted}", counted.len()).as_bytes())
            .await
            .unwrap();
        tcp.write_all(b"<13>Jan  2 03:04:05 host app: newline framed\ngarbage\n")
            .await
            .unwrap();
        tcp.shutdown().await.unwrap();

        let mut got = Vec::new();
        while got.len() < 4 {
            let batch = rx.recv().await.expect("the server keeps the bus open");
            got.extend(batch.items);
        }
        ctx.shutdown.trigger();
        let report = server.await.unwrap().unwrap();
        assert_eq!(report.unparsed, 1);

        let mut raws: Vec<&str> = got.iter().map(|e| e.line.raw.as_str()).collect();
        raws.sort_unstable();
        assert_eq!(
            raws,
            vec![
                "Jan  2 03:04:05 host app: newline framed",
                "Jan  2 03:04:05 host app[1]: over udp",
                "Jan  2 03:04:05 host app[7]: counted",
                "garbage",
            ]
        );
        assert!(got
            .iter()
            .all(|e| e.line.src == "127.0.0.1" && e.line.module == "syslog"));
        assert_eq!(
            ctx.metrics.value(
                "palisade_ingest_syslog_unparsed_messages_total",
                &[("source", "test"), ("module", "syslog")]
            ),
            Some(1)
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_a_bind_error() {
        let taken = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut s = spec(Protocol::Udp);
        s.addr = taken.local_addr().unwrap();
        let err = Listeners::bind("test", &s).await.unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::Bind {
                    protocol: "udp",
                    ..
                }
            ),
            "{err}"
        );
    }
}
