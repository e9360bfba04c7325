//! Command-line interface. Later issues add subcommands here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Palisade: crowd-powered intrusion prevention as a stream-processing pipeline.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline live on the configured sources until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Replay log files through the pipeline on their own timestamps, then print a summary.
    Replay(ReplayArgs),
    /// Show what every parser stage and node does to log lines.
    Explain(ExplainArgs),
    /// Run CrowdSec hub tests (`cscli hubtest` folders).
    #[command(subcommand)]
    Hubtest(HubtestCommand),
    /// Distributed mode administration.
    #[command(subcommand)]
    Kafka(KafkaCommand),
    /// Manage the bouncers allowed to pull decisions from the Local API.
    #[command(subcommand)]
    Bouncers(crate::cli_admin::BouncersCommand),
    /// Manage the machines (agents) allowed to push alerts to the Local API.
    #[command(subcommand)]
    Machines(crate::cli_admin::MachinesCommand),
    /// List, add and delete decisions.
    #[command(subcommand)]
    Decisions(crate::cli_admin::DecisionsCommand),
    /// List and inspect alerts.
    #[command(subcommand)]
    Alerts(crate::cli_admin::AlertsCommand),
    /// Run an SQL query on the ClickHouse archive, or on the embedded store.
    Query(crate::cli_admin::QueryArgs),
    /// Backtest scenario files (SQL or not) on logs: print the alerts they would have raised.
    SqlTest(SqlTestArgs),
    /// Enforce decisions: nftables, ipset, hooks, blocklist feeds, HTTP forward-auth.
    Bouncer(BouncerArgs),
    /// Check the configuration and exit (78 when invalid).
    Validate(ConfigArg),
    /// Print the version.
    Version,
}

/// `--config`.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file (default: $PALISADE_CONFIG, /etc/palisade/palisade.yaml, else the embedded default).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

/// `palisade bouncer`.
#[derive(Debug, Args)]
pub struct BouncerArgs {
    /// The bouncer's configuration file (see docs/BOUNCER.md).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Check the configuration and exit (78 when invalid).
    #[arg(long)]
    pub check: bool,
}

/// `palisade run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Distributed mode: run these roles on the configured Kafka topics instead of the
    /// embedded pipeline (repeatable: `--role ingest --role detect`, or `--role all`).
    #[arg(long, value_enum)]
    pub role: Vec<crate::kafka::Role>,
}

/// `palisade kafka ...`.
#[derive(Debug, Subcommand)]
pub enum KafkaCommand {
    /// Create the configured topics (the decision topic log-compacted); existing ones are kept.
    Init(KafkaInitArgs),
}

/// `palisade kafka init`.
#[derive(Debug, Args)]
pub struct KafkaInitArgs {
    /// Configuration (its `kafka:` section).
    #[command(flatten)]
    pub config: ConfigArg,
    /// Seconds to wait for the brokers.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// `palisade explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The log type (`labels.type`).
    #[arg(long = "type", short = 't')]
    pub log_type: String,
    /// Extra labels, `key=value` (repeatable).
    #[arg(long = "label", short = 'l', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// One line to explain.
    #[arg(long, conflicts_with = "file")]
    pub line: Option<String>,
    /// A file whose lines to explain.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Load every parser of a hub directory (parsers/, patterns/, data/) instead of the configured ones.
    #[arg(long)]
    pub hub_dir: Option<PathBuf>,
    /// Configuration.
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `palisade hubtest ...`.
#[derive(Debug, Subcommand)]
pub enum HubtestCommand {
    /// Run test folders; prints PASS or FAIL per test, then `N passed, M failed`; exits 1 on a failure.
    Run(HubtestArgs),
}

/// `palisade hubtest run`.
#[derive(Debug, Args)]
pub struct HubtestArgs {
    /// The hub directory holding parsers/, scenarios/, postoverflows/, patterns/, data/.
    #[arg(long)]
    pub hub_dir: PathBuf,
    /// Print one JSON object per test, then a summary object.
    #[arg(long)]
    pub json: bool,
    /// The year given to year-less (syslog) dates; default: the current year.
    #[arg(long)]
    pub year: Option<i32>,
    /// Test folders.
    #[arg(required = true)]
    pub tests: Vec<PathBuf>,
}

/// Output format of `replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A summary for people.
    Human,
    /// One alert per line, in the Local API alert JSON shape, with its decisions.
    Json,
}

/// `palisade replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The log type (`labels.type`), e.g. syslog, nginx.
    #[arg(long = "type", short = 't')]
    pub log_type: String,
    /// Extra labels, `key=value` (repeatable).
    #[arg(long = "label", short = 'l', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// Configuration (its sources are ignored; bus and log settings apply).
    #[command(flatten)]
    pub config: ConfigArg,
    /// Log files or globs; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<String>,
}

/// `palisade sql-test`.
#[derive(Debug, Args)]
pub struct SqlTestArgs {
    /// The scenario file to run instead of the configured scenarios (every scenario in it).
    pub scenario: PathBuf,
    /// The log type (`labels.type`) of the log files, e.g. syslog, nginx.
    #[arg(long = "type", short = 't', required_unless_present = "archive")]
    pub log_type: Option<String>,
    /// Extra labels, `key=value` (repeatable).
    #[arg(long = "label", short = 'l', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// Configuration (its parsers are used; its scenarios and sources are not).
    #[command(flatten)]
    pub config: ConfigArg,
    /// Backtest on the events archived in ClickHouse (`archive:` with `events: true`) between
    /// --since and --until, instead of log files.
    #[arg(long, requires = "since", conflicts_with_all = ["files", "log_type"])]
    pub archive: bool,
    /// With --archive: the first event time, RFC 3339 (`2026-06-10T06:00:00Z`) or a Go
    /// duration before now (`24h`).
    #[arg(long, value_parser = parse_when, requires = "archive")]
    pub since: Option<When>,
    /// With --archive: the end (exclusive), in the same forms; default now.
    #[arg(long, value_parser = parse_when, requires = "archive")]
    pub until: Option<When>,
    /// Log files or globs.
    #[arg(required_unless_present = "archive")]
    pub files: Vec<String>,
}

/// A point in time on the command line: a timestamp, or a duration before now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This instant.
    At(chrono::DateTime<chrono::Utc>),
    /// This long before now.
    Ago(chrono::TimeDelta),
}

impl When {
    /// The instant, `now` being the clock's time.
    pub fn at(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            When::At(t) => t,
            When::Ago(d) => now - d,
        }
    }
}

fn parse_when(s: &str) -> Result<When, String> {
    if let Some(t) = palisade_schemas::time::parse_rfc3339(s) {
        return Ok(When::At(t));
    }
    palisade_schemas::duration::parse_go_duration(s)
        .map(When::Ago)
        .map_err(|_| format!("expected an RFC 3339 time or a Go duration (24h), got {s:?}"))
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sql_test_takes_a_scenario_a_type_and_files() {
        let cli = Cli::try_parse_from([
            "palisade", "sql-test", "s.yaml", "--type", "syslog", "a.log", "b.log",
        ])
        .unwrap();
        let Command::SqlTest(a) = cli.command else {
            panic!("not sql-test")
        };
        assert_eq!(a.scenario, PathBuf::from("s.yaml"));
        assert_eq!(a.files, vec!["a.log", "b.log"]);
        assert!(Cli::try_parse_from(["palisade", "sql-test", "s.yaml", "--type", "x"]).is_err());
    }

    #[test]
    fn replay_takes_type_labels_and_files() {
        let cli = Cli::try_parse_from([
            "palisade", "replay", "--type", "syslog", "--label", "env=prod", "-o", "json", "a.log",
            "b.log",
        ])
        .unwrap();
        let Command::Replay(r) = cli.command else {
            panic!("not replay")
        };
        assert_eq!(r.log_type, "syslog");
        assert_eq!(r.labels, vec![("env".to_string(), "prod".to_string())]);
        assert_eq!(r.output, Output::Json);
        assert_eq!(r.files, vec!["a.log", "b.log"]);
        assert!(Cli::try_parse_from([
            "palisade", "replay", "--type", "x", "--label", "novalue", "f"
        ])
        .is_err());
        assert!(
            Cli::try_parse_from(["palisade", "replay", "--type", "x"]).is_err(),
            "files are required"
        );
    }
}
