//! Blocklist feeds for edge routers and CDNs, rewritten after each batch: `blocklist.txt` (one
//! address or network a line, as decided), `blocklist-cidr.txt` (aggregated: neighbours and
//! nested networks merged into the fewest CIDR blocks) and `blocklist-nginx.conf` (`deny X;`
//! lines for an nginx `include`). Files are written to a temporary name and renamed, so a reader
//! never sees half a list; the same texts are served by the bouncer's HTTP endpoint under
//! `/feeds/<name>`.

use super::Backend;
use crate::net::{aggregate, Net};
use crate::set::{Batch, Entry, Key};
use crate::BounceError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The `feed` backend's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    /// Where the files go (none: served over HTTP only).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Decision types listed.
    #[serde(default = "default_types")]
    pub types: Vec<String>,
}

fn default_types() -> Vec<String> {
    vec!["ban".into()]
}

/// The rendered feeds, by file name, shared with the HTTP endpoint.
pub type FeedTexts = Arc<RwLock<HashMap<String, Arc<String>>>>;

/// The names of the feeds.
pub const FEEDS: [&str; 3] = [
    "blocklist.txt",
    "blocklist-cidr.txt",
    "blocklist-nginx.conf",
];

/// The feed backend.
pub struct Feed {
    spec: FeedSpec,
    nets: HashMap<Key, Net>,
    texts: FeedTexts,
}

impl Feed {
    /// A feed backend publishing into `texts`.
    pub fn new(spec: FeedSpec, texts: FeedTexts) -> Self {
        Feed {
            spec,
            nets: HashMap::new(),
            texts,
        }
    }

    fn wanted(&self, e: &Entry) -> Option<Net> {
        if !self.spec.types.contains(&e.key.kind) || !matches!(e.key.scope.as_str(), "Ip" | "Range")
        {
            return None;
        }
        Net::parse(&e.key.value)
    }

    /// The three texts for what is held now.
    pub fn render(&self) -> [(String, String); 3] {
        let mut plain: BTreeMap<Net, ()> = BTreeMap::new();
        for n in self.nets.values() {
            plain.insert(*n, ());
        }
        let nets: Vec<Net> = plain.keys().copied().collect();
        let agg = aggregate(&nets);
        let mut p = String::new();
        for n in &nets {
            p.push_str(&n.to_string());
            p.push('\n');
        }
        let mut c = String::new();
        let mut x = String::from(
            "# Palisade blocklist: include this file in an nginx http, server or location block.\n",
        );
        for n in &agg {
            c.push_str(&n.to_string());
            c.push('\n');
            x.push_str("deny ");
            x.push_str(&n.to_string());
            x.push_str(";\n");
        }
        [
            (FEEDS[0].to_string(), p),
            (FEEDS[1].to_string(), c),
            (FEEDS[2].to_string(), x),
        ]
    }
}

impl Backend for Feed {
    fn name(&self) -> &'static str {
        "feed"
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), BounceError> {
        if batch.full {
            self.nets.clear();
        }
        for e in &batch.deletes {
            self.nets.remove(&e.key);
        }
        for e in &batch.adds {
            if let Some(n) = self.wanted(e) {
                self.nets.insert(e.key.clone(), n);
            }
        }
        let rendered = self.render();
        if let Some(dir) = &self.spec.dir {
            std::fs::create_dir_all(dir).map_err(|source| BounceError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            for (name, text) in &rendered {
                let path = dir.join(name);
                let tmp = dir.join(format!(".{name}.tmp"));
                std::fs::write(&tmp, text)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|source| BounceError::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
            }
        }
        let mut texts = self.texts.write().unwrap_or_else(|e| e.into_inner());
        for (name, text) in rendered {
            texts.insert(name, Arc::new(text));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::ActiveSet;
    use palisade_schemas::Decision;

    fn entry(scope: &str, value: &str, kind: &str) -> Entry {
        let now = chrono::Utc::now();
        ActiveSet::entry_of(
            &Decision {
                duration: String::new(),
                id: 0,
                origin: "t".into(),
                scenario: "t/s".into(),
                scope: scope.into(),
                simulated: None,
                kind: kind.into(),
                until: Some(now + chrono::TimeDelta::seconds(60)),
                uuid: None,
                value: value.into(),
            },
            now,
        )
        .unwrap()
    }

    #[test]
    fn feeds_are_written_and_aggregated() {
        let dir = tempfile::tempdir().unwrap();
        let texts = FeedTexts::default();
        let mut f = Feed::new(
            FeedSpec {
                dir: Some(dir.path().join("feeds")),
                types: default_types(),
            },
            texts.clone(),
        );
        f.apply(&Batch {
            full: true,
            adds: vec![
                entry("Ip", "192.0.2.0", "ban"),
                entry("Ip", "192.0.2.1", "ban"),
                entry("Range", "10.0.0.0/8", "ban"),
                entry("Ip", "10.9.9.9", "ban"),
                entry("Ip", "2001:db8::1", "ban"),
                entry("Ip", "203.0.113.5", "captcha"),
            ],
            deletes: vec![],
        })
        .unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.path().join("feeds").join(n)).unwrap();
        assert_eq!(
            read("blocklist.txt"),
            "10.0.0.0/8\n10.9.9.9\n192.0.2.0\n192.0.2.1\n2001:db8::1\n"
        );
        assert_eq!(
            read("blocklist-cidr.txt"),
            "10.0.0.0/8\n192.0.2.0/31\n2001:db8::1\n"
        );
        assert!(read("blocklist-nginx.conf")
            .ends_with("deny 10.0.0.0/8;\ndeny 192.0.2.0/31;\ndeny 2001:db8::1;\n"));
        f.apply(&Batch {
            full: false,
            adds: vec![],
            deletes: vec![entry("Range", "10.0.0.0/8", "ban")],
        })
        .unwrap();
        assert_eq!(
            texts.read().unwrap()["blocklist-cidr.txt"].as_str(),
            "10.9.9.9\n192.0.2.0/31\n2001:db8::1\n"
        );
    }
}
