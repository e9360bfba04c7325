//! Command notifications: a program run with its arguments (no shell), the rendered template on
//! its standard input. It fails when it cannot start, exits with a non-zero status or outlives
//! the timeout (it is then killed). Its standard output is discarded; the start of its standard
//! error is kept for the log.

use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// How much of the standard error a failure reports.
const STDERR_KEPT: usize = 512;

/// A checked command hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandHook {
    program: String,
    args: Vec<String>,
}

impl CommandHook {
    /// A hook running `program` (a path, or a name looked up in `PATH`) with `args`.
    pub fn new(program: &str, args: &[String]) -> Result<CommandHook, String> {
        if program.trim().is_empty() {
            return Err("the command is empty".into());
        }
        Ok(CommandHook {
            program: program.to_string(),
            args: args.to_vec(),
        })
    }

    /// The program, for logs.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Runs the command with `input` on its standard input. Dropping the future (on timeout)
    /// kills the process.
    pub async fn run(&self, input: String) -> Result<(), String> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program))?;
        let stdin = child.stdin.take();
        let mut stderr = child.stderr.take();
        let write = async move {
            if let Some(mut stdin) = stdin {
                // A command that does not read its input is not an error.
                let _ = stdin.write_all(input.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
        };
        let read = async move {
            let mut buf = Vec::new();
            if let Some(err) = stderr.as_mut() {
                let _ = err.read_to_end(&mut buf).await;
            }
            buf
        };
        let ((), err_out, status) = tokio::join!(write, read, child.wait());
        let status = status.map_err(|e| format!("waiting for {}: {e}", self.program))?;
        if status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&err_out[..err_out.len().min(STDERR_KEPT)]);
        let text = text.trim();
        Err(if text.is_empty() {
            format!("{} exited with {status}", self.program)
        } else {
            format!("{} exited with {status}: {text}", self.program)
        })
    }
}
