//! Detection content: Palisade's own parsers, scenarios, postoverflows, data files and profiles
//! (`deploy/content/`, embedded in the binary), overridable from a directory of the same layout,
//! plus any CrowdSec hub directories the configuration names. Everything is gathered here as
//! (name, text) so that the loaders see one list, in CrowdSec's order.
//!
//! ```yaml
//! content:
//!   builtin: true                 # Palisade's own content (default)
//!   dir: /etc/palisade/content    # same layout; a file at the same path replaces the embedded one
//! ```

use palisade_runtime::config::{join_key, ConfigError, YamlDoc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/content.rs"));
}

/// The `content:` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContentSpec {
    /// Load Palisade's own content.
    pub builtin: bool,
    /// A directory with the same layout (`parsers/<stage>/...`, `scenarios/...`,
    /// `postoverflows/<stage>/...`, `data/...`, `profiles.yaml`) overriding and adding files.
    pub dir: Option<PathBuf>,
}

impl Default for ContentSpec {
    fn default() -> Self {
        ContentSpec {
            builtin: true,
            dir: None,
        }
    }
}

/// One rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// Its stage (`s01-parse`), for parsers and postoverflows.
    pub stage: String,
    /// Where it comes from, for messages: `builtin:parsers/...` or a path.
    pub name: String,
    /// The YAML.
    pub text: String,
}

/// Content gathered from every origin.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Parser files.
    pub parsers: Vec<RuleFile>,
    /// Postoverflow files.
    pub postoverflows: Vec<RuleFile>,
    /// Scenario files.
    pub scenarios: Vec<RuleFile>,
    /// Data files by `dest_file` name.
    pub data: BTreeMap<String, String>,
    /// The profiles file, if the content has one.
    pub profiles: Option<(String, String)>,
}

impl Content {
    /// The embedded files, then the override directory's, by relative path.
    pub fn gather(
        spec: &ContentSpec,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Content {
        let mut files: BTreeMap<String, (String, String)> = BTreeMap::new();
        if spec.builtin {
            for (rel, text) in embedded::FILES {
                files.insert(
                    rel.to_string(),
                    (format!("builtin:{rel}"), text.to_string()),
                );
            }
        }
        if let Some(dir) = &spec.dir {
            match palisade_runtime::config::files_under(dir) {
                Ok(found) => {
                    for p in found {
                        let rel = p
                            .strip_prefix(dir)
                            .unwrap_or(&p)
                            .to_string_lossy()
                            .replace('\\', "/");
                        match std::fs::read_to_string(&p) {
                            Ok(text) => {
                                files.insert(rel, (p.display().to_string(), text));
                            }
                            Err(e) => errors.push(doc.error(
                                &join_key(path, "dir"),
                                format!("cannot read {}: {e}", p.display()),
                            )),
                        }
                    }
                }
                Err(e) => errors.push(doc.error(
                    &join_key(path, "dir"),
                    format!("cannot read content directory {}: {e}", dir.display()),
                )),
            }
        }
        let mut c = Content::default();
        for (rel, (name, text)) in files {
            c.add(&rel, name, text);
        }
        c
    }

    fn add(&mut self, rel: &str, name: String, text: String) {
        let parts: Vec<&str> = rel.split('/').collect();
        let yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
        match parts.as_slice() {
            ["parsers", stage, ..] if yaml => self.parsers.push(RuleFile {
                stage: stage.to_string(),
                name,
                text,
            }),
            ["postoverflows", stage, ..] if yaml => self.postoverflows.push(RuleFile {
                stage: stage.to_string(),
                name,
                text,
            }),
            ["scenarios", ..] if yaml => self.scenarios.push(RuleFile {
                stage: String::new(),
                name,
                text,
            }),
            ["data", file] => {
                self.data.insert(file.to_string(), text);
            }
            ["profiles.yaml"] => self.profiles = Some((name, text)),
            _ => {}
        }
    }

    /// Adds the rule files of CrowdSec-layout directories (`<dir>/<stage>/**/*.yaml` when
    /// `staged`, else `<dir>/**/*.yaml`).
    pub fn add_dirs(
        list: &mut Vec<RuleFile>,
        dirs: &[PathBuf],
        staged: bool,
        doc: &YamlDoc,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) {
        for (i, dir) in dirs.iter().enumerate() {
            let at = palisade_runtime::config::join_index(&join_key(path, "dirs"), i);
            let found = match palisade_runtime::config::yaml_files(dir) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(
                        doc.error(&at, format!("cannot read directory {}: {e}", dir.display())),
                    );
                    continue;
                }
            };
            for p in found {
                let rel = p.strip_prefix(dir).unwrap_or(&p);
                let stage = if staged {
                    match rel.components().next() {
                        Some(c) if rel.components().count() > 1 => {
                            c.as_os_str().to_string_lossy().to_string()
                        }
                        _ => continue,
                    }
                } else {
                    String::new()
                };
                match std::fs::read_to_string(&p) {
                    Ok(text) => list.push(RuleFile {
                        stage,
                        name: p.display().to_string(),
                        text,
                    }),
                    Err(e) => {
                        errors.push(doc.error(&at, format!("cannot read {}: {e}", p.display())))
                    }
                }
            }
        }
    }

    /// Sorts rule files as CrowdSec loads them: by stage, then file name.
    pub fn sort(list: &mut [RuleFile]) {
        let file_name = |f: &RuleFile| f.name.rsplit('/').next().unwrap_or(&f.name).to_string();
        list.sort_by_cached_key(|f| (f.stage.clone(), file_name(f), f.name.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_deploy_content_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/content");
        let found = palisade_runtime::config::files_under(&root).unwrap();
        assert_eq!(found.len(), embedded::FILES.len());
        let doc = YamlDoc::parse("t.yaml", "").unwrap();
        let c = Content::gather(&ContentSpec::default(), &doc, "content", &mut Vec::new());
        assert!(c
            .parsers
            .iter()
            .any(|f| f.stage == "s01-parse" && f.name.ends_with("sshd.yaml")));
        assert!(!c.scenarios.is_empty());
        assert!(c.data.contains_key("palisade_bad_user_agents.txt"));
        assert!(c.profiles.is_some());
    }

    #[test]
    fn an_override_directory_replaces_and_adds_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("parsers/s01-parse/palisade")).unwrap();
        std::fs::write(
            dir.path().join("parsers/s01-parse/palisade/sshd.yaml"),
            "name: mine\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
        std::fs::write(dir.path().join("scenarios/extra.yaml"), "name: extra\n").unwrap();
        let doc = YamlDoc::parse("t.yaml", "").unwrap();
        let spec = ContentSpec {
            builtin: true,
            dir: Some(dir.path().to_path_buf()),
        };
        let c = Content::gather(&spec, &doc, "content", &mut Vec::new());
        let sshd: Vec<&RuleFile> = c
            .parsers
            .iter()
            .filter(|f| f.name.ends_with("sshd.yaml"))
            .collect();
        assert_eq!(sshd.len(), 1);
        assert_eq!(sshd[0].text, "name: mine\n");
        assert!(c.scenarios.iter().any(|f| f.text == "name: extra\n"));
    }
}
