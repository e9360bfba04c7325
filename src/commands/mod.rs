//! One module per subcommand.

mod admin;
mod api;
mod bouncer;
mod explain;
mod hubtest;
mod kafka;
mod replay;
mod roles;
mod run;
mod sql_test;

use crate::cli::Command;
use anyhow::Result;
use std::process::ExitCode;

/// Runs a subcommand.
pub fn dispatch(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Run(args) => run::run(args),
        Command::Replay(args) => replay::replay(args),
        Command::Hubtest(crate::cli::HubtestCommand::Run(args)) => hubtest::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Kafka(crate::cli::KafkaCommand::Init(args)) => kafka::init(args),
        Command::Bouncers(c) => admin::bouncers(c),
        Command::Machines(c) => admin::machines(c),
        Command::Decisions(c) => admin::decisions(c),
        Command::Alerts(c) => admin::alerts(c),
        Command::Query(args) => admin::query(args),
        Command::SqlTest(args) => sql_test::run(args),
        Command::Bouncer(args) => bouncer::run(args),
        Command::Validate(args) => {
            let cfg = crate::config::load(args.config.as_deref())?;
            println!(
                "{}: valid ({} source{})",
                cfg.origin,
                cfg.sources.len(),
                if cfg.sources.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Version => {
            println!("palisade {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A multi-threaded Tokio runtime.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
