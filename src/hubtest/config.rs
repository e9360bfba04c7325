//! A hub test folder's `config.yaml` (cscli's `HubTestItemConfig`) and how its item references
//! resolve: a hub item name (`crowdsecurity/sshd-logs`), a path in the hub (`./parsers/...`), or
//! a path in the test folder.

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `config.yaml` of a hub test.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TestConfig {
    /// Parser items.
    #[serde(deserialize_with = "null_as_empty")]
    pub parsers: Vec<String>,
    /// Scenario items.
    #[serde(deserialize_with = "null_as_empty")]
    pub scenarios: Vec<String>,
    /// Postoverflow items.
    #[serde(deserialize_with = "null_as_empty")]
    pub postoverflows: Vec<String>,
    /// The log to replay, relative to the test folder.
    pub log_file: String,
    /// `labels.type` of every line.
    pub log_type: String,
    /// Extra labels.
    #[serde(deserialize_with = "null_as_empty")]
    pub labels: BTreeMap<String, String>,
    /// Do not evaluate `parser.assert`.
    pub ignore_parsers: bool,
    /// Statics applied by a synthetic first s00-raw node.
    #[serde(deserialize_with = "null_as_empty")]
    pub override_statics: Vec<serde_json::Value>,
    /// Use a private data dir (accepted).
    pub own_data_dir: bool,
    /// Ignored, as upstream does.
    #[serde(deserialize_with = "null_as_empty")]
    pub collections: Vec<String>,
}

impl TestConfig {
    /// Reads `<dir>/config.yaml`.
    pub fn read(dir: &Path) -> Result<TestConfig> {
        let path = dir.join("config.yaml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_saphyr::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    }

    /// The non-empty item references of a kind.
    pub fn items(list: &[String]) -> impl Iterator<Item = &str> {
        list.iter().map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// One resolved item: its hub path and, for parsers and postoverflows, its stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The file.
    pub path: PathBuf,
    /// The stage directory it sits in (`s01-parse`), if any.
    pub stage: Option<String>,
}

/// The items of a hub directory, by name (`author/name`) for each kind.
#[derive(Debug, Default)]
pub struct HubIndex {
    root: PathBuf,
    by_name: BTreeMap<(String, String), PathBuf>,
}

impl HubIndex {
    /// Indexes `<root>/{parsers,postoverflows,scenarios}`: `<kind>/[<stage>/]<author>/<name>.yaml`.
    pub fn build(root: &Path) -> Result<HubIndex> {
        if !root.is_dir() {
            bail!("hub directory {} does not exist", root.display());
        }
        let mut by_name = BTreeMap::new();
        for kind in ["parsers", "postoverflows", "scenarios"] {
            let dir = root.join(kind);
            if !dir.is_dir() {
                continue;
            }
            for f in palisade_runtime::config::yaml_files(&dir)? {
                let (Some(name), Some(author)) = (
                    f.file_stem().map(|s| s.to_string_lossy().to_string()),
                    f.parent()
                        .and_then(Path::file_name)
                        .map(|s| s.to_string_lossy().to_string()),
                ) else {
                    continue;
                };
                by_name
                    .entry((kind.to_string(), format!("{author}/{name}")))
                    .or_insert(f);
            }
        }
        Ok(HubIndex {
            root: root.to_path_buf(),
            by_name,
        })
    }

    /// Resolves a reference of `kind` as cscli does: item name, hub path, then test path.
    pub fn resolve(&self, kind: &str, reference: &str, test_dir: &Path) -> Result<Item> {
        let path = if let Some(p) = self.by_name.get(&(kind.to_string(), reference.to_string())) {
            p.clone()
        } else {
            let rel = reference.trim_start_matches("./").trim_start_matches('/');
            let in_hub = self.root.join(rel);
            let in_test = test_dir.join(rel);
            // `.tests/<test>/...` is a path in the hub's test folder, where this test lives.
            let in_tests = rel
                .strip_prefix(".tests/")
                .and_then(|r| test_dir.parent().map(|p| p.join(r)));
            if in_hub.is_file() {
                in_hub
            } else if in_test.is_file() {
                in_test
            } else if let Some(p) = in_tests.filter(|p| p.is_file()) {
                p
            } else {
                bail!(
                    "{kind} item {reference:?} not found in {} nor in {}",
                    self.root.display(),
                    test_dir.display()
                );
            }
        };
        let stage = stage_of(&path, kind);
        Ok(Item { path, stage })
    }
}

/// The directory right under `<kind>/` in the path, e.g. `s01-parse`.
fn stage_of(path: &Path, kind: &str) -> Option<String> {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let i = comps.iter().rposition(|c| c == kind)?;
    comps.get(i + 1).filter(|s| s.starts_with('s')).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_come_from_the_directory() {
        assert_eq!(
            stage_of(
                Path::new("/h/parsers/s01-parse/crowdsecurity/x.yaml"),
                "parsers"
            )
            .as_deref(),
            Some("s01-parse")
        );
        assert_eq!(
            stage_of(Path::new("/h/scenarios/crowdsecurity/x.yaml"), "scenarios"),
            None
        );
    }
}
