//! Hooks: a command run for each added or deleted decision (`mode: each`, the change as JSON on
//! standard input: `{"action":"add","decision":{...}}`), or once per batch (`mode: batch`,
//! `{"added":[...],"deleted":[...]}`), for cloud security groups, a CDN's API or anything else.
//! A hook sees what changed since it last ran: on start it is told about every decision in
//! force, as CrowdSec's custom bouncer does; on a reconnect, only about the difference.

use super::Backend;
use crate::set::{Batch, Entry, Key};
use crate::BounceError;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// How often the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookMode {
    /// Once per decision added or deleted.
    Each,
    /// Once per batch.
    Batch,
}

/// One `hook` backend.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// The command, as argv.
    pub command: Vec<String>,
    /// `each` or `batch`.
    #[serde(default = "default_mode")]
    pub mode: HookMode,
    /// Decision types passed on (empty: all).
    #[serde(default)]
    pub types: Vec<String>,
    /// Seconds a run may take before it is killed.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_mode() -> HookMode {
    HookMode::Each
}

fn default_timeout() -> u64 {
    30
}

/// The hook backend.
pub struct Hook {
    spec: HookSpec,
    /// What the hook was told is in force.
    known: HashMap<Key, Entry>,
}

impl Hook {
    /// A hook with this configuration.
    pub fn new(spec: HookSpec) -> Self {
        Hook {
            spec,
            known: HashMap::new(),
        }
    }

    fn wanted(&self, e: &Entry) -> bool {
        self.spec.types.is_empty() || self.spec.types.contains(&e.key.kind)
    }

    /// The additions and deletions the hook has to hear about.
    fn changes(&mut self, batch: &Batch) -> (Vec<Entry>, Vec<Entry>) {
        let mut added = Vec::new();
        let mut deleted = Vec::new();
        if batch.full {
            let fresh: HashMap<&Key, &Entry> = batch.adds.iter().map(|e| (&e.key, e)).collect();
            let gone: Vec<Key> = self
                .known
                .keys()
                .filter(|k| !fresh.contains_key(k))
                .cloned()
                .collect();
            for k in gone {
                deleted.extend(self.known.remove(&k));
            }
        }
        for e in &batch.deletes {
            deleted.extend(self.known.remove(&e.key));
        }
        for e in &batch.adds {
            if !self.wanted(e) {
                continue;
            }
            if self.known.get(&e.key).is_some_and(|k| k.same_as(e)) {
                continue;
            }
            self.known.insert(e.key.clone(), e.clone());
            added.push(e.clone());
        }
        (added, deleted)
    }

    fn run(&self, json: &serde_json::Value) -> Result<(), BounceError> {
        let mut text = serde_json::to_vec(json).expect("JSON values serialise");
        text.push(b'\n');
        super::run_with_stdin(
            "hook",
            &self.spec.command,
            &text,
            Some(Duration::from_secs(self.spec.timeout_secs)),
        )
    }
}

fn change_json(action: &str, e: &Entry) -> serde_json::Value {
    serde_json::json!({"action": action, "decision": e.decision})
}

impl Backend for Hook {
    fn name(&self) -> &'static str {
        "hook"
    }

    fn apply(&mut self, batch: &Batch) -> Result<(), BounceError> {
        let (added, deleted) = self.changes(batch);
        if added.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        match self.spec.mode {
            HookMode::Batch => {
                let result = self.run(&serde_json::json!({
                    "added": added.iter().map(|e| &e.decision).collect::<Vec<_>>(),
                    "deleted": deleted.iter().map(|e| &e.decision).collect::<Vec<_>>(),
                }));
                if result.is_err() {
                    self.forget(&added, &deleted);
                }
                result
            }
            HookMode::Each => {
                let mut first_error = None;
                let (mut failed_adds, mut failed_deletes) = (Vec::new(), Vec::new());
                for e in &deleted {
                    if let Err(error) = self.run(&change_json("delete", e)) {
                        tracing::warn!(%error, decision = %e.key, "Hook failed; retried with the batch.");
                        failed_deletes.push(e.clone());
                        first_error.get_or_insert(error);
                    }
                }
                for e in &added {
                    if let Err(error) = self.run(&change_json("add", e)) {
                        tracing::warn!(%error, decision = %e.key, "Hook failed; retried with the batch.");
                        failed_adds.push(e.clone());
                        first_error.get_or_insert(error);
                    }
                }
                self.forget(&failed_adds, &failed_deletes);
                first_error.map_or(Ok(()), Err)
            }
        }
    }
}

impl Hook {
    /// Undoes what [`Hook::changes`] recorded for runs that failed, so that the engine's retry of
    /// the batch (merged with whatever came since) runs them again: a failed addition is no
    /// longer known, a failed deletion is known again.
    fn forget(&mut self, failed_adds: &[Entry], failed_deletes: &[Entry]) {
        for e in failed_adds {
            self.known.remove(&e.key);
        }
        for e in failed_deletes {
            self.known.insert(e.key.clone(), e.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::ActiveSet;
    use palisade_schemas::Decision;

    fn entry(value: &str, secs: i64) -> Entry {
        let now = chrono::Utc::now();
        ActiveSet::entry_of(
            &Decision {
                duration: String::new(),
                id: 0,
                origin: "t".into(),
                scenario: "t/s".into(),
                scope: "Ip".into(),
                simulated: None,
                kind: "ban".into(),
                until: Some(now + chrono::TimeDelta::seconds(secs)),
                uuid: None,
                value: value.into(),
            },
            now,
        )
        .unwrap()
    }

    fn hook(dir: &std::path::Path, mode: HookMode) -> Hook {
        let out = dir.join("out.jsonl");
        Hook::new(HookSpec {
            command: vec![
                "sh".into(),
                "-c".into(),
                format!("cat >> '{}'", out.display()),
            ],
            mode,
            types: vec![],
            timeout_secs: 5,
        })
    }

    fn lines(dir: &std::path::Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join("out.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn each_change_runs_the_command_with_json_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = hook(dir.path(), HookMode::Each);
        let a = entry("192.0.2.1", 60);
        let b = entry("192.0.2.2", 60);
        h.apply(&Batch {
            full: true,
            adds: vec![a.clone(), b.clone()],
            deletes: vec![],
        })
        .unwrap();
        h.apply(&Batch {
            full: false,
            adds: vec![],
            deletes: vec![a],
        })
        .unwrap();
        // A reconnect that finds nothing new runs nothing.
        h.apply(&Batch {
            full: true,
            adds: vec![b],
            deletes: vec![],
        })
        .unwrap();
        let got = lines(dir.path());
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0]["action"], "add");
        assert_eq!(got[2]["action"], "delete");
        assert_eq!(got[2]["decision"]["value"], "192.0.2.1");
        assert_eq!(got[2]["decision"]["type"], "ban");
    }

    #[test]
    fn batch_mode_runs_once_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = hook(dir.path(), HookMode::Batch);
        h.apply(&Batch {
            full: false,
            adds: vec![entry("192.0.2.1", 60), entry("192.0.2.2", 60)],
            deletes: vec![],
        })
        .unwrap();
        let got = lines(dir.path());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["added"].as_array().unwrap().len(), 2);
        assert_eq!(got[0]["deleted"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn a_failing_or_hanging_hook_is_an_error() {
        let mut h = Hook::new(HookSpec {
            command: vec!["sh".into(), "-c".into(), "echo no >&2; exit 3".into()],
            mode: HookMode::Batch,
            types: vec![],
            timeout_secs: 5,
        });
        let e = h
            .apply(&Batch {
                full: false,
                adds: vec![entry("192.0.2.1", 60)],
                deletes: vec![],
            })
            .unwrap_err();
        assert!(e.to_string().contains("no"), "{e}");
        let mut h = Hook::new(HookSpec {
            command: vec!["sleep".into(), "10".into()],
            mode: HookMode::Batch,
            types: vec![],
            timeout_secs: 1,
        });
        let e = h
            .apply(&Batch {
                full: false,
                adds: vec![entry("192.0.2.1", 60)],
                deletes: vec![],
            })
            .unwrap_err();
        assert!(e.to_string().contains("killed"), "{e}");
    }

    #[test]
    fn a_failed_run_is_run_again_when_the_batch_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let fail = dir.path().join("fail");
        std::fs::write(&fail, "").unwrap();
        // Fails while the `fail` file exists, then records what it is given.
        let script = format!(
            "if [ -e '{f}' ]; then cat >/dev/null; exit 1; fi; cat >> '{o}'",
            f = fail.display(),
            o = out.display()
        );
        for mode in [HookMode::Each, HookMode::Batch] {
            std::fs::write(&fail, "").unwrap();
            let _ = std::fs::remove_file(&out);
            let mut h = Hook::new(HookSpec {
                command: vec!["sh".into(), "-c".into(), script.clone()],
                mode,
                types: vec![],
                timeout_secs: 5,
            });
            let a = entry("192.0.2.1", 60);
            let add = Batch {
                full: false,
                adds: vec![a.clone()],
                deletes: vec![],
            };
            assert!(h.apply(&add).is_err());
            std::fs::remove_file(&fail).unwrap();
            h.apply(&add).unwrap();
            // A deletion that fails is retried too.
            std::fs::write(&fail, "").unwrap();
            let del = Batch {
                full: false,
                adds: vec![],
                deletes: vec![a],
            };
            assert!(h.apply(&del).is_err());
            std::fs::remove_file(&fail).unwrap();
            h.apply(&del).unwrap();
            let got = lines(dir.path());
            assert_eq!(got.len(), 2, "{mode:?}: {got:?}");
            let text = serde_json::to_string(&got).unwrap();
            assert!(text.contains("192.0.2.1"), "{text}");
            if mode == HookMode::Each {
                assert_eq!(got[0]["action"], "add");
                assert_eq!(got[1]["action"], "delete");
            } else {
                assert_eq!(got[0]["added"].as_array().unwrap().len(), 1);
                assert_eq!(got[1]["deleted"].as_array().unwrap().len(), 1);
            }
        }
    }
}
