//! Backends enforce the active set. Each receives [`Batch`]es of additions and deletions (or a
//! full set on start and reconnect) on a thread of its own, so that a slow hook never delays the
//! firewall; batches that queue up while a backend works are merged and applied at once.

pub mod feed;
pub mod hook;
pub mod ipset;
pub mod nftables;

use crate::set::Batch;
use crate::BounceError;

/// Something that enforces decisions.
pub trait Backend: Send {
    /// A short name for logs and metrics (`nftables`, `hook`, ...).
    fn name(&self) -> &'static str;

    /// Applies a batch. With `batch.full`, the backend must end up enforcing exactly
    /// `batch.adds` (whatever it enforced before, for instance before a restart, goes).
    fn apply(&mut self, batch: &Batch) -> Result<(), BounceError>;
}

/// Runs `command` with `stdin` as its standard input; an error holds its standard error.
pub(crate) fn run_with_stdin(
    backend: &'static str,
    command: &[String],
    stdin: &[u8],
    timeout: Option<std::time::Duration>,
) -> Result<(), BounceError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let (prog, args) = command
        .split_first()
        .ok_or_else(|| BounceError::backend(backend, "empty command"))?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BounceError::backend(backend, format!("cannot run {prog}: {e}")))?;
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                if deadline.is_some_and(|d| std::time::Instant::now() > d) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(BounceError::backend(
                        backend,
                        format!(
                            "{prog} did not finish in {:?}; killed",
                            timeout.unwrap_or_default()
                        ),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(BounceError::backend(backend, format!("{prog}: {e}"))),
        }
    };
    let _ = writer.join();
    let stderr = reader.join().unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        Err(BounceError::backend(
            backend,
            format!("{prog} failed ({status}): {}", stderr.trim()),
        ))
    }
}
