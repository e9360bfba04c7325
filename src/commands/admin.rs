//! `palisade bouncers|machines|decisions|alerts|query`: administration on the configured store.

use super::api::open_store;
use crate::cli::ConfigArg;
use crate::cli_admin::{
    AlertsCommand, BouncersCommand, DecisionSelector, DecisionsCommand, Format, MachinesCommand,
    QueryArgs,
};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_publish::lapi::auth::{generate_key, hash_key, hash_password};
use palisade_publish::{DecisionFilter, NoHistory, Profiles, Store};
use palisade_schemas::duration::parse_go_duration;
use palisade_schemas::time::format_rfc3339_nano;
use palisade_schemas::{normalize_scope, Alert, Decision, Source};
use std::process::ExitCode;

/// `println!` that ends quietly on a closed output pipe (`| head`, `| grep -q`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

fn store(config: &ConfigArg) -> Result<(crate::config::Config, Store)> {
    let cfg = crate::config::load(config.config.as_deref())?;
    let store = open_store(&cfg)?;
    Ok((cfg, store))
}

/// Prints rows under a header, columns padded to their widest cell. A closed output pipe
/// (`| head`, `| grep -q`) ends the listing quietly.
fn table(header: &[&str], rows: &[Vec<String>]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect();
        writeln!(out, "{}", s.join("  ").trim_end())
    };
    if line(header.to_vec()).is_err() {
        return;
    }
    for r in rows {
        if line(r.iter().map(String::as_str).collect()).is_err() {
            return;
        }
    }
}

fn when(t: Option<chrono::DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| format_rfc3339_nano(&t))
}

/// `palisade bouncers ...`.
pub(crate) fn bouncers(cmd: BouncersCommand) -> Result<ExitCode> {
    match cmd {
        BouncersCommand::Add { name, key, config } => {
            let (_, mut store) = store(&config)?;
            let key = key.unwrap_or_else(generate_key);
            if !store.add_bouncer(&name, &hash_key(&key), Utc::now())? {
                bail!("bouncer {name:?} already exists");
            }
            outln!("API key for '{name}':\n\n   {key}\n\nPlease keep this key since you will not be able to retrieve it!");
        }
        BouncersCommand::List { output, config } => {
            let (_, store) = store(&config)?;
            let list = store.bouncers()?;
            if output == Format::Json {
                let v: Vec<serde_json::Value> = list
                    .iter()
                    .map(|b| {
                        serde_json::json!({"name": b.name, "ip_address": b.ip_address, "type": b.kind,
                        "version": b.version, "created_at": format_rfc3339_nano(&b.created_at),
                        "last_pull": b.last_pull.map(|t| format_rfc3339_nano(&t))})
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|b| {
                        vec![
                            b.name.clone(),
                            b.ip_address.clone(),
                            b.kind.clone(),
                            b.version.clone(),
                            when(b.last_pull),
                        ]
                    })
                    .collect();
                table(
                    &["NAME", "IP ADDRESS", "TYPE", "VERSION", "LAST PULL"],
                    &rows,
                );
            }
        }
        BouncersCommand::Delete { names, config } => {
            let (_, mut store) = store(&config)?;
            for n in &names {
                if store.delete_bouncer(n)? == 0 {
                    bail!("bouncer {n:?} does not exist");
                }
                outln!("bouncer '{n}' deleted");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `palisade machines ...`.
pub(crate) fn machines(cmd: MachinesCommand) -> Result<ExitCode> {
    match cmd {
        MachinesCommand::Add {
            id,
            password,
            config,
        } => {
            let (_, mut store) = store(&config)?;
            if !store.add_machine(&id, &hash_password(&password), "", true, Utc::now())? {
                bail!("machine {id:?} already exists");
            }
            outln!("machine '{id}' added (validated)");
        }
        MachinesCommand::List { output, config } => {
            let (_, store) = store(&config)?;
            let list = store.machines()?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|m| {
                    vec![
                        m.machine_id.clone(),
                        m.ip_address.clone(),
                        if m.validated { "yes" } else { "no" }.into(),
                        m.version.clone(),
                        when(m.last_push),
                    ]
                })
                .collect();
            if output == Format::Json {
                let v: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        serde_json::json!({"machine_id": r[0], "ip_address": r[1],
                        "validated": r[2] == "yes", "version": r[3], "last_push": r[4]})
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                table(
                    &["NAME", "IP ADDRESS", "VALIDATED", "VERSION", "LAST PUSH"],
                    &rows,
                );
            }
        }
        MachinesCommand::Validate { id, config } => {
            let (_, mut store) = store(&config)?;
            if !store.validate_machine(&id)? {
                bail!("machine {id:?} does not exist");
            }
            outln!("machine '{id}' validated");
        }
        MachinesCommand::Delete { id, config } => {
            let (_, mut store) = store(&config)?;
            if !store.delete_machine(&id)? {
                bail!("machine {id:?} does not exist");
            }
            outln!("machine '{id}' deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn selected(s: &DecisionSelector) -> (Option<String>, Option<String>) {
    match (&s.ip, &s.range) {
        (Some(ip), _) => (Some("Ip".into()), Some(ip.clone())),
        (_, Some(r)) => (Some("Range".into()), Some(r.clone())),
        _ => (s.scope.as_deref().map(normalize_scope), s.value.clone()),
    }
}

fn decision_rows(list: &[Decision], now: chrono::DateTime<Utc>) -> Vec<Vec<String>> {
    list.iter()
        .map(|d| {
            let b = d.for_bouncer(now);
            vec![
                d.id.to_string(),
                d.origin.clone(),
                format!("{}:{}", d.scope, d.value),
                d.scenario.clone(),
                d.kind.clone(),
                b.duration,
            ]
        })
        .collect()
}

/// `palisade decisions ...`.
pub(crate) fn decisions(cmd: DecisionsCommand) -> Result<ExitCode> {
    let now = Utc::now();
    match cmd {
        DecisionsCommand::List {
            select,
            output,
            config,
        } => {
            let (_, store) = store(&config)?;
            let (scope, value) = selected(&select);
            let list: Vec<Decision> = store
                .active_decisions(now)?
                .into_iter()
                .filter(|d| scope.as_ref().is_none_or(|s| *s == d.scope))
                .filter(|d| value.as_ref().is_none_or(|v| *v == d.value))
                .filter(|d| select.kind.as_ref().is_none_or(|v| *v == d.kind))
                .filter(|d| select.origin.as_ref().is_none_or(|v| *v == d.origin))
                .filter(|d| select.scenario.as_ref().is_none_or(|v| *v == d.scenario))
                .collect();
            if output == Format::Json {
                outln!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                outln!("No active decisions");
            } else {
                table(
                    &[
                        "ID",
                        "SOURCE",
                        "SCOPE:VALUE",
                        "REASON",
                        "ACTION",
                        "EXPIRATION",
                    ],
                    &decision_rows(&list, now),
                );
            }
        }
        DecisionsCommand::Add {
            ip,
            range,
            value,
            scope,
            duration,
            kind,
            reason,
            config,
        } => {
            let (scope, value) = match (ip, range, value) {
                (Some(ip), _, _) => ("Ip".to_string(), ip),
                (_, Some(r), _) => ("Range".to_string(), r),
                (_, _, Some(v)) => (normalize_scope(scope.as_deref().unwrap_or("Ip")), v),
                _ => bail!("give --ip, --range, or --scope with --value"),
            };
            parse_go_duration(&duration).with_context(|| format!("--duration {duration:?}"))?;
            let (_, mut store) = store(&config)?;
            let reason = reason.unwrap_or_else(|| format!("manual '{kind}' from 'palisade'"));
            let stamp = format_rfc3339_nano(&now);
            let mut alert = Alert {
                scenario: reason.clone(),
                message: reason.clone(),
                events_count: 1,
                kind: "cscli".into(),
                source: Source {
                    scope: scope.clone(),
                    value: value.clone(),
                    ..Source::default()
                },
                start_at: stamp.clone(),
                stop_at: stamp,
                decisions: Some(vec![Decision {
                    duration: duration.clone(),
                    id: 0,
                    origin: "cscli".into(),
                    scenario: reason,
                    scope: scope.clone(),
                    simulated: Some(false),
                    kind: kind.clone(),
                    until: None,
                    uuid: None,
                    value: value.clone(),
                }]),
                ..Alert::default()
            };
            Profiles::new(Vec::new()).apply(&mut alert, now, &NoHistory)?;
            let (_, made) = store.insert_alert(&alert, now)?;
            outln!(
                "Decision successfully added: {kind} on {scope}:{value} for {duration} (id {})",
                made.first().map_or(0, |d| d.id)
            );
        }
        DecisionsCommand::Import {
            input,
            duration,
            kind,
            scope,
            reason,
            config,
        } => {
            let text = if input == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&input).with_context(|| format!("reading {input}"))?
            };
            let decisions = parse_import(&text, &duration, &kind, &scope, &reason)?;
            if decisions.is_empty() {
                bail!("{input}: no decision to import");
            }
            let (_, mut store) = store(&config)?;
            let stamp = format_rfc3339_nano(&now);
            let n = decisions.len();
            let mut alert = Alert {
                scenario: format!("import {input}: {n} decisions"),
                message: format!("import {input}: {n} decisions"),
                events_count: 1,
                kind: "cscli".into(),
                source: Source {
                    scope: "cscli/import".into(),
                    value: input.clone(),
                    ..Source::default()
                },
                start_at: stamp.clone(),
                stop_at: stamp,
                decisions: Some(decisions),
                ..Alert::default()
            };
            Profiles::new(Vec::new()).apply(&mut alert, now, &NoHistory)?;
            let (_, made) = store.insert_alert(&alert, now)?;
            outln!("{} decision(s) imported", made.len());
        }
        DecisionsCommand::Delete {
            select,
            id,
            all,
            config,
        } => {
            let (scope, value) = selected(&select);
            let filter = DecisionFilter {
                id,
                uuid: None,
                scope,
                value,
                kind: select.kind,
                origin: select.origin,
                scenario: select.scenario,
            };
            if filter == DecisionFilter::default() && !all {
                bail!("give a filter (--ip, --range, --id, --scope/--value, ...) or --all");
            }
            let (_, mut store) = store(&config)?;
            let n = store.delete_decisions(&filter, now)?;
            outln!("{n} decision(s) deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads an import file: one value per line, or CSV whose header names `value`.
fn parse_import(
    text: &str,
    duration: &str,
    kind: &str,
    scope: &str,
    reason: &str,
) -> Result<Vec<Decision>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.clone().next().unwrap_or("");
    let header: Vec<String> = first.split(',').map(|h| h.trim().to_lowercase()).collect();
    let csv = header.iter().any(|h| h == "value");
    if csv {
        lines.next();
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let (v, sc, ty, du, re) = (
        col("value"),
        col("scope"),
        col("type"),
        col("duration"),
        col("reason").or_else(|| col("scenario")),
    );
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |c: Option<usize>, default: &str| {
            c.and_then(|c| cells.get(c).copied())
                .filter(|s| !s.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        let value = if csv {
            get(v, "")
        } else {
            line.trim().to_string()
        };
        if value.is_empty() {
            bail!("line {}: no value", i + 1 + usize::from(csv));
        }
        let d = get(du, duration);
        parse_go_duration(&d).with_context(|| format!("line {}: duration {d:?}", i + 1))?;
        out.push(Decision {
            duration: d,
            id: 0,
            origin: "cscli".into(),
            scenario: get(re, reason),
            scope: normalize_scope(&get(sc, scope)),
            simulated: Some(false),
            kind: get(ty, kind),
            until: None,
            uuid: None,
            value,
        });
    }
    Ok(out)
}

/// `palisade alerts ...`.
pub(crate) fn alerts(cmd: AlertsCommand) -> Result<ExitCode> {
    match cmd {
        AlertsCommand::List {
            limit,
            output,
            config,
        } => {
            let (_, store) = store(&config)?;
            let list = store.alerts(Some(limit), None)?;
            if output == Format::Json {
                outln!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .rev()
                .map(|a| {
                    vec![
                        a.id.to_string(),
                        format!("{}:{}", a.source.scope, a.source.value),
                        a.scenario.clone(),
                        a.source.cn.clone(),
                        a.decisions
                            .iter()
                            .flatten()
                            .map(|d| d.kind.clone())
                            .collect::<Vec<_>>()
                            .join(","),
                        a.created_at.clone(),
                    ]
                })
                .collect();
            table(
                &[
                    "ID",
                    "VALUE",
                    "REASON",
                    "COUNTRY",
                    "DECISIONS",
                    "CREATED AT",
                ],
                &rows,
            );
        }
        AlertsCommand::Inspect { id, output, config } => {
            let (_, store) = store(&config)?;
            let Some(a) = store.alert(id)? else {
                bail!("no alert with id {id}");
            };
            if output == Format::Json {
                outln!("{}", serde_json::to_string_pretty(&a)?);
                return Ok(ExitCode::SUCCESS);
            }
            outln!(" - ID           : {}", a.id);
            outln!(" - Date         : {}", a.created_at);
            outln!(" - Machine      : {}", a.machine_id);
            outln!(" - Simulation   : {}", a.simulated);
            outln!(" - Reason       : {}", a.scenario);
            outln!(" - Events Count : {}", a.events_count);
            outln!(" - Scope:Value  : {}:{}", a.source.scope, a.source.value);
            outln!(" - Country      : {}", a.source.cn);
            outln!(" - AS           : {}", a.source.as_name);
            outln!(" - Begin        : {}", a.start_at);
            outln!(" - End          : {}", a.stop_at);
            outln!(" - UUID         : {}", a.uuid);
            let now = Utc::now();
            let ds = a.decisions.clone().unwrap_or_default();
            if !ds.is_empty() {
                outln!("\n - Active Decisions  :");
                table(
                    &[
                        "ID",
                        "SOURCE",
                        "SCOPE:VALUE",
                        "REASON",
                        "ACTION",
                        "EXPIRATION",
                    ],
                    &decision_rows(&ds, now),
                );
            }
            if !a.events.is_empty() {
                outln!("\n - Events  :");
                for e in &a.events {
                    let meta: Vec<String> = e
                        .meta
                        .iter()
                        .map(|m| format!("{}={}", m.key, m.value))
                        .collect();
                    outln!("   {} {}", e.timestamp, meta.join(" "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `palisade query`: on ClickHouse when an archive is configured (or `--clickhouse`), else on
/// the embedded store (read-only).
pub(crate) fn query(args: QueryArgs) -> Result<ExitCode> {
    let cfg = crate::config::load(args.config.config.as_deref())?;
    let target = match (&args.clickhouse, &cfg.archive, args.embedded) {
        (Some(url), archive, _) => Some(palisade_publish::archive::ArchiveConfig {
            url: url.clone(),
            ..archive.clone().unwrap_or_else(|| {
                palisade_publish::archive::ArchiveConfig::new(url, "palisade", std::env::temp_dir())
            })
        }),
        (None, Some(a), false) => Some(a.clone()),
        _ => None,
    };
    if let Some(a) = target {
        let url = a.url.clone();
        let text = super::runtime()?
            .block_on(palisade_publish::archive::query(&a, &args.sql))
            .with_context(|| format!("querying ClickHouse at {url}"))?;
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let (names, rows) = {
        let store = open_store(&cfg)?;
        store.query_text(&args.sql)?
    };
    outln!("{}", names.join("\t"));
    for r in rows {
        outln!("{}", r.join("\t"));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_plain_lists_and_csv_like_cscli() {
        let plain = parse_import("1.2.3.4\n\n5.6.7.8\n", "4h", "ban", "Ip", "r").unwrap();
        assert_eq!(plain.len(), 2);
        assert_eq!(plain[1].value, "5.6.7.8");
        assert_eq!(
            (plain[0].scope.as_str(), plain[0].duration.as_str()),
            ("Ip", "4h")
        );
        let csv = parse_import(
            "duration,scope,value,type,reason\n1h,range,10.0.0.0/8,captcha,list\n,ip,9.9.9.9,,\n",
            "4h",
            "ban",
            "Ip",
            "r",
        )
        .unwrap();
        assert_eq!(csv[0].scope, "Range");
        assert_eq!(csv[0].kind, "captcha");
        assert_eq!(csv[0].duration, "1h");
        assert_eq!(csv[0].scenario, "list");
        assert_eq!(csv[1].duration, "4h", "empty cells take the defaults");
        assert_eq!(csv[1].kind, "ban");
        let err = parse_import("value,duration\n1.2.3.4,4d\n", "4h", "ban", "Ip", "r").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(parse_import("value\n,\n", "4h", "ban", "Ip", "r").is_err());
    }
}
