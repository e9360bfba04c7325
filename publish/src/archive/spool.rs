//! The on-disk spool: batches that could not reach ClickHouse, one JSON file each, named by a
//! sequence number so they drain in the order they were written. A file is written to a
//! temporary name, synced, then renamed, so a crash never leaves half a batch; it is removed
//! only once its rows are in ClickHouse.

use super::Batch;
use crate::PublishError;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    next: u64,
}

fn io(path: &Path, source: std::io::Error) -> PublishError {
    PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Spool {
    /// Opens (creating) the spool in `dir`.
    pub fn open(dir: &Path) -> Result<Spool, PublishError> {
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let next = Self::list_in(dir)?.last().map_or(0, |(n, _)| n + 1);
        Ok(Spool {
            dir: dir.to_path_buf(),
            next,
        })
    }

    fn list_in(dir: &Path) -> Result<Vec<(u64, PathBuf)>, PublishError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let path = entry.map_err(|e| io(dir, e))?.path();
            let n = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(n) = n {
                out.push((n, path));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The spooled batch files, oldest first.
    pub fn files(&self) -> Result<Vec<PathBuf>, PublishError> {
        Ok(Self::list_in(&self.dir)?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> Result<bool, PublishError> {
        Ok(self.files()?.is_empty())
    }

    /// Writes a batch durably.
    pub fn push(&mut self, batch: &Batch) -> Result<PathBuf, PublishError> {
        let path = self.dir.join(format!("{:020}.json", self.next));
        let tmp = self.dir.join(format!(".{:020}.tmp", self.next));
        let body = serde_json::to_vec(batch)?;
        let mut f = fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(&body).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        self.next += 1;
        Ok(path)
    }

    /// Reads a spooled batch.
    pub fn read(path: &Path) -> Result<Batch, PublishError> {
        let body = fs::read(path).map_err(|e| io(path, e))?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// Removes a delivered batch.
    pub fn remove(path: &Path) -> Result<(), PublishError> {
        fs::remove_file(path).map_err(|e| io(path, e))
    }
}
