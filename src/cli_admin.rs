//! The administration subcommands (`bouncers`, `machines`, `decisions`, `alerts`, `query`), in
//! the spirit of `cscli`. They work on the configured store directly, so they run with or
//! without `palisade run`; a running Local API picks their changes up at its next sync.

use crate::cli::ConfigArg;
use clap::{Args, Subcommand, ValueEnum};

/// Output of the administration commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A table for people.
    #[default]
    Human,
    /// JSON.
    Json,
}

/// `palisade bouncers ...`.
#[derive(Debug, Subcommand)]
pub enum BouncersCommand {
    /// Add a bouncer and print its API key (shown once; only its SHA-512 is stored).
    Add {
        /// The bouncer's name.
        name: String,
        /// Use this key instead of a random one.
        #[arg(long, short = 'k')]
        key: Option<String>,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the bouncers.
    List {
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t)]
        output: Format,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Delete bouncers (and their `name@ip` records).
    Delete {
        /// Names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// `palisade machines ...`.
#[derive(Debug, Subcommand)]
pub enum MachinesCommand {
    /// Add a validated machine (an agent that pushes alerts).
    Add {
        /// The machine id.
        id: String,
        /// Its password.
        #[arg(long, short = 'p')]
        password: String,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the machines.
    List {
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t)]
        output: Format,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Validate a machine that registered itself (`cscli lapi register`).
    Validate {
        /// The machine id.
        id: String,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Delete a machine.
    Delete {
        /// The machine id.
        id: String,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// Which decisions (`decisions list|delete`).
#[derive(Debug, Args, Default)]
pub struct DecisionSelector {
    /// An address (`--scope Ip --value ADDR`).
    #[arg(long, short = 'i')]
    pub ip: Option<String>,
    /// A network (`--scope Range --value CIDR`).
    #[arg(long, short = 'r')]
    pub range: Option<String>,
    /// The scope (`Ip`, `Range`, `Country`, `AS`, ...).
    #[arg(long)]
    pub scope: Option<String>,
    /// The value.
    #[arg(long, short = 'v')]
    pub value: Option<String>,
    /// The type (`ban`, `captcha`, ...).
    #[arg(long = "type", short = 't')]
    pub kind: Option<String>,
    /// The origin (`crowdsec`, `cscli`, ...).
    #[arg(long)]
    pub origin: Option<String>,
    /// The scenario.
    #[arg(long, short = 's')]
    pub scenario: Option<String>,
}

/// `palisade decisions ...`.
#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// List the decisions in force.
    List {
        /// Which ones.
        #[command(flatten)]
        select: DecisionSelector,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t)]
        output: Format,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Add a decision (origin `cscli`, as `cscli decisions add`).
    Add {
        /// An address to act on.
        #[arg(long, short = 'i', conflicts_with_all = ["range", "value"])]
        ip: Option<String>,
        /// A network to act on.
        #[arg(long, short = 'r', conflicts_with = "value")]
        range: Option<String>,
        /// Another scope's value (with `--scope`).
        #[arg(long, short = 'v', requires = "scope")]
        value: Option<String>,
        /// The scope of `--value`.
        #[arg(long)]
        scope: Option<String>,
        /// Go duration (`4h`, `30m`).
        #[arg(long, short = 'd', default_value = "4h")]
        duration: String,
        /// The type.
        #[arg(long = "type", short = 't', default_value = "ban")]
        kind: String,
        /// The reason (becomes the scenario).
        #[arg(long, short = 'R')]
        reason: Option<String>,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Add many decisions at once (one alert, one transaction), as `cscli decisions import`:
    /// a file of one value per line, or CSV with a header naming `value` and optionally
    /// `scope`, `type`, `duration`, `reason`/`scenario`.
    Import {
        /// The file (`-` for standard input).
        #[arg(long, short = 'i')]
        input: String,
        /// Default duration.
        #[arg(long, short = 'd', default_value = "4h")]
        duration: String,
        /// Default type.
        #[arg(long = "type", short = 't', default_value = "ban")]
        kind: String,
        /// Default scope.
        #[arg(long, default_value = "Ip")]
        scope: String,
        /// Default reason.
        #[arg(long, short = 'R', default_value = "manual import")]
        reason: String,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Delete (expire) decisions; bouncers learn it from the stream.
    Delete {
        /// Which ones.
        #[command(flatten)]
        select: DecisionSelector,
        /// The decision's id.
        #[arg(long)]
        id: Option<i64>,
        /// Every decision in force.
        #[arg(long)]
        all: bool,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// `palisade alerts ...`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List the newest alerts.
    List {
        /// How many.
        #[arg(long, short = 'l', default_value_t = 50)]
        limit: usize,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t)]
        output: Format,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show one alert with its events and decisions.
    Inspect {
        /// The alert's id.
        id: i64,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t)]
        output: Format,
        /// Configuration.
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// `palisade query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL statement. On ClickHouse (when `archive.url` is configured, or with
    /// `--clickhouse`): tables `alerts`, `decisions`, `events`. On the embedded store:
    /// tables `alerts`, `decisions`, read-only.
    pub sql: String,
    /// Run on the embedded store even when an archive is configured.
    #[arg(long, conflicts_with = "clickhouse")]
    pub embedded: bool,
    /// Run on this ClickHouse HTTP URL instead of the configured archive.
    #[arg(long)]
    pub clickhouse: Option<String>,
    /// Configuration.
    #[command(flatten)]
    pub config: ConfigArg,
}
