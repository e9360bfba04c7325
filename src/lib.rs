//! # palisade
//!
//! The application: command-line entry point for every role. It loads the configuration,
//! builds the stages from the library crates (`ingest`, `enrich`, `detect`, `publish`, on the
//! `runtime` spine, sharing `schemas`) and runs them. This package is the only one that uses
//! `anyhow`; it is split into this library and a thin `main.rs` so that the end-to-end tests in
//! `tests/` can drive the pipeline directly.

pub mod cli;
pub mod cli_admin;
pub mod commands;
pub mod config;
pub mod content;
pub mod explain;
pub mod hubtest;
pub mod kafka;
pub mod pipeline;

/// Exit code for an invalid configuration (sysexits' EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;
