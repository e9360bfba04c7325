//! `palisade hubtest run`: runs CrowdSec hub test folders the way `cscli hubtest run` does.
//!
//! For each folder: load the items its `config.yaml` names from the hub directory (grok
//! patterns from `<hub>/patterns-base` and `<hub>/patterns`, data files from `<hub>/data`),
//! replay the log in time-machine mode, and evaluate every line of `parser.assert` (and of
//! `scenario.assert`, once scenarios run) with the expression engine over the dump.

pub mod config;
pub mod dump;
pub mod run;

pub use run::{run_test, HubOptions, Outcome};
