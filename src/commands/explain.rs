//! `palisade explain --type T (--line "..." | --file F)`

use crate::cli::ExplainArgs;
use crate::explain::{explain, render};
use anyhow::{bail, Context, Result};
use palisade_schemas::{Event, ExpectMode, Line};
use std::io::{BufRead, Write};
use std::process::ExitCode;

pub(crate) fn run(args: ExplainArgs) -> Result<ExitCode> {
    palisade_runtime::telemetry::init(&palisade_runtime::telemetry::LogSpec {
        level: "error".into(),
        ..Default::default()
    });
    let parsers = match &args.hub_dir {
        Some(hub) => crate::hubtest::run::hub_parsers(hub, None)?,
        None => crate::config::load(args.config.config.as_deref())?.parsers,
    };
    if parsers.is_empty() {
        bail!("no parser is loaded: set `parsers.dirs` in the configuration, or use --hub-dir");
    }
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("type".to_string(), args.log_type.clone());
    labels.extend(args.labels.iter().cloned());
    let (src, lines): (String, Box<dyn Iterator<Item = std::io::Result<String>>>) =
        match (&args.line, &args.file) {
            (Some(l), None) => ("explain".into(), Box::new(std::iter::once(Ok(l.clone())))),
            (None, Some(f)) => {
                let file =
                    std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
                (
                    f.display().to_string(),
                    Box::new(std::io::BufReader::new(file).lines()),
                )
            }
            _ => bail!("give exactly one of --line or --file"),
        };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut n = 0;
    for line in lines {
        let raw = line?;
        let raw = raw.strip_suffix('\r').unwrap_or(&raw);
        if raw.is_empty() {
            continue;
        }
        n += 1;
        let event = Event::from_line(
            Line {
                raw: raw.to_string(),
                src: src.clone(),
                time: Some(chrono::Utc::now()),
                labels: labels.clone(),
                process: false,
                module: "file".into(),
            },
            ExpectMode::TimeMachine,
        );
        let x = explain(&parsers, event);
        out.write_all(render(n, raw, &x).as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
