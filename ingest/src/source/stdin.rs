//! The `stdin` source: lines from standard input (or any reader, for tests) until end of
//! input or shutdown. `Src` is `stdin`, the module `stdin`.
//!
//! Tokio reads stdin on a blocking thread that cannot be interrupted: after a shutdown the
//! source returns at once, but the process may need new input (or its own exit) to release
//! that thread.

use super::emit::{Emitter, Flow};
use super::lines::{decode, LineSplitter};
use crate::IngestError;
use palisade_runtime::bus::BusSender;
use palisade_runtime::shutdown::Shutdown;
use palisade_schemas::Event;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Reads `reader` line by line into `em`.
pub(crate) async fn run<R, W>(
    mut reader: R,
    max_line_bytes: usize,
    em: &mut Emitter<W>,
    shutdown: &Shutdown,
) -> Result<(), IngestError>
where
    R: AsyncRead + Unpin,
    W: BusSender<Event>,
{
    let mut splitter = LineSplitter::new(max_line_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut raw = Vec::new();
    loop {
        let n = tokio::select! {
            biased;
            () = shutdown.wait() => return Ok(()),
            r = reader.read(&mut buf) => r.map_err(|e| IngestError::Io {
                name: em.name().to_string(),
                error: std::io::Error::new(e.kind(), format!("stdin: {e}")),
            })?,
        };
        if n == 0 {
            raw.extend(splitter.finish());
        } else {
            splitter.push(&buf[..n], &mut raw);
        }
        for l in raw.drain(..) {
            em.push("stdin", decode(l));
        }
        if em.flush().await? == Flow::Stop || n == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::emit::tests::{drain, test_context, test_emitter};

    #[tokio::test]
    async fn reads_lines_until_end_of_input() {
        let ctx = test_context(100);
        let (mut em, mut rx) = test_emitter("stdin", &ctx);
        let input: &[u8] = b"first\n\nsecond\r\nbad \xff\nlast without newline";
        run(input, 1024, &mut em, &ctx.shutdown).await.unwrap();
        assert_eq!(em.report.invalid_utf8, 1);
        drop(em);
        let events = drain(&mut rx).await;
        let raws: Vec<&str> = events.iter().map(|e| e.line.raw.as_str()).collect();
        assert_eq!(
            raws,
            vec!["first", "second", "bad \u{fffd}", "last without newline"]
        );
        assert!(events
            .iter()
            .all(|e| e.line.src == "stdin" && e.line.module == "stdin"));
    }

    #[tokio::test]
    async fn stops_on_shutdown_while_waiting_for_input() {
        let ctx = test_context(100);
        let (mut em, _rx) = test_emitter("stdin", &ctx);
        let (_writer, reader) = tokio::io::duplex(64);
        ctx.shutdown.trigger();
        run(reader, 1024, &mut em, &ctx.shutdown).await.unwrap();
        assert_eq!(em.report.lines, 0);
    }
}
