//! The `sources:` configuration: a YAML list of CrowdSec acquisition entries, same keys.
//!
//! `source:` selects the kind (`file`, `stdin`, `syslog`, `journalctl`); as in CrowdSec it
//! may be left out when `filename`/`filenames` (file) or `journalctl_filter` (journalctl) is
//! present. Every kind accepts the common keys `labels` (required, with `type`), `mode`,
//! `name`, `use_time_machine`, and ignores `log_level` and `unique_id`. Unknown keys are
//! errors. [`compile_sources`] reports every problem of every entry, located.

use super::file::{FileSource, DEFAULT_POLL_INTERVAL};
use super::journald::{JournalSource, DEFAULT_PROGRAM};
use super::syslog::{Protocol, SyslogSource, DEFAULT_MAX_MESSAGE_LEN, DEFAULT_PORT};
use super::tail::DEFAULT_MAX_LINE_BYTES;
use super::{Kind, Mode, SourceConfig};
use palisade_runtime::config::{
    join_index, join_key, lenient_string, parse_duration, ConfigError, YamlDoc,
};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The kinds Palisade implements.
const KNOWN: &str = "file, stdin, syslog, journalctl";
/// CrowdSec datasources Palisade does not implement in embedded mode.
const NOT_SUPPORTED: &[&str] = &[
    "docker",
    "cloudwatch",
    "kinesis",
    "s3",
    "loki",
    "victorialogs",
    "k8s-audit",
    "http",
    "wineventlog",
    "appsec",
    "kafka",
];

/// A label value: any scalar, as a string (`type: 123` is "123").
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct LabelValue(#[serde(deserialize_with = "lenient_string")] String);

/// Declares a spec struct with the common keys followed by the kind's own.
macro_rules! spec {
    ($(#[$meta:meta])* struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            #[allow(dead_code)]
            source: Option<String>,
            labels: Option<BTreeMap<String, LabelValue>>,
            mode: Option<Mode>,
            name: Option<String>,
            #[allow(dead_code)]
            log_level: Option<String>,
            #[allow(dead_code)]
            unique_id: Option<String>,
            use_time_machine: Option<bool>,
            transform: Option<Value>,
            $($body)*
        }

        impl $name {
            fn common(&mut self) -> Common {
                Common {
                    labels: self.labels.take(),
                    mode: self.mode,
                    name: self.name.take(),
                    use_time_machine: self.use_time_machine.unwrap_or(false),
                    has_transform: self.transform.is_some(),
                }
            }
        }
    };
}

spec! {
    /// `source: file`.
    struct FileSpec {
        filename: Option<String>,
        #[serde(default)]
        filenames: Vec<String>,
        #[serde(default)]
        exclude_regexps: Vec<String>,
        poll_interval: Option<String>,
        /// `max_buffer_size` is CrowdSec's name for it.
        #[serde(alias = "max_buffer_size")]
        max_line_bytes: Option<usize>,
        /// Accepted for CrowdSec compatibility; Palisade always polls.
        #[allow(dead_code)]
        force_inotify: Option<bool>,
        #[allow(dead_code)]
        poll_without_inotify: Option<bool>,
        #[allow(dead_code)]
        discovery_poll_enable: Option<bool>,
        #[allow(dead_code)]
        discovery_poll_interval: Option<String>,
    }
}

spec! {
    /// `source: stdin`.
    struct StdinSpec {
        max_line_bytes: Option<usize>,
    }
}

spec! {
    /// `source: syslog`.
    struct SyslogSpec {
        listen_addr: Option<String>,
        listen_port: Option<u16>,
        protocol: Option<Protocol>,
        max_message_len: Option<usize>,
        disable_rfc_parser: Option<bool>,
    }
}

spec! {
    /// `source: journalctl`.
    struct JournalSpec {
        #[serde(default)]
        journalctl_filter: Vec<String>,
        journalctl_path: Option<String>,
        max_line_bytes: Option<usize>,
    }
}

/// The common keys, taken out of a spec.
struct Common {
    labels: Option<BTreeMap<String, LabelValue>>,
    mode: Option<Mode>,
    name: Option<String>,
    use_time_machine: bool,
    has_transform: bool,
}

/// Where errors go, for one entry.
struct Ctx<'a> {
    doc: &'a YamlDoc,
    path: &'a str,
    errors: &'a mut Vec<ConfigError>,
    ok: bool,
}

impl<'a> Ctx<'a> {
    fn new(doc: &'a YamlDoc, path: &'a str, errors: &'a mut Vec<ConfigError>) -> Self {
        Ctx {
            doc,
            path,
            errors,
            ok: true,
        }
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        let path = if key.is_empty() {
            self.path.to_string()
        } else {
            join_key(self.path, key)
        };
        self.errors.push(self.doc.error(&path, message));
        self.ok = false;
    }
}

/// Compiles the `sources:` list. `value` is the YAML value at `path` in `doc`. Every problem
/// is pushed into `errors`; the entries without problems are returned.
pub fn compile_sources(
    doc: &YamlDoc,
    path: &str,
    value: &Value,
    errors: &mut Vec<ConfigError>,
) -> Vec<SourceConfig> {
    let items = match value {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        _ => {
            errors.push(doc.error(path, "expected a list of sources"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let mut names: HashMap<String, String> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let p = join_index(path, i);
        let Some(cfg) = compile_one(doc, &p, item, errors) else {
            continue;
        };
        if let Some(prev) = names.get(&cfg.name) {
            let at = if item.get("name").is_some() {
                join_key(&p, "name")
            } else {
                p.clone()
            };
            errors.push(doc.error(
                &at,
                format!(
                    "source name `{}` is already used by {prev}; set a distinct `name`",
                    cfg.name
                ),
            ));
            continue;
        }
        names.insert(cfg.name.clone(), p);
        out.push(cfg);
    }
    out
}

fn compile_one(
    doc: &YamlDoc,
    path: &str,
    item: &Value,
    errors: &mut Vec<ConfigError>,
) -> Option<SourceConfig> {
    let Some(obj) = item.as_object() else {
        errors.push(doc.error(path, "expected a mapping (one source)"));
        return None;
    };
    let source_path = join_key(path, "source");
    let kind = match obj.get("source") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => {
            if obj.contains_key("filename") || obj.contains_key("filenames") {
                "file"
            } else if obj.contains_key("journalctl_filter") {
                "journalctl"
            } else {
                errors.push(doc.error(
                    path,
                    format!("`source` is required (one of {KNOWN}) unless `filename`, `filenames` or `journalctl_filter` is set"),
                ));
                return None;
            }
        }
        Some(_) => {
            errors.push(doc.error(&source_path, format!("expected a string, one of {KNOWN}")));
            return None;
        }
    };
    match kind {
        "file" => {
            let spec = doc.decode_into(path, item, errors)?;
            compile_file(&mut Ctx::new(doc, path, errors), spec)
        }
        "stdin" => {
            let spec = doc.decode_into(path, item, errors)?;
            compile_stdin(&mut Ctx::new(doc, path, errors), spec)
        }
        "syslog" => {
            let spec = doc.decode_into(path, item, errors)?;
            compile_syslog(&mut Ctx::new(doc, path, errors), spec)
        }
        "journalctl" => {
            let spec = doc.decode_into(path, item, errors)?;
            compile_journal(&mut Ctx::new(doc, path, errors), spec)
        }
        other if NOT_SUPPORTED.contains(&other) => {
            errors.push(doc.error(
                &source_path,
                format!("source `{other}` is not supported by Palisade (supported: {KNOWN})"),
            ));
            None
        }
        other => {
            errors.push(doc.error(
                &source_path,
                format!("unknown source `{other}` (known: {KNOWN})"),
            ));
            None
        }
    }
}

/// Validates the common keys. Returns (labels, mode, explicit name, time machine).
fn common(ctx: &mut Ctx<'_>, c: Common) -> (BTreeMap<String, String>, Mode, Option<String>, bool) {
    if c.has_transform {
        ctx.error("transform", "`transform` is not supported yet");
    }
    let labels: BTreeMap<String, String> = match c.labels {
        None => {
            ctx.error("labels", "`labels` is required and must contain `type`");
            BTreeMap::new()
        }
        Some(l) => {
            let labels: BTreeMap<String, String> = l.into_iter().map(|(k, v)| (k, v.0)).collect();
            if labels.get("type").is_none_or(|t| t.is_empty()) {
                ctx.error("labels", "`type` is required");
            }
            labels
        }
    };
    if let Some(n) = &c.name {
        if n.trim().is_empty() {
            ctx.error("name", "must not be empty");
        }
    }
    (
        labels,
        c.mode.unwrap_or_default(),
        c.name,
        c.use_time_machine,
    )
}

fn line_cap(ctx: &mut Ctx<'_>, v: Option<usize>) -> usize {
    match v {
        Some(0) => {
            ctx.error("max_line_bytes", "must be greater than zero");
            DEFAULT_MAX_LINE_BYTES
        }
        Some(n) => n,
        None => DEFAULT_MAX_LINE_BYTES,
    }
}

fn build(
    ctx: &Ctx<'_>,
    (labels, mode, name, time_machine): (BTreeMap<String, String>, Mode, Option<String>, bool),
    default_name: String,
    kind: Kind,
) -> Option<SourceConfig> {
    ctx.ok.then(|| SourceConfig {
        name: name.unwrap_or(default_name),
        labels,
        mode,
        kind,
        time_machine,
    })
}

/// A regex error's one-line reason.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| text.lines().next().unwrap_or(""))
        .to_string()
}

fn compile_file(ctx: &mut Ctx<'_>, mut s: FileSpec) -> Option<SourceConfig> {
    let common = common(ctx, s.common());
    let mut patterns = Vec::new();
    for (key, pattern) in s
        .filename
        .iter()
        .map(|p| ("filename".to_string(), p))
        .chain(
            s.filenames
                .iter()
                .enumerate()
                .map(|(j, p)| (join_index("filenames", j), p)),
        )
    {
        if pattern.is_empty() {
            ctx.error(&key, "must not be empty");
        } else if let Err(e) = glob::Pattern::new(pattern) {
            ctx.error(&key, format!("invalid glob `{pattern}`: {}", e.msg));
        } else {
            patterns.push(pattern.clone());
        }
    }
    if s.filename.is_none() && s.filenames.is_empty() {
        ctx.error("", "a file source needs `filename` or `filenames`");
    }
    let mut exclude = Vec::new();
    for (j, r) in s.exclude_regexps.iter().enumerate() {
        match Regex::new(r) {
            Ok(re) => exclude.push(re),
            Err(e) => ctx.error(
                &join_index("exclude_regexps", j),
                format!("invalid regular expression `{r}`: {}", regex_reason(&e)),
            ),
        }
    }
    let poll_interval = match s.poll_interval.as_deref().map(parse_duration) {
        None => DEFAULT_POLL_INTERVAL,
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => {
            ctx.error("poll_interval", "must be greater than zero");
            DEFAULT_POLL_INTERVAL
        }
        Some(Err(e)) => {
            ctx.error("poll_interval", e);
            DEFAULT_POLL_INTERVAL
        }
    };
    let max_line_bytes = line_cap(ctx, s.max_line_bytes);
    let default_name = match patterns.as_slice() {
        [] => "file".to_string(),
        [one] => format!("file:{one}"),
        [first, rest @ ..] => format!("file:{first} (+{} more)", rest.len()),
    };
    let kind = Kind::File(FileSource {
        patterns,
        exclude,
        poll_interval,
        max_line_bytes,
    });
    build(ctx, common, default_name, kind)
}

fn compile_stdin(ctx: &mut Ctx<'_>, mut s: StdinSpec) -> Option<SourceConfig> {
    let common = common(ctx, s.common());
    let max_line_bytes = line_cap(ctx, s.max_line_bytes);
    build(ctx, common, "stdin".into(), Kind::Stdin { max_line_bytes })
}

fn compile_syslog(ctx: &mut Ctx<'_>, mut s: SyslogSpec) -> Option<SourceConfig> {
    let common = common(ctx, s.common());
    if common.1 == Mode::Cat {
        ctx.error("mode", "the syslog source only supports `mode: tail`");
    }
    let ip = match s.listen_addr.as_deref() {
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(a) => a.parse().unwrap_or_else(|_| {
            ctx.error("listen_addr", format!("`{a}` is not an IP address"));
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }),
    };
    let max_message_len = match s.max_message_len {
        Some(0) => {
            ctx.error("max_message_len", "must be greater than zero");
            DEFAULT_MAX_MESSAGE_LEN
        }
        Some(n) => n,
        None => DEFAULT_MAX_MESSAGE_LEN,
    };
    let addr = SocketAddr::new(ip, s.listen_port.unwrap_or(DEFAULT_PORT));
    let kind = Kind::Syslog(SyslogSource {
        addr,
        protocol: s.protocol.unwrap_or_default(),
        max_message_len,
        disable_rfc_parser: s.disable_rfc_parser.unwrap_or(false),
    });
    build(ctx, common, format!("syslog:{addr}"), kind)
}

fn compile_journal(ctx: &mut Ctx<'_>, mut s: JournalSpec) -> Option<SourceConfig> {
    let common = common(ctx, s.common());
    if s.journalctl_filter.is_empty() {
        ctx.error(
            "journalctl_filter",
            "`journalctl_filter` is required (for example `_SYSTEMD_UNIT=ssh.service`)",
        );
    }
    let max_line_bytes = line_cap(ctx, s.max_line_bytes);
    let program = s
        .journalctl_path
        .take()
        .unwrap_or_else(|| DEFAULT_PROGRAM.to_string());
    if program.is_empty() {
        ctx.error("journalctl_path", "must not be empty");
    }
    let default_name = format!("journalctl:{}", s.journalctl_filter.join(" "));
    let kind = Kind::Journal(JournalSource {
        filters: std::mem::take(&mut s.journalctl_filter),
        program,
        max_line_bytes,
    });
    build(ctx, common, default_name, kind)
}
