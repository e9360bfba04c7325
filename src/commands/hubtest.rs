//! `palisade hubtest run --hub-dir DIR [--json] [--year Y] TEST_DIR...`

use crate::cli::HubtestArgs;
use crate::hubtest::{run_test, HubOptions, Outcome};
use anyhow::Result;
use std::process::ExitCode;

pub(crate) fn run(args: HubtestArgs) -> Result<ExitCode> {
    palisade_runtime::telemetry::init(&palisade_runtime::telemetry::LogSpec {
        level: "error".into(),
        ..Default::default()
    });
    let opts = HubOptions {
        hub_dir: args.hub_dir,
        year: args.year,
    };
    let (mut passed, mut failed) = (0, 0);
    for dir in &args.tests {
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        );
        let outcome = run_test(dir, &opts);
        match &outcome {
            Outcome::Pass { .. } => passed += 1,
            Outcome::Fail { .. } => failed += 1,
        }
        if args.json {
            let v = match outcome {
                Outcome::Pass { assertions } => {
                    serde_json::json!({"test": name, "status": "pass", "assertions": assertions})
                }
                Outcome::Fail { reason } => {
                    serde_json::json!({"test": name, "status": "fail", "reason": reason})
                }
            };
            println!("{v}");
        } else {
            match outcome {
                Outcome::Pass { assertions } => println!("PASS {name} ({assertions} assertions)"),
                Outcome::Fail { reason } => println!("FAIL {name}: {reason}"),
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"passed": passed, "failed": failed})
        );
    } else {
        println!("{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
