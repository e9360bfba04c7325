//! `palisade kafka init`: creates the configured topics.

use crate::cli::KafkaInitArgs;
use crate::kafka::topics::{self, Created};
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::time::Duration;

pub(crate) fn init(args: KafkaInitArgs) -> Result<ExitCode> {
    let cfg = crate::config::load(args.config.config.as_deref())?;
    palisade_runtime::telemetry::init(&cfg.log);
    let kafka = cfg
        .kafka
        .with_context(|| format!("{}: no `kafka:` section", cfg.origin))?;
    super::runtime()?.block_on(async move {
        let done = topics::init(&kafka, Duration::from_secs(args.timeout))
            .await
            .with_context(|| format!("creating topics on {}", kafka.spec.brokers.join(",")))?;
        for c in done {
            match c {
                Created::Created(t) => println!("created {t}"),
                Created::Exists(t) => println!("exists  {t}"),
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
