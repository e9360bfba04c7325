//! [`FileTailer`]: `tail -F` over globs, synchronous and driven by [`FileTailer::poll`].
//!
//! Each poll re-expands the globs, so files created later are picked up (and read from their
//! beginning). Files are tracked by identity (device, inode) with an offset and a partial-line
//! buffer, so that:
//!
//! * a line is emitted only once its `\n` arrived (a cat-mode read also emits a final
//!   unterminated line at end of file);
//! * rotation by rename is followed: when the path now names another inode, the old handle is
//!   read to its end first (lines written just before the rotation are not lost), then the new
//!   file is read from its start; a rotated file that still matches a glob keeps its offset
//!   (no duplicates);
//! * truncation in place (`copytruncate`) is detected (size < offset) and reading restarts at 0.
//!
//! In tail mode files present at the first poll are read from their end; in cat mode every
//! matched file is read from its beginning to its end, once.

use super::lines::{decode, LineSplitter, LineText, RawLine};
use palisade_runtime::metrics::Counter;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The default cap on a line's length.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;
/// The default most a poll reads from one file before yielding.
pub const DEFAULT_READ_BUDGET: usize = 4 * 1024 * 1024;

/// What to tail and how.
#[derive(Debug, Clone)]
pub struct TailOptions {
    /// Glob patterns (a plain path is a glob matching itself).
    pub patterns: Vec<String>,
    /// Paths matching any of these are ignored.
    pub exclude: Vec<Regex>,
    /// `true`: tail mode (follow; files present at the first poll are read from their end).
    /// `false`: cat mode (read the files matched at the first poll once, from the start).
    pub follow: bool,
    /// Longer lines are truncated to this many bytes.
    pub max_line_bytes: usize,
    /// The most a poll reads from one file; the rest waits for the next poll
    /// ([`FileTailer::backlogged`] tells the caller to poll again at once).
    pub read_budget: usize,
}

impl TailOptions {
    /// Options with the default caps.
    pub fn new(patterns: Vec<String>, follow: bool) -> Self {
        TailOptions {
            patterns,
            exclude: Vec::new(),
            follow,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            read_budget: DEFAULT_READ_BUDGET,
        }
    }
}

/// One line read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailLine {
    /// The file's path, as the glob produced it.
    pub path: String,
    /// The line.
    pub line: LineText,
}

type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(m: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_id(_: &Metadata) -> FileId {
    (0, 0)
}

#[derive(Debug)]
struct Tracked {
    path: PathBuf,
    src: String,
    file: File,
    offset: u64,
    splitter: LineSplitter,
}

impl Tracked {
    fn set_path(&mut self, path: PathBuf) {
        self.src = path.to_string_lossy().into_owned();
        self.path = path;
    }

    /// Reads up to `budget` bytes. Returns whether the end of the file was reached.
    fn read(&mut self, buf: &mut [u8], budget: usize, out: &mut Vec<TailLine>) -> io::Result<bool> {
        let mut raw = Vec::new();
        let mut read = 0;
        let eof = loop {
            if read >= budget {
                break false;
            }
            let want = buf.len().min(budget - read);
            let n = match self.file.read(&mut buf[..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.emit(raw, out);
                    return Err(e);
                }
            };
            if n == 0 {
                break true;
            }
            read += n;
            self.offset += n as u64;
            self.splitter.push(&buf[..n], &mut raw);
        };
        self.emit(raw, out);
        Ok(eof)
    }

    /// Emits the unterminated last line, if any.
    fn finish(&mut self, out: &mut Vec<TailLine>) {
        let last = self.splitter.finish();
        self.emit(last.into_iter().collect(), out);
    }

    fn emit(&self, raw: Vec<RawLine>, out: &mut Vec<TailLine>) {
        out.extend(raw.into_iter().map(|r| TailLine {
            path: self.src.clone(),
            line: decode(r),
        }));
    }
}

/// Follows (or reads once) the files matching a set of globs. See the module docs.
#[derive(Debug)]
pub struct FileTailer {
    opts: TailOptions,
    files: HashMap<FileId, Tracked>,
    /// Files no longer matched (deleted, rotated away) still being read to their end.
    retiring: Vec<Tracked>,
    started: bool,
    backlog: bool,
    warned: HashSet<PathBuf>,
    errors: Counter,
    buf: Vec<u8>,
}

impl FileTailer {
    /// A tailer; nothing is opened before the first poll.
    pub fn new(opts: TailOptions) -> Self {
        FileTailer {
            opts,
            files: HashMap::new(),
            retiring: Vec::new(),
            started: false,
            backlog: false,
            warned: HashSet::new(),
            errors: Counter::default(),
            buf: vec![0; 64 * 1024],
        }
    }

    /// Counts per-file problems (tail mode) into `errors`.
    pub fn with_error_counter(mut self, errors: Counter) -> Self {
        self.errors = errors;
        self
    }

    /// Whether the last poll stopped at the read budget: poll again without waiting.
    pub fn backlogged(&self) -> bool {
        self.backlog
    }

    /// Cat mode: whether every file was read to its end.
    pub fn is_done(&self) -> bool {
        !self.opts.follow && self.started && self.files.is_empty() && self.retiring.is_empty()
    }

    /// The patterns that match no (non-excluded) regular file right now.
    pub fn unmatched_patterns(&self) -> Vec<String> {
        self.opts
            .patterns
            .iter()
            .filter(|p| self.expand_one(p).is_empty())
            .cloned()
            .collect()
    }

    /// The files currently followed, sorted.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.files.values().map(|t| t.path.clone()).collect();
        v.sort();
        v
    }

    /// Reads what was appended since the last poll.
    ///
    /// In tail mode, a file that cannot be opened or read is logged (once until it recovers),
    /// counted and retried at the next poll; the poll still succeeds. In cat mode the first
    /// such problem fails the poll, naming the file.
    pub fn poll(&mut self) -> io::Result<Vec<TailLine>> {
        let first = !self.started;
        self.started = true;
        self.backlog = false;
        let mut out = Vec::new();

        // Files retired at an earlier poll, not yet read to their end.
        for mut t in std::mem::take(&mut self.retiring) {
            if !self.drain_retiring(&mut t, &mut out)? {
                self.retiring.push(t);
            }
        }

        let order = if self.opts.follow || first {
            self.rescan(first, &mut out)?
        } else {
            let mut ids: Vec<(PathBuf, FileId)> = self
                .files
                .iter()
                .map(|(id, t)| (t.path.clone(), *id))
                .collect();
            ids.sort();
            ids.into_iter().map(|(_, id)| id).collect()
        };

        for id in order {
            let Some(mut t) = self.files.remove(&id) else {
                continue;
            };
            let keep = self.read_current(&mut t, &mut out)?;
            if keep {
                self.files.insert(id, t);
            }
        }
        Ok(out)
    }

    /// Reads a file that is no longer matched. Returns whether it is finished (read to its
    /// end, or unreadable) and can be dropped.
    fn drain_retiring(&mut self, t: &mut Tracked, out: &mut Vec<TailLine>) -> io::Result<bool> {
        match t.read(&mut self.buf, self.opts.read_budget, out) {
            Ok(true) => {
                t.finish(out);
                Ok(true)
            }
            Ok(false) => {
                self.backlog = true;
                Ok(false)
            }
            Err(e) => {
                self.problem(&t.path.clone(), e)?;
                Ok(true)
            }
        }
    }

    /// Re-expands the globs: opens new files, follows renames, retires what is gone.
    /// Returns the files to read, in path order.
    fn rescan(&mut self, first: bool, out: &mut Vec<TailLine>) -> io::Result<Vec<FileId>> {
        let mut seen: HashSet<FileId> = HashSet::new();
        let mut order = Vec::new();
        for path in self.expand() {
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.problem(&path, e)?;
                    continue;
                }
            };
            if !meta.is_file() {
                continue;
            }
            let mut id = file_id(&meta);
            if let Some(t) = self.files.get_mut(&id) {
                if t.path != path {
                    tracing::debug!(from = %t.path.display(), to = %path.display(), "Followed a renamed file.");
                    t.set_path(path);
                }
            } else {
                let start_at_end = first && self.opts.follow;
                match self.open(&path, start_at_end) {
                    Ok((opened_id, t)) => {
                        id = opened_id;
                        self.files.entry(id).or_insert(t);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        self.problem(&path, e)?;
                        continue;
                    }
                }
            }
            if seen.insert(id) {
                order.push(id);
            }
        }
        // What is no longer matched was deleted or rotated away: read it to its end.
        let mut gone: Vec<Tracked> = Vec::new();
        for (id, t) in std::mem::take(&mut self.files) {
            if seen.contains(&id) {
                self.files.insert(id, t);
            } else {
                gone.push(t);
            }
        }
        gone.sort_by(|a, b| a.path.cmp(&b.path));
        for mut t in gone {
            tracing::debug!(path = %t.path.display(), "File rotated away or deleted; reading it to its end.");
            if !self.drain_retiring(&mut t, out)? {
                self.retiring.push(t);
            }
        }
        Ok(order)
    }

    fn open(&self, path: &Path, start_at_end: bool) -> io::Result<(FileId, Tracked)> {
        let mut file = File::open(path)?;
        let id = file_id(&file.metadata()?);
        let offset = if start_at_end {
            file.seek(SeekFrom::End(0))?
        } else {
            0
        };
        tracing::debug!(path = %path.display(), offset, "Opened a file.");
        let mut t = Tracked {
            path: PathBuf::new(),
            src: String::new(),
            file,
            offset,
            splitter: LineSplitter::new(self.opts.max_line_bytes),
        };
        t.set_path(path.to_path_buf());
        Ok((id, t))
    }

    /// Reads a matched file. Returns whether to keep tracking it.
    fn read_current(&mut self, t: &mut Tracked, out: &mut Vec<TailLine>) -> io::Result<bool> {
        let result = (|| -> io::Result<bool> {
            let len = t.file.metadata()?.len();
            if len < t.offset {
                tracing::info!(path = %t.path.display(), "File truncated; reading it from the start.");
                t.finish(out);
                t.file.seek(SeekFrom::Start(0))?;
                t.offset = 0;
            }
            t.read(&mut self.buf, self.opts.read_budget, out)
        })();
        match result {
            Ok(eof) => {
                self.warned.remove(&t.path);
                if !eof {
                    self.backlog = true;
                    return Ok(true);
                }
                if !self.opts.follow {
                    // Cat mode: this file is done.
                    t.finish(out);
                    return Ok(false);
                }
                Ok(true)
            }
            Err(e) => {
                self.problem(&t.path.clone(), e)?;
                Ok(true)
            }
        }
    }

    /// A per-file problem: fatal in cat mode, logged once and counted in tail mode.
    fn problem(&mut self, path: &Path, e: io::Error) -> io::Result<()> {
        if !self.opts.follow {
            return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        }
        self.errors.inc();
        if self.warned.insert(path.to_path_buf()) {
            tracing::warn!(path = %path.display(), error = %e, "Cannot read file; will retry.");
        }
        Ok(())
    }

    fn excluded(&self, path: &Path) -> bool {
        let s = path.to_string_lossy();
        self.opts.exclude.iter().any(|r| r.is_match(&s))
    }

    fn expand_one(&self, pattern: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        match glob::glob(pattern) {
            Ok(paths) => {
                for entry in paths {
                    match entry {
                        Ok(p) if !self.excluded(&p) && p.is_file() => out.push(p),
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "Glob could not read a directory."),
                    }
                }
            }
            Err(e) => tracing::warn!(pattern, error = %e, "Invalid glob."),
        }
        out
    }

    fn expand(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self
            .opts
            .patterns
            .iter()
            .flat_map(|p| self.expand_one(p))
            .collect();
        all.sort();
        all.dedup();
        all
    }
}
